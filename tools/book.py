"""Where the book is: its folders, its table of contents, and its lectures as the build reads them.

Every other module of tools/ and the tests start from here.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]   # the repository: tools/ is one of its folders
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
EXECUTED = BUILD / "executed"

# Cells tagged like this exist only for the book build (glue, hidden checks); the Colab notebooks leave them out.
BOOK_ONLY_TAG = "remove-cell"


def toc_pages(root: Path = ROOT) -> list[str]:
    """Every page of the book, as 'lectures/NAME', in the order of _toc.yml."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
    return pages


def read_lecture(path: Path):
    """Read a MyST lecture the way the book does (jupytext's MyST reader)."""
    import jupytext

    return jupytext.read(path, fmt="md:myst")


def has_code(path: Path) -> bool:
    return any(c.cell_type == "code" for c in read_lecture(path).cells)


def code_lectures(root: Path = ROOT) -> list[Path]:
    """The pages in the TOC that run code: each is executed at build time and checked by the tests."""
    paths = [root / f"{page}.md" for page in toc_pages(root)]
    return [p for p in paths if has_code(p)]


def colab_lectures(root: Path = ROOT) -> list[Path]:
    """The pages that get an "Open in Colab" notebook: every page that runs code (the build-status page too, whose
    cells then show the reader's own runtime)."""
    return code_lectures(root)
