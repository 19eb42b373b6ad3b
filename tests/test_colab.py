"""Every lecture opens in Colab as a real notebook and runs there alone.

1. lectures/NAME.ipynb is what `make notebooks` makes from lectures/NAME.md (jupytext, book-only cells left out,
   no outputs): a lecture that changed without its notebook fails here.
2. Each notebook runs top to bottom with nbclient in a clean virtual environment that holds only what a Colab
   runtime has preinstalled among the packages the course uses: not dm-haiku, not mlxtend, not myst-nb. The
   notebook's own install cell must bring in the rest. The environment is built once per test run, in
   _build/colab/venv, and a report of run times and installs is written to _build/colab/report.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tools import BUILD, ROOT, colab_lectures, colab_notebook

# What a Colab runtime has preinstalled, of what the course uses; versions as pinned in requirements.txt.
COLAB_PREINSTALLED = ["jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "keras", "scikit-learn", "numpy",
                      "matplotlib", "pandas", "ipykernel"]
COLAB_DIR = BUILD / "colab"
KERNEL = "colab-like"
NOTEBOOKS = colab_lectures()


def pinned(names: list[str]) -> list[str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return [f"{name}=={pins[name]}" if name in pins else name for name in names]


def test_lecture_config_names_one_repository():
    """The Colab links are built from _config.yml's repository entry: org/repo, branch, path."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", config["repository"]["url"])
    assert config["repository"]["branch"]
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_is_in_sync_with_its_lecture(lecture):
    stored = lecture.with_suffix(".ipynb")
    assert stored.exists(), f"{stored.relative_to(ROOT)} is missing: run `make notebooks` and commit it"
    expected = colab_notebook(lecture)
    actual = nbformat.read(stored, as_version=4)
    strip = lambda nb: [(c.cell_type, c.source, c.get("outputs", [])) for c in nb.cells]  # noqa: E731
    assert strip(actual) == strip(expected), (
        f"{stored.relative_to(ROOT)} is out of date with {lecture.relative_to(ROOT)}: run `make notebooks`")
    assert not any(c.get("outputs") for c in actual.cells), "Colab notebooks are stored without outputs"


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_has_no_book_only_constructs(lecture):
    nb = colab_notebook(lecture)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "myst_nb" not in code, "glue and other myst_nb calls belong in cells tagged remove-cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    leftover = re.findall(r"\{[a-z:-]+\}`|```\{[a-z-]+\}", text)
    assert not leftover, f"MyST syntax that Colab cannot render: {sorted(set(leftover))}"


@pytest.fixture(scope="module")
def colab_kernel():
    """A clean venv with only Colab's preinstalled packages, registered as the Jupyter kernel 'colab-like'."""
    if COLAB_DIR.exists():
        shutil.rmtree(COLAB_DIR)
    venv = COLAB_DIR / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pinned(COLAB_PREINSTALLED)], check=True)
    kernels = COLAB_DIR / "jupyter"
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(COLAB_DIR / "prefix"),
                    "--name", KERNEL, "--display-name", "Colab-like"], check=True, capture_output=True)
    kernels.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COLAB_DIR / "prefix" / "share" / "jupyter" / "kernels", kernels / "kernels")
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(kernels) + (os.pathsep + old if old else "")
    report = {}
    yield python, report
    (COLAB_DIR / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def installed(python: Path) -> set[str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split("==")[0].lower() for line in out.splitlines() if "==" in line}


@pytest.mark.parametrize("lecture", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_notebook_runs_alone_in_a_colab_like_runtime(lecture, colab_kernel, tmp_path):
    from nbclient import NotebookClient

    python, report = colab_kernel
    nb = nbformat.read(lecture.with_suffix(".ipynb"), as_version=4)
    before = installed(python)
    start = time.perf_counter()
    # An empty working folder: the notebook may read only what it makes.
    NotebookClient(nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    report[lecture.stem] = {"seconds": round(seconds, 1),
                            "installed_by_notebook": sorted(installed(python) - before)}
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
