import { unsafeCSS } from 'lit';

/*
 * The public `--live-operation-*` colours map to private `--_*` ones on :host,
 * where they get their dark defaults; the other public properties (font,
 * size, radius, padding, bar height) are each read by one rule, right there.
 * The inner `.base` starts from `all: initial`, so whatever the host page sets
 * on inherited properties (fonts, letter-spacing, `* { all: unset }`…) stops
 * at the element's edge; only `direction` (RTL) and custom properties pass.
 * Colours are GitHub Primer's, which pass WCAG AA in both themes.
 */
/**
 * Dark defaults (a dark page unless `theme=light`, or `theme=dark`): only the
 * fallbacks change, so public properties still win.
 */
const dark = `
  --_fg: var(--live-operation-color, #e6edf3);
  --_muted: var(--live-operation-muted-color, #9198a1);
  --_bg: var(--live-operation-background, #0d1117);
  --_subtle: var(--live-operation-subtle-background, #151b23);
  --_border: var(--live-operation-border-color, #3d444d);
  --_track: var(--live-operation-track-color, #3d444d);
  --_accent: var(--live-operation-bar-color, #4493f8);
  --_ok: var(--live-operation-success-color, #3fb950);
  --_err: var(--live-operation-error-color, #f85149);
  --_warn: var(--live-operation-warning-color, #d29922);
`;

// (`unsafeCSS` of a constant rather than the css`` tag: the same sheet, and the tag's code stays out of the bundle.)
export const styles = unsafeCSS(`
  :host {
    display: block;
    --_fg: var(--live-operation-color, #1f2328);
    --_muted: var(--live-operation-muted-color, #59636e);
    --_bg: var(--live-operation-background, #fff);
    --_subtle: var(--live-operation-subtle-background, #f6f8fa);
    --_border: var(--live-operation-border-color, #d1d9e0);
    --_track: var(--live-operation-track-color, #d1d9e0);
    --_accent: var(--live-operation-bar-color, #0969da);
    --_ok: var(--live-operation-success-color, #1a7f37);
    --_err: var(--live-operation-error-color, #d1242f);
    --_warn: var(--live-operation-warning-color, #9a6700);
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
  header,
  .overall,
  .meta,
  .actions {
    display: flex;
    align-items: center;
    flex-wrap: wrap;
    gap: 4px 12px;
  }
  .title {
    flex: 1;
    font-weight: 600;
    font-size: 1.1em;
  }
  .badge {
    padding: 0 8px;
    border: 1px solid;
    border-radius: 9px;
  }
  .badge,
  .detail,
  .meta,
  .stages,
  dt {
    font-size: 0.85em;
    color: var(--_muted);
  }
  /* Each status colours its badge, bar and icon through --_c. */
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
  .cancelled,
  .stalled {
    --_c: var(--_muted);
  }
  .badge,
  .icon {
    color: var(--_c);
  }
  p.error,
  .problem,
  .danger {
    color: var(--_err);
  }
  .bar {
    flex: 1;
    height: var(--live-operation-bar-height, 8px);
    background: var(--_track);
    border-radius: 99px;
    overflow: hidden;
  }
  /* As long as the closing ramp (CLOSING_RAMP_MS): a completed bar arrives at 100 as "complete" shows. */
  .fill {
    height: 100%;
    background: var(--_c);
    transition: width 0.4s ease-out;
  }
  .simulated .fill {
    background-image: repeating-linear-gradient(-45deg, #fff0 0 4px, #fff6 4px 8px);
  }
  .pct {
    min-width: 3em;
    text-align: end;
    font-variant-numeric: tabular-nums;
  }
  ol,
  ul,
  dl,
  dd,
  p,
  pre {
    list-style: none;
    padding: 0;
    margin: 0;
  }
  .stages {
    display: flex;
    gap: 4px;
  }
  .stages li {
    flex: 1;
    border-top: 3px solid var(--_track);
  }
  .stages .done {
    border-color: var(--_ok);
  }
  .stages .active {
    border-color: var(--_accent);
    color: var(--_fg);
    font-weight: 600;
  }
  .stages .failed {
    border-color: var(--_err);
  }
  /* Rows stack as blocks (a 100-item grid costs layout on every update); each row contains its own layout and paint. */
  .task + .task {
    margin-top: 8px;
  }
  .task {
    contain: content;
    display: grid;
    grid-template-columns: 1em 1fr auto;
    align-items: center;
    gap: 2px 8px;
  }
  .task .bar,
  .detail {
    grid-column: 2 / 4;
  }
  .task .pct {
    grid-area: 1 / 3;
  }
  .stalled .detail,
  .warning {
    color: var(--_warn);
  }
  .icon {
    text-align: center;
  }
  .problem,
  .result,
  .lines {
    padding: 8px 12px;
    border-radius: 6px;
    background: var(--_subtle);
  }
  .problem {
    border-inline-start: 3px solid;
  }
  dl {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 2px 16px;
  }
  a {
    color: var(--_accent);
  }
  button {
    font: inherit;
    color: inherit;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: 6px;
    padding: 2px 12px;
    cursor: pointer;
  }
  .danger {
    border-color: currentColor;
  }
  :focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  pre,
  .lines {
    font: 0.85em / 1.5 ui-monospace, monospace;
    white-space: pre-wrap;
    margin: 6px 0 0;
  }
  ol.lines {
    max-height: 14em;
    overflow: auto;
  }
  .sr {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
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
