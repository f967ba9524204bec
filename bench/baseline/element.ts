/**
 * The baseline page: what a hand-rolled polling page does with each
 * snapshot — rebuild the whole list with `innerHTML`. Runs in the browser
 * (its source is injected into the page as a string).
 */
export const BASELINE_RENDERER = `
window.renderBaseline = (root, s) => {
  const esc = (t) => String(t ?? '').replace(/[&<>"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
  root.innerHTML =
    '<div class="head"><b>' + esc(s.title) + '</b> <span>' + s.status + '</span> ' +
    '<progress max="100" value="' + s.percent + '"></progress> ' + s.percent + '%</div><ul>' +
    s.tasks.map((t) =>
      '<li><span>' + esc(t.name) + '</span> <progress max="100" value="' + t.percent + '"></progress> ' +
      t.percent + '% <small>' + esc(t.message) + '</small> <i>' + t.status + '</i></li>').join('') +
    '</ul><p>' + esc(s.message && s.message.text) + '</p>';
};
`;
