"""Execution: the lectures whose code is not in the execution cache, run side by side into that cache.

    lectures/*.md (in _toc.yml) -> _build/.jupyter_cache (read by Sphinx/myst-nb, which then executes nothing),
                                   _build/execution.json (times), _build/reports/NAME.err.log (each failure)

One fresh kernel per lecture, in the lecture's folder, each on one CPU of its own (`one_cpu`), the longest first.
`make bench` runs it with a profiler that measures each lecture's compile time.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import yaml

from tools.book import ROOT, code_lectures, read_lecture
from tools.kernels import kernel_config

# What the kernels of a profiled execution (`make bench`) run at start-up: after every cell, once JAX has been
# imported, listen to its compilation events (tracing, lowering to MLIR, XLA's compile) and write the wall time they
# covered (the union of their time spans, since tracing an outer jit traces the inner ones), the number of XLA
# compiles, and the functions compiled most often (a recompilation in a loop shows there) to $COMPILE_TIME_FILE.
# It prints nothing, so the outputs are those of an unprofiled run.
COMPILE_PROFILER = """\
import json, os, sys
_spans, _state, _compiled = [], {"listening": False}, {}
def _on_span(event, start, end, **kwargs):
    if event.startswith("/jax/core/compile/"):
        _spans.append((start, end))
    if event == "/jax/core/compile/backend_compile_duration":
        name = str(kwargs.get("fun_name", "?"))
        _compiled[name] = _compiled.get(name, 0) + 1
