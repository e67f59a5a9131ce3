"""Browser tests of the rendered book: every page of ``_build/html`` in headless Chromium.

Run after building the book (``make book``; ``make test`` does both)::

    pytest tests/test_browser.py            # or: pytest -m browser
    BOOK_HTML=/path/to/_build/html pytest tests/test_browser.py

The pages are served over http on 127.0.0.1 (a thread in this process) under the sub-path
``/rnn-book/``, as static hosts serve project pages, and opened in Debian's Chromium
(``/usr/bin/chromium``, or ``$CHROMIUM``) driven by Playwright. Any request that leaves the
site (another host, or a path outside ``/rnn-book/``) or fails fails the page. Three views
of each page:

* **light, 1280 px wide**: no Python traceback or error output; every image loads; every
  figure the executed notebook drew is on the page; every equation is typeset by the
  vendored MathJax, without errors; every static-twin player (matplotlib ``to_jshtml``)
  changes its frame when its slider or its step button moves; a notebook page has its
  ``.ipynb`` download link and says how to run it locally; no console error; no request
  leaves the site. Every kernel-free explorer (``rnn_core.explore_static``) opens on its
  setting, and every value of every control is tried: the drawing must change, and the
  curves, bound, heatmap pixels and readouts drawn must equal the values embedded in the
  page (which ``tests/test_explore_static.py`` compares with ``rnn_core.explore``).
  A full-page screenshot is saved in ``_build/screenshots/<page>.png``, and one of each
  explorer in ``<page>-explorer.png`` (``-dark``, ``-phone`` for the other views).
* **dark theme**: the theme switches, figures stay opaque (a transparent figure would
  put black text on a dark page), no console errors; explorers draw with readable text;
  ``<page>-dark.png``.
* **phone, 390 px wide**: the article does not overflow the window (code and output
  boxes scroll on their own and are ignored); figures keep a non-zero size; explorers
  draw with text of at least 10 px; ``<page>-phone.png`` (the first screen).

The whole module skips, saying why, when Playwright, Chromium or the built book is missing.
No timing is asserted.
"""
from __future__ import annotations

