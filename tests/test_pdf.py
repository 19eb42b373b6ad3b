"""The whole book as one PDF (`make pdf`, which `make test` runs first): every lecture, typeset, with its figures,
and a book to navigate: contents with page numbers, bookmarks in TOC order, links that work inside it.

Read with poppler's pdftotext, pdfimages and pdfinfo (Debian's poppler-utils, installed by .ci/run), and pypdf
for the outline and the links.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tools.book import ROOT, read_lecture, toc_pages
from tools.pdf import PDF, book_parts

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="needs poppler-utils (pdftotext, pdfimages, pdfinfo): .ci/run installs it")


def poppler(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def text() -> str:
    assert PDF.exists(), f"{PDF.relative_to(ROOT)} is missing: run `make pdf`"
    return " ".join(poppler("pdftotext", "-enc", "UTF-8", str(PDF), "-").split())


def sources() -> dict[str, str]:
    return {page: (ROOT / f"{page}.md").read_text() for page in toc_pages()}


def title(markdown: str) -> str:
    return re.search(r"^# (.+)$", markdown, re.M).group(1).strip()


def test_every_page_is_in_the_pdf_in_toc_order(text):
    positions = []
    for page, markdown in sources().items():
        heading = " ".join(title(markdown).replace("`", "").split())
        position = text.find(heading)
        assert position >= 0, f"{page}: its title {heading!r} is not in the PDF"
        positions.append((position, page))
    assert [page for _, page in sorted(positions)] == list(sources()), "lectures out of TOC order"


def test_equations_are_typeset_not_raw_tex(text):
    """TeX that MathJax typesets leaves no backslash commands or delimiters in the text; the code may hold some
    (a matplotlib label such as r"$\\sqrt{x}$"), so each is allowed as often as the lectures' code cells write it."""
    code = "\n".join(c.source for page in toc_pages() for c in read_lecture(ROOT / f"{page}.md").cells
                     if c.cell_type == "code")
    raw = {token: (text.count(token), code.count(token))
           for token in (r"\frac", "$$", r"\begin{", r"\mathbb", r"\sqrt{", r"\(", r"\[", r"\sum", r"\theta")}
    raw = {token: counts for token, counts in raw.items() if counts[0] > counts[1]}
    assert not raw, f"raw TeX in the PDF (token: (in the PDF, in the code)), MathJax did not typeset it: {raw}"


def test_every_figure_is_an_image_with_its_caption(text):
    figures = sum(len(re.findall(r"^  figure:", markdown, re.M)) for markdown in sources().values())
    images = [line for line in poppler("pdfimages", "-list", str(PDF)).splitlines()[2:] if line.strip()]
    assert figures > 0
    assert len(images) >= figures, f"{len(images)} images in the PDF, {figures} figures in the lectures"
    for page in toc_pages():
        for cell in read_lecture(ROOT / f"{page}.md").cells:
            caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
            if caption:
                start = " ".join(str(caption).replace("`", "").split()[:5])
                assert start in text, f"{page}: the caption starting {start!r} is not in the PDF"


def test_exercises_and_their_solutions_are_printed(text):
    exercises = sum(markdown.count("```{exercise}") for markdown in sources().values())
    assert exercises > 0
    assert text.count("Solution to Exercise") >= exercises, "some solutions are folded away or missing"


def test_code_and_outputs_are_printed(text):
    lecture = ROOT / "lectures" / "keras.md"
    first_code = next(c.source for c in read_lecture(lecture).cells if c.cell_type == "code")
    assert " ".join(first_code.splitlines()[0].split()) in text
    assert "back end: jax" in text, "the output of keras' first code cell is not in the PDF"


def test_page_count_and_size_are_plausible():
    info = poppler("pdfinfo", str(PDF))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    lectures = len(toc_pages())
    assert 5 * lectures <= pages <= 60 * lectures, f"{pages} pages for {lectures} pages of the book"
    assert PDF.stat().st_size < 60e6, f"the PDF is {PDF.stat().st_size / 1e6:.0f} MB"


def test_the_site_links_the_pdf():
    intro = (ROOT / "_build" / "html" / "lectures" / "intro.html").read_text()
    assert f'href="../{PDF.name}"' in intro, "the intro page does not link the PDF"
    assert (ROOT / "_build" / "html" / PDF.name).exists(), "the PDF is not in the site (`make pdf` copies it there)"


