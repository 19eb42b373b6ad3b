"""The site's downloadable notebooks: each output once.

    _build/html/_sources/**/*.ipynb (written by myst-nb) -> the same files, each stream output once
"""

from __future__ import annotations

from pathlib import Path

from tools.book import ROOT

def fix_downloads(book: Path = ROOT) -> list[Path]:
    """Each output once in the executed notebooks the site offers for download.

    With nb_merge_streams, myst-nb merges a cell's stream outputs into the first one of each name (stdout, stderr)
    for the page, but it does so in place and keeps the others, so the downloadable .ipynb printed the later ones
    twice. Keep the merged first stream of each name and drop the rest, as the page shows them.
    """
    import nbformat

    fixed = []
    for path in sorted((book / "_build" / "html" / "_sources").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            seen, kept = set(), []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    if output["name"] in seen:
                        changed = True
                        continue
                    seen.add(output["name"])
                kept.append(output)
            if cell.cell_type == "code":
                cell.outputs = kept
        if changed:
            nbformat.write(nb, path)
            fixed.append(path)
    return fixed
