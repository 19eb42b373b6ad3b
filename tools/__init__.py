"""The book's build tools: what `make` runs besides Jupyter Book itself, one module per job.

    book.py       where the book is: its folders, _toc.yml, its lectures as the build reads them
    execute.py    lectures -> the execution cache, side by side, one kernel per CPU (before Sphinx reads them)
    results.py    the execution cache -> executed lectures, their glued values, the ranges in expected_results.toml
    colab.py      lectures + their last build -> lectures/*.ipynb, the Colab notebooks
    downloads.py  the site's downloadable notebooks, each output once
    numbering.py  a Sphinx extension: figures and exercises numbered from 1 in each lecture
    chromium.py   Debian's Chromium and a local server for the site (shared by pdf.py and the browser test)
    pdf.py        the built site -> one PDF
    axe.py        the pinned axe-core from the npm registry, for the browser test's accessibility checks
    kernels.py    a clean venv registered as a Jupyter kernel (the Colab-runtime test, the canary)
    lecture.py    one lecture alone: `make page`, `make run`
    bench.py      `make bench`: cold and warm build, `make test` in a fresh clone
    canary.py     `make canary`: the Colab notebooks in a throw-away venv with the newest releases
    __main__.py   the command line the Makefile calls: python -m tools COMMAND

The tests (tests/) import from here; nothing here imports from the tests.
"""
