"""The kernel-free explorer: every setting of the explorer computed at build time, drawn in the browser.

The live explorer (``rnn_core.explore.explorer_widget``) needs a Python kernel. The online book
has none, so this module computes ``explore(...)`` for **every** point of a grid of settings
(``GRID``) when the book is built, and a small viewer (``_static/rnn-explorer.js``) only picks
the precomputed result that matches the controls and draws it: nothing is interpolated or
simulated in the browser. Three pieces:

* ``explorer(cell=..., ...)``: a notebook cell shows it; the page then holds the explorer,
  opened on that setting (in Jupyter it shows a note: use the live widget there);
* ``grid_chunk(cell, init, forget_bias)``: every grid point for one cell, init (and forget bias
  for the LSTM), compact and JSON-ready; the viewer loads one such chunk at a time;
* ``setup(app)``: the Sphinx extension (listed in ``_config.yml``) that writes the chunks to
  ``_build/html/_static/rnn-explorer/`` after the build, unless they are up to date.

Why a small hand-written viewer and not Vega-Lite (Altair): inlined, Vega-Lite costs about
0.9 MB of JavaScript per page, and its data must be inlined too (the grid is about 5 MB),
while this viewer is about 15 kB and loads one ~0.2 MB chunk per cell/init/forget bias shown.

Encoding (see ``encode_curve`` and ``encode_hidden``): curves are stored as
``round(1000 · log10(value))`` (0.1 % relative precision, far below a pixel on a log axis;
``None`` for an exact zero); the hidden states of the longest sequence (the shorter ones are
its first ``T`` steps: ``make_problem`` draws the inputs first) as one character per value,
61 levels from ``-vmax`` to ``vmax``.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import numpy as np

from .errors import HyperparameterError, check_option
from .explore import CELLS, INITS, explore

__all__ = ["GRID", "FIXED", "grid_chunk", "chunk_name", "encode_curve", "decode_curve", "encode_hidden",
           "decode_hidden", "explorer", "write_assets", "setup"]

# The control values of the kernel-free explorer (the live widget's sliders take any value in
# their ranges; these are the points computed at build time). Every combination is computed.
GRID = {
    "cell": CELLS,
    "init": INITS,
    "radius": (0.5, 0.9, 1.0, 1.1, 1.5, 2.0),
    "T": (25, 50, 100, 200),
    "forget_bias": (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0),            # LSTM only
    "input_scale": (0.0, 1.0, 3.0),
}
FIXED = dict(H=32, D=8, B=4, seed=0)                            # as the live widget
LEVELS = 61                                                      # hidden-state colour levels
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[:LEVELS]
ASSET_DIR = "rnn-explorer"                                       # under _build/html/_static/
SOURCES = ("explore.py", "diagnostics.py", "rnn.py", "lstm.py", "gru.py", "init.py", "activations.py",
           "module.py")                                          # the modules the numbers come from


# ----------------------------------------------------------------------------- encoding

def encode_curve(v) -> list:
    """(n,) positive values -> round(1000 log10 v) ints; None where v is 0 or not finite."""
    v = np.asarray(v, dtype=np.float64)
    ok = np.isfinite(v) & (v > 0)
    milli = np.round(1000 * np.log10(np.where(ok, v, 1.0))).astype(int)
    return [int(m) if good else None for m, good in zip(milli, ok)]


def decode_curve(codes) -> np.ndarray:
    """Inverse of ``encode_curve`` (NaN for None)."""
    return np.array([np.nan if c is None else 10.0 ** (c / 1000) for c in codes])


def encode_hidden(h) -> tuple[float, str]:
    """(T, H) states -> (vmax, string of T·H characters, row-major): level q ↦ (2q/(LEVELS-1) - 1)·vmax."""
    h = np.asarray(h, dtype=np.float64)
    vmax = max(1.0, float(np.max(np.abs(h))))
    q = np.round((h / vmax + 1) / 2 * (LEVELS - 1)).astype(int)    # (T, H) in 0..LEVELS-1
    return vmax, "".join(ALPHABET[i] for i in q.ravel())


def decode_hidden(vmax, text, H) -> np.ndarray:
    """Inverse of ``encode_hidden``: (T, H) values, each within vmax/(LEVELS-1) of the original."""
    q = np.array([ALPHABET.index(ch) for ch in text], dtype=np.float64).reshape(-1, H)
    return (2 * q / (LEVELS - 1) - 1) * vmax


def level_colors() -> list[str]:
    """The colour of each hidden-state level: the live widget's colormap (``viz.SIGNED_CMAP``)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex
    from .viz import SIGNED_CMAP
    return [to_hex(c) for c in colormaps[SIGNED_CMAP](np.linspace(0, 1, LEVELS))]


# ----------------------------------------------------------------------------- the grid

def chunk_name(cell, init, forget_bias=None) -> str:
    """File stem of one chunk, e.g. "lstm-orthogonal-fb1" or "gru-xavier"."""
    return f"{cell}-{init}" + (f"-fb{forget_bias:g}" if cell == "lstm" else "")


