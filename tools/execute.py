"""Small commands behind the Makefile, kept beside the tests that use the same functions.

    python tests/tools.py execute [BOOK]  lectures not in the execution cache, executed in parallel ($JOBS at a
                                          time, default one per CPU) into the cache the build reads
    python tests/tools.py export          executed lectures (from the execution cache) -> _build/executed/*.ipynb
    python tests/tools.py notebooks       lectures/*.md and their last build -> lectures/*.ipynb, the Colab notebooks
    python tests/tools.py downloads [BOOK]   each output once in the site's downloadable notebooks
    python tests/tools.py pdf             _build/html -> _build/pdf/machine-learning-with-jax.pdf (Chromium)
    python tests/tools.py page NAME       a one-lecture book in _build/page/NAME, for `make page`
    python tests/tools.py bench           cold and warm build, per-lecture execution and compile times, and
                                          `make test` in a fresh clone -> _build/bench.json, for `make bench`
    python tests/tools.py run NAME        execute lectures/NAME.md alone in a fresh kernel, for `make run`:
                                          time, stderr, glued values checked against expected_results.toml
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
EXECUTED = BUILD / "executed"

# Cells tagged like this exist only for the book build (glue, hidden checks); the Colab notebooks leave them out.
BOOK_ONLY_TAG = "remove-cell"


def toc_pages(root: Path = ROOT) -> list[str]:
    """Every page of the book, as 'lectures/NAME', in the order of _toc.yml."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
    return pages


def read_lecture(path: Path):
    """Read a MyST lecture the way the book does (jupytext's MyST reader)."""
    import jupytext

    return jupytext.read(path, fmt="md:myst")


def has_code(path: Path) -> bool:
    return any(c.cell_type == "code" for c in read_lecture(path).cells)


def code_lectures(root: Path = ROOT) -> list[Path]:
    """The pages in the TOC that run code: each is executed at build time and checked by the tests."""
    paths = [root / f"{page}.md" for page in toc_pages(root)]
    return [p for p in paths if has_code(p)]


def colab_lectures(root: Path = ROOT) -> list[Path]:
    """The pages that get an "Open in Colab" notebook: every page that runs code (the build-status page too, whose
    cells then show the reader's own runtime)."""
    return code_lectures(root)


# --------------------------------------------------------------------------- executed notebooks


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


# --------------------------------------------------------------------------- parallel execution

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
                                resources={"metadata": {"path": str(Path(path).parent)}})
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


# --------------------------------------------------------------------------- Colab notebooks


# A number the prose takes from the book's run (a {glue:text} value) is shown in the notebook with this mark, and
# a note at the top says what it means.
BOOK_VALUE_MARK = "<sup>†</sup>"
BOOK_VALUE_NOTE = ("*Numbers marked † in the text are those of the book's own run (on a CPU, with the course's "
                   "pinned versions). Your run prints its own, which may differ a little.*")
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")


def format_glued(text: str, spec: str) -> str:
    """A glued value as the book shows it: myst-nb's own formatting of {glue:text}`name:spec`."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(text, spec or "")


def build_platform() -> str:
    """What makes two builds' numbers comparable digit for digit: machine, CPU features, jaxlib, Python."""
    import hashlib
    import platform
    from importlib.metadata import version

    flags = ""
    if Path("/proc/cpuinfo").exists():
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    return (f"{platform.machine()}, CPU features {hashlib.sha256(flags.encode()).hexdigest()[:12]}, "
            f"jaxlib {version('jaxlib')}, Python {platform.python_version()}")


def book_values(path: Path) -> dict[str, str]:
    """The glued values the prose of a lecture shows, as text, from its last build (the execution cache)."""
    names = {m.group(1) for c in read_lecture(path).cells if c.cell_type == "markdown"
             for m in GLUE_ROLE.finditer(c.source)}
    if not names:
        return {}
    texts = glued_texts(executed_notebook(path))
    missing = sorted(names - texts.keys())
    if missing:
        raise LookupError(f"{path.relative_to(ROOT)}: the prose shows {missing}, which the last build did not glue")
    return {name: texts[name] for name in sorted(names)}


