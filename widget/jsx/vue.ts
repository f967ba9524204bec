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
type None = Record<string, never>;

/** A custom element as Vue's type checker sees it: its attributes as props, its events as emits. */
type ElementComponent<Attributes, Events> = DefineComponent<
  Attributes,
  None,
  None,
  None,
  None,
  ComponentOptionsMixin,
  ComponentOptionsMixin,
  Emits<Events>
>;

/** `<live-operation>` as Vue's type checker sees it. */
export type LiveOperationComponent = ElementComponent<LiveOperationAttributes, LiveOperationEvents>;

/** `<live-operation-list>` as Vue's type checker sees it. */
export type LiveOperationListComponent = ElementComponent<
  LiveOperationListAttributes,
  LiveOperationListEvents & LiveOperationEvents
>;

declare module 'vue' {
  interface GlobalComponents {
    'live-operation': LiveOperationComponent;
    'live-operation-list': LiveOperationListComponent;
  }
}
