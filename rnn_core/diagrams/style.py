"""The visual language of every diagram in the book, and the pieces they are drawn from.

One set of conventions, explained once (the legend of :func:`legend`):

* a **rectangle** is a learned layer: an affine map followed by σ or tanh, filled with the
  colour of the gate it computes (:data:`GATE_COLORS`);
* a **circle** is an elementwise operation: ``⊙`` (product), ``+`` (sum), ``1−``, ``tanh``;
* a **grey arrow** carries a whole vector forward (data flow); lines that merge are
  concatenated or added, as the label says; a line that forks is copied;
* the **cell-state path** (the LSTM's constant error carousel, the GRU's ``z ⊙ h`` path) is a
  thick black line on a yellow band;
* a **red arrow** carries a gradient backward; its width and its colour both grow with the
  norm it carries, on a log scale (:func:`grad_style`).

Gate colours are the Okabe–Ito palette (distinguishable with every common colour-vision
deficiency). Every figure has an opaque white background and black text, so it reads the
same on the book's light and dark themes (on the dark theme it is a white card). Symbols are
those of the Notation page: ``x_t, h_t, c_t, i_t, f_t, g_t, o_t, r_t, z_t, n_t, σ, ⊙``.

A diagram function returns a :class:`Diagram`: the matplotlib figure together with its alt
text, which a notebook displays as ``<img alt="...">`` (so the book's page has alt text made
from the same numbers as the picture). Figures are 100 dpi and at most :data:`MAX_WIDTH`
inches wide, so they are shown at their natural size in the text column, and text is never
smaller than :data:`SMALL` points (≈ 14 px).
"""
from __future__ import annotations

import base64
import html
import io
import re

import numpy as np

from ..errors import HyperparameterError, ShapeError, check_array

__all__ = ["GATE_COLORS", "GATE_NAMES", "Diagram", "grad_style", "static_twin", "legend"]

DPI = 100
MAX_WIDTH = 7.2              # inches: 720 px, the book's text column at the default desktop width
FONT = 12                    # points: labels and symbols
SMALL = 10                   # points: the smallest text in any diagram (≈ 14 px at 100 dpi)
INK = "#000000"              # text and operation outlines
WIRE = "#555555"             # forward data flow
FADED = "#b0b0b0"            # parts of a drawing that are not the point of this picture
PAPER = "#ffffff"            # opaque background
CELL_FILL = "#f3f3f3"        # the box around one cell
CAROUSEL = "#F0E442"         # highlight band under the cell-state path (Okabe-Ito yellow)
GRAD_CMAP = "Reds"           # backward (gradient) arrows

# Okabe & Ito (2008) colour-blind safe palette, one colour per gate.
GATE_COLORS = {
    "i": "#0072B2",   # input gate: blue
    "f": "#D55E00",   # forget gate: vermillion
    "g": "#009E73",   # candidate (LSTM): bluish green
    "n": "#009E73",   # candidate (GRU): the same role, the same colour
    "o": "#CC79A7",   # output gate: reddish purple
    "r": "#E69F00",   # reset gate: orange
    "z": "#56B4E9",   # update gate: sky blue
    "p": "#000000",   # peephole weights: black, dashed
}
GATE_NAMES = {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate",
              "r": "reset gate", "z": "update gate", "n": "candidate", "p": "peephole"}


def tint(color, amount=0.78):
    """``color`` mixed with white (``amount`` of white): the fill of a learned layer's box."""
    from matplotlib.colors import to_rgb
    rgb = np.array(to_rgb(color))
    return tuple(rgb + (1.0 - rgb) * amount)


# ----------------------------------------------------------------------------- the figure and its alt text

