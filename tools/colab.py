"""The Colab notebooks: each lecture as a notebook a learner opens in Colab, with the numbers of the book's run.

    lectures/NAME.md + its last build (the execution cache) -> lectures/NAME.ipynb

Cells that exist only for the book (tagged remove-cell) are left out, outputs are not stored, MyST constructs are
spelled out in plain Markdown, each glued number of the prose is the book's value marked †, and figures get
numbered captions. The values and the platform that computed them are kept in the notebook's metadata, so
tests/test_colab.py can tell a changed lecture from a changed build.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.book import BOOK_ONLY_TAG, ROOT, colab_lectures, read_lecture
from tools.results import executed_notebook, glued_texts

# A number the prose takes from the book's run (a {glue:text} value) is shown in the notebook with this mark, and
# a note at the top says what it means.
BOOK_VALUE_MARK = "<sup>†</sup>"
BOOK_VALUE_NOTE = ("*Numbers marked † in the text are those of the book's own run (on a CPU, with the course's "
                   "pinned versions). Your run prints its own, which may differ a little.*")
# The book's admonition on CPU and GPU points to a page of the site; in Colab the notebook says what matters there.
COLAB_INCLUDES = {"gpu.md": "colab.md"}
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")


def format_glued(text: str, spec: str) -> str:
    """A glued value as the book shows it: myst-nb's own formatting of {glue:text}`name:spec`."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(text, spec or "")


def build_platform() -> str:
    """What makes two builds' numbers comparable digit for digit: machine, CPU features, jaxlib, Python."""
    import hashlib
    import platform
    from importlib.metadata import version

    flags = ""
    if Path("/proc/cpuinfo").exists():
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    return (f"{platform.machine()}, CPU features {hashlib.sha256(flags.encode()).hexdigest()[:12]}, "
            f"jaxlib {version('jaxlib')}, Python {platform.python_version()}")


def book_values(path: Path) -> dict[str, str]:
    """The glued values the prose of a lecture shows, as text, from its last build (the execution cache)."""
    names = {m.group(1) for c in read_lecture(path).cells if c.cell_type == "markdown"
             for m in GLUE_ROLE.finditer(c.source)}
    if not names:
        return {}
    texts = glued_texts(executed_notebook(path))
    missing = sorted(names - texts.keys())
    if missing:
        raise LookupError(f"{path.relative_to(ROOT)}: the prose shows {missing}, which the last build did not glue")
    return {name: texts[name] for name in sorted(names)}


def colab_notebook(path: Path, values: dict[str, str] | None = None):
    """The Colab notebook of a lecture: its cells less the book-only ones, without outputs.

    Each {glue:text} value in the prose is replaced by the value of the book's run (`values`, by default read from
    the last build) with BOOK_VALUE_MARK; the values and the platform that computed them are kept in the
    notebook's metadata (`book_build`), so that the tests can tell a changed lecture from a changed build.
    Each figure gets a numbered caption below it, and {numref} to it reads "Figure N".
    """
    import nbformat

    if values is None:
        values = book_values(path)
    nb = read_lecture(path)
    nb.cells = [c for c in nb.cells if BOOK_ONLY_TAG not in c.get("metadata", {}).get("tags", [])]
    figures = {}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell.cell_type == "code" else None
        if figure and figure.get("name"):
            figures[figure["name"]] = len(figures) + 1
            caption = " ".join(str(figure.get("caption", "")).split())
            cells.append(nbformat.v4.new_markdown_cell(f"**Figure {len(figures)}.** {caption}"))
    nb.cells = cells
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # MyST directives such as {include}, {exercise} and {glue:text} do not render in Colab: spell them out.
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, path, values, figures)
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]
    number = 0
    for cell in nb.cells:  # number the exercises as the book does
        while cell.cell_type == "markdown" and "**Exercise**" in cell.source:
            number += 1
            cell.source = cell.source.replace("**Exercise**", f"**Exercise {number}**", 1)
    if values:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(BOOK_VALUE_NOTE))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    if values:
        nb.metadata["book_build"] = {"platform": build_platform(), "values": dict(values)}
    nbformat.validator.normalize(nb)
    for index, cell in enumerate(nb.cells):   # the same ids on every run, so an unchanged lecture gives no diff
        cell.id = f"{path.stem[:20]}-{index}"
    return nb


def _plain_markdown(source: str, path: Path, values: dict[str, str] | None = None,
                    figures: dict[str, int] | None = None) -> str:
    """Turn the few MyST constructs the lectures use into Markdown that Colab renders."""
    values, figures = values or {}, figures or {}

    def include(match):
        target = (path.parent / match.group(1).strip()).resolve()
        target = target.with_name(COLAB_INCLUDES.get(target.name, target.name))
        text = target.read_text()
        return _plain_markdown(text, target)

    def glued(match):
        name, spec = match.group(1), match.group(2)
        if name not in values:
            raise LookupError(f"{path.relative_to(ROOT)}: no value of the book's run for {{glue:text}}`{name}`")
        return format_glued(values[name], spec) + BOOK_VALUE_MARK

    source = re.sub(r"```\{include\}\s*(\S+)\s*\n```", include, source)
    source = re.sub(r"```\{nb-exec-table\}\s*\n```",
                    "*(The table of the book's execution times is on the book's page.)*", source)
    # Admonitions, exercises and solutions: keep the title as bold text and the body as is.
    source = re.sub(r"^(```+|:::+)\{(?:admonition|note|tip|warning|important)\}\s*(.*)$",
                    lambda m: f"**{m.group(2)}**" if m.group(2) else "", source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\{(exercise|solution-start|solution)\}[^\n]*$",
                    lambda m: {"exercise": "**Exercise**"}.get(m.group(2), "**Solution**"), source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\{(solution-end)\}\s*$", "", source, flags=re.M)
    source = re.sub(r"^:(class|label|tags|name|nonumber|hidden)?:[^\n]*\n", "", source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\s*$", "", source, flags=re.M)
    # Roles: {doc}`text <target>` -> text; {cite}`key` -> key; {glue:text}`name` -> (see the book)
    source = re.sub(r"\{doc\}`([^`<]+?)\s*<[^`]+>`", r"\1", source)
    source = re.sub(r"\{doc\}`([^`]+)`", r"\1", source)
    source = re.sub(r"\{numref\}`([\w-]+)`",
                    lambda m: f"Figure {figures[m.group(1)]}" if m.group(1) in figures else m.group(1), source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`<]+?)\s*<[^`]+>`", r"\1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`[\w-]+-ex(\d+)`", r"Exercise \1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`]+)`", r"\1", source)
    source = re.sub(r"\{cite(?::\w+)?\}`([^`]+)`", r"[\1]", source)
    source = GLUE_ROLE.sub(glued, source)
    source = re.sub(r"\{(?:math)\}`([^`]+)`", r"$\1$", source)
    return re.sub(r"\n{3,}", "\n\n", source).strip()


def write_notebooks() -> list[Path]:
    import nbformat

    written = []
    for path in colab_lectures():
        out = path.with_suffix(".ipynb")
        try:
            nb = colab_notebook(path)
        except LookupError as exc:
            raise SystemExit(f"{exc}. Build the book first: `make notebooks` does.") from None
        nbformat.write(nb, out)
        written.append(out)
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    return written
