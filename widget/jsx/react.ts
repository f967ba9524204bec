/**
 * `<live-operation>` in React 19's JSX: `import type {} from 'liveop/element/react'`
 * once (with `import 'liveop/element'` to register it), then
 *
 *   <live-operation src={streamUrl} token={viewerToken}
 *     onlive-operation-complete={(e) => console.log(e.snapshot.result)} />
 *
 * React 19 sets known properties and adds listeners for `on<event name>`.
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { LiveOperation } from '../live-operation.ts';
import type { LiveOperationList } from '../live-operation-list.ts';
import type {
  LiveOperationAttributes,
  LiveOperationEvents,
  LiveOperationListAttributes,
  LiveOperationListEvents,
} from './attributes.ts';

type EventProps<E> = { [K in keyof E as `on${K & string}`]?: (event: E[K]) => void };

/** What `<live-operation>` takes in JSX. */
export type LiveOperationProps = DetailedHTMLProps<HTMLAttributes<LiveOperation>, LiveOperation> &
  LiveOperationAttributes &
  EventProps<LiveOperationEvents>;

/** What `<live-operation-list>` takes in JSX (the events of the `<live-operation>`s it opens bubble to it). */
export type LiveOperationListProps = DetailedHTMLProps<HTMLAttributes<LiveOperationList>, LiveOperationList> &
  LiveOperationListAttributes &
  EventProps<LiveOperationListEvents & LiveOperationEvents>;

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'live-operation': LiveOperationProps;
      'live-operation-list': LiveOperationListProps;
    }
  }
}