def grid_chunk(cell, init, forget_bias=None, grid=GRID, fixed=FIXED) -> dict:
    """Every grid point for one cell and init (and one forget bias for the LSTM), JSON-ready.

    ``runs[i][j][k]`` is ``explore(cell, radius[i], T[k], init, forget_bias, input_scale[j])``:
    ``g`` the gradient norms and ``j`` the Jacobian-product norms by k = T - t (``encode_curve``),
    ``b`` the bound at k = T (RNN cells; the bound is (σ_max)^k, a straight line on the log axis
    from 1 at k = 0), ``s`` the saturated fraction of the hidden states. ``hidden[i][j]`` is
    ``[vmax, text]`` for the longest T (``encode_hidden``); ``sigma[i]`` is σ_max(W_h).
    """
    check_option("cell", cell, CELLS)
    check_option("init", init, INITS)
    if (cell == "lstm") != (forget_bias is not None):
        raise HyperparameterError(f"forget_bias: expected a value for the LSTM only, got {forget_bias!r} "
                                  f"for {cell!r}")
    fb = 1.0 if forget_bias is None else float(forget_bias)         # ignored by the other cells
    runs, hidden, sigma = [], [], []
    for radius in grid["radius"]:
        runs.append([]), hidden.append([])
        for scale in grid["input_scale"]:
            row = []
            for T in grid["T"]:
                r = explore(cell, radius, T, init, fb, scale, **fixed)
                row.append({"g": encode_curve(r.grad_norms), "j": encode_curve(r.jacobian_norms),
                            "b": None if r.bound is None else encode_curve(r.bound[-1:])[0],
                            "s": round(r.saturation, 6)})
            runs[-1].append(row)
            hidden[-1].append(list(encode_hidden(r.hidden)))        # the longest T, last in the grid
        sigma.append(round(r.sigma_max, 6))
    return {"name": chunk_name(cell, init, forget_bias), "cell": cell, "init": init, "forget_bias": forget_bias,
            "sigma": sigma, "runs": runs, "hidden": hidden}


def _all_chunks(grid):
    for cell in grid["cell"]:
        for init in grid["init"]:
            for fb in (grid["forget_bias"] if cell == "lstm" else (None,)):
                yield cell, init, fb


def _fingerprint(grid, fixed) -> str:
    """Changes when the grid, the encoding or any rnn_core source the numbers come from changes."""
    sha = hashlib.sha256(json.dumps([grid, fixed, np.__version__, ALPHABET], sort_keys=True).encode())
    for f in (grid_chunk, encode_curve, encode_hidden, level_colors):   # this module: only what makes data
        sha.update(inspect.getsource(f).encode())
    for name in SOURCES:
        sha.update((Path(__file__).parent / name).read_bytes())
    return sha.hexdigest()[:16]


def write_assets(out_dir, grid=GRID, fixed=FIXED, force=False) -> bool:
    """Write ``index.js`` and one ``<chunk>.js`` per cell/init(/forget bias) into ``out_dir``.

    Each file calls ``RNNExplorer.add(...)`` (a script, not JSON: it loads from ``file://`` too).
    Skipped when ``index.js`` holds the same fingerprint; returns True if it wrote.
    """
    out = Path(out_dir)
    fingerprint = _fingerprint(grid, fixed)
    index = out / "index.js"
    if not force and index.is_file() and fingerprint in index.read_text(encoding="utf-8"):
        return False
    out.mkdir(parents=True, exist_ok=True)
    for cell, init, fb in _all_chunks(grid):
        chunk = grid_chunk(cell, init, fb, grid, fixed)
        text = f"RNNExplorer.add({json.dumps(chunk, separators=(',', ':'))});\n"
        (out / f"{chunk['name']}.js").write_text(text, encoding="utf-8")
    meta = {"fingerprint": fingerprint, "grid": grid, "fixed": fixed, "alphabet": ALPHABET, "colors": level_colors()}
    index.write_text(f"RNNExplorer.setGrid({json.dumps(meta, separators=(',', ':'))});\n", encoding="utf-8")
    return True


# ----------------------------------------------------------------------------- in a notebook

class KernelFreeExplorer:
    """What a notebook cell shows: a placeholder the book's viewer turns into the explorer."""

    def __init__(self, settings):
        self.settings = settings

    def _repr_html_(self):
        opening = json.dumps(self.settings)
        return (f"<div class=\"rnn-explorer\" data-open='{opening}'>"
                "<p class=\"rnn-explorer-note\">The kernel-free explorer is drawn here in the built book "
                "(<code>jupyter-book build .</code> computes its data). In Jupyter, use the live "
                "explorer above.</p></div>")


def explorer(cell="rnn-tanh", init="orthogonal", radius=1.0, T=100, forget_bias=1.0, input_scale=1.0):
    """The kernel-free explorer, opened on this setting (every value must be in ``GRID``)."""
    settings = dict(cell=cell, init=init, radius=radius, T=T, forget_bias=forget_bias, input_scale=input_scale)
    for name, value in settings.items():
        check_option(name, value, GRID[name])
    return KernelFreeExplorer(settings)


# ----------------------------------------------------------------------------- Sphinx extension

def _write_after_build(app, exception):
    """After an HTML build whose pages hold an explorer (``make page`` of another page: none)."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    if not any('class="rnn-explorer"' in p.read_text(encoding="utf-8") for p in outdir.rglob("*.html")):
        return
    from sphinx.util import logging
    out = outdir / "_static" / ASSET_DIR
    if write_assets(out):
        logging.getLogger(__name__).info(f"rnn_core.explore_static: wrote the explorer's data to {out}")


def _drop_widget_state(app, pagename, *args):
    """The live widgets' saved state is dead in static HTML (no kernel): keep it off the page.

    myst-nb would embed it (~120 kB a page) with the widget manager's scripts, which
    ``nb_ipywidgets_js: {}`` in ``_config.yml`` already drops (they came from CDNs).
    """
    js_files = getattr(app.env, "nb_metadata", {}).get(pagename, {}).get("js_files", {})
    js_files.pop("ipywidgets_state", None)


def setup(app):
    """Sphinx extension: compute the explorer's grid after an HTML build (skipped if up to date)."""
    app.connect("build-finished", _write_after_build)
    app.connect("html-page-context", _drop_widget_state, priority=400)    # before myst-nb adds it
    return {"parallel_read_safe": True, "parallel_write_safe": True}
