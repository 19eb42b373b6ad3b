"""The PDF: every page of the built site, in TOC order, printed by Chromium and joined into one file.

    _build/html (from `make book`) -> _build/pdf/machine-learning-with-jax.pdf, copied into the site

Nothing is executed again: the pages are printed as the site shows them, with equations typeset by MathJax and
every folded block opened; poppler's pdfunite joins them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.book import BUILD, ROOT, toc_pages
from tools.chromium import CHROMIUM, CHROMIUM_ARGS, serve

PDF = BUILD / "pdf" / "machine-learning-with-jax.pdf"

# Before printing: typeset every equation, open every folded block (solutions, hidden cells), load every image.
PREPARE_PRINT = """async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(el => el.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => b.remove());
  for (const img of document.images) { img.loading = 'eager'; try { await img.decode(); } catch (e) {} }
}"""


def print_pdf(site: Path = BUILD / "html", out: Path = PDF) -> Path:
    """Print every page of the built site, in TOC order, with the Chromium the browser tests use; join them.

    Each page is printed with the theme's print style (no navigation bars), after MathJax has typeset it and every
    folded block (solutions, hidden cells) has been opened; poppler's pdfunite joins the pages into one PDF.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    pages = toc_pages()
    missing = [page for page in pages if not (site / f"{page}.html").exists()]
    if missing:
        raise SystemExit(f"not built: {missing}; run `make book` first (`make pdf` does)")
    if not CHROMIUM.exists() or shutil.which("pdfunite") is None:
        raise SystemExit("printing the PDF needs Debian's chromium and poppler-utils: "
                         "apt-get install chromium poppler-utils (.ci/run does)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        parts = []
        for number, name in enumerate(pages):
            page = browser.new_page(color_scheme="light")
            page.goto(f"{base}/{name}.html", wait_until="networkidle")
            page.evaluate(PREPARE_PRINT)
            page.emulate_media(media="print")
            title = page.title().split(" — ")[0].replace("&", "&amp;").replace("<", "&lt;")
            part = Path(tmp) / f"{number:02d}.pdf"
            page.pdf(path=str(part), format="A4", print_background=True, display_header_footer=True,
                     header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#444">'
                                     f'{title} · <span class="pageNumber"></span></div>',
                     margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
            page.close()
            parts.append(str(part))
        browser.close()
        subprocess.run(["pdfunite", *parts, str(out)], check=True)
    print(f"wrote {out.relative_to(ROOT)}: {len(pages)} pages of the book, {out.stat().st_size / 1e6:.1f} MB")
    if (BUILD / "html").exists():   # the site links it from the intro page (lectures/intro.md)
        shutil.copy(out, BUILD / "html" / out.name)
    return out
