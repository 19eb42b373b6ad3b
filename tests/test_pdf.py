"""The whole book as one PDF (`make pdf`, which `make test` runs first): every lecture, typeset, with its figures.

Read with poppler's pdftotext, pdfimages and pdfinfo (Debian's poppler-utils, installed by .ci/run).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tools.book import ROOT, read_lecture, toc_pages
from tools.pdf import PDF

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
