// Accessibility fixes the theme's markup needs, each checked by axe-core in tests/test_browser.py.
document.addEventListener("DOMContentLoaded", () => {
  // The bibliography is marked role="list", but its entries carry the deprecated role doc-biblioentry, which is
  // not a list item: screen readers then announce an empty list (axe: aria-required-children).
  document.querySelectorAll('[role="list"].citation-list > .citation').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
  // myst-nb names the toggle of a hidden cell "Toggle hidden content" while it shows "Show code cell content"
  // (or "Hide ..."): a speech-input user who says what they see matches nothing (WCAG 2.5.3 label in name; axe:
  // label-content-name-mismatch). Without the aria-label, the name is the visible text, and it follows the state.
  document.querySelectorAll('details > summary[aria-label="Toggle hidden content"]').forEach((summary) => {
    summary.removeAttribute("aria-label");
  });
});