def colab_notebook(path: Path, values: dict[str, str] | None = None):
    """The Colab notebook of a lecture: its cells less the book-only ones, without outputs.

    Each {glue:text} value in the prose is replaced by the value of the book's run (`values`, by default read from
    the last build) with BOOK_VALUE_MARK; the values and the platform that computed them are kept in the
    notebook's metadata (`book_build`), so that the tests can tell a changed lecture from a changed build.
    Each figure gets a numbered caption below it, and {numref} to it reads "Figure N".
    """
    import nbformat

    if values is None:
        values = book_values(path)
    nb = read_lecture(path)
    nb.cells = [c for c in nb.cells if BOOK_ONLY_TAG not in c.get("metadata", {}).get("tags", [])]
    figures = {}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell.cell_type == "code" else None
        if figure and figure.get("name"):
            figures[figure["name"]] = len(figures) + 1
            caption = " ".join(str(figure.get("caption", "")).split())
            cells.append(nbformat.v4.new_markdown_cell(f"**Figure {len(figures)}.** {caption}"))
    nb.cells = cells
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # MyST directives such as {include}, {exercise} and {glue:text} do not render in Colab: spell them out.
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, path, values, figures)
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]
    number = 0
    for cell in nb.cells:  # number the exercises as the book does
        while cell.cell_type == "markdown" and "**Exercise**" in cell.source:
            number += 1
            cell.source = cell.source.replace("**Exercise**", f"**Exercise {number}**", 1)
    if values:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(BOOK_VALUE_NOTE))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
    }
    if values:
        nb.metadata["book_build"] = {"platform": build_platform(), "values": dict(values)}
    nbformat.validator.normalize(nb)
    for index, cell in enumerate(nb.cells):   # the same ids on every run, so an unchanged lecture gives no diff
        cell.id = f"{path.stem[:20]}-{index}"
    return nb


