/** The wire protocol: types, constants and the NDJSON codec. No dependencies. */
export * from './ndjson.ts';
export * from './wire.ts';
