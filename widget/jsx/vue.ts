/**
 * `<live-operation>` and `<live-operation-list>` in Vue templates, type-checked: `import type {} from
 * 'liveop/element/vue'` once (with `import 'liveop/element'` to register it,
 * and `compilerOptions.isCustomElement: (tag) => tag === 'live-operation'`),
 * then
 *
 *   <live-operation :src="streamUrl" :token="viewerToken"
 *     @live-operation-complete="onComplete" />
 */
import type { ComponentOptionsMixin, DefineComponent } from 'vue';
import type {
  LiveOperationAttributes,
  LiveOperationEvents,
  LiveOperationListAttributes,
  LiveOperationListEvents,
} from './attributes.ts';

type Emits<E> = { [K in keyof E]: (event: E[K]) => void };

/** `<live-operation>` as Vue's type checker sees it. */
type None = Record<string, never>;
export type LiveOperationComponent = DefineComponent<
  LiveOperationAttributes,
  None,
  None,
  None,
  None,
  ComponentOptionsMixin,
  ComponentOptionsMixin,
  Emits<LiveOperationEvents>
>;

/** `<live-operation-list>` as Vue's type checker sees it. */
export type LiveOperationListComponent = DefineComponent<
  LiveOperationListAttributes,
  None,
  None,
  None,
  None,
  ComponentOptionsMixin,
  ComponentOptionsMixin,
  Emits<LiveOperationListEvents & LiveOperationEvents>
>;

declare module 'vue' {
  interface GlobalComponents {
    'live-operation': LiveOperationComponent;
    'live-operation-list': LiveOperationListComponent;
  }
}
