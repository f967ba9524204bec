/**
 * Soak scale: `npm run test:soak` (LIVEOP_SOAK=1) runs the long tests —
 * thousands of fuzzed requests, tens of thousands of sessions, 10 MB of log
 * to stuck readers, the heaviest property tests' full runs — at full size;
 * `npm test` runs them at an everyday size, or skips them when no smaller
 * size tests the same thing.
 */
export const SOAK = process.env.LIVEOP_SOAK === '1';

/** `full` under `npm run test:soak`, else `everyday`. */
export const soakScale = (full: number, everyday: number): number => (SOAK ? full : everyday);
