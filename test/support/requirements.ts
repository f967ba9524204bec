/**
 * Tests that need Redis or Chromium run whenever those are there. Under
 * `CI=true` they are required (a missing one fails loudly); elsewhere they are
 * skipped with a one-line reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

export interface Requirement {
  available: boolean;
  reason: string;
}

const required = process.env.CI === 'true';

function settle(name: string, available: boolean, reason: string): Requirement {
  if (!available && required) throw new Error(`${name} is required under CI=true but ${reason}`);
  if (!available) console.warn(`skipped: ${name} tests (${reason})`);
  return { available, reason };
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromium(): Requirement {
  const there = existsSync(CHROMIUM_PATH);
  return settle('Chromium', there, `no browser at ${CHROMIUM_PATH}; apt-get install -y chromium`);
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redis(): Promise<Requirement> {
  const { hostname, port } = new URL(REDIS_URL);
  const up = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
  return settle('Redis', up, `nothing answers at ${REDIS_URL}`);
}

/**
 * The redis-server (and redis-cli) binaries, for tests that start Redis
 * servers of their own to stop, cut or cluster them (the shared one on 6379
 * is never stopped).
 */
export function redisBinaries(what: string, tools: string[] = ['redis-server']): Requirement {
  const missing = tools.filter((tool) => spawnSync(tool, ['--version']).status !== 0);
  return settle(what, missing.length === 0, `no ${missing.join(' or ')} binary; apt-get install -y redis-server`);
}

/** The interpreter the Python package is built and tested with (Debian's, where its Celery and Django are). */
export const PYTHON = process.env.LIVEOP_PYTHON ?? '/usr/bin/python3';

/** PYTHON ≥ 3.9 with the modules the Python package's tests import. */
export function python(what: string, modules: string[]): Requirement {
  const check = spawnSync(PYTHON, [
    '-c',
    `import sys; assert sys.version_info >= (3, 9); import ${modules.join(', ')}`,
  ]);
  const packages = 'apt-get install -y python3-venv python3-celery python3-redis python3-django';
  return settle(what, check.status === 0, `no ${PYTHON} ≥ 3.9 with ${modules.join(', ')}; ${packages}`);
}