import functools
import json
import mimetypes
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
BUILD = HTML.parent                                   # _build: html/, jupyter_execute/, screenshots/
SHOTS = Path(os.environ.get("BOOK_SCREENSHOTS", BUILD / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
OVERFLOW_TOLERANCE_PX = 2

PREFIX = "/rnn-book/"                  # the site is served under a sub-path, as on a project page

# Nothing may leave the site: MathJax is vendored (_mathjax), the live widgets' CDN scripts and
# thebe are configured away (_config.yml), the explorer's data are local files.
# Console errors that are expected, and why, matched against "message (source url)": none.
ALLOWED_CONSOLE: list[str] = []

_STDERR_PROBLEM = re.compile(r"Traceback|\b\w*(Error|Exception|Warning)\b")
_RUN_LOCALLY = re.compile(r"make lab|run (it|this page|this notebook|the notebook) (locally|yourself)", re.I)
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# myst-nb shows the first of these an output has; an image counts only if it wins
_MIME_BEFORE_IMAGES = ("application/vnd.jupyter.widget-view+json", "application/javascript", "text/html")


# ----------------------------------------------------------------------------- the pages

def book_pages(html: Path) -> list[str]:
    """Every page of the built book, relative to ``html`` (``index.html`` only redirects)."""
    skip = {"_static", "_sources", "_images", "_downloads", ".pytest_cache"}
    pages = [p.relative_to(html).as_posix() for p in html.rglob("*.html")
             if not skip.intersection(p.relative_to(html).parts[:-1])]
    return sorted(p for p in pages if p != "index.html")


def toc_files() -> list[str]:
    """The ``file:`` entries of the _toc.yml the book was built from (root included)."""
    source = HTML.parent.parent
    toc = source / "_toc.yml" if (source / "_toc.yml").is_file() else ROOT / "_toc.yml"
    text = toc.read_text(encoding="utf-8")
    return re.findall(r"^root:\s*(\S+)", text, re.M) + re.findall(r"file:\s*(\S+)", text)


def is_notebook_page(rel: str) -> bool:
    return (HTML / "_sources" / (rel[:-5] + ".ipynb")).is_file()


def executed_notebook(rel: str) -> dict | None:
    """The executed notebook behind a page: ``_build/jupyter_execute/``, else the execution cache.

    myst-nb writes ``jupyter_execute/<page>.ipynb`` with outputs when it runs the notebook, but
    without them when it takes the outputs from its cache (``_build/.jupyter_cache``); the cache
    then holds the executed copy, matched to the page's source notebook.
    """
    path = BUILD / "jupyter_execute" / (rel[:-5] + ".ipynb")
    if path.is_file():
        nb = json.loads(path.read_text(encoding="utf-8"))
        if any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"):
            return nb
    if not (BUILD / ".jupyter_cache").is_dir():
        return None
    import nbformat
    cache = _execution_cache()
    try:
        record = cache.match_cache_notebook(nbformat.read(HTML / "_sources" / (rel[:-5] + ".ipynb"), as_version=4))
    except KeyError:
        return None
    return cache.get_cache_bundle(record.pk).nb


@functools.cache
def _execution_cache():
    from jupyter_cache import get_cache
    return get_cache(str(BUILD / ".jupyter_cache"))


def expected_figures(nb: dict) -> int:
    """Image outputs an executed notebook holds in the cells its page shows."""
    count = 0
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if (out["output_type"] in ("display_data", "execute_result") and "scrapbook" not in out.get("metadata", {})
                    and any(m in data for m in _IMAGE_MIMES) and not any(m in data for m in _MIME_BEFORE_IMAGES)):
                count += 1
    return count


def shot_name(rel: str, suffix: str = "") -> Path:
    return SHOTS / (rel[:-5].replace("/", "-") + suffix + ".png")


PAGES = book_pages(HTML) if HTML.is_dir() else []
_NO_BOOK = f"no built book at {HTML}: run `make book` first (or point BOOK_HTML at one)"


def _page_params():
    return PAGES or [pytest.param("", marks=pytest.mark.skip(reason=_NO_BOOK))]


# ----------------------------------------------------------------------------- server, browser

class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves ``HTML`` under ``PREFIX`` only: any other path is a 404, as on a project page."""

    def translate_path(self, path):
        if not urlsplit(path).path.startswith(PREFIX):
            return str(HTML / "__outside_the_site__")
        return super().translate_path("/" + path[len(PREFIX):])

    def log_message(self, *args):             # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server():
    """Base URL of an http server for ``HTML`` on 127.0.0.1 (an ephemeral port), under ``PREFIX``."""
    if not HTML.is_dir():
        pytest.skip(_NO_BOOK)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the python package playwright is not installed")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does; "
                    "or set CHROMIUM to its path)")
    if not HTML.is_dir():
        pytest.skip(_NO_BOOK)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def contexts(browser):
    """Browser contexts for the three views: light and wide, dark and wide, phone."""
    dark_init = "localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');"
    light_init = "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
    made = {
        "light": browser.new_context(viewport=WIDE, color_scheme="light"),
        "dark": browser.new_context(viewport=WIDE, color_scheme="dark"),
        "phone": browser.new_context(viewport=PHONE, color_scheme="light", device_scale_factor=2,
                                     is_mobile=True, has_touch=True),
    }
    made["light"].add_init_script(light_init)
    made["phone"].add_init_script(light_init)
    made["dark"].add_init_script(dark_init)
    yield made
    for c in made.values():
        c.close()


class Visit:
    """One page opened in one context, with what its console said and what it fetched."""

    def __init__(self, context, base: str, rel: str):
        self.rel, self.console, self.external, self.failed = rel, [], [], []
        self.page = page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console.append(f"uncaught exception: {exc}"))
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url} ({req.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        self.base = base
        page.route(lambda url: not url.startswith(base), self._route)   # only what leaves the site
        page.goto(base + rel, wait_until="load")
        page.evaluate(SETTLE_JS)

    def _on_console(self, msg):
        if msg.type == "error":
            url = (msg.location or {}).get("url", "")
            self.console.append(f"{msg.text} ({url})" if url else msg.text)

    def _route(self, route):
        url = route.request.url
        if url.startswith("data:"):
            route.continue_()
            return
        self.external.append(url)                 # offline: an empty answer instead of the network
        content_type = mimetypes.guess_type(urlsplit(url).path)[0] or "text/plain"
        route.fulfill(status=200, body="", content_type=content_type)

    def close(self):
        self.page.close()


@pytest.fixture
def visit(server, contexts):
    opened = []

    def open_page(view: str, rel: str) -> Visit:
        v = Visit(contexts[view], server, rel)
        opened.append(v)
        return v
    yield open_page
    for v in opened:
        v.close()


# ----------------------------------------------------------------------------- in-page scripts

# Wait until the page is ready to be judged: images decoded, MathJax done, fonts loaded.
SETTLE_JS = """async () => {
  const timeout = new Promise(r => setTimeout(r, 20000));
  const ready = (async () => {
    const imgs = Array.from(document.images);
    imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
    await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await document.fonts.ready;
  })();
  await Promise.race([ready, timeout]);
}"""

OUTPUT_ERRORS_JS = """() => {
  const out = [];
  const intended = el => el.closest('.cell.tag_raises-exception');   // the author wants this error shown
  for (const el of document.querySelectorAll('.output.traceback, .output.error'))
    if (!intended(el)) out.push(['error output', el.innerText.slice(0, 300)]);
  for (const el of document.querySelectorAll('.cell_output'))
    if (!intended(el) && /Traceback \\(most recent call last\\)/.test(el.innerText))
      out.push(['traceback', el.innerText.slice(0, 300)]);
  for (const el of document.querySelectorAll('.output.stderr'))
    if (!intended(el)) out.push(['stderr', el.innerText.slice(0, 300)]);
  return out;
}"""

IMAGES_JS = """() => Array.from(document.images).map(i => ({
  src: (i.getAttribute('src') || i.id || '').slice(0, 100), complete: i.complete, width: i.naturalWidth,
  figure: !!i.closest('.cell_output') && !i.closest('.text_html'),
}))"""

MATH_JS = """() => {
  const maths = Array.from(document.querySelectorAll('.math'));
  return {
    n: maths.length,
    mathjax: !!(window.MathJax && MathJax.version),
    untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    errors: Array.from(document.querySelectorAll('mjx-merror'))
      .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    inputError: document.body.innerText.includes('Math input error'),
  };
}"""

# Move every static-twin slider to its last frame; the image must change.
SLIDERS_JS = """async () => {
  const res = [];
  for (const anim of document.querySelectorAll('.animation')) {
    const slider = anim.querySelector('input[type=range]'), img = anim.querySelector('img');
    if (!slider || !img) { res.push({ok: false, why: 'no slider or image'}); continue; }
    const before = img.src, frames = Number(slider.max) + 1;
    slider.value = slider.max;
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    slider.dispatchEvent(new Event('change', {bubbles: true}));
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    if (!img.complete) await new Promise(r => { img.onload = r; img.onerror = r; });
    res.push({ok: frames > 1 && img.src !== before && img.naturalWidth > 0, frames,
              changed: img.src !== before, width: img.naturalWidth, id: slider.id});
  }
  return res;
}"""

# Every player button shows an icon (Font Awesome): a glyph or an <svg> of non-zero size.
PLAYER_ICONS_JS = """() => Array.from(document.querySelectorAll('.animation .anim-buttons button')).map(b => {
  const icon = b.querySelector('svg, i');
  const r = icon ? icon.getBoundingClientRect() : {width: 0, height: 0};
  const glyph = icon && icon.tagName === 'I' ? getComputedStyle(icon, '::before').content : 'svg';
  const family = icon ? getComputedStyle(icon).fontFamily : '';
  return {title: b.title, width: r.width, height: r.height, glyph, family};
})"""

DOWNLOAD_JS = """() => Array.from(document.querySelectorAll('a[href]'))
  .map(a => a.getAttribute('href')).filter(h => h.includes('_sources/') && h.endsWith('.ipynb'))"""

# Figures must be opaque: a transparent PNG puts black axes on the dark theme's background.
OPAQUE_JS = """() => {
  const out = [];
  for (const img of document.querySelectorAll('.cell_output img, .animation img')) {
    if (!img.naturalWidth) continue;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const w = c.width - 1, h = c.height - 1;
    const alpha = [[0, 0], [w, 0], [0, h], [w, h]].map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3]);
    if (Math.min(...alpha) < 250) out.push((img.getAttribute('src') || img.id).slice(0, 100));
  }
  return out;
}"""

# Elements of the article that stick out of the window, unless a scrolling box holds them.
OVERFLOW_JS = """(tol) => {
  const vw = document.documentElement.clientWidth;
  const article = document.querySelector('article') || document.querySelector('main') || document.body;
  const scrolls = el => { const o = getComputedStyle(el).overflowX; return o === 'auto' || o === 'scroll'; };
  const bad = [];
  for (const el of article.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || (r.right <= vw + tol && r.left >= -tol)) continue;
    if (el.closest('mjx-assistive-mml')) continue;       // MathJax's invisible copy for screen readers
    let a = el.parentElement, held = false;
    while (a && a !== document.body) { if (scrolls(a)) { held = true; break; } a = a.parentElement; }
    if (held) continue;
    const cls = typeof el.className === 'string' ? el.className : '';
    bad.push(`<${el.tagName.toLowerCase()} class="${cls.slice(0, 60)}"> ${Math.round(r.left)}..${Math.round(r.right)} px: `
             + (el.innerText || el.getAttribute('src') || '').slice(0, 60).replace(/\\s+/g, ' '));
  }
  // report the outermost offenders only
  return {vw, scrollWidth: document.documentElement.scrollWidth, bad: bad.slice(0, 6), n: bad.length};
}"""

PHONE_IMAGES_JS = """() => Array.from(document.querySelectorAll('article img')).filter(i => {
  const s = getComputedStyle(i);
  return i.offsetParent !== null && s.visibility !== 'hidden' && !i.closest('details:not([open])');
}).map(i => { const r = i.getBoundingClientRect();
  return {src: (i.getAttribute('src') || i.id).slice(0, 100), width: r.width, height: r.height}; })"""


# ----------------------------------------------------------------------------- checks

def console_problems(v: Visit) -> list[str]:
    problems = [f"console error: {m}" for m in v.console
                if not any(re.search(pattern, m) for pattern in ALLOWED_CONSOLE)]
    problems += [f"request outside the site (vendor the file or configure it away): {u}" for u in v.external]
    problems += [f"request failed: {f}" for f in v.failed]
    return problems


def image_problems(v: Visit) -> list[str]:
    return [f"image did not load: {i['src']}" for i in v.page.evaluate(IMAGES_JS)
            if not (i["complete"] and i["width"] > 0)]


def figure_problems(v: Visit) -> list[str]:
    if not is_notebook_page(v.rel):
        return []
    nb = executed_notebook(v.rel)
    if nb is None:
        return [f"no executed notebook for {v.rel} in {BUILD / 'jupyter_execute'} or {BUILD / '.jupyter_cache'}"]
    want = expected_figures(nb)
    have = sum(i["figure"] for i in v.page.evaluate(IMAGES_JS))
    return [] if have == want else [f"the executed notebook has {want} figure outputs, the page shows {have}"]


def output_problems(v: Visit) -> list[str]:
    problems = []
    for kind, text in v.page.evaluate(OUTPUT_ERRORS_JS):
        if kind != "stderr":
            problems.append(f"{kind} in a cell output: {text!r}")
        elif _STDERR_PROBLEM.search(text):
            problems.append(f"error or warning on stderr in a cell output: {text!r}")
    return problems


def math_problems(v: Visit) -> list[str]:
    m = v.page.evaluate(MATH_JS)
    problems = []
    if m["n"] and not m["mathjax"]:
        problems.append(f"{m['n']} equations on the page but MathJax did not load")
    if m["untypeset"]:
        problems.append(f"{len(m['untypeset'])} of {m['n']} equations not typeset, e.g. {m['untypeset'][:3]}")
    if m["errors"] or m["inputError"]:
        problems.append(f"MathJax errors: {m['errors'][:5] or 'Math input error'}")
    return problems


def static_twin_problems(v: Visit) -> list[str]:
    problems = [f"static twin {s.get('id', '')} does not move: {s}" for s in v.page.evaluate(SLIDERS_JS) if not s["ok"]]
    players = v.page.locator(".animation")
    for k in range(players.count()):             # a real click on "Previous frame" moves it back too
        player = players.nth(k)
        img = player.locator("img").first
        before = img.get_attribute("src")
        player.locator("button[title='Previous frame']").click()
        if img.get_attribute("src") == before:
            problems.append(f"static twin #{k}: the 'Previous frame' button does not change the frame")
    icons = v.page.evaluate(PLAYER_ICONS_JS)
    blank = [i["title"] for i in icons if i["width"] < 4 or i["glyph"] in ("none", "normal", "")]
    if blank:
        problems.append(f"static-twin buttons without a visible icon: {blank} ({icons[0]})")
    return problems


# ----------------------------------------------------------------------------- kernel-free explorers

EXPLORER_CONTROLS = ("cell", "init", "radius", "T", "forget_bias", "input_scale")

# The explorer #n once it has drawn: the setting it shows, and every way the drawing differs
# from the values embedded in the page (window.RNNExplorer, the chunks written at build time).
EXPLORER_CHECK_JS = """async (n) => {
  const root = document.querySelectorAll('.rnn-explorer')[n], S = window.RNNExplorer, bad = [];
  if (!S || !S.grid || root.dataset.state !== 'ready') return {problems: ['not drawn: state ' + root.dataset.state]};
  const s = JSON.parse(root.dataset.shown), g = S.grid.grid, chunk = S.chunks[S.chunkName(s)];
  const at = name => g[name].indexOf(s[name]);
  const run = chunk.runs[at('radius')][at('input_scale')][at('T')];
  const [vmax, codes] = chunk.hidden[at('radius')][at('input_scale')];
  // each control shows the value drawn
  for (const name of Object.keys(s)) {
    const input = root.querySelector(`[name="${name}"]`), out = input.parentElement.querySelector('output');
    if (g[name][Number(input.value)] !== s[name]) bad.push(`control ${name} is at ${input.value}, drawn ${s[name]}`);
    const want = name === 'forget_bias' && s.cell !== 'lstm' ? '(LSTM only)' : '= ' + s[name];
    if (input.tagName === 'INPUT' && out.textContent !== want) bad.push(`${name} shows "${out.textContent}", not "${want}"`);
  }
  // curves: invert the axes of each drawn point and compare with the stored 1000·log10 values
  const plot = root.querySelector('.rnn-explorer-plot');
  const [x0, x1, px0, px1] = plot.dataset.x.split(',').map(Number), [y0, y1, py0, py1] = plot.dataset.y.split(',').map(Number);
  if (x0 !== 0 || x1 !== s.T) bad.push(`x axis ${x0}..${x1}, not 0..${s.T}`);
  const tolK = 0.006 * (x1 - x0) / (px1 - px0), tolMilli = 1000 * 0.006 * (y1 - y0) / (py0 - py1);
  const points = path => (path.getAttribute('d').match(/[ML][^ML]+/g) || []).map(p => p.slice(1).trim().split(' ').map(Number))
    .map(([x, y]) => [x0 + (x - px0) * (x1 - x0) / (px1 - px0), 1000 * (y0 + (py0 - y) * (y1 - y0) / (py0 - py1))]);
  const compare = (cls, want) => {   // want: [k, milli] pairs
    const path = root.querySelector('.' + cls);
    if (!path) { bad.push(`no ${cls} curve`); return; }
    const got = points(path);
    if (got.length !== want.length) { bad.push(`${cls}: ${got.length} points drawn, ${want.length} stored`); return; }
    got.forEach(([k, m], i) => {
      if (Math.abs(k - want[i][0]) > tolK || Math.abs(m - want[i][1]) > tolMilli)
        bad.push(`${cls} point ${i}: drawn (${k.toFixed(3)}, ${m.toFixed(2)}), stored (${want[i]})`);
    });
  };
  const stored = c => c.map((m, k) => [k, m]).filter(([, m]) => m !== null);
  compare('rnn-explorer-g', stored(run.g));
  compare('rnn-explorer-jac', stored(run.j));
  if (run.b === null) { if (root.querySelector('.rnn-explorer-bound')) bad.push('a bound drawn for a gated cell'); }
  else compare('rnn-explorer-bound', [[0, 0], [s.T, run.b]]);
  // heatmap: every pixel is the colour of the stored level of h[t, unit], t < T
  const image = root.querySelector('.rnn-explorer-image'), Hn = S.grid.fixed.H;
  const img = new Image(); img.src = image.getAttribute('href'); await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  if (img.width !== s.T || img.height !== Hn) bad.push(`heatmap ${img.width}x${img.height}, not ${s.T}x${Hn}`);
  else {
    const px = ctx.getImageData(0, 0, s.T, Hn).data;
    let wrong = 0;
    for (let t = 0; t < s.T; t++) for (let u = 0; u < Hn; u++) {
      const hex = S.grid.colors[S.grid.alphabet.indexOf(codes[t * Hn + u])], p = 4 * ((Hn - 1 - u) * s.T + t);
      if ([1, 3, 5].some((o, i) => Math.abs(parseInt(hex.slice(o, o + 2), 16) - px[p + i]) > 1)) wrong++;
    }
    if (wrong) bad.push(`${wrong} heatmap pixels differ from the stored levels`);
  }
  const pct = (100 * run.s).toFixed(0) + ' %';
  if (!root.querySelector('.rnn-explorer-heat').textContent.includes(pct + ' with |h| > 0.99')) bad.push(`heatmap title lacks ${pct}`);
  const readout = root.querySelector('.rnn-explorer-readout').textContent;
  if (!readout.includes(chunk.sigma[at('radius')].toFixed(2)) || !readout.includes(pct)) bad.push(`readout "${readout}"`);
  const signature = ['g', 'jac'].map(c => root.querySelector('.rnn-explorer-' + c).getAttribute('d')).join('|')
    + image.getAttribute('href') + readout;
  return {settings: s, problems: bad, signature, run: {g: run.g, j: run.j}};
}"""

# The smallest font on each explorer as displayed (SVG text scaled with its SVG), and the
# contrast of its text with the page background.
EXPLORER_TEXT_JS = """() => Array.from(document.querySelectorAll('.rnn-explorer')).map(root => {
  let small = 99;
  for (const t of root.querySelectorAll('text, tspan, span, output, label, select, p')) {
    if (!t.textContent.trim() || t.getClientRects().length === 0) continue;
    const svg = t.closest('svg');
    const scale = svg ? svg.getBoundingClientRect().width / svg.width.baseVal.value : 1;
    small = Math.min(small, parseFloat(getComputedStyle(t).fontSize) * scale);
  }
  const rgb = c => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = c => { const v = rgb(c).map(x => x / 255).map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  let bg = 'rgb(255, 255, 255)';
  for (let e = root; e; e = e.parentElement) {
    const b = getComputedStyle(e).backgroundColor;
    if (b && !b.startsWith('rgba(0, 0, 0, 0)') && b !== 'transparent') { bg = b; break; }
  }
  const [a, b] = [lum(getComputedStyle(root).color), lum(bg)].sort((p, q) => q - p);
  return {small, contrast: (a + 0.05) / (b + 0.05), state: root.dataset.state,
          width: root.getBoundingClientRect().width};
})"""


def _wait_drawn(v: Visit, n: int, setting: dict):
    v.page.wait_for_function("""([n, want]) => {
      const root = document.querySelectorAll('.rnn-explorer')[n];
      if (!root || root.dataset.state !== 'ready') return false;
      const s = JSON.parse(root.dataset.shown);
      return Object.entries(want).every(([k, val]) => s[k] === val);
    }""", arg=[n, setting])


def _move(v: Visit, n: int, name: str, index: int, value):
    control = v.page.locator(".rnn-explorer").nth(n).locator(f"[name='{name}']")
    if name in ("cell", "init"):
        control.select_option(value=str(index))
    else:
        control.fill(str(index))               # a range input: sets the value, fires input/change
    _wait_drawn(v, n, {name: value})


def _embedded_vs_explore(settings: dict, run: dict) -> list[str]:
    """The opening setting's embedded curves against a fresh rnn_core.explore (0.1 % rounding)."""
    import numpy as np
    from rnn_core.explore import explore
    from rnn_core.explore_static import FIXED
    r = explore(**settings, **FIXED)
    problems = []
    for key, exact in (("g", r.grad_norms), ("j", r.jacobian_norms)):
        zero = ~(np.isfinite(exact) & (exact > 0))                      # stored as None (a gap)
        stored = np.array([np.nan if c is None else c for c in run[key]], dtype=float)
        if (stored.shape != exact.shape or [c is None for c in run[key]] != zero.tolist()
                or not np.all(np.abs(stored[~zero] - 1000 * np.log10(exact[~zero])) <= 0.5 + 1e-6)):
            problems.append(f"embedded {key} of {settings} differs from rnn_core.explore")
    return problems


def explorer_problems(v: Visit, shots: str = "") -> list[str]:
    """Open every explorer, try every value of every control, compare each drawing with the data."""
    roots = v.page.locator(".rnn-explorer")
    problems = []
    for n in range(roots.count()):
        root = roots.nth(n)
        opening = json.loads(root.get_attribute("data-open"))
        try:
            _wait_drawn(v, n, opening)
        except Exception as exc:                       # a timeout: say what the explorer shows
            return problems + [f"explorer #{n} did not draw its opening setting {opening}: "
                               f"state {root.get_attribute('data-state')!r} ({type(exc).__name__})"]
        first = v.page.evaluate(EXPLORER_CHECK_JS, n)
        problems += [f"explorer #{n} at {opening}: {p}" for p in first["problems"]]
        problems += _embedded_vs_explore(opening, first["run"])
        if shots:
            root.screenshot(path=str(shot_name(v.rel, f"-explorer{shots}")))
        grid = v.page.evaluate("window.RNNExplorer.grid.grid")
        current, signature = dict(opening), first["signature"]
        for name in EXPLORER_CONTROLS:
            detour = name == "forget_bias" and current["cell"] != "lstm"   # the bias moves the LSTM only
            if detour:
                _move(v, n, "cell", grid["cell"].index("lstm"), "lstm")
                signature = v.page.evaluate(EXPLORER_CHECK_JS, n)["signature"]
            values = grid[name]
            order = [i for i in range(len(values)) if values[i] != current[name]] + [values.index(current[name])]
            for i in order:
                _move(v, n, name, i, values[i])
                got = v.page.evaluate(EXPLORER_CHECK_JS, n)
                where = f"explorer #{n}, {name} = {values[i]}"
                problems += [f"{where}: {p}" for p in got["problems"]]
                if got["signature"] == signature:
                    problems.append(f"{where}: the drawing did not change")
                signature = got["signature"]
            if detour:
                _move(v, n, "cell", grid["cell"].index(current["cell"]), current["cell"])
                signature = v.page.evaluate(EXPLORER_CHECK_JS, n)["signature"]
    return problems


def explorer_text_problems(v: Visit, min_px: float = 10.0, shots: str = "") -> list[str]:
    """Every explorer drew, with text of at least ``min_px`` and contrast with the page."""
    problems = []
    try:
        v.page.wait_for_function("() => Array.from(document.querySelectorAll('.rnn-explorer'))"
                                 ".every(r => ['ready', 'error'].includes(r.dataset.state))")
    except Exception as exc:
        problems.append(f"an explorer did not finish drawing ({type(exc).__name__})")
    for n, e in enumerate(v.page.evaluate(EXPLORER_TEXT_JS)):
        if e["state"] != "ready":
            problems.append(f"explorer #{n} not drawn (state {e['state']!r})")
        if e["small"] < min_px:
            problems.append(f"explorer #{n}: text drawn at {e['small']:.1f} px (< {min_px} px)")
        if e["contrast"] < 4.5:
            problems.append(f"explorer #{n}: text contrast {e['contrast']:.1f} with the page (< 4.5)")
        if shots:
            v.page.locator(".rnn-explorer").nth(n).screenshot(path=str(shot_name(v.rel, f"-explorer{shots}")))
    return problems


def notebook_page_problems(v: Visit) -> list[str]:
    """A chapter page offers its .ipynb and says how to run it locally."""
    if not is_notebook_page(v.rel):
        return []
    problems = []
    source = "_sources/" + v.rel[:-5] + ".ipynb"
    links = [h for h in v.page.evaluate(DOWNLOAD_JS) if h.endswith(source)]
    if not links:
        problems.append(f"no download link to {source}")
    else:
        resp = v.page.request.get(v.page.url.rsplit("/", 1)[0] + "/" + links[0])
        if not resp.ok or "cells" not in json.loads(resp.body()):
            problems.append(f"the download link {links[0]} does not give a notebook (HTTP {resp.status})")
    if not _RUN_LOCALLY.search(v.page.inner_text("article")):
        problems.append("no instructions to run the notebook locally (e.g. 'make lab' or 'Run it locally')")
    return problems


def screenshot(v: Visit, path: Path, full_page: bool = True):
    """From the top of the page, nothing focused (sticky headers then draw once, in place)."""
    v.page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    v.page.screenshot(path=str(path), full_page=full_page)


def _fail_if(problems: list[str], rel: str, view: str):
    if problems:
        pytest.fail(f"{rel} ({view}):\n  " + "\n  ".join(problems), pytrace=False)


# ----------------------------------------------------------------------------- tests

def test_every_toc_entry_was_built():
    if not HTML.is_dir():
        pytest.skip(_NO_BOOK)
    missing = [f for f in toc_files() if not (HTML / (f + ".html")).is_file()]
    assert not missing, f"in _toc.yml but not built into {HTML}: {missing}"


@pytest.mark.parametrize("rel", _page_params())
def test_page_light(rel, visit):
    v = visit("light", rel)
    problems = (output_problems(v) + image_problems(v) + figure_problems(v) + math_problems(v)
                + static_twin_problems(v) + notebook_page_problems(v) + explorer_text_problems(v)
                + explorer_problems(v, shots="-0") + console_problems(v))
    screenshot(v, shot_name(rel))
    _fail_if(problems, rel, "light theme")


@pytest.mark.parametrize("rel", _page_params())
def test_page_dark(rel, visit):
    v = visit("dark", rel)
    problems = console_problems(v) + image_problems(v)
    theme = v.page.evaluate("document.documentElement.dataset.theme")
    if theme != "dark":
        problems.append(f"the dark theme did not apply (data-theme={theme!r})")
    problems += [f"figure with a transparent background (unreadable on the dark theme): {s}"
                 for s in v.page.evaluate(OPAQUE_JS)]
    problems += explorer_text_problems(v, shots="-dark")
    screenshot(v, shot_name(rel, "-dark"))
    _fail_if(problems, rel, "dark theme")


@pytest.mark.parametrize("rel", _page_params())
def test_page_phone(rel, visit):
    v = visit("phone", rel)
    problems = console_problems(v)
    o = v.page.evaluate(OVERFLOW_JS, OVERFLOW_TOLERANCE_PX)
    if o["scrollWidth"] > o["vw"] + OVERFLOW_TOLERANCE_PX:
        problems.append(f"the page scrolls sideways: {o['scrollWidth']} px wide in a {o['vw']} px window")
    if o["n"]:
        problems.append(f"{o['n']} elements stick out of the {o['vw']} px window, e.g.:\n    " + "\n    ".join(o["bad"]))
    problems += [f"figure squeezed to {i['width']:.0f}x{i['height']:.0f} px: {i['src']}"
                 for i in v.page.evaluate(PHONE_IMAGES_JS) if i["width"] < 1 or i["height"] < 1]
    problems += explorer_text_problems(v, shots="-phone")
    screenshot(v, shot_name(rel, "-phone"), full_page=False)
    _fail_if(problems, rel, "phone, 390 px")