class Diagram:
    """A drawn figure and its alt text.

    In a notebook it displays as ``<img alt=...>`` (PNG, 100 dpi, natural size, shrinking
    with the window); ``diagram.fig`` is the matplotlib figure, ``diagram.alt`` the text.
    ``diagram.artists`` maps names (e.g. ``"grad:lstm:3"``) to the artists a test can inspect.
    """

    def __init__(self, fig, alt: str, artists: dict | None = None):
        if not isinstance(alt, str) or not alt.strip():
            raise HyperparameterError(f"alt: expected a non-empty description of the figure, got {alt!r}")
        self.fig, self.alt, self.artists = fig, alt.strip(), dict(artists or {})

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=DPI, facecolor=PAPER)
        return buf.getvalue()

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png()).decode("ascii")
        width = int(round(self.fig.get_figwidth() * DPI))
        return (f'<div class="rnn-diagram-box" style="overflow-x:auto">'
                f'<img class="rnn-diagram" src="data:image/png;base64,{data}" alt="{html.escape(self.alt)}" '
                f'width="{width}" style="{img_style(width)}"></div>')

    def __repr__(self) -> str:
        return f"Diagram({self.alt!r})"


def plain(text) -> str:
    """Mathtext made readable for alt text: ``"$x_{1}$"`` -> ``"x_1"``."""
    return re.sub(r"[${}\\]", "", str(text))


def img_style(width_px) -> str:
    """CSS of a diagram's image: shrinks with the column, but never below 75% of its natural width
    (text stays >= 10 px); on a phone its box scrolls sideways instead."""
    return f"max-width:100%;min-width:{int(0.75 * width_px)}px;height:auto"


def new_figure(width, height):
    """A white figure (not registered with pyplot, so a notebook shows it only when asked)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if width > MAX_WIDTH + 1e-9:
        raise HyperparameterError(f"width: expected at most {MAX_WIDTH} inches (the text column), got {width}")
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor=PAPER)
    FigureCanvasAgg(fig)
    return fig


def canvas_axes(fig, rect=(0, 0, 1, 1), xlim=(0, 12), ylim=(0, 7)):
    """An axes without ticks or frame, in data units, with equal aspect (circles stay round)."""
    ax = fig.add_axes(rect)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")
    ax.set_facecolor(PAPER)
    return ax


def static_twin(anim, alt: str):
    """The ``to_jshtml`` player of ``anim`` (slider, buttons, no CDN) with alt text on its image.

    Uses ``rnn_core.explore.static_twin_html`` (white card, Font Awesome link dropped).
    """
    from IPython.display import HTML

    from ..explore import static_twin_html
    if not isinstance(alt, str) or not alt.strip():
        raise HyperparameterError(f"alt: expected a non-empty description of the animation, got {alt!r}")
    player = static_twin_html(anim).data
    width = int(round(MAX_WIDTH * DPI))                 # every animated diagram is a column wide
    player, n = re.subn(r"<img id=", f'<img alt="{html.escape(alt.strip())}" style="{img_style(width)}" id=',
                        player, count=1)
    if n != 1:                                        # pragma: no cover - a matplotlib change
        raise RuntimeError("static_twin: the player has no <img id=...> to put the alt text on")
    return HTML(f'<div class="rnn-diagram-box" style="overflow-x:auto">{player}</div>')


# ----------------------------------------------------------------------------- drawing pieces

def wire(ax, points, color=WIRE, lw=1.8, arrow=True, ls="-", zorder=2, alpha=1.0, gid=None):
    """A polyline through ``points`` [(x, y), ...]; with an arrowhead at the last point."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path
    pts = np.asarray(points, dtype=float)
    codes = [Path.MOVETO] + [Path.LINETO] * (len(pts) - 1)
    patch = FancyArrowPatch(path=Path(pts, codes), arrowstyle="-|>,head_length=6,head_width=3.5" if arrow else "-",
                            color=color, lw=lw, ls=ls, zorder=zorder, alpha=alpha, shrinkA=0, shrinkB=0,
                            joinstyle="miter", capstyle="butt")
    if gid:
        patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def carousel(ax, points, lw=3.0, faded=False):
    """The cell-state path: a thick black line on a yellow highlight band."""
    pts = np.asarray(points, dtype=float)
    band, = ax.plot(pts[:, 0], pts[:, 1], color=CAROUSEL, lw=lw * 5, solid_capstyle="butt", zorder=1,
                    alpha=0.35 if faded else 0.9)
    wire(ax, points, color=FADED if faded else INK, lw=lw, zorder=2)
    return band


