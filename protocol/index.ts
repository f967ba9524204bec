/**
 * The wire protocol: types, constants, the NDJSON codec, URLs and scopes, how
 * to follow a stream, and the views' closing ramp. No dependencies.
 */
export * from './closing-ramp.ts';
export * from './follower.ts';
export * from './grouping.ts';
export * from './limits.ts';
export * from './locales.ts';
export * from './messages.ts';
export * from './ndjson.ts';
export * from './outputs.ts';
export * from './urls.ts';
export * from './wire.ts';
