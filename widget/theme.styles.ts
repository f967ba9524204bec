import { css, unsafeCSS } from 'lit';

/*
 * The theme both elements start from (`<live-operation>` and
 * `<live-operation-list>`): the public `--live-operation-*` colours map to
 * private `--_*` ones on :host, where they get their light and dark defaults,
 * so one set of properties styles both (and inherits into the
 * `<live-operation>` a list row opens). The other public properties (font,
 * size, radius, padding, bar height) are each read by one rule, here. The
 * inner `.base` starts from `all: initial`, so whatever the host page sets on
 * inherited properties (fonts, letter-spacing, `* { all: unset }`…) stops at
 * the element's edge; only `direction` (RTL) and custom properties pass.
 * Colours are GitHub Primer's, which pass WCAG AA in both themes.
 */

/**
 * Dark defaults (a dark page unless `theme=light`, or `theme=dark`): only the
 * fallbacks change, so public properties still win. (Declarations without a
 * rule, which css`` cannot hold on their own: written once, used twice, and
 * written as they ship, since the template minifier does not read this string.)
 */
const dark = unsafeCSS(`
  --_fg:var(--live-operation-color,#e6edf3);
  --_muted:var(--live-operation-muted-color,#9198a1);
  --_bg:var(--live-operation-background,#0d1117);
  --_subtle:var(--live-operation-subtle-background,#151b23);
  --_border:var(--live-operation-border-color,#3d444d);
  --_track:var(--live-operation-track-color,#3d444d);
  --_accent:var(--live-operation-bar-color,#4493f8);
  --_ok:var(--live-operation-success-color,#3fb950);
  --_err:var(--live-operation-error-color,#f85149);
  --_warn:var(--live-operation-warning-color,#d29922);
`);

export const theme = css`
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
  .badge {
    padding: 0 8px;
    border: 1px solid;
    border-radius: 9px;
    font-size: 0.85em;
    color: var(--_c);
  }
  .bar {
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
  .pct {
    min-width: 3em;
    text-align: end;
    font-variant-numeric: tabular-nums;
  }
  /* Read by screen readers, not shown. */
  .sr {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
  }
  .problem {
    color: var(--_err);
  }
  button,
  input,
  select {
    font: inherit;
    color: inherit;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: 6px;
    padding: 2px 8px;
  }
  button {
    cursor: pointer;
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
`;
