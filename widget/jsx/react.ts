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
import type { LiveOperationAttributes, LiveOperationEvents } from './attributes.ts';

type EventProps = { [K in keyof LiveOperationEvents as `on${K}`]?: (event: LiveOperationEvents[K]) => void };

/** What `<live-operation>` takes in JSX. */
export type LiveOperationProps = DetailedHTMLProps<HTMLAttributes<LiveOperation>, LiveOperation> &
  LiveOperationAttributes &
  EventProps;

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'live-operation': LiveOperationProps;
    }
  }
}
