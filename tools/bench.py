"""The benchmark behind `make bench`: what decides how often the course gets checked, measured, never asserted.

    a cold build (empty execution cache), a warm rebuild, `make test` in a fresh clone of HEAD
        -> _build/bench.json, and the lines the README's "How fast" quotes
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tools.book import BUILD, CACHE, ROOT
from tools.results import executed_notebook, glued_values

def _make(target: str, cwd: Path = ROOT, env: dict | None = None, log: list | None = None) -> float:
    """Run `make TARGET` in cwd, fail loudly, return its wall time; with `log`, keep (time, line) of its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(["make", "--no-print-directory", target], cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        if log is not None:
            log.append((time.perf_counter() - start, line.rstrip("\n")))
    if proc.wait():
        raise SystemExit(f"`make {target}` failed in {cwd}:\n" + "".join(tail))
    return time.perf_counter() - start


# The steps of `make test`, each recognised by the first line make echoes for it (see the Makefile).
TEST_PHASES = [("setup (.venv)", "-m venv"), ("build (execute + Sphinx)", "tools execute"),
               ("pdf", "tools pdf"), ("export", "tools export"), ("pytest", "-m pytest")]


def test_phases(log: list[tuple[float, str]], total: float) -> dict[str, float]:
    starts = []
    for name, marker in TEST_PHASES:
        at = next((t for t, line in log if marker in line), None)
        if at is not None:
            starts.append((at, name))
    starts.sort()
    if starts:
        starts[0] = (0.0, starts[0][1])   # the first phase from the start of `make test`
    return {name: round((starts[i + 1][0] if i + 1 < len(starts) else total) - at, 1)
            for i, (at, name) in enumerate(starts)}


def bench(run_test: bool = True) -> dict:
    """`make bench`: a cold build (empty execution cache, .venv kept) with each lecture's execution and compile
    time, a warm rebuild, and `make test` in a fresh clone of HEAD, phase by phase. Writes _build/bench.json.

    A benchmark, not a test: it asserts nothing, it reports. BENCH_TEST=0 leaves out the `make test` run.
    """
    for folder in (CACHE, BUILD / ".doctrees", BUILD / "html", BUILD / "jupyter_execute"):  # a cold build
        shutil.rmtree(folder, ignore_errors=True)
    (BUILD / "execution.json").unlink(missing_ok=True)
    cold = _make("html", env={"PROFILE_COMPILE": "1"})
    execution = json.loads((BUILD / "execution.json").read_text())
    log: list = []
    warm = _make("html", log=log)
    executed_warm = sum("Executing notebook using" in line or line.startswith("  lectures/") for _, line in log)

    lectures = execution["lectures"]
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "cold_build": {
            "wall_seconds": round(cold, 1),
            "execution_wall_seconds": execution["wall_seconds"],
            "lectures_total_seconds": round(sum(r["seconds"] for r in lectures.values()), 1),
            "jobs": execution["jobs"],
            "lectures": {name: {"seconds": round(r["seconds"], 1),
                                "compile_seconds": round(r.get("compile_seconds", float("nan")), 1),
                                "compilations": r.get("compilations"),
                                "most_compiled": r.get("most_compiled", [])}
                         for name, r in sorted(lectures.items(), key=lambda kv: -kv[1]["seconds"])},
        },
        "warm_build": {"wall_seconds": round(warm, 1), "lectures_executed": executed_warm},
    }
    jax_nn = ROOT / "lectures" / "jax_nn.md"
    if jax_nn.exists():
        speedup = glued_values(executed_notebook(jax_nn)).get("jaxnn_speedup")
        result["jaxnn_speedup_keras_over_jax"] = round(speedup, 1) if speedup is not None else None

    if run_test:
        clone = BUILD / "bench" / "clone"
        shutil.rmtree(clone.parent, ignore_errors=True)
        clone.parent.mkdir(parents=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        log = []
        total = _make("test", cwd=clone, log=log)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
                                text=True).stdout.strip()
        result["make_test_fresh_clone"] = {
            "commit": commit + (" (uncommitted changes not included)" if dirty else ""),
            "wall_seconds": round(total, 1),
            "phases_seconds": test_phases(log, total),
            "pytest_seconds_by_group": json.loads((clone / "_build" / "pytest-groups.json").read_text()),
            "summary": next((line.strip("= ") for _, line in reversed(log) if " passed" in line), ""),
        }
        shutil.rmtree(clone.parent, ignore_errors=True)
    (BUILD / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(bench_report(result))
    return result


def bench_report(result: dict) -> str:
    """bench.json as the few lines the README quotes."""
    cold, warm = result["cold_build"], result["warm_build"]
    lines = [f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}", "",
             f"{'lecture':<22}{'execution s':>12}{'compile s':>11}{'XLA compiles':>14}   most compiled"]
    for name, r in cold["lectures"].items():
        most = ", ".join(f"{fun} ×{count}" for fun, count in r["most_compiled"][:2])
        lines.append(f"{name:<22}{r['seconds']:>12.1f}{r['compile_seconds']:>11.1f}{r['compilations'] or 0:>14}   "
                     f"{most}")
    lines += [f"{'all lectures':<22}{cold['lectures_total_seconds']:>12.1f}"
              f"{sum(r['compile_seconds'] for r in cold['lectures'].values()):>11.1f}", "",
              f"cold build: {cold['wall_seconds']:.1f} s wall ({cold['jobs']} lectures at a time; executing took "
              f"{cold['execution_wall_seconds']:.1f} s of it, against {cold['lectures_total_seconds']:.1f} s of "
              f"lecture time)",
              f"warm rebuild: {warm['wall_seconds']:.1f} s, {warm['lectures_executed']} lectures executed"]
    test = result.get("make_test_fresh_clone")
    if test:
        lines += [f"make test in a fresh clone of {test['commit']}: {test['wall_seconds']:.0f} s "
                  f"({test['wall_seconds'] / 60:.1f} min); {test['summary']}"]
        lines += [f"  {name:<28}{seconds:>8.1f} s" for name, seconds in test["phases_seconds"].items()]
        lines += ["  pytest, test time per group (the groups run side by side):"]
        lines += [f"    {name:<26}{seconds:>8.1f} s" for name, seconds in test["pytest_seconds_by_group"].items()]
    return "\n".join(lines)
