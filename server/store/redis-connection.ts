/**
 * The Redis store's two connections — one for commands, one subscribed to
 * the change channel — and whether Redis is there.
 *
 * - No offline queue and a command timeout: while Redis is away every call
 *   rejects quickly with `StoreUnavailable`; the clients reconnect by
 *   themselves (`@keyv/redis`'s backoff with jitter).
 * - Up and down are told once each (`log`), not per retry. Once both
 *   connections are back after a failure, the resync listeners are called:
 *   pub/sub is at-most-once, so notifications of the gap are lost.
 * - A cluster client tells of no reconnection: after a node error the
 *   connection asks every half second (see #probe).
 */
import {
  createClient,
  createCluster,
  defaultReconnectStrategy,
  type RedisClientType,
  type RedisClusterType,
} from '@keyv/redis';
import type { LuaScript } from './redis-scripts.ts';
import { StoreUnavailable } from './session-store.ts';

/** A single Redis or a Redis Cluster. */
export type RedisClient = RedisClientType | RedisClusterType;

export interface ConnectionSettings {
  /** One URL, or several comma-separated root nodes of a cluster. */
  url: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  log: (message: string) => void;
}

/** Redis errors that mean "not now" rather than "wrong": answered with 503 like a lost connection. */
const TRANSIENT = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|MISCONF|NOREPLICAS|MOVED|ASK)\b/;

export class RedisConnection {
  /** For commands. */
  readonly client: RedisClient;
  /** Subscribed to the change channel (a duplicate of `client`). */
  readonly subscriber: RedisClient;
  readonly #settings: ConnectionSettings;
  readonly #resyncs = new Set<() => void>();
  /** Until both clients first connect there is no state to track: errors are only kept from crashing the process. */
  #opened = false;
  #up = true;
  #closed = false;

