"""One lecture on its own, for writing it: a one-page book (`make page`) and a plain execution (`make run`).

    lectures/NAME.md -> _build/page/NAME (a book of that lecture and the references page, built by `make page`)
    lectures/NAME.md -> _build/run/NAME.ipynb, with its time, stderr and glued values against their ranges
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tools.book import BUILD, ROOT
from tools.execute import _execute_one, one_cpu
from tools.results import EXPECTED, check_value, glued_values

def make_page(name: str) -> Path:
    """A book of one lecture (plus the references page it may cite) in _build/page/NAME."""
    lecture = ROOT / "lectures" / f"{name}.md"
    if not lecture.exists():
        raise SystemExit(f"no such lecture: {lecture.relative_to(ROOT)}")
    book = BUILD / "page" / name
    book.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    for folder in ("lectures", "_admonition", "_static"):
        link = book / folder
        if not link.exists():
            link.symlink_to(ROOT / folder, target_is_directory=True)
    toc = {"format": "jb-book", "root": f"lectures/{name}",
           "chapters": [{"file": "lectures/references"}] if name != "references" else []}
    (book / "_toc.yml").write_text(yaml.safe_dump(toc))
    return book


def run_lecture(name: str) -> Path:
    """Execute lectures/NAME.md top to bottom in a fresh kernel (as the build does), without Sphinx.

    Writes _build/run/NAME.ipynb with its outputs, prints the execution time, every stderr output (a warning
    fails the build), and every glued value with the verdict of its range in tests/expected_results.toml.
    """
    import nbformat

    lecture = ROOT / "lectures" / f"{name}.md"
    if not lecture.exists():
        raise SystemExit(f"no such lecture: {lecture.relative_to(ROOT)}")
    one_cpu()   # as the build runs it
    result = _execute_one(str(lecture), 600, profile=False)
    nb = nbformat.reads(result["notebook"], as_version=4)
    out = BUILD / "run" / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    if result["error"]:
        raise SystemExit(f"{name} failed after {result['seconds']:.1f} s ({out.relative_to(ROOT)} holds the "
                         f"outputs so far), at {result['error']}")
    print(f"{name}: executed in {result['seconds']:.1f} s -> {out.relative_to(ROOT)}")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                print(f"STDERR in cell {index}: {output['text'][:500]}")
    values = glued_values(nb)
    rules = EXPECTED.get(name, {})
    for key, value in values.items():
        problems = check_value(key, rules[key], values) if key in rules else ["no range in expected_results.toml"]
        print(f"  {key} = {value!r}" + (f"   <-- {'; '.join(problems)}" if problems else ""))
    for key in rules:
        if key not in values:
            print(f"  {key}: in expected_results.toml but not glued")
    return out