def _plain_markdown(source: str, path: Path, values: dict[str, str] | None = None,
                    figures: dict[str, int] | None = None) -> str:
    """Turn the few MyST constructs the lectures use into Markdown that Colab renders."""
    values, figures = values or {}, figures or {}

    def include(match):
        target = (path.parent / match.group(1).strip()).resolve()
        text = target.read_text()
        return _plain_markdown(text, target)

    def glued(match):
        name, spec = match.group(1), match.group(2)
        if name not in values:
            raise LookupError(f"{path.relative_to(ROOT)}: no value of the book's run for {{glue:text}}`{name}`")
        return format_glued(values[name], spec) + BOOK_VALUE_MARK

    source = re.sub(r"```\{include\}\s*(\S+)\s*\n```", include, source)
    source = re.sub(r"```\{nb-exec-table\}\s*\n```",
                    "*(The table of the book's execution times is on the book's page.)*", source)
    # Admonitions, exercises and solutions: keep the title as bold text and the body as is.
    source = re.sub(r"^(```+|:::+)\{(?:admonition|note|tip|warning|important)\}\s*(.*)$",
                    lambda m: f"**{m.group(2)}**" if m.group(2) else "", source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\{(exercise|solution-start|solution)\}[^\n]*$",
                    lambda m: {"exercise": "**Exercise**"}.get(m.group(2), "**Solution**"), source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\{(solution-end)\}\s*$", "", source, flags=re.M)
    source = re.sub(r"^:(class|label|tags|name|nonumber|hidden)?:[^\n]*\n", "", source, flags=re.M)
    source = re.sub(r"^(```+|:::+)\s*$", "", source, flags=re.M)
    # Roles: {doc}`text <target>` -> text; {cite}`key` -> key; {glue:text}`name` -> (see the book)
    source = re.sub(r"\{doc\}`([^`<]+?)\s*<[^`]+>`", r"\1", source)
    source = re.sub(r"\{doc\}`([^`]+)`", r"\1", source)
    source = re.sub(r"\{numref\}`([\w-]+)`",
                    lambda m: f"Figure {figures[m.group(1)]}" if m.group(1) in figures else m.group(1), source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`<]+?)\s*<[^`]+>`", r"\1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`[\w-]+-ex(\d+)`", r"Exercise \1", source)
    source = re.sub(r"\{(?:ref|numref|eq)\}`([^`]+)`", r"\1", source)
    source = re.sub(r"\{cite(?::\w+)?\}`([^`]+)`", r"[\1]", source)
    source = GLUE_ROLE.sub(glued, source)
    source = re.sub(r"\{(?:math)\}`([^`]+)`", r"$\1$", source)
    return re.sub(r"\n{3,}", "\n\n", source).strip()


def write_notebooks() -> list[Path]:
    import nbformat

    written = []
    for path in colab_lectures():
        out = path.with_suffix(".ipynb")
        try:
            nb = colab_notebook(path)
        except LookupError as exc:
            raise SystemExit(f"{exc}. Build the book first: `make notebooks` does.") from None
        nbformat.write(nb, out)
        written.append(out)
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    return written


def fix_downloads(book: Path = ROOT) -> list[Path]:
    """Each output once in the executed notebooks the site offers for download.

    With nb_merge_streams, myst-nb merges a cell's stream outputs into the first one of each name (stdout, stderr)
    for the page, but it does so in place and keeps the others, so the downloadable .ipynb printed the later ones
    twice. Keep the merged first stream of each name and drop the rest, as the page shows them.
    """
    import nbformat

    fixed = []
    for path in sorted((book / "_build" / "html" / "_sources").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            seen, kept = set(), []
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    if output["name"] in seen:
                        changed = True
                        continue
                    seen.add(output["name"])
                kept.append(output)
            if cell.cell_type == "code":
                cell.outputs = kept
        if changed:
            nbformat.write(nb, path)
            fixed.append(path)
    return fixed


# --------------------------------------------------------------------------- PDF

PDF = BUILD / "pdf" / "machine-learning-with-jax.pdf"
# Debian's Chromium, driven by Playwright (whose own browser download needs a network): the PDF and the browser test.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-quic", "--no-first-run", "--disable-sync"]

# Before printing: typeset every equation, open every folded block (solutions, hidden cells), load every image.
PREPARE_PRINT = """async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(el => el.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => b.remove());
  for (const img of document.images) { img.loading = 'eager'; try { await img.decode(); } catch (e) {} }
}"""


@contextlib.contextmanager
def serve(directory: Path):
    """Serve a folder on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def print_pdf(site: Path = BUILD / "html", out: Path = PDF) -> Path:
    """Print every page of the built site, in TOC order, with the Chromium the browser tests use; join them.

    Each page is printed with the theme's print style (no navigation bars), after MathJax has typeset it and every
    folded block (solutions, hidden cells) has been opened; poppler's pdfunite joins the pages into one PDF.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    pages = toc_pages()
    missing = [page for page in pages if not (site / f"{page}.html").exists()]
    if missing:
        raise SystemExit(f"not built: {missing}; run `make book` first (`make pdf` does)")
    if not CHROMIUM.exists() or shutil.which("pdfunite") is None:
        raise SystemExit("printing the PDF needs Debian's chromium and poppler-utils: "
                         "apt-get install chromium poppler-utils (.ci/run does)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        parts = []
        for number, name in enumerate(pages):
            page = browser.new_page(color_scheme="light")
            page.goto(f"{base}/{name}.html", wait_until="networkidle")
            page.evaluate(PREPARE_PRINT)
            page.emulate_media(media="print")
            title = page.title().split(" — ")[0].replace("&", "&amp;").replace("<", "&lt;")
            part = Path(tmp) / f"{number:02d}.pdf"
            page.pdf(path=str(part), format="A4", print_background=True, display_header_footer=True,
                     header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#444">'
                                     f'{title} · <span class="pageNumber"></span></div>',
                     margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
            page.close()
            parts.append(str(part))
        browser.close()
        subprocess.run(["pdfunite", *parts, str(out)], check=True)
    print(f"wrote {out.relative_to(ROOT)}: {len(pages)} pages of the book, {out.stat().st_size / 1e6:.1f} MB")
    if (BUILD / "html").exists():   # the site links it from the intro page (lectures/intro.md)
        shutil.copy(out, BUILD / "html" / out.name)
    return out


# --------------------------------------------------------------------------- one-lecture book


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


# --------------------------------------------------------------------------- one lecture, executed


def run_lecture(name: str) -> Path:
    """Execute lectures/NAME.md top to bottom in a fresh kernel (as the build does), without Sphinx.

    Writes _build/run/NAME.ipynb with its outputs, prints the execution time, every stderr output (a warning
    fails the build), and every glued value with the verdict of its range in tests/expected_results.toml.
    """
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from test_results import EXPECTED, check_value

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


# --------------------------------------------------------------------------- benchmark


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
TEST_PHASES = [("setup (.venv)", "-m venv"), ("build (execute + Sphinx)", "tools.py execute"),
               ("pdf", "tools.py pdf"), ("export", "tools.py export"), ("pytest", "-m pytest")]


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


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    command, args = argv[0], argv[1:]
    if command == "export":
        export_executed()
    elif command == "execute" and len(args) <= 1:
        execute_book(Path(args[0]).resolve() if args else ROOT, jobs=int(os.environ.get("JOBS", 0)) or None,
                     profile=os.environ.get("PROFILE_COMPILE") == "1")
    elif command == "notebooks":
        write_notebooks()
    elif command == "pdf":
        print_pdf()
    elif command == "downloads" and len(args) <= 1:
        fix_downloads(Path(args[0]).resolve() if args else ROOT)
    elif command == "page" and len(args) == 1:
        make_page(args[0])
    elif command == "bench":
        bench(run_test=os.environ.get("BENCH_TEST", "1") != "0")
    elif command == "run" and len(args) == 1:
        run_lecture(args[0])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
