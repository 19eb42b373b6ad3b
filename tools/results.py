"""Executed lectures from the execution cache, the values they glued, and the ranges those values must lie in.

    the last build's execution cache (_build/.jupyter_cache) -> each lecture with its outputs (executed_notebook),
                                                               _build/executed/NAME.ipynb for nbval (export)
    an executed notebook -> the values it glued with myst_nb.glue, as text or as Python objects
    tests/expected_results.toml -> EXPECTED, and check_value: the problems of one glued value under its rule
"""

from __future__ import annotations

import ast
import math
import shutil
import tomllib
from pathlib import Path

from tools.book import CACHE, EXECUTED, ROOT, code_lectures, read_lecture

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


def glued_texts(nb, cells=None) -> dict[str, str]:
    """Every value a notebook (or the given cells of it) glued with myst_nb.glue, as the text/plain string the
    page formats, keyed by name."""
    texts = {}
    for cell in nb.cells if cells is None else cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            data = output.get("data", {})
            text = data.get("text/plain", data.get("application/papermill.record/text/plain"))
            if meta and text is not None:
                texts[meta["name"]] = text
    return texts


def parse_glued(text: str):
    """A glued text/plain value as a Python object (a number, a string, ...), or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def glued_values(nb) -> dict:
    """Every value a notebook glued with myst_nb.glue, as Python objects, keyed by name."""
    return {name: parse_glued(text) for name, text in glued_texts(nb).items()}


def run_dependent_glues(nb) -> set[str]:
    """The names glued in cells whose output nbval does not compare (tagged nbval-ignore-output): timings and what
    is made of them, which change from run to run."""
    ignored = [c for c in nb.cells if "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])]
    return set(glued_texts(nb, ignored))


# --------------------------------------------------------------------------- the ranges of tests/expected_results.toml

EXPECTED_RESULTS = ROOT / "tests" / "expected_results.toml"
EXPECTED = tomllib.loads(EXPECTED_RESULTS.read_text())


def check_value(name: str, rule: dict, values: dict) -> list[str]:
    """Problems with one glued value under one rule of expected_results.toml (empty when it passes)."""
    if name not in values:
        return [f"{name} is not glued"]
    value = values[name]
    if rule.get("exists"):
        return []
    if "one_of" in rule:
        return [] if value in rule["one_of"] else [f"{name} = {value!r}, expected one of {rule['one_of']}"]
    lo, hi = rule.get("min", -math.inf), rule.get("max", math.inf)
    if "by" in rule:
        key = values.get(rule["by"])
        lo, hi = lo[key] if isinstance(lo, dict) else lo, hi[key] if isinstance(hi, dict) else hi
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return [f"{name} = {value!r} is not a number"]
    problems = []
    if not lo <= value <= hi:
        problems.append(f"{name} = {value!r} is outside [{lo}, {hi}]")
    if "close_to" in rule:
        other = values.get(rule["close_to"])
        if other is None:
            problems.append(f"{name} must equal {rule['close_to']}, which is not glued")
        elif abs(value - other) > rule["tol"]:
            problems.append(f"{name} = {value!r} differs from {rule['close_to']} = {other!r} "
                            f"by {abs(value - other):.2e} > {rule['tol']}")
    return problems
