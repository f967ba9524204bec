/**
 * The library's front door: one object that owns the store, the stream hub,
 * the runner and the HTTP routes, and shows only what users call.
 *
 * @example
 * const liveop = createLiveop();
 * const { session } = await liveop.createSession({ title: 'Import', tasks: { import: 'Import products' } });
 * session.addSequential('import', async (task) => { for await (const row of task.track(rows)) await save(row); });
 * app.route('/progress', liveop.routes());
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { CreatedSession, CreateSessionInput, ProgressEvent, Snapshot } from '../protocol/index.ts';
import { LiveopError } from './core/errors.ts';
import { createSessionSchema, parse } from './core/schemas.ts';
import { toSnapshot } from './core/snapshot.ts';
import { createApp, type LiveopApp } from './http/app.ts';
import { type AppConfig, DEFAULT_APP_CONFIG } from './http/context.ts';
import { DEFAULT_CAPS, Limits } from './http/limits.ts';
import { type Listening, listen } from './http/listen.ts';
import { reportUnservable } from './http/snapshot-json.ts';
import { type StreamCounts, StreamResponder } from './http/stream-response.ts';
import { widgetLoader } from './http/widget-asset.ts';
import type { LiveopOptions } from './liveop-options.ts';
import { LazyBullmqRunner } from './runner/bullmq-lazy.ts';
import type { WorkerOptions } from './runner/bullmq-worker.ts';
import { InlineRunner, LocalRunner } from './runner/in-process-runners.ts';
import { type OperationDefinition, OperationRegistry } from './runner/operations.ts';
import type { ProgressSession } from './runner/progress-session.ts';
import { TaskHost } from './runner/task-host.ts';
import { WebhookQueue } from './runner/webhook-queue.ts';
import { createAuthenticator, SessionAccess, TokenSigner } from './sessions/access.ts';
import { FinishHooks } from './sessions/finish-hooks.ts';
import { type OperationRunner, SessionService } from './sessions/session-service.ts';
import { deliverWebhook, postWebhook, webhookBody, webhookRetries } from './sessions/webhook.ts';
import { MemorySessionStore } from './store/memory-store.ts';
import type { SessionStore } from './store/session-store.ts';

export type { Listening, LiveopOptions };

import { type Cursor, StreamHub } from './stream/hub.ts';
import { printSnapshots } from './text/text-view.ts';

export interface CreatedProgressSession extends CreatedSession {
  /** The in-process handle: add tasks to it, report through it. */
  session: ProgressSession;
}

/** This process's own code: every right on every session. */
const SYSTEM = { kind: 'system' } as const;

export class Liveop {
  /** True when no API keys are configured (open mode: serve loopback only). */
  readonly open: boolean;
  readonly #now: () => number;
  readonly #store: SessionStore;
  readonly #hub: StreamHub;
  readonly #host: TaskHost;
  readonly #streams: StreamResponder;
  readonly #operations = new OperationRegistry();
  readonly #runner: OperationRunner & { close?(): void | Promise<void> };
  readonly #options: LiveopOptions;
  readonly #hooks: FinishHooks;
  #worker: Promise<{ close(): Promise<void> }[]> | null = null;
  readonly #webhookQueue: WebhookQueue | null;
  readonly #sessions: SessionService;
  readonly #publicUrl: string;
  readonly #app: LiveopApp;

