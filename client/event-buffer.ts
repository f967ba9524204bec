/**
 * Reports waiting to be sent, and how they are cut into batches.
 *
 * - A `percent` or `steps` report replaces the last one for the same task
 *   while only other progress reports came after it (so a loop reporting
 *   two tasks in turn costs two events a batch, not thousands); any other
 *   event keeps them apart and in order.
 * - Log lines are never coalesced or dropped. Adjacent `log` events travel as
 *   one `{type: 'log', lines}` event (each line still its own line).
 * - A batch holds at most `maxEvents` events (the server's 10,000, and 10,000
 *   lines a `log` event) and `maxBytes` of JSON; the rest waits for the next
 *   batch. A long run of log lines is split between batches.
 */
import { LIMITS, type ProgressEvent } from '../protocol/index.ts';

/** A report waiting to be sent. */
interface Entry {
  event: ProgressEvent;
  /** The event as JSON, made when it was pushed (so later changes to its data are not sent); null for log lines. */
  json: string | null;
  /** Number of the oldest report this entry stands for (a coalesced report stands for the ones it replaced). */
  first: number;
}

/** One request's worth of events. */
export interface Batch {
  /** The JSON array to send. */
  body: string;
  /** Events in it (adjacent log events counted as the one they were joined into). */
  events: number;
  /** Number of the oldest report in it. */
  first: number;
  /** True when it holds only `heartbeat` events. */
  heartbeatsOnly: boolean;
  /** True when it holds an event that ends the session (`error`, `cancelled`, `chain`). */
  ends: boolean;
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

const LOG_OPEN = '{"type":"log","lines":[';
const LOG_CLOSE = ']}';
/** Events that end the session. */
export const ENDING = new Set(['error', 'cancelled', 'chain']);

export class EventBuffer {
  #entries: Entry[] = [];
  #count = 0;

  /** Reports waiting. */
  get size(): number {
    return this.#entries.length;
  }

  /** Number of the newest report pushed (0 before any). */
  get newest(): number {
    return this.#count;
  }

  /** Number of the oldest report still waiting (`Infinity` when none is). */
  get oldest(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries) oldest = Math.min(oldest, entry.first);
    return oldest;
  }

  /** Adds a report; throws (and adds nothing) when it cannot be encoded as JSON. */
  push(event: ProgressEvent): void {
    // A line with `data` travels as it is: lines are joined only when they are plain text.
    const log = event.type === 'log' && event.data === undefined && isPlainLog(event);
    const json = log ? null : JSON.stringify(event);
    if (json === undefined) throw new TypeError(`a ${event.type} event must be a JSON object`);
    const copy: ProgressEvent = log ? { type: 'log', lines: [...lines(event)] } : event;
    const number = ++this.#count;
    if (log && lines(copy as ProgressEvent & { type: 'log' }).length === 0) return;
    if (event.type === 'percent' || event.type === 'steps') {
      for (let i = this.#entries.length - 1; i >= 0; i--) {
        const earlier = this.#entries[i]!.event;
        if (earlier.type !== 'percent' && earlier.type !== 'steps') break;
        if (earlier.task !== event.task) continue;
        const [replaced] = this.#entries.splice(i, 1);
        this.#entries.push({ event, json, first: replaced!.first });
        return;
      }
    }
    this.#entries.push({ event: copy, json, first: number });
  }

  clear(): void {
    this.#entries = [];
  }

  /** Takes the next batch off the front (null when nothing waits). */
  take(limits: BatchLimits): Batch | null {
    if (this.#entries.length === 0) return null;
    const parts: string[] = [];
    let bytes = 2; // [ ]
    let first = Number.POSITIVE_INFINITY;
    let heartbeatsOnly = true;
    let ends = false;
    /** The open log event: its lines, as JSON. */
    let log: string[] | null = null;
    let taken = 0;
    const closeLog = () => {
      if (log !== null) parts.push(`${LOG_OPEN}${log.join(',')}${LOG_CLOSE}`);
      log = null;
    };
    const fits = (cost: number) => bytes + cost <= limits.maxBytes || (parts.length === 0 && log === null);
    outer: for (const entry of this.#entries) {
      const { event, json } = entry;
      if (json === null && event.type === 'log') {
        const all = lines(event);
        for (let i = 0; i < all.length; i++) {
          const line = JSON.stringify(all[i]);
          const opens = log === null || log.length >= Math.min(limits.maxEvents, LIMITS.eventsPerBatch);
          const events = parts.length + (log === null ? 0 : 1);
          const cost = opens
            ? (events > 0 ? 1 : 0) + LOG_OPEN.length + LOG_CLOSE.length + utf8Length(line)
            : 1 + utf8Length(line);
          if ((opens && events + 1 > limits.maxEvents) || !fits(cost)) {
            // The rest of this entry's lines wait for the next batch.
            if (i > 0) entry.event = { type: 'log', lines: all.slice(i) };
            break outer;
          }
          if (opens) {
            closeLog();
            log = [];
          }
          log!.push(line);
          bytes += cost;
          first = Math.min(first, entry.first);
          heartbeatsOnly = false;
        }
        taken++;
        continue;
      }
      if (json === null) continue; // not reached: only log lines are kept without JSON
      const events = parts.length + (log === null ? 0 : 1);
      const cost = (events > 0 ? 1 : 0) + utf8Length(json);
      if (events + 1 > limits.maxEvents || !fits(cost)) break;
      closeLog();
      parts.push(json);
      bytes += cost;
      first = Math.min(first, entry.first);
      if (event.type !== 'heartbeat') heartbeatsOnly = false;
      if (ENDING.has(event.type)) ends = true;
      taken++;
    }
    closeLog();
    this.#entries.splice(0, taken);
    if (parts.length === 0) return null; // not reached: the first event is always taken
    return { body: `[${parts.join(',')}]`, events: parts.length, first, heartbeatsOnly, ends };
  }
}

/** A log event with exactly one of `line` and `lines` (anything else goes as it is, for the server to refuse). */
function isPlainLog(event: ProgressEvent & { type: 'log' }): boolean {
  return (event.line === undefined) !== (event.lines === undefined);
}

function lines(event: ProgressEvent & { type: 'log' }): string[] {
  return event.lines ?? (event.line === undefined ? [] : [event.line]);
}

/** The length of a string in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    // Two bytes; three below the surrogates and above them; a surrogate pair (two units) makes four.
    bytes += code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}
