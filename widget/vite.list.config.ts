/**
 * `<live-operation-list>`'s bundle (`npm run build`: dist/live-operation-list.js,
 * served at /widget-list.js): the element build of vite.config.ts — the same
 * minification — from the list's entry, with Lit and
 * `<live-operation>` inside, so one script tag is enough on a list page. It is
 * not held to `<live-operation>`'s 14 KB budget; widget/scripts/size.ts prints its size.
 */
import { mergeConfig } from 'vite';
import base from '../vite.config.ts';

export default mergeConfig(base, {
  build: {
    lib: { entry: 'widget/live-operation-list-define.ts', fileName: () => 'live-operation-list.js' },
  },
});
