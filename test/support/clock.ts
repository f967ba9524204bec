/**
 * A clock a test moves by hand, to inject as `createLiveop({ now })` (and a
 * store's `now`): the server's time rules — stalls, the dead-worker rule, the
 * cancel grace, token lifetimes — then come due when the test says, not
 * after real seconds.
 */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = Date.now()): ManualClock {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
  };
}
