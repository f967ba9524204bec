export * from './events';
export { LiveOperation } from './live-operation';
export type { Fetch } from './shared-connection';
export { timing } from './shared-connection';
export { StreamController, type StreamSource } from './stream-controller';
export { defaultStrings, format, formatDuration, type LiveOperationStrings } from './strings';
