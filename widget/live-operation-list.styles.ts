import { unsafeCSS } from 'lit';

/*
 * The list's sheet, built as `<live-operation>`'s (live-operation.styles.ts):
 * the same public `--live-operation-*` properties, mapped to private `--_*`
 * ones on :host with the same light and dark defaults; they inherit into the
 * `<live-operation>` a row opens, so one set of properties styles both. The
 * inner `.base` starts from `all: initial`; only `direction` (RTL) and custom
 * properties pass in from the page.
 */
const dark = `
  --_fg: var(--live-operation-color, #e6edf3);
  --_muted: var(--live-operation-muted-color, #9198a1);
  --_bg: var(--live-operation-background, #0d1117);
  --_border: var(--live-operation-border-color, #3d444d);
  --_track: var(--live-operation-track-color, #3d444d);
  --_accent: var(--live-operation-bar-color, #4493f8);
  --_ok: var(--live-operation-success-color, #3fb950);
  --_err: var(--live-operation-error-color, #f85149);
`;

export const listStyles = unsafeCSS(`
  :host {
    display: block;
    --_fg: var(--live-operation-color, #1f2328);
    --_muted: var(--live-operation-muted-color, #59636e);
    --_bg: var(--live-operation-background, #fff);
    --_border: var(--live-operation-border-color, #d1d9e0);
    --_track: var(--live-operation-track-color, #d1d9e0);
    --_accent: var(--live-operation-bar-color, #0969da);
    --_ok: var(--live-operation-success-color, #1a7f37);
    --_err: var(--live-operation-error-color, #d1242f);
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme=light])) {${dark}}
  }
  :host([theme=dark]) {${dark}}
  :host([hidden]) {
    display: none;
  }
  .base {
    all: initial;
    display: grid;
    gap: 12px;
    font: var(--live-operation-font-size, 14px) / 1.45 var(--live-operation-font, system-ui, sans-serif);
    color: var(--_fg);
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: var(--live-operation-radius, 8px);
    padding: var(--live-operation-padding, 16px);
    overflow-wrap: anywhere;
  }
  .filters,
  .row {
    display: flex;
    align-items: center;
    flex-wrap: wrap;
    gap: 4px 12px;
  }
  input,
  select,
  button {
    font: inherit;
    color: inherit;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: 6px;
    padding: 2px 8px;
  }
  input {
    flex: 1;
    min-width: 8em;
  }
  button {
    cursor: pointer;
  }
  button[aria-disabled=true] {
    cursor: default;
    color: var(--_muted);
  }
  ul,
  p {
    list-style: none;
    padding: 0;
    margin: 0;
  }
  li + li {
    border-top: 1px solid var(--_border);
  }
  li {
    padding: 8px 0;
  }
  .toggle {
    flex: 1 1 12em;
    display: flex;
    gap: 6px;
    border: 0;
    padding: 0;
    text-align: start;
    font-weight: 600;
  }
  /* The closed row's ▸ points to where the line reads on. */
  .chevron {
    display: inline-block;
  }
  .chevron:dir(rtl) {
    transform: scaleX(-1);
  }
  .badge,
  .age,
  .empty {
    font-size: 0.85em;
    color: var(--_muted);
  }
  .badge {
    padding: 0 8px;
    border: 1px solid;
    border-radius: 9px;
    color: var(--_c);
  }
  /* Each status colours its badge and bar through --_c. */
  .running {
    --_c: var(--_accent);
  }
  .complete {
    --_c: var(--_ok);
  }
  .error {
    --_c: var(--_err);
  }
  .pending,
  .cancelled {
    --_c: var(--_muted);
  }
  .bar {
    width: 6em;
    height: var(--live-operation-bar-height, 8px);
    background: var(--_track);
    border-radius: 99px;
    overflow: hidden;
  }
  .fill {
    height: 100%;
    background: var(--_c);
    transition: width 0.6s ease-out;
  }
  .pct {
    min-width: 3em;
    text-align: end;
    font-variant-numeric: tabular-nums;
  }
  live-operation {
    margin-top: 8px;
  }
  .problem {
    color: var(--_err);
  }
  .more {
    justify-self: center;
  }
  :focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  @media (prefers-reduced-motion) {
    .fill {
      transition: none;
    }
  }
  @media (forced-colors) {
    .bar {
      border: 1px solid;
    }
    .fill {
      forced-color-adjust: none;
      background: Highlight;
    }
  }
`);
