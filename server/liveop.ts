/**
 * The library's front door: one object that owns the store, the stream hub,
 * the runner and the HTTP routes.
 *
 * @example
 * const liveop = createLiveop();
 * const session = await liveop.createSession({ title: 'Import', tasks: { import: 'Import products' } });
 * session.addSequential('import', async (task) => { for await (const row of task.track(rows)) await save(row); });
 * app.route('/progress', liveop.routes());
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { LiveopError } from './core/errors';
import { createSession, definedOnly } from './core/model';
import { createSessionSchema } from './core/schemas';
import { toSnapshot } from './core/snapshot';
import { type AppConfig, createApp, DEFAULT_APP_CONFIG, newSessionId } from './http/app';
import { type ApiKey, createAuthenticator, TokenSigner } from './http/auth';
import { ApiError, describeIssues } from './http/errors';
import { StreamHub } from './http/stream-hub';
import type { CreatedSession, CreateSessionInput, Snapshot, StreamLine } from './protocol';
import { LineSplitter } from './protocol';
import { ProgressSession } from './runner/progress-session';
import { type OperationDefinition, Runner } from './runner/runner';
import { MemorySessionStore } from './store/memory-store';
import type { SessionStore } from './store/session-store';
import { printSnapshots } from './text/text-view';

export interface LiveopOptions extends Partial<AppConfig> {
  /** Where sessions live. @default an in-memory store (one process) */
  store?: SessionStore;
  /** API keys → owners. None: open mode (the server binds loopback only). @default {} */
  apiKeys?: Record<string, ApiKey>;
  /** Secret for signing tokens; instances sharing a store must share it. @default random per process */
  secret?: string;
  /** Stream lines a second per session, at most. @default 10 */
  throttleHz?: number;
  /** Heartbeat after this much stream silence. @default 15000 */
  heartbeatMs?: number;
  /** Parallel in-process tasks at once. @default 8 */
  concurrency?: number;
  /** The clock. @default Date.now */
  now?: () => number;
  /** Path of the built element served at `/widget.js`. @default dist/live-operation.js */
  widgetPath?: string;
}

