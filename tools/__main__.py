"""The command line behind the Makefile: python -m tools COMMAND, run from the repository's root.

    python -m tools execute [BOOK]   lectures not in the execution cache, executed in parallel ($JOBS at a time,
                                     default one per CPU) into the cache the build reads
    python -m tools export           executed lectures (from the execution cache) -> _build/executed/*.ipynb
    python -m tools notebooks        lectures/*.md and their last build -> lectures/*.ipynb, the Colab notebooks
    python -m tools downloads [BOOK] each output once in the site's downloadable notebooks
    python -m tools pdf              _build/html -> _build/pdf/machine-learning-with-jax.pdf (Chromium)
    python -m tools page NAME        a one-lecture book in _build/page/NAME, for `make page`
    python -m tools run NAME         execute lectures/NAME.md alone in a fresh kernel, for `make run`:
                                     time, stderr, glued values checked against expected_results.toml
    python -m tools bench            cold and warm build, per-lecture execution and compile times, and
                                     `make test` in a fresh clone -> _build/bench.json, for `make bench`
    python -m tools axe              the pinned axe-core (the browser test's accessibility engine) from the npm
                                     registry -> .venv/axe-core-VERSION.min.js, for the setup of .venv
    python -m tools canary           every Colab notebook in a throw-away venv with the newest releases of what the
                                     lectures import -> _build/canary/report.json, for `make canary`
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tools.book import ROOT


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    command, args = argv[0], argv[1:]
    if command == "export":
        from tools.results import export_executed
        export_executed()
    elif command == "execute" and len(args) <= 1:
        from tools.execute import execute_book
        execute_book(Path(args[0]).resolve() if args else ROOT, jobs=int(os.environ.get("JOBS", 0)) or None,
                     profile=os.environ.get("PROFILE_COMPILE") == "1")
    elif command == "notebooks":
        from tools.colab import write_notebooks
        write_notebooks()
    elif command == "pdf":
        from tools.pdf import print_pdf
        print_pdf()
    elif command == "downloads" and len(args) <= 1:
        from tools.downloads import fix_downloads
        fix_downloads(Path(args[0]).resolve() if args else ROOT)
    elif command == "page" and len(args) == 1:
        from tools.lecture import make_page
        make_page(args[0])
    elif command == "run" and len(args) == 1:
        from tools.lecture import run_lecture
        run_lecture(args[0])
    elif command == "bench":
        from tools.bench import bench
        bench(run_test=os.environ.get("BENCH_TEST", "1") != "0")
    elif command == "axe":
        from tools.axe import fetch_axe
        fetch_axe()
    elif command == "canary":
        from tools.canary import canary
        sys.exit(canary())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
