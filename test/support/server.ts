/**
 * Starts the real server on a loopback port for a test, and stops it after.
 */

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
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
  const { server, url } = await new Promise<{ server: ReturnType<typeof serve>; url: string }>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
  return {
    url,
    liveop,
    // Like SIGTERM in main.ts: streams get their reconnect line before sockets close.
    close: async () => {
      liveop.hub.shutdown();
      const http = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http.closeIdleConnections();
      const force = setTimeout(() => http.closeAllConnections(), 200);
      await closed;
      clearTimeout(force);
      await liveop.close();
    },
  };
}
