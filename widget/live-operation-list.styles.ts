import { css } from 'lit';

/** `<live-operation-list>`'s own rules, on top of the shared theme (theme.styles.ts). */
export const listStyles = css`
  .filters,
  .row {
    display: flex;
    align-items: center;
    flex-wrap: wrap;
    gap: 4px 12px;
  }
  input {
    flex: 1;
    min-width: 8em;
  }
  button[aria-disabled=true] {
    cursor: default;
    color: var(--_muted);
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
  .age,
  .empty {
    font-size: 0.85em;
    color: var(--_muted);
  }
  .bar {
    width: 6em;
  }
  live-operation {
    margin-top: 8px;
  }
  .more {
    justify-self: center;
  }
  /* A parent's roll-up: each count in its status's colour, failures first. */
  .children {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 8px;
    font-size: 0.85em;
  }
  .count {
    color: var(--_c);
  }
  .action {
    font-size: 0.85em;
  }
  .problem {
    margin-top: 4px;
  }
  [part~='children'] {
    display: block;
    margin: 8px 0 0 16px;
  }
`;
