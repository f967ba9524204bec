import { css } from 'lit';

/** `<live-operation>`'s own rules, on top of the shared theme (theme.styles.ts). */
export const styles = css`
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
  .detail,
  .meta,
  .stages,
  dt {
    font-size: 0.85em;
    color: var(--_muted);
  }
  .icon {
    color: var(--_c);
    text-align: center;
  }
  p.error,
  .danger {
    color: var(--_err);
  }
  .bar {
    flex: 1;
  }
  .simulated .fill {
    background-image: repeating-linear-gradient(-45deg, #fff0 0 4px, #fff6 4px 8px);
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
  a {
    color: var(--_accent);
  }
  button {
    padding: 2px 12px;
  }
  .danger {
    border-color: currentColor;
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
`;
