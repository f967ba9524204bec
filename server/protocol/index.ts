/** The wire protocol: types, constants, the NDJSON codec, URLs and scopes, and how to follow a stream. No dependencies. */
export * from './follower.ts';
export * from './ndjson.ts';
export * from './urls.ts';
export * from './wire.ts';
