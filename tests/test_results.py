"""The numbers the lectures state in their prose lie in the ranges the course promises.

Each lecture glues its results with myst_nb.glue; tests/expected_results.toml says, lecture by lecture, which
names must be glued and where each value must lie. The glued values are read from the execution cache of the
last build (the copies in _build/jupyter_execute lose the remove-cell glue cells).
"""

from __future__ import annotations

import pytest

from tools.book import ROOT, code_lectures
from tools.results import EXPECTED, check_value, executed_notebook, glued_values

LECTURES = {path.stem: path for path in code_lectures()}


@pytest.mark.parametrize("lecture", sorted(EXPECTED))
def test_glued_results_in_range(lecture):
    if lecture not in LECTURES:
        pytest.skip(f"lectures/{lecture}.md is not in _toc.yml yet")
    values = glued_values(executed_notebook(LECTURES[lecture]))
    problems = [p for name, rule in EXPECTED[lecture].items() for p in check_value(name, rule, values)]
    assert not problems, f"lectures/{lecture}.md: " + "; ".join(problems)


def test_every_glued_value_has_a_range():
    """Every value a lecture glues into its prose has its range in expected_results.toml: no claim goes unchecked."""
    missing = [f"{lecture}.{name}" for lecture, path in LECTURES.items()
               for name in glued_values(executed_notebook(path)) if name not in EXPECTED.get(lecture, {})]
    assert not missing, f"add ranges to tests/expected_results.toml for: {missing}"


def test_every_table_entry_names_a_lecture_file():
    unknown = [name for name in EXPECTED if not (ROOT / "lectures" / f"{name}.md").exists()]
    assert not unknown, f"expected_results.toml names lectures that do not exist: {unknown}"


# The checker itself must be able to fail: a few cases it has to catch.
@pytest.mark.parametrize("rule, values, ok", [
    ({"min": 0.9, "max": 1.0}, {"a": 0.95}, True),
    ({"min": 0.9, "max": 1.0}, {"a": 0.85}, False),
    ({"min": 0.9}, {}, False),
    ({"min": 0.0, "close_to": "b", "tol": 1e-4}, {"a": 1.0, "b": 1.001}, False),
    ({"min": 0.0, "close_to": "b", "tol": 1e-4}, {"a": 1.0, "b": 1.00001}, True),
    ({"one_of": ["subset", "full"]}, {"a": "other"}, False),
    ({"by": "s", "min": {"x": 0.97, "y": 0.99}}, {"a": 0.98, "s": "y"}, False),
    ({"by": "s", "min": {"x": 0.97, "y": 0.99}}, {"a": 0.98, "s": "x"}, True),
    ({"min": 0.0}, {"a": float("nan")}, False),
    ({"exists": True}, {}, False),
])
def test_checker_catches_bad_values(rule, values, ok):
    assert (check_value("a", rule, values) == []) is ok
