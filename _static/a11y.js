// Accessibility fixes the theme's markup needs, each checked by axe-core in tests/test_browser.py.
document.addEventListener("DOMContentLoaded", () => {
  // The bibliography is marked role="list", but its entries carry the deprecated role doc-biblioentry, which is
  // not a list item: screen readers then announce an empty list (axe: aria-required-children).
  document.querySelectorAll('[role="list"].citation-list > .citation').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
});
