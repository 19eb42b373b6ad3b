"""Small commands behind the Makefile, kept beside the tests that use the same functions.

    python tests/tools.py export          executed lectures (from the execution cache) -> _build/executed/*.ipynb
    python tests/tools.py notebooks       lectures/*.md -> lectures/*.ipynb, the Colab notebooks (no outputs)
    python tests/tools.py page NAME       a one-lecture book in _build/page/NAME, for `make page`
    python tests/tools.py bench           cold and warm build times -> _build/bench.json, for `make bench`
    python tests/tools.py run NAME        execute lectures/NAME.md alone in a fresh kernel, for `make run`:
                                          time, stderr, glued values checked against expected_results.toml
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
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
    """The lectures that get an "Open in Colab" notebook: every code page except the build-status page."""
    return [p for p in code_lectures(root) if p.stem != "status"]


# --------------------------------------------------------------------------- executed notebooks


def executed_notebook(path: Path):
    """The lecture at `path` with the outputs its last build produced, taken from the execution cache.

    The copies in _build/jupyter_execute drop cells tagged remove-cell (and with them the glue outputs); the
    cache keeps every cell. Raises if the cache holds no execution of the lecture's current code.
    """
    from jupyter_cache import get_cache

    if not CACHE.exists():
        raise SystemExit(f"No execution cache at {CACHE}: run `make book` first.")
    cache = get_cache(CACHE)
    notebook = read_lecture(path)
    pk, merged = cache.merge_match_into_notebook(notebook)
    if pk is None:
        raise LookupError(f"{path.relative_to(ROOT)}: no cached execution of its current code; run `make book`.")
    return merged


def export_executed() -> list[Path]:
    """Write every executed lecture, outputs included, to _build/executed/NAME.ipynb for nbval."""
    import nbformat

    if EXECUTED.exists():
        shutil.rmtree(EXECUTED)
    EXECUTED.mkdir(parents=True)
    written = []
    for path in code_lectures():
        try:
            nb = executed_notebook(path)
        except LookupError as exc:
            raise SystemExit(str(exc)) from None
        out = EXECUTED / f"{path.stem}.ipynb"
        nbformat.write(nb, out)
        written.append(out)
    print(f"exported {len(written)} executed lectures to {EXECUTED.relative_to(ROOT)}/: "
          + ", ".join(p.stem for p in written))
    return written


def glued_values(nb) -> dict:
    """Every value a notebook glued with myst_nb.glue, as Python objects, keyed by name."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            data = output.get("data", {})
            text = data.get("text/plain", data.get("application/papermill.record/text/plain"))
            if text is None:
                continue
            try:
                values[meta["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                values[meta["name"]] = text
    return values


# --------------------------------------------------------------------------- Colab notebooks


def colab_notebook(path: Path):
    """The Colab notebook of a lecture: its cells less the book-only ones, without outputs."""
    import nbformat

    nb = read_lecture(path)
    nb.cells = [c for c in nb.cells if BOOK_ONLY_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # MyST directives such as {include}, {exercise} and {glue:text} do not render in Colab: spell them out.
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, path)
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]
    number = 0
    for cell in nb.cells:  # number the exercises as the book does
        while cell.cell_type == "markdown" and "**Exercise**" in cell.source:
            number += 1
            cell.source = cell.source.replace("**Exercise**", f"**Exercise {number}**", 1)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    nbformat.validator.normalize(nb)
    return nb


def _plain_markdown(source: str, path: Path) -> str:
    """Turn the few MyST constructs the lectures use into Markdown that Colab renders."""
    import re

    def include(match):
        target = (path.parent / match.group(1).strip()).resolve()
        text = target.read_text()
        return _plain_markdown(text, target)

    source = re.sub(r"```\{include\}\s*(\S+)\s*\n```", include, source)
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
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`<]+?)\s*<[^`]+>`", r"\1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`[\w-]+-ex(\d+)`", r"Exercise \1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`]+)`", r"\1", source)
    source = re.sub(r"\{cite(?::\w+)?\}`([^`]+)`", r"[\1]", source)
    source = re.sub(r"\{glue(?::\w+)?\}`[^`]+`", "*[value shown in the book]*", source)
    source = re.sub(r"\{(?:math)\}`([^`]+)`", r"$\1$", source)
    return re.sub(r"\n{3,}", "\n\n", source).strip()


def write_notebooks() -> list[Path]:
    import nbformat

    written = []
    for path in colab_lectures():
        out = path.with_suffix(".ipynb")
        nbformat.write(colab_notebook(path), out)
        written.append(out)
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    return written


# --------------------------------------------------------------------------- one-lecture book


def make_page(name: str) -> Path:
    """A book of one lecture (plus the references page it may cite) in _build/page/NAME."""
    lecture = ROOT / "lectures" / f"{name}.md"
    if not lecture.exists():
        raise SystemExit(f"no such lecture: {lecture.relative_to(ROOT)}")
    book = BUILD / "page" / name
    book.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    for folder in ("lectures", "_admonition", "_static"):
        link = book / folder
        if not link.exists():
            link.symlink_to(ROOT / folder, target_is_directory=True)
    toc = {"format": "jb-book", "root": f"lectures/{name}",
           "chapters": [{"file": "lectures/references"}] if name != "references" else []}
    (book / "_toc.yml").write_text(yaml.safe_dump(toc))
    return book


# --------------------------------------------------------------------------- one lecture, executed


def run_lecture(name: str) -> Path:
    """Execute lectures/NAME.md top to bottom in a fresh kernel (as the build does), without Sphinx.

    Writes _build/run/NAME.ipynb with its outputs, prints the execution time, every stderr output (a warning
    fails the build), and every glued value with the verdict of its range in tests/expected_results.toml.
    """
    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / "tests"))
    from test_results import EXPECTED, check_value

    lecture = ROOT / "lectures" / f"{name}.md"
    if not lecture.exists():
        raise SystemExit(f"no such lecture: {lecture.relative_to(ROOT)}")
    nb = read_lecture(lecture)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(lecture.parent)}}).execute()
    finally:
        out = BUILD / "run" / f"{name}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
    print(f"{name}: executed in {time.perf_counter() - start:.1f} s -> {out.relative_to(ROOT)}")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                print(f"STDERR in cell {index}: {output['text'][:500]}")
    values = glued_values(nb)
    rules = EXPECTED.get(name, {})
    for key, value in values.items():
        problems = check_value(key, rules[key], values) if key in rules else ["no range in expected_results.toml"]
        print(f"  {key} = {value!r}" + (f"   <-- {'; '.join(problems)}" if problems else ""))
    for key in rules:
        if key not in values:
            print(f"  {key}: in expected_results.toml but not glued")
    return out