# --------------------------------------------------------------------------- a book to navigate


@pytest.fixture(scope="module")
def reader():
    from pypdf import PdfReader

    assert PDF.exists(), f"{PDF.relative_to(ROOT)} is missing: run `make pdf`"
    return PdfReader(str(PDF))


def outline(reader) -> list[tuple[int, str, int]]:
    """The PDF's bookmarks, in order: (depth, title, page number from 1)."""
    flat = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                flat.append((depth, plain(item.title), reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 0)
    return flat


def plain(text: str) -> str:
    """Text as a PDF reader extracts it: no Markdown backquotes, single spaces, ligatures (ﬀ, ﬁ) spelled out."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", text).replace("`", "").split())


def toc_titles() -> list[tuple[str, str]]:
    """Every part caption and page title of _toc.yml, in order, as ("part" | "page", title)."""
    titles = []
    for part in book_parts():
        if part["caption"]:
            titles.append(("part", part["caption"]))
        titles += [("page", plain(title((ROOT / f"{page}.md").read_text()))) for page in part["pages"]]
    return titles


def test_outline_holds_every_part_and_page_in_toc_order(reader):
    entries = outline(reader)
    assert entries, "the PDF has no outline (bookmarks)"
    where, at = [], 0
    for kind, name in toc_titles():
        found = next((i for i in range(at, len(entries)) if entries[i][1] == name), None)
        assert found is not None, f"the outline lacks the {kind} {name!r} (or has it out of TOC order)"
        where.append((kind, entries[found]))
        at = found + 1
    parts = [entry for kind, entry in where if kind == "part"]
    assert parts and all(depth == 0 for depth, _, _ in parts), "parts are not the outline's first level"
    pages = [entry[2] for _, entry in where]
    assert pages == sorted(pages), "outline pages out of order"
    sections = sum(depth >= 2 for depth, _, _ in entries)
    assert sections >= 3 * len(toc_pages()) - 3, f"only {sections} sections in the outline"


def links(reader):
    """Every link annotation: ("uri", address) or ("internal", target page number from 1)."""
    found = []
    named = reader.named_destinations
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            action = annotation.get("/A")
            action = action.get_object() if action is not None else None
            dest = annotation.get("/Dest") or (action.get("/D") if action is not None else None)
            if action is not None and action.get("/S") == "/URI":
                found.append(("uri", str(action["/URI"])))
            elif dest is not None:
                if isinstance(dest, str) or hasattr(dest, "startswith"):
                    target = named.get(str(dest))
                    found.append(("internal", reader.get_destination_page_number(target) + 1 if target else None))
                else:
                    found.append(("internal", reader.get_page_number(dest.get_object()[0].get_object())
                                  if hasattr(dest, "get_object") else None))
    return found


def test_no_link_points_to_a_local_address(reader):
    local = [uri for kind, uri in links(reader) if kind == "uri"
             and re.match(r"(?i)(https?://(127\.|localhost|0\.0\.0\.0|\[::1\])|file:)", uri)]
    assert not local, f"{len(local)} links point to a local address, e.g. {local[:3]}"


def test_internal_links_resolve_to_pages_inside_the_pdf(reader):
    found = links(reader)
    internal = [target for kind, target in found if kind == "internal"]
    references = sum(markdown.count("{doc}") + markdown.count("{numref}") + markdown.count("{cite")
                     for markdown in sources().values())
    assert len(internal) >= references, (f"{len(internal)} internal links for {references} cross-references and "
                                         f"citations in the lectures")
    unresolved = [target for target in internal if target is None or not 1 <= target <= len(reader.pages)]
    assert not unresolved, f"{len(unresolved)} of {len(internal)} internal links lead nowhere"


def test_contents_page_numbers_match_the_outline(reader):
    """The printed contents list every lecture with the page its bookmark points to."""
    entries = outline(reader)
    contents = plain(" ".join(reader.pages[i].extract_text() for i in range(1, min(8, len(reader.pages)))))
    for kind, name in toc_titles():
        if kind != "page":
            continue
        page = next(p for _, t, p in entries if t == name)
        assert re.search(re.escape(name) + r"[ .·…]*" + str(page) + r"\b", contents), \
            f"the contents do not list {name!r} at page {page}"