def _write(*args):
    if not _state["listening"] and "jax" in sys.modules:
        import jax.monitoring
        jax.monitoring.register_event_time_span_listener(_on_span)
        _state["listening"] = True
    total, reach = 0.0, float("-inf")
    for start, end in sorted(_spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    with open(os.environ["COMPILE_TIME_FILE"], "w") as f:
        most = sorted(_compiled.items(), key=lambda kv: -kv[1])[:3]
        json.dump({"compile_seconds": total, "compilations": sum(_compiled.values()), "most_compiled": most}, f)
get_ipython().events.register("post_run_cell", _write)
"""


def one_cpu(index: int = 0) -> None:
    """Run this process, and the kernels it starts, on one CPU (the index-th it may use, modulo their number).

    Every execution of a lecture in the pipeline (the build, `make run`, nbval and the Colab runs in `make test`)
    gets one core: two kernels side by side then do not fight over two cores, and the outputs do not depend on
    how many cores the machine has (XLA splits its work differently over one thread than over two, and the Haiku
    lecture's last digits moved). Where the system cannot pin a process (macOS), nothing is pinned.
    """
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})


def _claim_cpus(slots) -> None:
    one_cpu(slots.get())


def _execute_one(path: str, timeout: int, profile: bool) -> dict:
    """Execute one lecture top to bottom in a fresh kernel in its own folder, as myst-nb would (one worker of
    execute_book). Returns the executed notebook as JSON, its wall time, and the error if a cell failed."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = read_lecture(Path(path))
    if "execution" in nb.metadata:      # per-lecture settings in the front matter, as myst-nb honours them
        timeout = nb.metadata.execution.get("timeout", timeout)
    # The build's execution is cold: no JAX compilation cache, even where the environment names one (`make test`
    # gives its re-runs one, tests/conftest.py).
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    with tempfile.TemporaryDirectory() as tmp:
        if profile:
            startup = Path(tmp, "ipython", "profile_default", "startup")
            startup.mkdir(parents=True)
            (startup / "00-compile-time.py").write_text(COMPILE_PROFILER)
            env.update(IPYTHONDIR=str(Path(tmp, "ipython")), COMPILE_TIME_FILE=str(Path(tmp, "compile.json")))
        # No timing metadata in the cells (nbclient's default adds it): the cache would hash it, and the build,
        # reading the lecture without it, would find no match.
        client = NotebookClient(nb, timeout=timeout, allow_errors=False, record_timing=False,
                                resources={"metadata": {"path": str(Path(path).parent)}}, config=kernel_config(tmp))
        start = time.perf_counter()
        error = None
        try:
            client.execute(env=env)
        except (CellExecutionError, CellTimeoutError) as exc:
            cell = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")
                         and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
            where = f"code cell {code.index(cell) + 1} of {len(code)}" if cell is not None else "a cell timed out"
            error = f"{where}: {exc}"
        seconds = time.perf_counter() - start
        compile_file = Path(tmp, "compile.json")
        compiled = json.loads(compile_file.read_text()) if profile and compile_file.exists() else {}
    return {"path": path, "notebook": nbformat.writes(nb), "seconds": seconds, "error": error, **compiled}


def execute_book(book: Path = ROOT, jobs: int | None = None, profile: bool = False) -> dict[str, dict]:
    """Execute the lectures whose code has no execution in the book's cache, `jobs` at a time, and cache them.

    The build (myst-nb with execute_notebooks: cache) executes one lecture at a time while Sphinx reads it; run
    first, this fills the same jupyter-cache with the same executions (a fresh kernel per lecture, in its folder,
    the timeout of _config.yml), so Sphinx then finds every lecture executed. The longest lectures start first (the
    times of their last execution, else the length of their code). A failing lecture is not cached; every failure
    is printed, with its lecture and cell (and kept in _build/reports/NAME.err.log), and the command then fails.
    Each worker, and so each kernel, runs on one CPU of its own (one_cpu). Returns, per lecture executed, its wall
    time (and, with `profile`, the part its kernel spent compiling); _build/execution.json keeps the same.
    """
    import concurrent.futures
    import multiprocessing

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    config = yaml.safe_load((book / "_config.yml").read_text()).get("execute", {})
    if config.get("execute_notebooks") != "cache":
        return {}
    cache = get_cache(book / "_build" / ".jupyter_cache")
    reports = book / "_build" / "reports"   # one NAME.err.log per failing lecture (CI keeps them)
    shutil.rmtree(reports, ignore_errors=True)
    last_seconds = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        last_seconds[record.uri] = float((record.data or {}).get("execution_seconds", 0.0))
    todo = []
    for path in code_lectures(book):
        nb = read_lecture(path)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            code = sum(len(c.source) for c in nb.cells if c.cell_type == "code")
            todo.append((last_seconds.get(str(path), 1e6 + code), path))   # unknown: longest code first
    todo = [path for _, path in sorted(todo, reverse=True)]
    if not todo:
        return {}
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    print(f"executing {len(todo)} lecture{'s' * (len(todo) > 1)}, {jobs} at a time, each on one CPU: "
          + ", ".join(p.stem for p in todo), flush=True)
    results, failed = {}, []
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for index in range(jobs):
        slots.put(index)
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_claim_cpus,
                                                initargs=(slots,)) as pool:
        futures = [pool.submit(_execute_one, str(path), int(config.get("timeout", 300)), profile)
                   for path in todo]
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            path = Path(result["path"])
            name = path.relative_to(book)
            if result["error"]:
                failed.append(f"==> {name} failed after {result['seconds']:.1f} s:\n{result['error']}")
                reports.mkdir(parents=True, exist_ok=True)
                (reports / f"{path.stem}.err.log").write_text(failed[-1] + "\n")
                print(f"  {name}: FAILED after {result['seconds']:.1f} s", flush=True)
                continue
            nb = nbformat.reads(result["notebook"], as_version=4)
            cache.cache_notebook_bundle(CacheBundleIn(nb, str(path), data={"execution_seconds": result["seconds"]}),
                                        check_validity=False, overwrite=True)
            try:   # what the build will look up: the lecture as read, not as executed
                cache.match_cache_notebook(read_lecture(path))
            except KeyError:
                raise SystemExit(f"{name}: its execution was cached under a key the build will not find; "
                                 f"the build would execute it again") from None
            results[path.stem] = {k: v for k, v in result.items() if k not in ("path", "notebook", "error")}
            print(f"  {name}: executed in {result['seconds']:.1f} s", flush=True)
    wall = time.perf_counter() - start
    print(f"executed {len(results)} of {len(todo)} in {wall:.1f} s "
          f"(their own times add up to {sum(r['seconds'] for r in results.values()):.1f} s)", flush=True)
    report = {"jobs": jobs, "wall_seconds": round(wall, 1), "lectures": results}
    (book / "_build" / "execution.json").write_text(json.dumps(report, indent=2) + "\n")
    if failed:
        raise SystemExit("EXECUTION FAILED (the traceback names the cell):\n" + "\n\n".join(failed))
    return results
