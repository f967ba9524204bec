/** The wire protocol: types, constants, the NDJSON codec and the views' closing ramp. No dependencies. */
export * from './closing-ramp.ts';
export * from './ndjson.ts';
export * from './wire.ts';
