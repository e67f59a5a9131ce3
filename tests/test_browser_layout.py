"""Fits the page: every built page in headless Chromium at the desktop width (1280 px).

Run after building the book (``make book``)::

    pytest tests/test_browser_layout.py       # or: pytest -m browser

Two checks per page, with every hidden part opened first (``hide-input`` cells, solution
dropdowns), so that nothing escapes by being folded:

* **no code block scrolls sideways**: every ``<pre>`` in the article (code cells, their
  printed output, code in the text) is at most as wide as its box. A wider one hides the
  end of its lines behind a scrollbar. At 1280 px a code line holds 77 characters.
* **no figure is shrunk to illegibility**: every image of a cell output or a static-twin
  player is shown at no less than 75 % of the size it was drawn for. For a figure drawn at
  100 dpi (the book's standard) that is 75 % of its natural width; an image drawn at
  ``dpi`` (read from the PNG's ``pHYs`` chunk, which matplotlib writes) is judged by
  ``shown / natural × dpi / 100``. An 11-point label then appears at 11 px or more.

The module skips, saying why, when Playwright, Chromium or the built book is missing.
It shares ``tests/test_browser.py``'s server (the site under a sub-path) and page list.
"""
from __future__ import annotations

import os

import pytest

# The server (the built book under the same sub-path as online), the page list and Chromium's
# settings are test_browser's.
from test_browser import CHROMIUM, CHROMIUM_ARGS, HTML, PAGES as ALL_PAGES, _NO_BOOK, server  # noqa: F401

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
MIN_SCALE = 0.75          # shown / natural × dpi / 100: smallest allowed display scale of a figure
STANDARD_DPI = 100        # the dpi the chapters draw their figures at
PAGES = [p for p in ALL_PAGES if p not in ("search.html", "genindex.html")]


@pytest.fixture(scope="module")
def desktop():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the python package playwright is not installed")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    if not HTML.is_dir():
        pytest.skip(_NO_BOOK)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=DESKTOP, color_scheme="light")
        context.add_init_script("localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');")
        yield context
        context.close()
        browser.close()


# Open everything that is folded, then wait for images, MathJax and fonts.
OPEN_AND_SETTLE_JS = """async () => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const el of document.querySelectorAll('.toggle-hidden')) el.classList.remove('toggle-hidden');
  const imgs = Array.from(document.images);
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  const ready = (async () => {
    await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await document.fonts.ready;
  })();
  await Promise.race([ready, new Promise(r => setTimeout(r, 20000))]);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

# Code blocks wider than their box: how much, and their widest line.
WIDE_CODE_JS = """() => {
  const article = document.querySelector('article') || document.body;
  const out = [];
  for (const pre of article.querySelectorAll('pre')) {
    if (pre.clientWidth === 0 || pre.scrollWidth <= pre.clientWidth + 1) continue;
    const lines = pre.innerText.split('\\n');
    const widest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    const kind = pre.closest('.cell_output') ? 'output' : pre.closest('.cell_input') ? 'code cell' : 'code block';
    out.push({kind, over: pre.scrollWidth - pre.clientWidth, line: widest.slice(0, 100)});
  }
  return out;
}"""

# Every figure (cell output or static-twin frame): natural and displayed width, and its dpi.
FIGURES_JS = """async (standard) => {
  const dpiOf = async (src) => {
    try {
      const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
      for (let i = 8; i + 8 < bytes.length; ) {               // PNG chunks after the signature
        const len = (bytes[i] << 24 | bytes[i + 1] << 16 | bytes[i + 2] << 8 | bytes[i + 3]) >>> 0;
        const type = String.fromCharCode(...bytes.slice(i + 4, i + 8));
        if (type === 'pHYs' && bytes[i + 16] === 1) {          // unit 1: pixels per metre
          const ppm = (bytes[i + 8] << 24 | bytes[i + 9] << 16 | bytes[i + 10] << 8 | bytes[i + 11]) >>> 0;
          return ppm * 0.0254;
        }
        if (type === 'IDAT' || type === 'IEND') break;
        i += 12 + len;
      }
    } catch (e) { /* not a PNG, or unreadable: the standard dpi */ }
    return standard;
  };
  const out = [];
  for (const img of document.querySelectorAll('.cell_output img, .animation img')) {
    if (!img.naturalWidth || img.offsetParent === null) continue;
    const shown = img.getBoundingClientRect().width;
    const dpi = await dpiOf(img.currentSrc || img.src);
    out.push({src: (img.getAttribute('src') || img.id || '').slice(0, 80), natural: img.naturalWidth,
              shown: Math.round(shown), dpi: Math.round(dpi),
              scale: shown / img.naturalWidth * dpi / standard,
              twin: !!img.closest('.animation')});
  }
  return out;
}"""


@pytest.fixture
def page(server, desktop):
    opened = []

    def open_page(rel: str):
        pg = desktop.new_page()
        pg.set_default_timeout(30_000)
        # offline: whatever would leave 127.0.0.1 gets an empty answer
        pg.route(lambda url: not url.startswith(server), lambda route: route.fulfill(status=200, body=""))
        pg.goto(server + rel, wait_until="load")
        pg.evaluate(OPEN_AND_SETTLE_JS)
        opened.append(pg)
        return pg
    yield open_page
    for pg in opened:
        pg.close()


def _params():
    return PAGES or [pytest.param("", marks=pytest.mark.skip(reason=_NO_BOOK))]


@pytest.mark.parametrize("rel", _params())
def test_no_code_block_scrolls_sideways(rel, page):
    wide = page(rel).evaluate(WIDE_CODE_JS)
    assert not wide, (f"{rel}: {len(wide)} code block(s) wider than the text column at "
                      f"{DESKTOP['width']} px (wrap lines to 77 characters):\n"
                      + "\n".join(f"  {w['kind']}, {w['over']} px too wide: {w['line']!r}" for w in wide))


@pytest.mark.parametrize("rel", _params())
def test_figures_are_not_shrunk(rel, page):
    figures = page(rel).evaluate(FIGURES_JS, STANDARD_DPI)
    small = [f for f in figures if f["scale"] < MIN_SCALE]
    assert not small, (f"{rel}: {len(small)} figure(s) shown at less than {MIN_SCALE:.0%} of their "
                       f"{STANDARD_DPI}-dpi size, so their text is smaller than ~10 px (draw them "
                       "narrower, e.g. figsize width <= 9 in at 100 dpi):\n"
                       + "\n".join(f"  {'static twin' if f['twin'] else 'figure'} {f['src']}: "
                                   f"{f['natural']} px at {f['dpi']} dpi shown {f['shown']} px wide "
                                   f"(scale {f['scale']:.2f})" for f in small))