  private constructor(client: RedisClient, subscriber: RedisClient, settings: ConnectionSettings) {
    this.client = client;
    this.subscriber = subscriber;
    this.#settings = settings;
    // Attached once, never swapped: the command client is a prototype proxy of the real one
    // (`commandOptions`), and off() of its last listener would leave later on() calls deaf.
    for (const c of [client, subscriber]) {
      c.on('error', (error: unknown) => this.#down(error));
      // A cluster tells of each node's errors apart, and of no reconnection: see #down.
      c.on('node-error', (error: unknown) => this.#down(error));
      c.on('ready', () => this.#upAgain());
    }
  }

  /**
   * Connects both clients. Rejects with `StoreUnavailable` when Redis does
   * not answer within `connectTimeoutMs` (and leaves nothing open); its
   * cause says why, with the last connection error (`ECONNREFUSED`, …).
   */
  static async open(settings: ConnectionSettings): Promise<RedisConnection> {
    const client = makeClient(settings.url, settings.commandTimeoutMs);
    const subscriber = client.duplicate() as RedisClient;
    const connection = new RedisConnection(client, subscriber, settings);
    try {
      await withTimeout(Promise.all([client.connect(), subscriber.connect()]), settings.connectTimeoutMs, 'connect');
    } catch (error) {
      for (const c of [client, subscriber]) destroy(c);
      if (error instanceof StoreUnavailable) throw error;
      const last = connection.#openingError;
      throw new StoreUnavailable(last === undefined ? error : new Error((error as Error).message, { cause: last }));
    }
    connection.#opened = true;
    return connection;
  }

  /** Subscribes the subscriber connection to `channel` (within `connectTimeoutMs`). */
  async subscribe(channel: string, onMessage: (message: string) => void): Promise<void> {
    await withTimeout(this.subscriber.subscribe(channel, onMessage), this.#settings.connectTimeoutMs, 'subscribe');
  }

  /** True once close() was called: every call fails from then on. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `onResync` whenever both connections are back after a failure
   * (listeners are called in the order they were added). Returns the removal.
   */
  onResync(onResync: () => void): () => void {
    this.#resyncs.add(onResync);
    return () => this.#resyncs.delete(onResync);
  }

  /** Runs Redis work; a lost connection, a timeout or a Redis that cannot serve now becomes StoreUnavailable. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailable(new Error('the store is closed'));
    try {
      // The client's own timeout only covers commands not yet sent; this one also bounds waiting for a reply.
      return await withTimeout(work(), this.#settings.commandTimeoutMs, 'a command');
    } catch (error) {
      if (isReplyError(error) && !TRANSIENT.test(error.message)) throw error;
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(error);
    }
  }

  /** EVALSHA, and the whole script when Redis does not know it (it was restarted). Wrap it in run(). */
  async script(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalSha(script.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.client.eval(script.source, { keys, arguments: args });
    }
  }

  /**
   * Refuses new work at once (and tells no more state changes), waits for
   * `drain` — the work already running, which now fails fast — then closes
   * both clients.
   */
  async close(drain: () => Promise<void> = async () => {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#resyncs.clear();
    await drain();
    for (const client of [this.subscriber, this.client]) {
      client.removeAllListeners('ready');
      if (isReady(client)) await client.close().catch(() => destroy(client));
      else destroy(client);
      // Late socket errors of a closed client must not crash the process.
      client.removeAllListeners('error');
      client.on('error', () => {});
    }
  }

  #resync(): void {
    if (this.#closed) return;
    for (const onResync of this.#resyncs) {
      try {
        onResync();
      } catch (error) {
        this.#settings.log(`liveop: a store resync listener threw: ${String(error)}`);
      }
    }
  }

  /** A connection failed: notifications may be lost from now on, and reads fail. */
  /** The last error before the first connection: why `open()` failed, if it does. */
  #openingError: unknown;

  #down(error: unknown): void {
    if (!this.#opened) this.#openingError = error;
    if (!this.#opened || !this.#up || this.#closed) return;
    this.#up = false;
    this.#settings.log(
      `liveop: Redis is unavailable (${error instanceof Error ? error.message : String(error)}); reconnecting`,
    );
    if (isCluster(this.client)) this.#probe();
  }

  /**
   * A cluster client emits no 'ready' when a node comes back, so ask every
   * half second: once every master answers PING and the subscription's node
   * is connected, resync.
   */
  #probe(): void {
    setTimeout(() => {
      if (this.#up || this.#closed) return;
      withTimeout(clusterAnswers(this.client, this.subscriber), this.#settings.commandTimeoutMs, 'PING').then(
        (answers) => {
          if (this.#up || this.#closed) return;
          if (!answers) return this.#probe();
          this.#up = true;
          this.#settings.log('liveop: Redis is reachable again');
          this.#resync();
        },
        () => this.#probe(),
      );
    }, 500).unref();
  }

  /**
   * A connection is ready again. Once both are (the subscription re-made and
   * reads possible), listeners re-read what they watch: notifications of the
   * gap are lost, and reads they tried meanwhile failed.
   */
  #upAgain(): void {
    if (!this.#opened || this.#up || this.#closed) return;
    if (!isReady(this.client) || !isReady(this.subscriber)) return;
    this.#up = true;
    this.#settings.log('liveop: Redis is reachable again');
    this.#resync();
  }
}

function makeClient(url: string, commandTimeoutMs: number): RedisClient {
  const socket = { reconnectStrategy: defaultReconnectStrategy, connectTimeout: commandTimeoutMs };
  // No offline queue: while the connection is down, commands fail at once instead of piling up.
  // A bounded queue: a Redis that stops answering cannot make memory grow without end.
  const common = {
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    commandOptions: { timeout: commandTimeoutMs },
  };
  const urls = url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length > 1) {
    return createCluster({
      rootNodes: urls.map((u) => ({ url: u })),
      defaults: { socket, ...common },
    }) as unknown as RedisClient;
  }
  return createClient({ url, socket, ...common }) as unknown as RedisClient;
}

async function clusterAnswers(client: RedisClient, subscriber: RedisClient): Promise<boolean> {
  if (!isCluster(client) || !isCluster(subscriber)) return false;
  const nodes = await Promise.all(client.masters.map((master) => client.nodeClient(master)));
  await Promise.all(nodes.map((node) => node.ping()));
  return subscriber.pubSubNode?.client.isReady ?? false;
}

function isCluster(client: RedisClient): client is RedisClusterType {
  return !('isReady' in client);
}

function isReady(client: RedisClient): boolean {
  return 'isReady' in client ? client.isReady : client.isOpen;
}

function destroy(client: RedisClient): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // already closed
  }
}

function isReplyError(error: unknown): error is Error {
  for (let p = error; p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if ((p as object).constructor?.name === 'ErrorReply') return true;
  }
  return false;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
