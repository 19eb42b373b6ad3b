"""The rendered site in a real browser: no errors, math typeset offline, every figure shown and described,
no serious accessibility violation (axe-core, every WCAG 2.x A/AA rule).

Serves _build/html on 127.0.0.1 and opens every page in headless Chromium (Debian's `chromium`, installed by
.ci/run; Playwright drives it, since Playwright's own browser download cannot work offline). A screenshot of each
page is saved under _build/screenshots/ for a person to look at.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from tools.book import BUILD, colab_lectures
from tools.chromium import CHROMIUM, CHROMIUM_ARGS, serve

HTML = BUILD / "html"
SHOTS = BUILD / "screenshots"
SKIP_DIRS = {"_static", "_sources", "_images", "reports", "_sphinx_design_static"}

# Locally a missing browser skips these tests with a hint; in CI (CI=true), .ci/run installs it and they must run.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium: apt-get install chromium (.ci/run does)")


def site_pages() -> list[str]:
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        rel = path.relative_to(HTML)
        if rel.parts[0] in SKIP_DIRS:
            continue
        pages.append(rel.as_posix())
    return pages


@pytest.fixture(scope="module")
def server():
    with serve(HTML) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str, problems: list[str], **context_options):
    """Open url in a fresh context, recording console errors and failed requests into problems."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return context, page


MATH_STATUS = """async () => {
  const math = [...document.querySelectorAll('.math')];
  if (math.length && window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  const raw = math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 60));
  return {total: math.length, raw: raw, mathjax: !!window.MathJax};
}"""

# Content images (in the article, not the theme's logos): alt text that is empty, a file name or a path tells a
# screen-reader user nothing about the figure.
BAD_ALT = """() => [...document.querySelectorAll('article img')]
  .map(img => [img.getAttribute('src'), img.getAttribute('alt') || ''])
  .filter(([src, alt]) => !alt.trim() || alt.trim() === src
                          || /^\\.{0,2}\\/|_images\\/|\\.(png|jpe?g|svg|gif)$/i.test(alt.trim()))"""

