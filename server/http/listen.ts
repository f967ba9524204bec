/**
 * Serving an app on @hono/node-server with a graceful stop: streams are told
 * to reconnect (elsewhere) before their sockets close.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface Listening {
  url: string;
  port: number;
  /** Stops gracefully: streams get `{"type":"reconnect"}`, idle sockets close at once, busy ones after ½ s. */
  close(): Promise<void>;
}

/**
 * Listens on `port` (0: any free one); `beforeClose` tells the streams to go.
 * Rejects when it cannot listen (the port is taken, the address is not this
 * machine's), naming the address and the cause.
 */
export function listen(
  app: { fetch: Hono['fetch'] },
  port: number,
  hostname: string,
  beforeClose: () => void,
): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
      server.off('error', refused);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      const http = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            beforeClose();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            http.closeIdleConnections();
            const force = setTimeout(() => http.closeAllConnections(), 500);
          }),
      });
    });
    const refused = (error: NodeJS.ErrnoException) => {
      const where = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
      const why = error.code === 'EADDRINUSE' ? 'is in use by another process' : 'cannot be listened on';
      reject(new Error(`${where} ${why}`, { cause: error }));
    };
    server.once('error', refused);
  });
}
