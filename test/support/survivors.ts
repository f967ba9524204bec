/**
 * Vitest's globalSetup: marks every process the run starts (an environment
 * variable children inherit) and, after the last test, fails the run if any
 * of them is still alive — after killing it, so a failed run leaves nothing
 * behind either.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

const MARK = 'LIVEOP_TEST_RUN';

export default function setup(): () => Promise<void> {
  const run = randomUUID();
  process.env[MARK] = run;
  return async () => {
    // Browsers and servers closed by the last afterAll may take a moment to exit.
    const deadline = Date.now() + 5_000;
    let left = survivors(run);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = survivors(run);
    }
    if (left.length === 0) return;
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    // Vitest reports an error thrown here but does not fail the run on it.
    process.exitCode = 1;
    throw new Error(
      `processes started by the tests outlived them (killed now):\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`,
    );
  };
}

/** Processes carrying this run's mark, other than vitest and its own workers. */
function survivors(run: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`${MARK}=${run}`)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ').trim();
      if (/[/\\]vitest[/\\]/.test(command)) continue;
      found.push({ pid, command });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}