export interface CreatedProgressSession extends CreatedSession {
  session: ProgressSession;
}

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export class Liveop {
  readonly store: SessionStore;
  readonly hub: StreamHub;
  readonly runner: Runner;
  readonly signer: TokenSigner;
  readonly config: AppConfig;
  readonly open: boolean;
  readonly #now: () => number;
  readonly #app: Hono;

  constructor(options: LiveopOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.store = options.store ?? new MemorySessionStore({ now: this.#now });
    // Only the HTTP settings: the secret and the keys stay out of this public field.
    const appOptions = Object.fromEntries(
      Object.entries(definedOnly(options)).filter(([key]) => key in DEFAULT_APP_CONFIG || key === 'publicUrl'),
    );
    this.config = { ...DEFAULT_APP_CONFIG, ...appOptions } as AppConfig;
    this.hub = new StreamHub({
      store: this.store,
      now: this.#now,
      ...(options.throttleHz === undefined ? {} : { throttleHz: options.throttleHz }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    });
    this.runner = new Runner({ store: this.store, now: this.#now, concurrency: options.concurrency ?? 8 });
    this.signer = new TokenSigner(options.secret);
    const auth = createAuthenticator(options.apiKeys ?? {}, this.signer);
    this.open = auth.open;
    // Relative to the project root: this file and the built dist/server.js both sit one level below it.
    const widgetPath = options.widgetPath ?? fileURLToPath(new URL('../dist/live-operation.js', import.meta.url));
    let widget: Promise<Uint8Array | null> | null = null;
    this.#app = createApp({
      store: this.store,
      hub: this.hub,
      auth,
      signer: this.signer,
      runner: this.runner,
      now: this.#now,
      config: this.config,
      startOperation: async (name, input, owner, base) => {
        const { session: _session, ...created } = await this.#startOperation(name, input, owner, base);
        return created;
      },
      restartOperation: async (session, base) => {
        if (!this.runner.operations.has(session.operation!.name)) {
          throw new ApiError(409, `operation "${session.operation!.name}" is not registered on this server`);
        }
        const { session: _session, ...created } = await this.#startOperation(
          session.operation!.name,
          session.operation!.input,
          session.owner,
          base,
        );
        return created;
      },
      widget: () => {
        widget ??= readFile(widgetPath).then(
          (bytes) => new Uint8Array(bytes),
          () => {
            widget = null; // not built yet: look again next time
            return null;
          },
        );
        return widget;
      },
    });
  }

  /** The HTTP API as a Hono app, to mount: `app.route('/progress', liveop.routes())`. */
  routes(): Hono {
    return this.#app;
  }

  /**
   * Creates a session whose tasks run in this process.
   * @example
   * const { session, viewerToken } = await liveop.createSession({ tasks: { a: 'Fetch' } });
   */
  async createSession(
    input: Partial<CreateSessionInput> & { owner?: string },
    options: { base?: string; operation?: { name: string; input: unknown } } = {},
  ): Promise<CreatedProgressSession> {
    // In-process input is held to the same limits as POST /sessions: it may carry a user's data.
    const parsed = createSessionSchema.safeParse(input);
    if (!parsed.success) throw new LiveopError('invalid', describeIssues(parsed.error));
    const stored = createSession(newSessionId(), parsed.data, this.#now(), this.config.sessionDefaults);
    if (options.operation) stored.operation = options.operation;
    await this.store.create(stored);
    const base = options.base ?? this.config.publicUrl ?? '';
    const session = this.runner.adopt(this.#progressSession(stored.id));
    return {
      session,
      id: stored.id,
      viewerToken: this.signer.sign(stored.id, 'view+cancel', this.config.viewerTokenTtlSeconds),
      reporterToken: this.signer.sign(stored.id, 'report', this.config.reporterTokenTtlSeconds),
      streamUrl: `${base}/sessions/${stored.id}/stream`,
      snapshotUrl: `${base}/sessions/${stored.id}`,
    };
  }

  /**
   * Registers a server-side operation, started with `POST /operations/:name`.
   * @example
   * liveop.operation('report', { input: z.object({ month: z.string() }), run: async (task, { month }) => { … } });
   */
  operation<I>(name: string, definition: OperationDefinition<I>): this {
    this.runner.register(name, definition);
    return this;
  }

  /**
   * Serves on a port (0: any free one), loopback unless told otherwise. `app`
   * serves an app that mounts these routes (with a demo, say) instead of them
   * alone. `close()` shuts down gracefully: every stream gets its
   * `{"type":"reconnect"}` line, idle keep-alive sockets go at once and busy
   * ones after half a second.
   * @example
   * const { url, close } = await liveop.listen(8787);
   */
  listen(port = 0, hostname = '127.0.0.1', app: { fetch: Hono['fetch'] } = this.#app): Promise<Listening> {
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        const http = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              this.hub.shutdown();
              server.close(() => {
                clearTimeout(force);
                done();
              });
              http.closeIdleConnections();
              const force = setTimeout(() => http.closeAllConnections(), 500);
            }),
        });
      });
    });
  }

  async close(): Promise<void> {
    this.hub.close();
    this.runner.close();
    await this.store.close();
  }

  /**
   * Text mode (liveops' TextProgress): runs a registered operation in this
   * process and prints its progress as text; resolves with the last snapshot.
   * @example
   * await liveop.runInTerminal('monthly-report', { month: '2026-11' });
   */
  async runInTerminal(name: string, input: unknown, write?: (text: string) => void): Promise<Snapshot | null> {
    if (!this.runner.operations.has(name)) throw new Error(`unknown operation "${name}"`);
    const { session } = await this.#startOperation(name, input, null, this.config.publicUrl ?? '');
    return printSnapshots(session.stream(), write);
  }

  async #startOperation(
    name: string,
    rawInput: unknown,
    owner: string | null,
    base: string,
  ): Promise<CreatedProgressSession> {
    const definition = this.runner.operations.get(name)!;
    let input = rawInput;
    if (definition.input) {
      const parsed = definition.input.safeParse(rawInput);
      if (!parsed.success) throw new ApiError(400, describeIssues(parsed.error));
      input = parsed.data;
    }
    const title =
      typeof definition.title === 'function' ? definition.title(input as never) : (definition.title ?? name);
    const created = await this.createSession(
      {
        title,
        ...(definition.tasks ? { tasks: definition.tasks } : {}),
        ...(definition.stages ? { stages: definition.stages } : {}),
        ...(owner ? { owner } : {}),
      },
      { base, operation: { name, input } },
    );
    const first = definition.tasks ? Object.keys(definition.tasks)[0]! : 'main';
    const { session } = created;
    const handle = session.addSequential(first, (context) => definition.run({ ...context, session }, input as never));
    void handle.settled().then(() => this.runner.release(session.id));
    return created;
  }

  #progressSession(id: string): ProgressSession {
    return new ProgressSession({
      id,
      writer: this.runner.writer,
      parallel: this.runner.parallel,
      read: async () => {
        const stored = await this.store.get(id);
        return stored === undefined ? null : toSnapshot(stored, this.#now());
      },
      watch: (signal) => this.#watch(id, signal),
    });
  }

  async *#watch(id: string, signal: AbortSignal): AsyncGenerator<Snapshot> {
    const body = await this.hub.open({ sessionIds: [id], format: 'ndjson', signal });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const splitter = new LineSplitter();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const text of splitter.push(decoder.decode(value, { stream: true }))) {
          const line = JSON.parse(text) as StreamLine;
          if (line.type === 'snapshot') yield line;
          else if (line.type === 'gone') return;
          else if (line.type === 'error') throw new Error(`session ${id}: ${line.error.message}`);
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
}

export function createLiveop(options: LiveopOptions = {}): Liveop {
  return new Liveop(options);
}
