/**
 * Starts the real server on a loopback port for a test, and stops it after.
 */

import { Hono } from 'hono';
import { demoRoutes } from '../../demo/demo';
import { createLiveop, type Liveop, type LiveopOptions } from '../../server/liveop';

export interface TestServer {
  url: string;
  liveop: Liveop;
  close(): Promise<void>;
}

export async function startServer(
  options: LiveopOptions & { demo?: boolean; demoSpeed?: number } = {},
): Promise<TestServer> {
  const { demo, demoSpeed, ...liveopOptions } = options;
  const liveop = createLiveop(liveopOptions);
  const app = new Hono();
  app.route('/', liveop.routes());
  if (demo) app.route('/', demoRoutes(liveop, { speed: demoSpeed ?? 1 }));
  const listening = await liveop.listen(0, '127.0.0.1', app);
  return {
    url: listening.url,
    liveop,
    // Like SIGTERM in main.ts: streams get their reconnect line before sockets close.
    close: async () => {
      await listening.close();
      await liveop.close();
    },
  };
}
