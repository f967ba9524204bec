/** The wire protocol: types, constants and the NDJSON codec. No dependencies. */
export * from './ndjson';
export * from './wire';
