"""How `make test` shares the tests between its workers (pytest-xdist), and the one CPU each worker runs on.

A worker runs a group whole, in collection order, and the groups are what may run side by side:
- "jaxlib-pins": the two re-runs of the lectures with the course's jax and jaxlib, one after the other: the "pins"
  Colab runtime, then nbval. `make test` gives them one JAX compilation cache (JAX_COMPILATION_CACHE_DIR), so the
  second finds compiled what the first compiled, and in one group they never write and read an entry at once.
  nbval compares every output with the build's own cold execution, so it also checks that the cache changes none;
- "colab-colab": Colab's runtime (its own venv, its own jax) running every notebook;
- "site": whatever reads or rebuilds _build/html (the browser, the PDF, the pipeline's own builds), so a rebuild
  never runs while a page is being read.
A test module not named here is one group of its own. The longest groups start first.

The groups are given to pytest-xdist as a scheduler (GroupScheduling), not as xdist_group marks: pytest 9 derives
a test's id from its place in the collection, and the marks worked by appending to that id.
Each run also writes the seconds its tests took, group by group, to _build/pytest-groups.json (for `make bench`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the build tools, tools/, are imported from the root

from tools.book import BUILD  # noqa: E402
from tools.execute import one_cpu  # noqa: E402

SITE_MODULES = {"test_browser.py", "test_pdf.py", "test_pipeline.py"}
FIRST = ["jaxlib-pins", "colab-colab", "site"]   # the longest groups, started first
_GROUP_SECONDS: dict[str, float] = {}


def group_of(nodeid: str) -> str:
    """The group of a test, from its id (path::name[params])."""
    path, _, name = nodeid.partition("::")
    module = path.rsplit("/", 1)[-1]
    if module.endswith(".ipynb"):
        return "jaxlib-pins"
    if module in SITE_MODULES:
        return "site"
    runtime = re.search(r"runs_alone_in_a_colab_runtime\[(colab|pins)-", name)
    if module == "test_colab.py" and runtime:
        return "jaxlib-pins" if runtime.group(1) == "pins" else "colab-colab"
    return path


def pytest_configure(config):
    """Each worker (and every kernel it starts) on one CPU of its own, as the build runs each lecture, so that
    nbval re-runs a lecture with the thread count the build used. Under xdist the controller only hands out
    tests and stays unpinned."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        one_cpu(int(worker.removeprefix("gw")))
    elif not getattr(config.option, "numprocesses", None):
        one_cpu(0)


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            for group in reversed(FIRST):   # move the longest groups to the front of the queue, in FIRST's order
                if group in self.workqueue:
                    self.workqueue.move_to_end(group, last=False)
            super()._assign_work_unit(node)

    return GroupScheduling(config, log)


def pytest_runtest_logreport(report):
    """Add up each test's time (setup, call and teardown) by group; under xdist the controller sees every report."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        group = group_of(report.nodeid)
        _GROUP_SECONDS[group] = _GROUP_SECONDS.get(group, 0.0) + report.duration


def pytest_sessionfinish(session):
    if os.environ.get("PYTEST_XDIST_WORKER") or not _GROUP_SECONDS:
        return
    totals = {group: round(seconds, 1) for group, seconds in sorted(_GROUP_SECONDS.items(), key=lambda kv: -kv[1])}
    BUILD.mkdir(exist_ok=True)
    (BUILD / "pytest-groups.json").write_text(json.dumps(totals, indent=2) + "\n")
