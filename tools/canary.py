"""The canary: the Colab notebooks run with the newest release of everything the lectures import.

    lectures/*.ipynb + the newest releases on PyPI (unpinned), on the newest Python installed (3.13 or later)
        -> _build/canary/report.json, and a failure naming the notebook, the cell and the versions

The course pins its versions, which keeps the book green; Colab does not, and upgrades under the learners. This
runs every Colab notebook top to bottom as a learner would, with what a fresh install gives today, and fails on an
error or on anything a cell writes to stderr: a DeprecationWarning there is the early warning it exists for.
`make canary` runs it; `make test` does not (it would test the registry, not the commit); a scheduled GitHub
workflow (.github/workflows/canary.yml) runs it weekly and keeps the report.
"""

from __future__ import annotations

import ast
import concurrent.futures
import json
import os
import sys
import time
from pathlib import Path

from tools.book import BUILD, ROOT, colab_lectures
from tools.kernels import installed_pythons, kernel_config, kernel_path, make_kernel_venv, versions

CANARY = BUILD / "canary"
# Import names whose distribution on PyPI is called otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "haiku": "dm-haiku", "orbax": "orbax-checkpoint", "yaml": "pyyaml",
                 "PIL": "pillow", "IPython": "ipython"}
ALWAYS = ["ipykernel", "jaxlib"]   # the kernel itself, and JAX's compiled half (jax alone does not pin it)


def imported_packages(notebooks: list[Path]) -> list[str]:
    """The distributions the notebooks import (their top-level modules outside the standard library)."""
    import nbformat

    modules = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names)
    return sorted({DISTRIBUTIONS.get(module, module) for module in modules} | set(ALWAYS))


def newest_python(minimum: tuple[int, int] = (3, 13)) -> str:
    """$CANARY_PYTHON, else the newest Python installed (on PATH or under pyenv), of at least `minimum`; fails
    loudly if there is none."""
    found = {version: path for version, path in installed_pythons("CANARY_PYTHON").items()
             if version[:2] >= minimum}
    if not found:
        raise SystemExit(f"the canary needs Python {minimum[0]}.{minimum[1]} or newer: install one (pyenv install "
                         f"3.13, or actions/setup-python) or set CANARY_PYTHON to its path")
    return found[max(found)]


def run_notebook(path: Path, kernel: str) -> dict:
    """Execute one Colab notebook in the canary's kernel; return its time, its error and what it wrote to stderr,
    each with the code cell that did it."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    start = time.perf_counter()
    error = None
    with tempfile.TemporaryDirectory() as tmp:   # an empty working folder, as in Colab
        try:
            NotebookClient(nb, kernel_name=kernel, timeout=900, resources={"metadata": {"path": tmp}},
                           config=kernel_config(tmp)).execute()
        except (CellExecutionError, CellTimeoutError) as exc:
            error = str(exc).strip().splitlines()[-1][:500]
    where = lambda cell: f"code cell {code.index(cell) + 1} of {len(code)}"  # noqa: E731
    failed = [cell for cell in code if any(o.get("output_type") == "error" for o in cell.get("outputs", []))]
    stderr = [f"{where(cell)}: {o['text'].strip()[:500]}" for cell in code for o in cell.get("outputs", [])
              if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if error is not None:
        error = f"{where(failed[0])}: {error}" if failed else f"a cell timed out: {error}"
    return {"seconds": round(time.perf_counter() - start, 1), "error": error, "stderr": stderr}


def canary(jobs: int | None = None) -> int:
    """Build the canary's venv, run every Colab notebook in it (`jobs` at a time), write the report; returns the
    exit status: 0 when every notebook ran with nothing on stderr."""
    notebooks = [path.with_suffix(".ipynb") for path in colab_lectures()]
    missing = [str(p.relative_to(ROOT)) for p in notebooks if not p.exists()]
    if missing:
        raise SystemExit(f"no Colab notebook for {missing}: run `make notebooks`")
    packages = imported_packages(notebooks)
    python = newest_python()
    print(f"canary: the newest {', '.join(packages)} on {python}", flush=True)
    make_kernel_venv(CANARY, python, ["--upgrade", *packages], "canary")
    found = versions(CANARY / "venv" / "bin" / "python", packages)
    print("installed: " + ", ".join(f"{name} {version}" for name, version in found.items()), flush=True)
    jobs = max(1, jobs or int(os.environ.get("JOBS", 0)) or os.cpu_count() or 1)
    results = {}
    with kernel_path(CANARY), concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(run_notebook, path, "canary"): path for path in notebooks}
        for future in concurrent.futures.as_completed(futures):
            path = futures[future]
            result = results[path.stem] = future.result()
            verdict = "FAILED" if result["error"] else "STDERR" if result["stderr"] else "ok"
            print(f"  {path.relative_to(ROOT)}: {verdict} in {result['seconds']:.1f} s", flush=True)
    report = {"date": time.strftime("%Y-%m-%d"), "versions": found,
              "notebooks": {name: results[name] for name in sorted(results)}}
    (CANARY / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    problems = []
    for name, r in sorted(results.items()):
        problems += [f"lectures/{name}.ipynb, error in {r['error']}"] if r["error"] else []
        problems += [f"lectures/{name}.ipynb, stderr in {line}" for line in r["stderr"]]
    versions_line = ", ".join(f"{name} {version}" for name, version in found.items())
    if problems:
        print(f"CANARY FAILED with {versions_line}:\n  " + "\n  ".join(problems), flush=True)
        return 1
    print(f"canary passed: {len(results)} notebooks ran with nothing on stderr, with {versions_line}; "
          f"report in {(CANARY / 'report.json').relative_to(ROOT)}", flush=True)
    return 0
