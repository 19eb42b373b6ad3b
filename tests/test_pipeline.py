"""The pipeline fails loudly: a broken cell or a stray warning fails the build, a drifted output fails nbval.

Each case builds a one-lecture fixture book in a temporary folder with the real _config.yml and the real
`make html` rule, so what is checked is what `make book` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from tools.book import ROOT

HEADER = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
        format_version: 0.13
    kernelspec:
      display_name: Python 3 (ipykernel)
      language: python
      name: python3
    ---

    # Fixture lecture

    """)


def fixture_book(tmp_path: Path, name: str, cells: list[str]) -> Path:
    book = tmp_path / "book"
    (book / "lectures").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copytree(ROOT / "_admonition", book / "_admonition")
    shutil.copy(ROOT / "lectures" / "references.bib", book / "lectures" / "references.bib")
    shutil.copytree(ROOT / "_static", book / "_static")
    body = "".join(f"```{{code-cell}} ipython3\n{cell}\n```\n\n" for cell in cells)
    (book / "lectures" / f"{name}.md").write_text(HEADER + body)
    (book / "_toc.yml").write_text(f"format: jb-book\nroot: lectures/{name}\n")
    return book


def build(book: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "html", f"BOOK={book}"],
                          capture_output=True, text=True, timeout=600)


def test_fixture_book_builds_when_nothing_is_wrong(tmp_path):
    """The control: the fixture itself is fine, so the failures below come from the broken cells."""
    cells = ["x = 6 * 7\nprint(x)", "import os\nprint('cores:', len(os.sched_getaffinity(0)))"]
    book = fixture_book(tmp_path, "healthy", cells)
    result = build(book)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    # The lecture ran once, before Sphinx (python -m tools execute), and Sphinx found it in the execution cache.
    assert "lectures/healthy.md: executed in" in log
    assert "Executing notebook using" not in log, "Sphinx executed a lecture the step before it had executed"
    # The kernel talks to its client over a local socket: ipykernel's warning about unencrypted TCP, printed at every
    # kernel start, would bury real problems in the build log (tools/execute.py, kernel_config).
    assert "without encryption" not in log
    # Its kernel ran on one core, as nbval's kernels do (tests/conftest.py), so their outputs can agree.
    assert "cores: 1" in (book / "_build" / "html" / "lectures" / "healthy.html").read_text()


def test_tests_that_share_a_compilation_cache_run_in_one_group():
    """The two re-runs with the course's jaxlib (nbval, the "pins" Colab runtime) share JAX's compilation cache,
    which writes its entries without a lock: tests/conftest.py must keep them in one group, one after the other,
    and keep what rebuilds or reads the site in another. This worker, like each, runs on one core."""
    from conftest import group_of

    assert group_of("_build/executed/haiku.ipynb::Cell 3") == "jaxlib-pins"
    assert group_of("tests/test_colab.py::test_colab_notebook_runs_alone_in_a_colab_runtime[pins-haiku]") == \
        "jaxlib-pins"
    assert group_of("tests/test_colab.py::test_colab_notebook_runs_alone_in_a_colab_runtime[colab-haiku]") == \
        "colab-colab"
    assert group_of("tests/test_browser.py::test_page_renders_cleanly[lectures/haiku.html]") == "site"
    assert group_of("tests/test_pipeline.py::test_a_second_build_with_nothing_changed_executes_nothing") == "site"
    assert group_of("tests/test_results.py::test_values") == "tests/test_results.py"
    if hasattr(os, "sched_getaffinity"):
        assert len(os.sched_getaffinity(0)) == 1


def test_a_raising_cell_fails_the_build_and_names_lecture_and_traceback(tmp_path):
    cells = ["x = 1", "def divide(a):\n    return a / 0\n\ndivide(x)"]
    book = fixture_book(tmp_path, "broken_lecture", cells)
    result = build(book)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "broken_lecture" in log and "code cell 2 of 2" in log
    assert "ZeroDivisionError" in log and "divide(x)" in log
    report = (book / "_build" / "reports" / "broken_lecture.err.log").read_text()   # what CI keeps
    assert "ZeroDivisionError" in report


def test_a_warning_on_stderr_fails_the_build(tmp_path):
    cells = ["import warnings\nwarnings.warn('something is off')"]
    result = build(fixture_book(tmp_path, "noisy_lecture", cells))
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "noisy_lecture.md" in log and "stderr was found in the cell outputs" in log


def test_a_drifted_output_fails_nbval_and_names_the_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    stable = nbformat.v4.new_code_cell("print(6 * 7)")
    stable.execution_count = 1
    stable.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    drifted = nbformat.v4.new_code_cell("print(round(0.1 + 0.2, 4))")
    drifted.execution_count = 2
    drifted.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.3001\n")]
    nb.cells = [stable, drifted]
    path = tmp_path / "drifting_lecture.ipynb"
    nbformat.write(nb, path)
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
                             "--nbval-current-env", str(path)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "drifting_lecture.ipynb::Cell 1" in result.stdout
    assert "1 failed, 1 passed" in result.stdout


@pytest.mark.parametrize("text, stable", [
    ("<Figure at 0x7f3a2c1b5e50>", "<Figure at 0xADDRESS>"),
    ("JAX loop: 0.42 s", "JAX loop: TIME"),
    ("accuracy 0.9750", "accuracy 0.9750"),
])
def test_sanitizers_cover_only_addresses_and_timings(text, stable):
    import configparser
    import re

    config = configparser.ConfigParser()
    config.read(Path(__file__).with_name("sanitize.cfg"))
    for section in config.sections():
        text = re.sub(config[section]["regex"], config[section]["replace"], text)
    assert text == stable


def test_a_second_build_with_nothing_changed_executes_nothing():
    """`make test` has just built the book; building again must take every lecture from the cache."""
    result = build(ROOT)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    executed = [line for line in log.splitlines() if "Executing notebook using" in line or "executed in" in line]
    assert not executed, "re-executed although nothing changed:\n" + "\n".join(executed)


def test_downloadable_notebooks_carry_each_output_once():
    """The executed .ipynb behind each page's download button prints every line once, as the page does."""
    notebooks = sorted((ROOT / "_build" / "html" / "_sources" / "lectures").glob("*.ipynb"))
    assert notebooks, "no downloadable notebooks in _build/html/_sources/lectures: run `make book`"
    repeated = []
    for path in notebooks:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            names = [o["name"] for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
            if len(names) != len(set(names)):
                repeated.append(f"{path.name} cell {index}: streams {names}")
    assert not repeated, "outputs printed twice in downloadable notebooks:\n" + "\n".join(repeated)


def test_figures_and_exercises_are_numbered_within_each_lecture():
    """Each lecture's first figure is Fig. 1 and its first exercise Exercise 1 (tools/numbering.py), as in its Colab
    notebook, not numbers running on from the lectures before it."""
    import re

    from tools.book import toc_pages

    wrong, counted = [], 0
    for page in toc_pages():
        html = (ROOT / "_build" / "html" / f"{page}.html").read_text()
        for kind in ("Fig.", "Exercise"):
            numbers = [int(n) for n in re.findall(rf'<span class="caption-number">{kind} (\d+) </span>', html)]
            numbers = list(dict.fromkeys(numbers))   # a number is shown again where a solution refers to it
            counted += len(numbers)
            if numbers and numbers != list(range(1, len(numbers) + 1)):
                wrong.append(f"{page}: {kind} {numbers}")
    assert counted, "no numbered figure or exercise found in the built pages"
    assert not wrong, "numbered across the book, not within each lecture: " + "; ".join(wrong)
