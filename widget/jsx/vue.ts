/**
 * `<live-operation>` in Vue templates, type-checked: `import type {} from
 * 'liveop/element/vue'` once (with `import 'liveop/element'` to register it,
 * and `compilerOptions.isCustomElement: (tag) => tag === 'live-operation'`),
 * then
 *
 *   <live-operation :src="streamUrl" :token="viewerToken"
 *     @live-operation-complete="onComplete" />
 */
import type { ComponentOptionsMixin, DefineComponent } from 'vue';
import type { LiveOperationAttributes, LiveOperationEvents } from './attributes.ts';

type Emits = { [K in keyof LiveOperationEvents]: (event: LiveOperationEvents[K]) => void };

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
  Emits
>;

declare module 'vue' {
  interface GlobalComponents {
    'live-operation': LiveOperationComponent;
  }
}
