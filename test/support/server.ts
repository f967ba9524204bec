/**
 * Starts the real server on a loopback port for a test, and stops it after.
 */

import { Hono } from 'hono';
import { demoRoutes } from '../../demo/demo.ts';
import registerDemoOperations from '../../demo/operations.ts';
import { withContractErrors } from '../../server/http/app.ts';
import { createLiveop, type Liveop, type LiveopOptions } from '../../server/liveop.ts';
import { MemorySessionStore } from '../../server/store/memory-store.ts';
import type { SessionStore } from '../../server/store/session-store.ts';

export interface TestServer {
  url: string;
  liveop: Liveop;
  /** The server's store, for tests that must write what no client could (an older version's data). */
  store: SessionStore;
  close(): Promise<void>;
}

export async function startServer(
  options: LiveopOptions & { demo?: boolean; demoSpeed?: number } = {},
): Promise<TestServer> {
  const { demo, demoSpeed, ...liveopOptions } = options;
  const store = options.store ?? new MemorySessionStore(options.now ? { now: options.now } : {});
  const liveop = createLiveop({ ...liveopOptions, store });
  const app = withContractErrors(new Hono());
  app.route('/', liveop.routes());
  if (demo) {
    registerDemoOperations(liveop);
    app.route('/', demoRoutes(liveop, { speed: demoSpeed ?? 1 }));
  }
  const listening = await liveop.listen(0, '127.0.0.1', app);
  return {
    url: listening.url,
    liveop,
    store,
    // Like SIGTERM in main.ts: streams get their reconnect line before sockets close.
    close: async () => {
      await listening.close();
      await liveop.close();
    },
  };
}
