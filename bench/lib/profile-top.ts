/**
 * The top of a V8 CPU profile (`node --cpu-prof`): self time by function and
 * by file, and the share spent in GC, idle and native code. Run as
 * `npm run bench -- profile-top FILE.cpuprofile`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function profileTop(file: string, limit = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const short = url
      .replace(/^file:\/\//, '')
      .replace(/^.*node_modules\//, 'nm/')
      .replace(/^.*\/main\//, '');
    const name = `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    const where = url === '' ? functionName : short.startsWith('nm/') ? short.split('/').slice(0, 3).join('/') : short;
    byFile.set(where, (byFile.get(where) ?? 0) + micros);
  }
  const pct = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => `  ${pct(micros)}  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  return [
    `${file}: ${(total / 1e6).toFixed(1)} s sampled`,
    'self time by function:',
    ...top(byFunction, limit),
    'self time by file:',
    ...top(byFile, 15),
  ].join('\n');
}
