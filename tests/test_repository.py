"""The repository's own files: pinned requirements, a valid CI workflow, a README with the two commands, lint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tools.book import EXECUTED, ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def check_workflow(path: Path) -> subprocess.CompletedProcess:
    """Validate a GitHub Actions workflow against the workflow schema vendored in check-jsonschema (offline)."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True)


def test_workflows_are_valid():
    assert WORKFLOWS, "no workflow in .github/workflows"
    for path in WORKFLOWS:
        result = check_workflow(path)
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"


def test_workflow_checker_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    step:\n      - run: echo\n")
    assert check_workflow(broken).returncode != 0


def test_workflow_runs_ci_script_and_deploys_pages():
    text = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    for needle in ("bash .ci/run", "_build/.jupyter_cache", "~/.cache/pip", "actions/deploy-pages",
                   "_build/reports"):
        assert needle in text, f"book.yml lacks {needle}"


def test_requirements_pin_every_direct_dependency():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    unpinned = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line)]
    assert not unpinned, f"pin these with ==: {unpinned}"
    names = {line.split("==")[0].lower() for line in lines}
    needed = {"jupyter-book", "jupytext", "jax", "jaxlib", "optax", "flax", "keras", "dm-haiku", "scikit-learn",
              "matplotlib", "pandas", "nbval", "pytest", "sphinx-exercise", "sphinxcontrib-bibtex",
              "orbax-checkpoint", "ruff"}
    assert needed <= names, f"requirements.txt lacks {sorted(needed - names)}"


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make book" in text and "make test" in text


# ruff over the tests and every executed lecture (all cells, the book-only glue cells included; `make test` exports
# them to _build/executed before pytest runs). Rules and the reasons for the two turned off: tests/ruff.toml.
def ruff(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                           str(ROOT / "tests" / "ruff.toml"), "--output-format", "concise", *map(str, paths)],
                          capture_output=True, text=True)


def test_ruff_passes_on_lectures_and_tests():
    notebooks = sorted(EXECUTED.glob("*.ipynb"))
    assert notebooks, f"no executed lectures in {EXECUTED}: run `python -m tools export` after `make book`"
    result = ruff(ROOT / "tests", *notebooks)
    assert result.returncode == 0, "ruff (each line names the lecture notebook and its cell):\n" + result.stdout


def test_ruff_flags_a_bad_notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nfor a, b in zip([1], [2]):\n    pass")])
    bad = tmp_path / "bad.ipynb"
    nbformat.write(nb, bad)
    result = ruff(bad)
    assert result.returncode != 0 and "F401" in result.stdout and "B905" in result.stdout, result.stdout