# axe-core (the release pinned in tools/axe.py, fetched from the npm registry when .venv is set up), with every rule
# it ships for WCAG 2.0, 2.1 and 2.2 at levels A and AA, the experimental ones among them (label-in-name, for one,
# is experimental in axe). A violation of impact "critical" or "serious" fails the page. Violations the course
# cannot fix here would be listed in AXE_KNOWN with the reason; there are none: the theme's (link contrast in
# exercise boxes, ANSI colours in outputs, the bibliography's list roles, the hidden-cell toggles' names) are fixed
# in _static/custom.css and _static/a11y.js.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const rules = axe.getRules(tags).map(rule => rule.ruleId);
  const result = await axe.run(document, {
    runOnly: {type: 'rule', values: rules}, resultTypes: ['violations'],
    // axe would otherwise fetch every stylesheet again to build a CSSOM for one rule (css-orientation-lock) and
    // resolve the theme's @import "../basic.css" against the wrong base: a 404 on every page.
    preload: false});
  return {version: axe.version, rules: rules, violations: result.violations};
}"""
AXE_KNOWN: dict[str, str] = {}


def run_axe(page) -> dict:
    from tools.axe import AXE_SCRIPT

    assert AXE_SCRIPT.exists(), f"no {AXE_SCRIPT}: run `make book` (or `python -m tools axe`) to fetch axe-core"
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(AXE_RUN, AXE_TAGS)


def axe_violations(page) -> list[str]:
    found = []
    for violation in run_axe(page)["violations"]:
        if violation["impact"] in ("critical", "serious") and violation["id"] not in AXE_KNOWN:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            found.append(f"axe {violation['impact']} {violation['id']} ({violation['help']}) "
                         f"at {len(violation['nodes'])} element(s): {targets}")
    return found


BROKEN_IMAGES = """() => [...document.images]
  .filter(img => img.getAttribute('loading') !== 'lazy' || img.complete)
  .filter(img => !img.complete || img.naturalWidth === 0).map(img => img.getAttribute('src'))"""


@pytest.mark.parametrize("page_path", site_pages())
def test_page_renders_cleanly(page_path, server, browser):
    problems: list[str] = []
    context, page = open_page(browser, f"{server}/{page_path}", problems, viewport={"width": 1280, "height": 900})
    try:
        page.evaluate("async () => { for (const img of document.images) { img.loading = 'eager';"
                      " try { await img.decode(); } catch (e) {} } }")
        broken = page.evaluate(BROKEN_IMAGES)
        problems += [f"image did not decode: {src}" for src in broken]
        math = page.evaluate(MATH_STATUS)
        if math["total"] and not math["mathjax"]:
            problems.append("page has math but MathJax did not load")
        problems += [f"math not typeset: {text!r}" for text in math["raw"]]
        problems += [f"content image {src} has alt text {alt!r}: describe what it shows" for src, alt in
                     page.evaluate(BAD_ALT)]
        problems += axe_violations(page)
        name = Path(page_path).stem
        if page_path.startswith("lectures/") and name in {p.stem for p in colab_lectures()}:
            links = page.eval_on_selector_all(
                "a[href^='https://colab.research.google.com/github/']", "els => els.map(e => e.href)")
            if not any(link.endswith(f"/lectures/{name}.ipynb") for link in links):
                problems.append(f"no Open in Colab link to lectures/{name}.ipynb (found {links})")
        shot = SHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")
        page.screenshot(path=str(shot), full_page=False)
        with open(SHOTS / "typeset.tsv", "a") as log:  # equations typeset per page, for the maintainers' notes
            log.write(f"{page_path}\t{math['total']}\n")
    finally:
        context.close()
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


def test_search_finds_a_lecture_for_gradient(server, browser):
    problems: list[str] = []
    context, page = open_page(browser, f"{server}/search.html?q=gradient", problems)
    try:
        page.wait_for_selector("#search-results ul.search li", timeout=20000)
        hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    finally:
        context.close()
    assert not problems, problems
    assert any("/lectures/" in hit for hit in hits), f"no lecture found for 'gradient': {hits}"


def test_dark_mode_keeps_figures_readable(server, browser):
    """In dark mode the figures keep their light background, so their dark axes and labels stay readable."""
    from PIL import Image, ImageStat

    pages = {p.stem: (HTML / "lectures" / f"{p.stem}.html").read_text() for p in colab_lectures()}
    with_figures = [name for name, html in pages.items() if "_images/" in html]
    assert with_figures, "no lecture page has a figure"
    lecture = with_figures[0]
    problems: list[str] = []
    context, page = open_page(browser, f"{server}/lectures/{lecture}.html", problems,
                              viewport={"width": 1280, "height": 900}, color_scheme="dark")
    try:
        # Press the theme's own light/dark/auto toggle until the page is dark.
        for _ in range(3):
            if page.evaluate("() => document.documentElement.dataset.theme") == "dark":
                break
            page.locator(".theme-switch-button").first.click()
        page.wait_for_timeout(300)
        figures = page.query_selector_all(".cell_output img")
        assert figures, f"lectures/{lecture}.html has no figure to check"
        figure = figures[0]
        figure.scroll_into_view_if_needed()
        pixels = Image.open(io.BytesIO(figure.screenshot())).convert("L")
        brightness = ImageStat.Stat(pixels).mean[0]
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        page.screenshot(path=str(SHOTS / f"dark-mode__{lecture}.png"))
    finally:
        context.close()
    assert background != "rgb(255, 255, 255)", "the dark-mode switch did not take effect"
    assert brightness > 180, f"figure is dark on a dark page (mean brightness {brightness:.0f}/255)"


def test_narrow_viewport_does_not_overflow(server, browser):
    """At a phone's 390-pixel width no page scrolls sideways (code blocks and tables scroll inside themselves)."""
    wide = []
    for page_path in site_pages():
        problems: list[str] = []
        context, page = open_page(browser, f"{server}/{page_path}", problems,
                                  viewport={"width": 390, "height": 844})
        try:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 391:
                wide.append(f"{page_path}: {width}px")
                page.screenshot(path=str(SHOTS / ("narrow__" + page_path.replace("/", "__") + ".png")))
        finally:
            context.close()
    assert not wide, "pages wider than a 390px screen: " + ", ".join(wide)


def test_every_toc_page_was_built():
    from tools.book import toc_pages

    missing = [page for page in toc_pages() if not (HTML / f"{page}.html").exists()]
    assert (HTML / "index.html").exists()
    assert (HTML / "favicon.ico").exists(), "no /favicon.ico: pages that name no icon (index.html) would 404"
    assert not missing, f"pages in _toc.yml with no HTML: {missing}"
