/**
 * Registers `<live-operation>`: the entry of `dist/live-operation.js` (served
 * as `/widget.js`). Import `./live-operation` for the class without the side effect.
 */
import { LiveOperation } from './live-operation.ts';

LiveOperation.define();

export * from './events.ts';
export { registerMessages } from './locale-controller.ts';
export { LiveOperation };
