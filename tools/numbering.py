"""A Sphinx extension: figures, tables, code listings and exercises numbered within each lecture.

    Sphinx's numbers (env.toc_fignumbers), which run on across the whole book when the TOC has no section
    numbers -> the same, counted from 1 in each page

Without it the first exercise of autodiff was "Exercise 4", and the figures ran on likewise, while the Colab
notebooks (tools/colab.py) number each lecture from 1. A reference ({numref}) shows the number within the page of
its target. Loaded by _config.yml (sphinx.config.extensions) from the repository's root, which the Makefile puts on
PYTHONPATH for jupyter-book.
"""

from __future__ import annotations

# Sphinx compares the numbers it assigns with those of the last build to decide which pages to write again; it
# must compare its own book-wide numbers, not ours, or every page would be rewritten on every build.
BOOK_WIDE = "book_wide_fignumbers"


def _restore_book_wide(app, env) -> list[str]:
    if hasattr(env, BOOK_WIDE):
        env.toc_fignumbers = getattr(env, BOOK_WIDE)
    return []


def _number_within_each_page(app, env) -> list[str]:
    setattr(env, BOOK_WIDE, {doc: {kind: dict(ids) for kind, ids in kinds.items()}
                             for doc, kinds in env.toc_fignumbers.items()})
    for kinds in env.toc_fignumbers.values():
        for kind, numbers in kinds.items():
            if any(len(number) != 1 for number in numbers.values()):
                continue   # section-numbered (1.2.3): already within a chapter
            rank = {number: (index + 1,) for index, number in enumerate(sorted(set(numbers.values())))}
            kinds[kind] = {node_id: rank[number] for node_id, number in numbers.items()}
    return []


def setup(app):
    # Sphinx's toctree collector assigns the numbers on env-get-updated at the default priority, 500.
    app.connect("env-get-updated", _restore_book_wide, priority=100)
    app.connect("env-get-updated", _number_within_each_page, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
