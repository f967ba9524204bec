/**
 * Whole-machine CPU from /proc/stat, so a table can say how busy the box was
 * (the load generator and other processes share it with the server).
 */
import { readFileSync } from 'node:fs';

export interface CpuSample {
  busy: number;
  total: number;
}

export function machineCpu(): CpuSample | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Busy share of all cores between two samples, in % of one core (2 cores: up to 200). */
export function machineBusyPercent(a: CpuSample | null, b: CpuSample | null, cores: number): number {
  if (!a || !b || b.total === a.total) return Number.NaN;
  return ((b.busy - a.busy) / (b.total - a.total)) * 100 * cores;
}
