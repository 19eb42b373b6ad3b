"""Every lecture opens in Colab as a real notebook, shows the book's numbers, and runs there alone.

1. lectures/NAME.ipynb is what `make notebooks` makes from lectures/NAME.md and its last build (jupytext,
   book-only cells left out, no outputs, each glued number of the prose replaced by the book's value and marked):
   a lecture that changed without its notebook fails here, and so does a notebook whose numbers are not those
   of the last build on this platform.
2. Each notebook runs top to bottom with nbclient in two clean virtual environments that hold only what Colab
   preinstalls among the packages the course uses (not dm-haiku, not myst-nb):
   - "colab": Colab's own runtime, Python 3.13 with the versions Google publishes (tests/colab-runtime.txt);
     a lecture that needs a newer package than Colab has must install it itself;
   - "pins": the same packages at the course's pins (requirements.txt), on the Python running the tests.
   The notebook's own install cell must bring in the rest. Each environment is built once per test run, in
   _build/colab/RUNTIME/venv, and a report of run times and installs goes to _build/colab/RUNTIME/report.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tools.book import BUILD, ROOT, colab_lectures
from tools.colab import build_platform, colab_notebook, format_glued
from tools.kernels import installed_pythons, kernel_path, make_kernel_venv, versions
from tools.results import EXPECTED, check_value, executed_notebook, glued_texts, parse_glued, run_dependent_glues

# What a Colab runtime has preinstalled, of what the course uses.
COLAB_PREINSTALLED = ["jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "keras", "scikit-learn", "numpy",
                      "matplotlib", "pandas", "mlxtend", "ipykernel"]
COLAB_RUNTIME = ROOT / "tests" / "colab-runtime.txt"
COLAB_PYTHON = "3.13"          # os-info.txt of the snapshot in tests/colab-runtime.txt
COLAB_DIR = BUILD / "colab"
NOTEBOOKS = colab_lectures()
RUNTIMES = ["colab", "pins"]


def pinned(names: list[str]) -> list[str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return [f"{name}=={pins[name]}" if name in pins else name for name in names]


def colab_python() -> str:
    """A Python of Colab's version: $COLAB_PYTHON, python3.13 on PATH, or pyenv's; fails loudly if none."""
    wanted = tuple(map(int, COLAB_PYTHON.split(".")))
    found = [path for version, path in sorted(installed_pythons("COLAB_PYTHON").items()) if version[:2] == wanted]
    if found:
        return found[-1]
    pytest.fail(f"Colab's runtime is Python {COLAB_PYTHON} and none was found: install it (e.g. `pyenv install "
                f"{COLAB_PYTHON}`, or actions/setup-python in a GitHub workflow) and put python{COLAB_PYTHON} on "
                f"PATH, or set COLAB_PYTHON to its path.")


def test_lecture_config_names_one_repository():
    """The Colab links are built from _config.yml's repository entry: org/repo, branch, path."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", config["repository"]["url"])
    assert config["repository"]["branch"]
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def test_colab_runtime_file_is_a_snapshot_of_colab():
    """tests/colab-runtime.txt says where it came from and pins every package the notebooks expect preinstalled."""
    text = COLAB_RUNTIME.read_text()
    assert re.search(r"commit [0-9a-f]{7,}", text) and re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert f"Python {COLAB_PYTHON}." in text
    pins = {line.split("==")[0].lower() for line in text.splitlines() if "==" in line and not line.startswith("#")}
    assert set(COLAB_PREINSTALLED) <= pins, f"not pinned: {sorted(set(COLAB_PREINSTALLED) - pins)}"
    assert "dm-haiku" not in pins, "Colab has no Haiku: the Haiku lecture's install cell is what is tested"


