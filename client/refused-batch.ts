/**
 * A refused batch applied nothing — the server applies a batch whole or not
 * at all — so one bad event (a typo'd task id) would take the good ones
 * batched with it down too. Its halves are sent again, and the halves of a
 * refused half, until every event that applies on its own is applied and the
 * ones that do not are singled out: what the in-process writer does event by
 * event, in a few requests instead of one per event.
 */
import type { ProgressEvent } from '../protocol/index.ts';
import { LiveopClientError } from './errors.ts';

/** An event the server refused on its own, and its refusal. */
export interface DroppedEvent {
  event: ProgressEvent;
  error: LiveopClientError;
}

/** At most this many requests go to taking one batch apart; past it, what is left is dropped with its refusal. */
const MAX_REQUESTS = 64;

/**
 * Refusals about the events themselves (invalid, an unknown or ended task),
 * not about the credential, the session, the size or the load.
 */
export const refusesEvents = (error: LiveopClientError): boolean =>
  error.status === 400 || error.status === 404 || error.status === 409;

/** Sends `events` (refused together with `refusal`) in ever smaller parts; answers the ones refused alone. */
export async function sendApart(
  events: ProgressEvent[],
  refusal: LiveopClientError,
  post: (events: ProgressEvent[]) => Promise<void>,
): Promise<DroppedEvent[]> {
  let requests = 0;
  const apart = async (part: ProgressEvent[], error: LiveopClientError): Promise<DroppedEvent[]> => {
    if (part.length === 1 || requests >= MAX_REQUESTS) return part.map((event) => ({ event, error }));
    const dropped: DroppedEvent[] = [];
    const middle = Math.ceil(part.length / 2);
    for (const half of [part.slice(0, middle), part.slice(middle)]) {
      requests++;
      try {
        await post(half);
      } catch (caught) {
        if (!(caught instanceof LiveopClientError && refusesEvents(caught))) throw caught;
        dropped.push(...(await apart(half, caught)));
      }
    }
    return dropped;
  };
  return apart(events, refusal);
}

/** One error for a batch's dropped events, naming each and why; its status and code are the first refusal's. */
export function droppedError(dropped: DroppedEvent[], sent: number): LiveopClientError {
  const each = dropped.map(({ event, error }) => {
    const task = 'task' in event && event.task !== undefined ? ` for task "${event.task}"` : '';
    // The server's message names the event's place in the one-event batch it was refused in: not worth repeating.
    return `${event.type}${task} (${error.message.replace(/^events\[\d+\] \([^)]*\): /, '')})`;
  });
  const first = dropped[0]!.error;
  return new LiveopClientError(
    `${dropped.length} of ${sent} events refused and dropped, the others applied: ${each.join('; ')}`,
    { status: first.status, code: first.code, dropped: dropped.map((d) => d.event) },
  );
}