  constructor(options: LiveopOptions = {}) {
    this.#now = options.now ?? Date.now;
    const now = this.#now;
    const store: SessionStore = options.store ?? new MemorySessionStore({ now });
    this.#store = store;
    const config: AppConfig = { ...DEFAULT_APP_CONFIG };
    for (const key of Object.keys(DEFAULT_APP_CONFIG).concat('publicUrl') as (keyof AppConfig)[]) {
      if (options[key] !== undefined) Object.assign(config, { [key]: options[key] });
    }
    this.#publicUrl = (config.publicUrl ?? '').replace(/\/$/, '');
    this.#hub = new StreamHub({
      store,
      now,
      onBroken: reportUnservable,
      ...(options.throttleHz === undefined ? {} : { throttleHz: options.throttleHz }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    });
    const signer = new TokenSigner(options.secret, { now });
    const authenticator = createAuthenticator(options.apiKeys ?? {}, signer);
    this.open = authenticator.open;
    this.#options = options;
    const report = (id: string, events: ProgressEvent[]) =>
      this.#sessions.report(SessionAccess.check(id, SYSTEM, 'report'), events);
    this.#host = new TaskHost({
      store,
      report,
      // Only a session that is gone reads as null (the job then has nothing to do); a store that cannot
      // answer fails the attempt, so the queue runs it again instead of leaving the session pending.
      read: (id) =>
        this.snapshot(id).catch((error: unknown) => {
          if (error instanceof LiveopError && error.kind === 'not_found') return null;
          throw error;
        }),
      watch: (id, signal) => this.watch(id, { signal }),
      startNext: async (from, name, input) => {
        // The next session belongs to whoever owns this one.
        const owner = (await store.get(from))?.owner ?? undefined;
        return (await this.start(name, input, owner === undefined ? {} : { owner })).id;
      },
      operations: this.#operations,
      concurrency: options.concurrency ?? 8,
    });
    const runner = options.runner ?? 'local';
    const bullmq = typeof runner === 'object' ? new LazyBullmqRunner(this.#operations, runner.bullmq, report) : null;
    this.#runner =
      runner === 'inline'
        ? new InlineRunner(this.#host, this.#operations)
        : runner === 'local'
          ? new LocalRunner(this.#host, this.#operations, report, options.operationConcurrency ?? 8)
          : bullmq!;
    const webhooks = options.webhooks;
    // On BullMQ, webhooks go on a queue of their own, for the workers that hold the secret.
    const webhookQueue =
      webhooks && typeof runner === 'object' ? new WebhookQueue(runner.bullmq, webhookRetries(webhooks)) : null;
    this.#webhookQueue = webhookQueue;
    this.#hooks = new FinishHooks({
      store,
      now,
      operationHook: (name) => this.#operations.get(name)?.onFinish,
      ...(options.onFinish ? { onFinish: options.onFinish } : {}),
      ...(webhooks
        ? {
            webhook: (url: string, snapshot: Snapshot) =>
              webhookQueue ? webhookQueue.add(url, webhookBody(snapshot)) : deliverWebhook(url, snapshot, webhooks),
          }
        : {}),
    });
    this.#sessions = new SessionService({
      store,
      signer,
      authenticator,
      now,
      operations: this.#runner,
      sessionDefaults: options.sessionDefaults ?? {},
      sessionsPerOwner: options.caps?.sessionsPerOwner ?? DEFAULT_CAPS.sessionsPerOwner,
      hooks: this.#hooks,
      ...(webhooks ? { webhooks: { allowPrivateNetworks: webhooks.allowPrivateNetworks } } : {}),
      viewerTokenTtlSeconds: config.viewerTokenTtlSeconds,
      reporterTokenTtlSeconds: config.reporterTokenTtlSeconds,
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    });
    const limits = new Limits(options.rateLimits ?? {}, options.caps ?? {}, store.rateLimiter);
    this.#streams = new StreamResponder(limits.caps.stuckStreamMs);
    this.#app = createApp({
      sessions: this.#sessions,
      hub: this.#hub,
      streams: this.#streams,
      authenticator,
      config,
      limits,
      ping: () => store.ping(),
      widget: widgetLoader(options.widgetPath ?? builtWidget()),
    });
  }

  /** The HTTP API as a Hono app, to mount: `app.route('/progress', liveop.routes())`. */
  routes(): LiveopApp {
    return this.#app;
  }

  /**
   * Creates a session whose tasks run in this process (held to the limits of
   * `POST /sessions`). `base`: the URL prefix the page reaches the API at, for
   * the answer's URLs. @default the `publicUrl` option, else ''
   * @example
   * const { session, streamUrl, viewerToken } = await liveop.createSession({ tasks: { a: 'Fetch' } });
   */
  async createSession(
    input: CreateSessionInput = {},
    options: { base?: string } = {},
  ): Promise<CreatedProgressSession> {
    const body = parse(createSessionSchema, input);
    const { created } = await this.#sessions.create(body, SYSTEM, options.base ?? this.#publicUrl);
    return { ...created, session: this.#host.session(created.id) };
  }

  /**
   * An in-process handle to a session that exists (created here, by another
   * instance, or over HTTP): report into it, watch it (django-spire's
   * `ProgressSession.get(id)`).
   */
  async session(id: string): Promise<ProgressSession> {
    if ((await this.#store.get(id)) === undefined) throw new LiveopError('not_found', `unknown session "${id}"`);
    return this.#host.session(id);
  }

  /**
   * Registers a server-side operation, started with `POST /operations/:name` or `start()`.
   * @example
   * liveop.operation('report', { input: z.object({ month: z.string() }), run: async (task, { month }) => { … } });
   */
  operation<I>(name: string, definition: OperationDefinition<I>): this {
    this.#operations.register(name, definition);
    return this;
  }

  /**
   * Makes this process a BullMQ worker (with `runner: { bullmq }`): it runs
   * queued operations until `close()`, and with `webhooks` configured sends
   * the queued webhook deliveries too. Register the operations first.
   * @example
   * const liveop = createLiveop({ store, runner: { bullmq: { url: process.env.REDIS_URL! } } });
   * registerOperations(liveop);
   * await liveop.work({ concurrency: 4 });
   */
  async work(options: Partial<WorkerOptions> = {}): Promise<void> {
    const runner = this.#options.runner;
    if (typeof runner !== 'object') throw new Error('work(): configure runner: { bullmq: { url } } first');
    const settings = { ...runner.bullmq, ...options };
    const webhooks = this.#options.webhooks;
    const deliver = webhooks && ((url: string, body: string) => postWebhook(url, body, webhooks));
    this.#worker ??= Promise.all([
      import('./runner/bullmq-worker.ts').then((m) => m.startWorker(this.#host, this.#operations, settings)),
      ...(deliver ? [import('./runner/webhook-worker.ts').then((m) => m.startWebhookWorker(settings, deliver))] : []),
    ]);
    await this.#worker;
  }

  /** Starts a registered operation here, as `POST /operations/:name` does. */
  start(name: string, input: unknown, options: { owner?: string; base?: string } = {}): Promise<CreatedSession> {
    return this.#sessions.start(name, input, SYSTEM, options.base ?? this.#publicUrl, { owner: options.owner });
  }

  /** The session's snapshot now. */
  async snapshot(id: string): Promise<Snapshot> {
    const session = await this.#sessions.read(id, SYSTEM);
    return toSnapshot(session, this.#now());
  }

  /**
   * The session's snapshots as they change, from the hub without any
   * encoding, ending after the terminal one (or when `signal` aborts).
   */
  async *watch(
    id: string,
    options: Cursor & { signal?: AbortSignal; follow?: boolean } = {},
  ): AsyncGenerator<Snapshot> {
    const { signal, follow, ...cursor } = options;
    let last: Snapshot | null = null;
    for await (const snapshot of this.#watchOne(id, cursor, signal)) {
      last = snapshot;
      yield snapshot;
    }
    // `follow`: on into the session a chain (or a restart) points at.
    if (follow && last?.next && !signal?.aborted)
      yield* this.watch(last.next.id, { follow, ...(signal ? { signal } : {}) });
  }

  async *#watchOne(id: string, cursor: Cursor, signal: AbortSignal | undefined): AsyncGenerator<Snapshot> {
    const subscription = await this.#hub.subscribe(new Map([[id, cursor]]));
    let wake: (() => void) | null = null;
    subscription.onPending = () => wake?.();
    const aborted = () => subscription.close();
    signal?.addEventListener('abort', aborted, { once: true });
    try {
      for (;;) {
        for (const { line } of subscription.take()) {
          if (line.type === 'snapshot') yield line;
          else if (line.type === 'error') throw new LiveopError('unavailable', `session ${id}: ${line.error.message}`);
        }
        if (subscription.done || signal?.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
      }
    } finally {
      signal?.removeEventListener('abort', aborted);
      subscription.close();
    }
  }

  /** Asks the session's work to stop, as a viewer's cancel button does. */
  async cancel(id: string): Promise<void> {
    await this.#sessions.cancel(SessionAccess.check(id, SYSTEM, 'cancel'));
  }

  /** Removes the session; its streams end with `gone`. */
  async delete(id: string): Promise<void> {
    await this.#sessions.remove(SessionAccess.check(id, SYSTEM, 'own'));
  }

  /**
   * What this instance holds: streams and watched sessions, in-process
   * sessions and pending writes; the streams it opened, by transport
   * (`nodeStreams`: written straight to the Node response; `webStreams`:
   * through a web stream, when middleware replaced the answer or there is no
   * Node response); and the streams it closed because their client took
   * nothing for `caps.stuckStreamMs`. Every count is this instance's own.
   */
  stats(): ReturnType<StreamHub['stats']> & ReturnType<TaskHost['stats']> & StreamCounts {
    return { ...this.#hub.stats(), ...this.#host.stats(), ...this.#streams.stats() };
  }

  /**
   * Serves on a port (0: any free one), loopback unless told otherwise. `app`
   * serves an app that mounts these routes (with a demo, say) instead of them
   * alone.
   * @example
   * const { url, close } = await liveop.listen(8787);
   */
  listen(port = 0, hostname = '127.0.0.1', app: { fetch: Hono['fetch'] } = this.#app): Promise<Listening> {
    // Open mode trusts everyone who reaches it: only this machine may.
    if (this.open && !['127.0.0.1', 'localhost', '::1'].includes(hostname)) {
      return Promise.reject(
        new Error(`refusing to listen on ${hostname} with no API keys; configure apiKeys or listen on 127.0.0.1`),
      );
    }
    return listen(app, port, hostname, () => this.#hub.shutdown());
  }

  async close(): Promise<void> {
    this.#hub.close();
    for (const worker of (await this.#worker?.catch(() => null)) ?? []) await worker.close();
    await this.#runner.close?.();
    await this.#webhookQueue?.close();
    this.#hooks.close();
    this.#host.close();
    await this.#store.close();
  }

  /**
   * Text mode (liveops' TextProgress): runs a registered operation in this
   * process and prints its progress as text; resolves with the last snapshot.
   * @example
   * await liveop.runInTerminal('monthly-report', { month: '2026-11' });
   */
  async runInTerminal(name: string, input: unknown, write?: (text: string) => void): Promise<Snapshot | null> {
    const { id } = await this.start(name, input);
    return printSnapshots(this.watch(id, { follow: true }), write);
  }
}

/**
 * Where the element bundle is, seen from this module: in the package
 * (dist/lib/server/liveop.js → dist/live-operation.js), in a checkout
 * (server/liveop.ts → dist/…), or bundled beside it (dist/server.js).
 */
function builtWidget(): string {
  const candidates = ['../../live-operation.js', '../dist/live-operation.js', './live-operation.js'].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  // Not built yet (a checkout before `npm run build`): where the build will put it.
  return candidates.find((path) => existsSync(path)) ?? candidates[import.meta.url.endsWith('.ts') ? 1 : 0]!;
}

export function createLiveop(options: LiveopOptions = {}): Liveop {
  return new Liveop(options);
}