def stored_notebook(lecture: Path):
    stored = lecture.with_suffix(".ipynb")
    assert stored.exists(), f"{stored.relative_to(ROOT)} is missing: run `make notebooks` and commit it"
    return nbformat.read(stored, as_version=4)


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_is_in_sync_with_its_lecture(lecture):
    actual = stored_notebook(lecture)
    values = actual.metadata.get("book_build", {}).get("values", {})
    try:
        expected = colab_notebook(lecture, values=values)
    except LookupError as exc:   # the lecture shows a value the notebook has none for
        pytest.fail(f"{exc}: the notebook is out of date; run `make notebooks` (it builds the book first)")
    strip = lambda nb: [(c.cell_type, c.source, c.get("outputs", [])) for c in nb.cells]  # noqa: E731
    assert strip(actual) == strip(expected), (
        f"{lecture.with_suffix('.ipynb').relative_to(ROOT)} is out of date with {lecture.relative_to(ROOT)}: "
        f"run `make notebooks` (it builds the book first) and commit both")
    assert not any(c.get("outputs") for c in actual.cells), "Colab notebooks are stored without outputs"
    text = "\n".join(c.source for c in actual.cells)
    assert "[value shown in the book]" not in text


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_shows_the_numbers_of_the_last_build(lecture):
    """On the platform that made the notebooks, their numbers are the last build's, as the book prints them.

    Elsewhere (another CPU, another jaxlib) a build may differ in the last digits; there the notebook's numbers
    must still be ones the course's tests accept (tests/expected_results.toml). Timings, glued in cells whose
    output nbval does not compare either, change from run to run and are not compared.
    """
    book = stored_notebook(lecture).metadata.get("book_build", {})
    values = book.get("values", {})
    executed = executed_notebook(lecture)
    built = glued_texts(executed)
    rules = EXPECTED.get(lecture.stem, {})
    compared = sorted(set(values) - run_dependent_glues(executed))
    if book.get("platform") == build_platform():
        stale = [f"{name}: notebook {format_glued(values[name], '')}, last build {format_glued(built[name], '')}"
                 for name in compared if built.get(name) != values[name]]
        assert not stale, (f"{lecture.with_suffix('.ipynb').relative_to(ROOT)} shows numbers that the last build "
                           f"no longer computes; run `make notebooks` and commit it:\n  " + "\n  ".join(stale))
    else:
        merged = {name: parse_glued(text) for name, text in {**built, **values}.items()}
        problems = [p for name in compared if name in rules for p in check_value(name, rules[name], merged)]
        assert not problems, (f"{lecture.with_suffix('.ipynb').relative_to(ROOT)} (made on {book.get('platform')}) "
                              f"shows numbers outside their ranges: {problems}; run `make notebooks`")


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_has_no_book_only_constructs(lecture):
    nb = stored_notebook(lecture)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "myst_nb" not in code, "glue and other myst_nb calls belong in cells tagged remove-cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    leftover = re.findall(r"\{[a-z:-]+\}`|```\{[a-z-]+\}", text)
    assert not leftover, f"MyST syntax that Colab cannot render: {sorted(set(leftover))}"


@pytest.fixture(scope="module", params=RUNTIMES)
def colab_kernel(request):
    """A clean venv with only Colab's preinstalled packages, registered as the Jupyter kernel 'colab-RUNTIME'."""
    runtime = request.param
    # Colab's runtime runs as a learner's does, without the JAX compilation cache that `make test` gives the
    # re-runs with the course's own jaxlib (tests/conftest.py); its jax could not use their entries anyway.
    compilation_cache = os.environ.pop("JAX_COMPILATION_CACHE_DIR", None) if runtime == "colab" else None
    folder = COLAB_DIR / runtime
    if runtime == "colab":
        base, packages = colab_python(), ["-c", str(COLAB_RUNTIME), *COLAB_PREINSTALLED]
    else:
        base, packages = sys.executable, pinned(COLAB_PREINSTALLED)
    kernel = f"colab-{runtime}"
    python = make_kernel_venv(folder, base, packages, kernel)
    found = versions(python, ["jax", "flax", "keras"])
    report = {"runtime": runtime, "python": found["python"], "jax": found["jax"], "flax": found["flax"],
              "keras": found["keras"], "notebooks": {}}
    with kernel_path(folder):
        yield python, kernel, report
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if compilation_cache is not None:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = compilation_cache


def installed(python: Path) -> set[str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split("==")[0].lower() for line in out.splitlines() if "==" in line}


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_runs_alone_in_a_colab_runtime(lecture, colab_kernel, tmp_path):
    from nbclient import NotebookClient

    python, kernel, report = colab_kernel
    nb = nbformat.read(lecture.with_suffix(".ipynb"), as_version=4)
    before = installed(python)
    start = time.perf_counter()
    # An empty working folder: the notebook may read only what it makes.
    try:
        NotebookClient(nb, kernel_name=kernel, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        report["notebooks"][lecture.stem] = {"seconds": round(time.perf_counter() - start, 1),
                                             "installed_by_notebook": sorted(installed(python) - before)}
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