def layer_box(ax, xy, text, gate, w=1.1, h=0.8, faded=False, fontsize=FONT, gid=None):
    """A learned layer (affine + nonlinearity) for ``gate``: a filled rectangle with its symbol."""
    from matplotlib.patches import FancyBboxPatch
    color = FADED if faded else GATE_COLORS.get(gate, WIRE)
    box = FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                         facecolor=tint(color, 0.8 if faded else 0.75), edgecolor=color, lw=2.2, zorder=4)
    if gid:
        box.set_gid(gid)
    ax.add_patch(box)
    ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=fontsize, zorder=5,
            color=FADED if faded else INK)
    return box


def op_node(ax, xy, symbol, r=0.3, faded=False, fontsize=FONT + 2, color=None, gid=None):
    """An elementwise operation: a white circle with ``⊙``, ``+``, ``1−`` or ``tanh``."""
    from matplotlib.patches import Circle, Ellipse
    edge = FADED if faded else (color or INK)
    if symbol == "tanh":
        patch = Ellipse(xy, 2.6 * r, 1.6 * r, facecolor=PAPER, edgecolor=edge, lw=1.6, zorder=4)
        fontsize = SMALL
    else:
        patch = Circle(xy, r, facecolor=PAPER, edgecolor=edge, lw=1.6, zorder=4)
    if gid:
        patch.set_gid(gid)
    ax.add_patch(patch)
    ax.text(xy[0], xy[1] - (0.02 if symbol in ("+", "⊙") else 0), symbol, ha="center", va="center",
            fontsize=fontsize if symbol != "1−" else SMALL + 1, color=edge, zorder=5)
    return patch


def label(ax, xy, text, color=INK, fontsize=FONT, ha="center", va="center", faded=False, **kw):
    """A symbol or short text next to a wire (math in ``$...$``)."""
    return ax.text(xy[0], xy[1], text, ha=ha, va=va, fontsize=max(SMALL, fontsize),
                   color=FADED if faded else color, zorder=6, **kw)


def value_tag(ax, xy, text, color=INK, ha="center", va="center"):
    """A number from a real network, on a small white tag so it stays readable over wires."""
    return ax.text(xy[0], xy[1], text, ha=ha, va=va, fontsize=SMALL, color=color, zorder=7,
                   bbox=dict(boxstyle="round,pad=0.15", facecolor=PAPER, edgecolor=color, lw=0.8))


def title(fig, text, y=0.985):
    return fig.suptitle(text, fontsize=FONT + 1, y=y, va="top")


# ----------------------------------------------------------------------------- gradient arrows

def grad_limits(*arrays, decades=8, min_decades=2):
    """(lo, hi) of a shared log scale over every positive value, ``min_decades`` to ``decades`` wide.

    The lower bound keeps norms that differ by a few percent from looking thin and thick.
    """
    vals = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        raise HyperparameterError("norms: expected at least one positive gradient norm, got none")
    hi = float(vals.max())
    lo = min(max(float(vals.min()), hi * 10.0 ** -decades), hi * 10.0 ** -min_decades)
    return lo, hi


