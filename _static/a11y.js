// Accessibility fixes the theme's markup needs, each checked by axe-core in tests/test_browser.py.
document.addEventListener("DOMContentLoaded", () => {
  // The bibliography is marked role="list", but its entries carry the deprecated role doc-biblioentry, which is
  // not a list item: screen readers then announce an empty list (axe: aria-required-children).
  document.querySelectorAll('[role="list"].citation-list > .citation').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
  // Label in name (WCAG 2.5.3; axe: label-content-name-mismatch): a control's accessible name must contain the text
  // it shows, so that a speech-input user who says what they see reaches it. Without these aria-labels, the name
  // is the visible text itself.
  // - myst-nb names the toggle of a hidden cell "Toggle hidden content" while it shows "Show code cell content"
  //   (or "Hide ..."); the name then follows the state;
  // - the theme names its search field "Search" while it shows "Search Ctrl+K".
  document.querySelectorAll('details > summary[aria-label="Toggle hidden content"], .search-button-field[aria-label]')
    .forEach((control) => control.removeAttribute("aria-label"));
});
// The colour-mode button's icons carry titles ("Light", "Dark", ...) that Font Awesome turns into the text of the
// icon it draws, so the button, named "Color mode", showed other text than its name. The icons are decorative: the
// button's name says what it does. Font Awesome replaces its <i> by <svg> once the page has loaded.
window.addEventListener("load", () => {
  document.querySelectorAll(".theme-switch-button svg, .theme-switch-button i").forEach((icon) => {
    icon.querySelectorAll("title").forEach((title) => title.remove());
    ["title", "aria-labelledby", "role"].forEach((name) => icon.removeAttribute(name));
    icon.setAttribute("aria-hidden", "true");
  });
});
