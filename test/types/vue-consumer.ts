/** Compiled by `tsc --noEmit`: Vue's type checker sees <live-operation> as a global component with typed props. */
import type { GlobalComponents } from 'vue';
import type {} from '../../widget/jsx/vue.ts';

type Props = InstanceType<GlobalComponents['live-operation']>['$props'];
export const ok: Props = { src: '/sessions/x/stream', token: 't', 'log-open': true };
// @ts-expect-error: not a prop of <live-operation>
export const typo: Props = { srcc: 'x' };

type ListProps = InstanceType<GlobalComponents['live-operation-list']>['$props'];
export const list: ListProps = { src: '/my/sessions', status: 'running', 'refresh-interval': 5000 };
// @ts-expect-error: not a prop of <live-operation-list>
export const listTypo: ListProps = { sorc: 'x' };
