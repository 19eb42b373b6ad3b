"""The PDF: the whole book as one document, printed by Chromium, with contents, bookmarks and internal links.

    _build/html (from `make book`) + _toc.yml -> _build/pdf/machine-learning-with-jax.pdf, copied into the site

Nothing is executed again. Chromium opens one page of the site, and a script replaces its content with the book:
a title page, the contents, then every page of the TOC in order (its article only), each starting on a new page,
with the ids of each page made unique and every link between pages turned into a link inside the document. The
part titles become headings above the lectures' (whose headings move one level down). MathJax typesets every
equation and folded blocks (solutions, hidden cells) are opened. The document is printed twice: the first print
tells on which page each lecture and section starts (poppler's `pdfinfo -dests` lists the targets of the
document's links), and the second prints those page numbers in the contents. pypdf then adds the bookmarks
(part > page > section) from the same entries as the contents.

Why this route rather than Jupyter Book's LaTeX builder: README, "The PDF".
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from tools.book import BUILD, ROOT, toc_pages
from tools.chromium import CHROMIUM, CHROMIUM_ARGS, serve

PDF = BUILD / "pdf" / "machine-learning-with-jax.pdf"
TOP = "top"   # the id of a page's start in the document: PAGEKEY--top

# In a page of the site: replace its content with the whole book. Receives the parts of the TOC and the book's
# title; returns the contents' entries: [{level, title, target}] in order.
ASSEMBLE = r"""async ({parts, title, subtitle}) => {
  const keyOf = (path) => path.replace(/^\/+/, '').replace(/\.html$/, '').replace(/\//g, '_');
  const inBook = new Set(parts.flatMap(part => part.pages).map(keyOf));
  const parser = new DOMParser();
  const book = document.createElement('div');
  book.className = 'book';
  const entries = [];
  const heading = (level, text, id) => {
    const h = document.createElement('h' + level);
    h.textContent = text; h.id = id; return h;
  };
  let partNumber = 0;
  for (const part of parts) {
    let partBox = book;
    if (part.caption) {
      partNumber += 1;
      const id = 'part-' + partNumber;
      partBox = document.createElement('section');
      partBox.className = 'book-part';
      partBox.appendChild(heading(1, part.caption, id));
      book.appendChild(partBox);
      entries.push({level: 0, title: part.caption, target: id});
    }
    for (const path of part.pages) {
      const key = keyOf(path);
      const url = new URL('/' + path + '.html', location.href);
      const doc = parser.parseFromString(await (await fetch(url)).text(), 'text/html');
      const article = doc.querySelector('article.bd-article');
      article.querySelectorAll('a.headerlink').forEach(a => a.remove());
      for (const el of article.querySelectorAll('[id]')) { el.id = key + '--' + el.id; }
      for (const img of article.querySelectorAll('img[src]')) { img.src = new URL(img.getAttribute('src'), url).href; }
      for (const a of article.querySelectorAll('a[href]')) {
        const target = new URL(a.getAttribute('href'), url);
        if (target.origin !== location.origin) continue;   // an external link stays one
        const page = keyOf(target.pathname);
        if (inBook.has(page)) {
          a.setAttribute('href', '#' + page + '--' + (target.hash ? decodeURIComponent(target.hash.slice(1)) : 'top'));
        } else {   // a file of the site that is not a page of the book (a download, the PDF itself): plain text
          a.replaceWith(...a.childNodes);
        }
      }
      // One heading level down, so that the parts are the outline's first level.
      if (part.caption) {
        for (const h of [...article.querySelectorAll('h5, h4, h3, h2, h1')]) {
          const lower = document.createElement('h' + (Number(h.tagName[1]) + 1));
          for (const attr of h.attributes) lower.setAttribute(attr.name, attr.value);
          lower.classList.add('was-' + h.tagName.toLowerCase());
          lower.append(...h.childNodes);
          h.replaceWith(lower);
        }
      }
      const box = document.createElement('section');
      box.className = 'book-page';
      box.id = key + '--top';
      box.append(...article.childNodes);
      partBox.appendChild(box);
      const top = box.querySelector('h1, h2');
      entries.push({level: 1, title: top ? top.textContent.trim() : path, target: box.id});
      const sectionLevel = part.caption ? 'H3' : 'H2';
      for (const h of box.querySelectorAll(sectionLevel.toLowerCase())) {
        const section = h.closest('section[id]');
        if (section && section !== box) entries.push({level: 2, title: h.textContent.trim(), target: section.id});
      }
    }
  }
  // Title page and contents, in front.
  const front = document.createElement('section');
  front.className = 'book-front';
  front.innerHTML = '<div class="book-title"></div><div class="book-subtitle"></div>';
  front.querySelector('.book-title').textContent = title;
  front.querySelector('.book-subtitle').textContent = subtitle;
  const contents = document.createElement('nav');
  contents.className = 'book-contents';
  contents.appendChild(heading(1, 'Contents', 'contents'));
  for (const entry of entries) {
    const line = document.createElement('a');
    line.className = 'toc-line toc-level-' + entry.level;
    line.href = '#' + entry.target;
    line.innerHTML = '<span class="toc-title"></span><span class="toc-dots"></span><span class="toc-page">000</span>';
    line.querySelector('.toc-title').textContent = entry.title;
    line.dataset.target = entry.target;
    contents.appendChild(line);
  }
  // The page itself: only the book is left, inside the theme's article so that its styles for cells apply.
  const article = document.querySelector('article.bd-article');
  article.replaceChildren(front, contents, book);
  const main = article.closest('main') || article;
  document.body.replaceChildren(main);
  // The theme's print header (page title and its own contents), the article's header and footer: not the book's.
  main.querySelectorAll('#jb-print-docs-body, .bd-header-article, .prev-next-area, footer, .bd-sidebar-secondary')
    .forEach(el => el.remove());
  const style = document.createElement('style');
  style.textContent = BOOK_CSS;
  document.head.appendChild(style);
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(el => el.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => b.remove());
  if (window.MathJax && MathJax.typesetPromise) {
    await MathJax.startup.promise;
    await MathJax.typesetPromise([book]);
  }
  for (const img of document.images) { img.loading = 'eager'; try { await img.decode(); } catch (e) {} }
  return entries;
}"""

# The print layout of the book: each part and each page of the TOC on a new page; a box that fits on a page is not
# split (a code cell, an output, a figure with its caption, an exercise); the contents with dotted leaders.
BOOK_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
/* The theme's print style hides each first h1 (it prints the title in a header of its own): the book needs it. */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-main, .bd-content, .bd-article-container, article.bd-article { max-width: none !important; width: 100% !important;
  margin: 0 !important; padding: 0 !important; }
.book-front { break-after: page; padding-top: 35vh; text-align: center; }
.book-title { font-size: 2.6em; font-weight: 700; }
.book-subtitle { font-size: 1.1em; margin-top: 1em; }
.book-contents { break-after: page; }
.book-contents a.toc-line { display: flex; align-items: baseline; color: inherit; text-decoration: none;
  line-height: 1.55; }
.book-contents .toc-dots { flex: 1; border-bottom: 1px dotted #888; margin: 0 0.4em; }
.book-contents .toc-page { min-width: 2.2em; text-align: right; font-variant-numeric: tabular-nums; }
.book-contents .toc-level-0 { font-weight: 700; margin-top: 0.7em; }
.book-contents .toc-level-1 { padding-left: 1.2em; font-weight: 600; }
.book-contents .toc-level-2 { padding-left: 2.6em; font-size: 0.92em; }
.book-part > h1 { break-before: page; font-size: 2.2em; padding-top: 30vh; text-align: center; }
.book-page { break-before: page; }
.book-page h2.was-h1 { font-size: 2em; }
.book-page h3.was-h2 { font-size: 1.5em; }
.book-page h4.was-h3 { font-size: 1.2em; }
h1, h2, h3, h4, h5 { break-after: avoid; }
div.cell_input, div.cell_output, div.output, figure, table, .admonition, div.math, mjx-container[display="true"],
div.highlight { break-inside: avoid; }
div.cell { break-inside: auto; }
div.highlight pre { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


def book_parts(root: Path = ROOT) -> list[dict]:
    """_toc.yml as parts: [{caption, pages}], the root page first as a part without a caption."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts = [{"caption": "", "pages": [toc["root"]]}]
    for part in toc.get("parts", []):
        parts.append({"caption": part.get("caption", ""), "pages": [c["file"] for c in part.get("chapters", [])]})
    return parts


def destinations(pdf: Path) -> dict[str, tuple[int, float]]:
    """The named destinations of a PDF (the targets of its internal links): the page each is on (from 1) and its
    height on that page."""
    out = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\d+)\s+\[\s*XYZ\s+\S+\s+(\S+).*?\]\s+\"(.*)\"\s*$", line)
        if match:
            found[match.group(3)] = (int(match.group(1)), float(match.group(2)))
    return found


