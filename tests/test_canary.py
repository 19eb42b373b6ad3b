"""The canary (`make canary`, tools/canary.py) finds what it is for, and its weekly workflow is set up to run it.

The canary itself is not run here: it installs the newest releases from the registry, which tests the registry of
the day, not this commit.
"""

from __future__ import annotations

import nbformat
import yaml

from tools.book import ROOT
from tools.canary import imported_packages, run_notebook


def notebook(tmp_path, *sources: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "fixture.ipynb"
    nbformat.write(nb, path)
    return path


def test_packages_are_read_from_the_notebooks_imports(tmp_path):
    path = notebook(tmp_path, "import os\nimport numpy as np\nfrom sklearn.datasets import make_moons",
                    "import haiku as hk\nfrom orbax import checkpoint as ocp\n%matplotlib inline")
    packages = imported_packages([path])
    assert {"numpy", "scikit-learn", "dm-haiku", "orbax-checkpoint", "ipykernel", "jaxlib"} <= set(packages)
    assert "os" not in packages and "sklearn" not in packages


def test_a_warning_and_an_error_are_reported_with_their_cells(tmp_path):
    warns = notebook(tmp_path, "x = 1", "import warnings\nwarnings.warn('old API', DeprecationWarning, stacklevel=1)")
    result = run_notebook(warns, "python3")
    assert result["error"] is None
    assert len(result["stderr"]) == 1 and result["stderr"][0].startswith("code cell 2 of 2:")
    assert "DeprecationWarning: old API" in result["stderr"][0]

    fails = notebook(tmp_path, "x = 1", "1 / 0", "print('never')")
    result = run_notebook(fails, "python3")
    assert result["error"].startswith("code cell 2 of 3:") and "ZeroDivisionError" in result["error"]


def test_the_weekly_workflow_runs_the_canary_and_keeps_its_report():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "canary.yml").read_text())
    triggers = workflow[True]   # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["canary"]["steps"]
    assert any(step.get("run") == "make canary" for step in steps)
    assert any(step.get("with", {}).get("path") == "_build/canary/report.json" for step in steps)


def test_make_test_does_not_run_the_canary():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "canary" not in recipe