# --------------------------------------------------------------------------- benchmark


def bench() -> dict:
    """Cold build (empty execution cache), per-lecture execution times, then a warm rebuild."""
    make = ["make", "--no-print-directory", "-C", str(ROOT)]
    for folder in (CACHE, BUILD / ".doctrees", BUILD / "html", BUILD / "jupyter_execute"):  # a cold build
        shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(make + ["html"], check=True, stdout=subprocess.DEVNULL)
    cold = time.perf_counter() - t0

    from jupyter_cache import get_cache

    cache = get_cache(CACHE)
    per_lecture = {}
    for record in cache.list_cache_records():
        data = record.data or {}
        per_lecture[Path(record.uri).stem] = round(float(data.get("execution_seconds", 0.0)), 1)

    t0 = time.perf_counter()
    warm_log = subprocess.run(make + ["html"], check=True, capture_output=True, text=True).stdout
    warm = time.perf_counter() - t0
    reexecuted = warm_log.count("Executing notebook using local CWD")

    speedup = None
    jax_nn = ROOT / "lectures" / "jax_nn.md"
    if jax_nn.exists():
        speedup = glued_values(executed_notebook(jax_nn)).get("jaxnn_speedup")

    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "lecture_seconds": per_lecture,
        "lectures_total_seconds": round(sum(per_lecture.values()), 1),
        "cold_build_seconds": round(cold, 1),
        "warm_build_seconds": round(warm, 1),
        "warm_build_lectures_executed": reexecuted,
        "jaxnn_speedup_keras_over_jax": round(speedup, 1) if speedup is not None else None,
    }
    (BUILD / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    command, args = argv[0], argv[1:]
    if command == "export":
        export_executed()
    elif command == "notebooks":
        write_notebooks()
    elif command == "page" and len(args) == 1:
        make_page(args[0])
    elif command == "bench":
        bench()
    elif command == "run" and len(args) == 1:
        run_lecture(args[0])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
