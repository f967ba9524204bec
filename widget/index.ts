export * from './events.ts';
export { LiveOperation } from './live-operation.ts';
export { registerMessages } from './locale-controller.ts';
export type { Fetch } from './shared-connection.ts';
export { timing } from './shared-connection.ts';
export { StreamController, type StreamSource } from './stream-controller.ts';
export { defaultStrings, format, formatDuration, type LiveOperationStrings } from './strings.ts';
