/**
 * Registers `<live-operation-list>` and the `<live-operation>` its rows show:
 * the entry of `dist/live-operation-list.js` (served as `/widget-list.js`)
 * and of `liveop/element/list`. Import `./live-operation-list` for the class
 * without the side effect.
 */
import { LiveOperationList } from './live-operation-list.ts';

LiveOperationList.define();

export * from './events.ts';
export type { ListAction } from './list-actions.ts';
export * from './list-events.ts';
export type { ListRow } from './list-rows.ts';
export { defaultListStrings, type LiveOperationListStrings } from './list-strings.ts';
export { LiveOperation } from './live-operation.ts';
export { LiveOperationList };