def grad_style(norm, lo, hi, min_lw=0.6, max_lw=8.0):
    """Line width (points) and RGBA colour of a gradient arrow carrying ``norm``.

    Both grow with ``log10(norm)`` between ``lo`` and ``hi`` (clipped): the thinnest, palest arrow
    is a gradient ``hi/lo`` times weaker than the thickest, darkest one. Returns ``(lw, rgba)``.
    """
    from matplotlib import colormaps
    s = (np.log10(max(norm, lo)) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
    s = float(np.clip(s, 0.0, 1.0))
    return min_lw + (max_lw - min_lw) * s, colormaps[GRAD_CMAP](0.25 + 0.75 * s)


def grad_colorbar(fig, lo, hi, rect, label_text="$\\Vert\\partial L/\\partial h_t\\Vert$ (log scale)"):
    """A horizontal colour bar for the gradient arrows' colour scale."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, LogNorm
    cmap = ListedColormap(colormaps[GRAD_CMAP](np.linspace(0.25, 1.0, 256)))
    cax = fig.add_axes(rect)
    cb = fig.colorbar(ScalarMappable(norm=LogNorm(lo, hi), cmap=cmap), cax=cax, orientation="horizontal")
    cb.set_label(label_text, fontsize=SMALL)
    cb.ax.tick_params(labelsize=SMALL)
    return cb


def check_norms(name, norms, T=None):
    """A dict ``label -> (T,)`` of non-negative finite norms (a bare array becomes one row)."""
    if not isinstance(norms, dict):
        norms = {"": norms}
    if not norms:
        raise HyperparameterError(f"{name}: expected at least one row of norms, got none")
    out = {}
    for k, v in norms.items():
        v = check_array(f"{name}[{k!r}]", np.asarray(v, dtype=np.float64), 1, (T,) if T else (), "T")
        if v.size == 0 or np.any(v < 0):
            raise HyperparameterError(f"{name}[{k!r}]: expected non-negative norms, one per step, got {v}")
        T = T or v.size
        out[k] = v
    lengths = {v.size for v in out.values()}
    if len(lengths) != 1:
        raise ShapeError(f"{name}: expected rows of the same length T, got lengths {sorted(lengths)}")
    return out


def legend(width=MAX_WIDTH):
    """The visual vocabulary of the book's diagrams, drawn once."""
    fig = new_figure(width, 1.9)
    ax = canvas_axes(fig, xlim=(0, 14.4), ylim=(0, 3.8))
    layer_box(ax, (0.8, 2.9), "σ", "f")
    label(ax, (1.6, 2.9), "learned layer\n(colour = its gate)", ha="left", fontsize=SMALL)
    op_node(ax, (5.5, 2.9), "⊙")
    label(ax, (6.0, 2.9), "elementwise\noperation", ha="left", fontsize=SMALL)
    wire(ax, [(9.0, 2.9), (10.2, 2.9)])
    label(ax, (10.4, 2.9), "a vector,\nflowing forward", ha="left", fontsize=SMALL)
    carousel(ax, [(0.3, 1.0), (1.6, 1.0)])
    label(ax, (1.8, 1.0), "cell-state path", ha="left", fontsize=SMALL)
    x = 4.45
    for k, gate in enumerate("ifgorz"):
        layer_box(ax, (x + 0.68 * k, 1.0), f"${gate}$", gate, w=0.56, h=0.6, fontsize=SMALL)
    label(ax, (x + 3.9, 1.0), "gates", ha="left", fontsize=SMALL)
    for k, norm in enumerate((1e-3, 1.0)):
        lw, c = grad_style(norm, 1e-3, 1.0)
        wire(ax, [(10.2, 0.7 + 0.6 * k), (9.1, 0.7 + 0.6 * k)], color=c, lw=lw)
    label(ax, (10.4, 1.0), "gradient, backward:\nwider, darker = larger", ha="left", fontsize=SMALL)
    alt = ("Legend of the book's diagrams: a coloured rectangle is a learned layer whose colour names "
           "its gate (input i blue, forget f vermillion, candidate g green, output o purple, reset r orange, "
           "update z sky blue); a circle is "
           "an elementwise operation; a grey arrow is a vector flowing forward; a thick black line on a "
           "yellow band is the cell-state path; a red arrow is a gradient flowing backward, wider and "
           "darker when its norm is larger.")
    return Diagram(fig, alt)