def add_outline(pdf: Path, entries: list[dict], found: dict[str, tuple[int, float]], out: Path) -> None:
    """Write `pdf` to `out` with bookmarks: part > page > section, the titles and targets of the contents.

    Chromium can make an outline from the headings itself, but it drops the space where a heading wraps and
    repeats some titles; the contents' own entries are exact."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit

    # Chromium's trailer gives a /Size smaller than its object count; pypdf reads the file right and says so at
    # warning level on every build, which would bury real problems in the log.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    writer = PdfWriter(clone_from=PdfReader(str(pdf)))
    parents: dict[int, object] = {}
    for entry in entries:
        page, top = found[entry["target"]]
        parent = next((parents[level] for level in range(entry["level"] - 1, -1, -1) if level in parents), None)
        parents[entry["level"]] = writer.add_outline_item(entry["title"], page - 1, parent=parent,
                                                          fit=Fit.xyz(left=0, top=top))
        for deeper in [level for level in parents if level > entry["level"]]:
            del parents[deeper]
    writer.page_mode = "/UseOutlines"
    with open(out, "wb") as f:
        writer.write(f)


def print_pdf(site: Path = BUILD / "html", out: Path = PDF) -> Path:
    """Assemble the built site into one document in Chromium and print it, twice (see the module's docstring)."""
    from playwright.sync_api import sync_playwright

    pages = toc_pages()
    missing = [page for page in pages if not (site / f"{page}.html").exists()]
    if missing:
        raise SystemExit(f"not built: {missing}; run `make book` first (`make pdf` does)")
    if not CHROMIUM.exists() or shutil.which("pdfinfo") is None:
        raise SystemExit("printing the PDF needs Debian's chromium and poppler-utils: "
                         "apt-get install chromium poppler-utils (.ci/run does)")
    # The page whose head the book borrows: one that loads MathJax, so that every equation can be typeset.
    host = next((page for page in pages if "mathjax" in (site / f"{page}.html").read_text().lower()), pages[0])
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(color_scheme="light")
        page.goto(f"{base}/{host}.html", wait_until="networkidle")
        page.emulate_media(media="print")
        script = ASSEMBLE.replace("BOOK_CSS", json.dumps(BOOK_CSS))
        entries = page.evaluate(script, {"parts": book_parts(), "title": config["title"],
                                         "subtitle": config.get("author", "")})
        options = dict(format="A4", print_background=True, display_header_footer=True,
                       header_template="<span></span>",
                       footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#444">'
                                       '<span class="pageNumber"></span></div>',
                       margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
        first = Path(tmp) / "first.pdf"
        page.pdf(path=str(first), **options)
        found = destinations(first)
        lost = [entry["target"] for entry in entries if entry["target"] not in found]
        if lost:
            raise SystemExit(f"the PDF has no destination for {lost[:5]} (of {len(lost)}): its contents could "
                             f"not be numbered")
        page.evaluate("""(numbers) => {
          for (const line of document.querySelectorAll('.book-contents a.toc-line')) {
            line.querySelector('.toc-page').textContent = numbers[line.dataset.target];
          }
        }""", {entry["target"]: found[entry["target"]][0] for entry in entries})
        second = Path(tmp) / "second.pdf"
        page.pdf(path=str(second), **options)
        browser.close()
        again = destinations(second)
        moved = [entry["target"] for entry in entries if again.get(entry["target"]) != found[entry["target"]]]
        if moved:
            raise SystemExit(f"page numbers moved between the two prints for {moved[:5]}: the contents would be "
                             f"wrong")
        add_outline(second, entries, again, out)
    print(f"wrote {out.relative_to(ROOT)}: the {len(pages)} pages of the book, {len(entries)} entries in its "
          f"contents, {out.stat().st_size / 1e6:.1f} MB")
    if (BUILD / "html").exists():   # the site links it from the intro page (lectures/intro.md)
        shutil.copy(out, BUILD / "html" / out.name)
    return out
