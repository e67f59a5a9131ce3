"""See gradients vanish: the explorer behind the book's interactive figure.

``explore`` builds one recurrent layer, runs a random input sequence through it and
measures how the gradient of a loss on the **final** state shrinks (or grows) as it
travels back in time::

    L = Σ_b ⟨w, h_T^(b)⟩            w: a fixed random unit vector (a linear read-out of h_T)
    ∂L/∂h_t = wᵀ ∂h_T/∂h_t           k = T - t steps back

It returns, against the gap ``k = 0..T``: the gradient norm ``‖∂L/∂h_t‖`` (from a backward
pass), the Jacobian-product norm ``‖∂h_T/∂h_t‖_2`` and, for the vanilla RNN, the Pascanu et
al. (2013) bound ``(γ σ_max(W_h))^k`` with γ = 1 (``|tanh'| ≤ 1``, ``relu' ≤ 1``).

The recurrent matrix is drawn with the chosen ``init`` and then **rescaled so that every
H x H gate block of W_h has spectral radius** ``radius`` (largest |eigenvalue|). For an
orthogonal init this is also its largest singular value; for Gaussian and Xavier inits
σ_max is about twice ρ (the circular law), so the bound is looser than the curve.

Three ways to look at it:

* ``plot_explorer(explore(...))``: one figure;
* ``explorer_widget()``: the **live** version, sliders and dropdowns (needs a Python kernel);
* ``radius_animation(...)`` / ``cell_length_grid(...)``: **static twins**, an animation with a
  slider that works in plain HTML, and small multiples.

The online book's **kernel-free explorer**, with all the live widget's controls, is
``rnn_core.explore_static``: ``explore`` computed over a grid of settings at build time.
"""
from __future__ import annotations

import re

import io
import numbers
from dataclasses import dataclass

import numpy as np

from . import diagnostics as dg
from . import init as initializers
from .errors import HyperparameterError, check_option, check_positive, check_positive_int, check_rng
from .gru import GRU
from .lstm import LSTM
from .rnn import RNN
from .viz import TICK_SIZE

__all__ = ["CELLS", "INITS", "ExploreResult", "make_problem", "explore", "ExplorerFigure", "plot_explorer",
           "explorer_widget", "radius_animation", "cell_length_grid", "static_twin_html"]

CELLS = ("rnn-tanh", "rnn-relu", "lstm", "gru")
INITS = ("gaussian", "xavier", "orthogonal")
MAX_T = 1000
MAX_FRAMES = 30
FIGSIZE = (10, 3.9)


@dataclass
class ExploreResult:
    """What ``explore`` measured; every curve is indexed by the gap ``k = T - t = 0..T``."""

    settings: dict              # cell, radius, T, init, forget_bias, input_scale, H, D, B, seed
    k: np.ndarray               # (T+1,) steps back from the final state
    grad_norms: np.ndarray      # (T+1,) ‖∂L/∂h_{T-k}‖, mean over the batch
    jacobian_norms: np.ndarray  # (T+1,) ‖∂h_T/∂h_{T-k}‖_2, mean over the batch (1 at k = 0)
    bound: np.ndarray | None    # (T+1,) (γ σ_max)^k for the RNN cells, else None
    hidden: np.ndarray          # (T, H) hidden states of the first sequence
    sigma_max: float            # largest singular value of W_h (max over gate blocks)
    saturation: float           # fraction of ``hidden`` with |h| > 0.99 (tanh saturated)

    def title(self) -> str:
        s = self.settings
        text = (f"{s['cell']}, radius {s['radius']:g}, {s['init']} init, T = {s['T']}, "
                f"input scale {s['input_scale']:g}")
        return text + (f", forget bias {s['forget_bias']:g}" if s["cell"] == "lstm" else "")


def _check_settings(cell, radius, T, init, forget_bias, input_scale, H, D, B, seed):
    check_option("cell", cell, CELLS)
    check_option("init", init, INITS)
    radius = check_positive("radius", radius)
    T = check_positive_int("T", T)
    if T > MAX_T:
        raise HyperparameterError(f"T: expected at most {MAX_T} steps, got {T}")
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real) or not np.isfinite(forget_bias):
        raise HyperparameterError(f"forget_bias: expected a finite number, got {forget_bias!r}")
    input_scale = check_positive("input_scale", input_scale, allow_zero=True)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise HyperparameterError(f"seed: expected a non-negative int, got {seed!r}")
    return radius, T, check_positive_int("H", H), check_positive_int("D", D), check_positive_int("B", B)


def _recurrent_matrix(init, H, G, radius, gen):
    """W_h (H, G·H) from ``init``, each H x H gate block rescaled to spectral radius ``radius``."""
    shape = (H, G * H)
    if init == "gaussian":
        W = initializers.gaussian(shape, gen, std=1.0 / np.sqrt(H), dtype=np.float64)
    elif init == "xavier":
        W = initializers.xavier_uniform(shape, gen, dtype=np.float64)
    else:
        W = initializers.orthogonal(shape, gen, dtype=np.float64, blocks=G)
    for k in range(G):
        block = W[:, k * H:(k + 1) * H]                          # (H, H) view
        block *= radius / dg.spectral_radius(block)
    return W


def make_problem(cell="rnn-tanh", radius=1.0, T=50, init="orthogonal", forget_bias=1.0, input_scale=1.0,
                 H=32, D=8, B=4, seed=0):
    """The layer (float64), the inputs x (T, B, D) and the read-out w (H,) that ``explore`` uses.

    Biases are zero except the LSTM forget gate; W_h is drawn with ``init`` and each H x H gate
    block is rescaled to spectral radius ``radius``; x ~ N(0, input_scale²); w is a random unit vector.
    """
    radius, T, H, D, B = _check_settings(cell, radius, T, init, forget_bias, input_scale, H, D, B, seed)
    gen = check_rng(seed)
    if cell.startswith("rnn"):
        layer = RNN(D, H, nonlinearity=cell[4:], rng=gen, dtype=np.float64)
    elif cell == "lstm":
        layer = LSTM(D, H, forget_bias=float(forget_bias), rng=gen, dtype=np.float64)
    else:
        layer = GRU(D, H, rng=gen, dtype=np.float64)
    G = layer.params["W_h"].shape[1] // H
    layer.params["W_h"] = _recurrent_matrix(init, H, G, radius, gen)
    x = input_scale * gen.standard_normal((T, B, D))              # (T, B, D)
    w = gen.standard_normal(H)
    return layer, x, w / np.linalg.norm(w)                        # read-out direction, ‖w‖ = 1


def explore(cell="rnn-tanh", radius=1.0, T=50, init="orthogonal", forget_bias=1.0, input_scale=1.0,
            H=32, D=8, B=4, seed=0) -> ExploreResult:
    """Measure vanishing/exploding gradients for one setting (deterministic given ``seed``).

    cell: "rnn-tanh", "rnn-relu", "lstm" or "gru";  radius: spectral radius of each W_h block;
    T: sequence length; init: "gaussian", "xavier" or "orthogonal" (before rescaling);
    forget_bias: LSTM forget-gate bias (ignored by other cells); input_scale: std of the
    inputs x ~ N(0, input_scale²) (0 linearises a tanh RNN at h = 0); H, D, B: sizes.
    The network comes from ``make_problem``. Everything is computed in float64.
    """
    layer, x, w = make_problem(cell, radius, T, init, forget_bias, input_scale, H, D, B, seed)
    T, B, _ = x.shape
    H = w.shape[0]
    G = layer.params["W_h"].shape[1] // H
    J, hs = dg.step_jacobians(layer, x, return_hs=True)           # (T, B, S, S), (T, B, H)
    S = J.shape[-1]
    g_T = np.zeros((B, S))
    g_T[:, :H] = w                                                # ∂L/∂h_T for every sequence
    G_h, g_0 = dg.backprop_through_jacobians(J, np.zeros((T, B, S)), g_T)
    grads = np.concatenate([g_0[None], G_h])[..., :H]             # (T+1, B, H): t = 0..T
    grad_norms = np.linalg.norm(grads, axis=-1).mean(axis=1)[::-1]      # (T+1,) by k = T - t
    P = dg.products_from_jacobians(J, H)                          # (T, B, H, H)
    jac = np.linalg.svd(P, compute_uv=False)[..., 0].mean(axis=1)  # (T,) t = 0..T-1
    jacobian_norms = np.concatenate([jac, [1.0]])[::-1]           # (T+1,) by k

    k = np.arange(T + 1)
    blocks = [layer.params["W_h"][:, j * H:(j + 1) * H] for j in range(G)]
    sigma_max = max(dg.largest_singular_value(b) for b in blocks)
    bound = dg.pascanu_bound(layer.params["W_h"], k, gamma=1.0) if cell.startswith("rnn") else None
    settings = dict(cell=cell, radius=float(radius), T=T, init=init, forget_bias=float(forget_bias),
                    input_scale=float(input_scale), H=H, D=D, B=B, seed=seed)
    hidden = hs[:, 0].copy()                                      # (T, H) the first sequence
    return ExploreResult(settings, k, grad_norms, jacobian_norms, bound, hidden, sigma_max,
                         float(np.mean(np.abs(hidden) > 0.99)))


# ----------------------------------------------------------------------------- one figure

def _log_limits(results):
    """Shared y-limits (log scale) for a list of results, clipped to [1e-30, 1e30]."""
    vals = np.concatenate([np.r_[r.grad_norms, r.jacobian_norms] for r in results])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    lo = max(float(vals.min()) if vals.size else 1e-3, 1e-30)
    hi = min(float(vals.max()) if vals.size else 1.0, 1e30)
    return lo / 3, max(hi, 1.0) * 3


class ExplorerFigure:
    """The explorer's figure, redrawable in place (the widget and the animation reuse it).

    Left: gradient norms against the steps back ``T − t`` (log scale) with the bound for RNNs;
    right: the hidden states of one sequence (units x time). The layout is fixed (no layout
    engine), so ``update(result)`` only changes data and titles: redraws stay fast.
    """

    def __init__(self, fig, label="", ylim=None):
        from matplotlib.ticker import LogLocator, NullLocator
        from .viz import SIGNED_CMAP, _colorbar, _label
        self.fig, self.label, self.ylim = fig, label, ylim
        fig.set_facecolor("white")
        gs = fig.add_gridspec(1, 2, width_ratios=[1.15, 1], left=0.07, right=0.99, bottom=0.13, top=0.83,
                              wspace=0.22)
        self.ax_g, self.ax_h = ax_g, ax_h = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
        self.lines = [ax_g.plot([], [], lw=2.2, color="tab:blue", label="‖∂L/∂h_t‖ (backward pass)")[0],
                      ax_g.plot([], [], lw=1.6, ls="--", color="tab:orange", label="‖∂h_T/∂h_t‖₂")[0],
                      ax_g.plot([], [], lw=1.4, ls=":", color="black", label="bound (γ σ_max)^(T−t)")[0]]
        ax_g.set_yscale("log")
        ax_g.yaxis.set_major_locator(LogLocator(numticks=8))
        ax_g.yaxis.set_minor_locator(NullLocator())           # dozens of decades: minor ticks only clutter
        ax_g.grid(True, alpha=0.3)
        _label(ax_g, "gradient flowing back from h_T", "steps back from the end, T − t", "norm (log scale)")
        self.image = ax_h.imshow([[0.0]], aspect="auto", origin="lower", cmap=SIGNED_CMAP, vmin=-1, vmax=1,
                                 interpolation="nearest")
        _colorbar(fig, self.image, ax_h, "h value")
        _label(ax_h, "", "time step t", "hidden unit")

    def update(self, result: ExploreResult, vmax=None):
        """Show ``result``; ``vmax`` fixes the heatmap's color range (default: ±max(1, max|h|))."""
        r = result
        pos = lambda v: np.where(v > 0, v, np.nan)               # log axis: hide exact zeros
        bound = r.bound if r.bound is not None else np.full(r.k.shape, np.nan)
        curves = [r.grad_norms, r.jacobian_norms, bound]
        for line, v in zip(self.lines, curves):
            line.set_data(r.k, pos(v))
        self.lines[2].set_visible(r.bound is not None)
        shown = [line for line in self.lines if line.get_visible()]
        self.ax_g.legend(handles=shown, fontsize=TICK_SIZE, loc="lower left")
        self.ax_g.set_xlim(0, r.k[-1])
        self.ax_g.set_ylim(*(self.ylim or _log_limits([r])))
        T, H = r.hidden.shape
        v = vmax or max(1.0, float(np.max(np.abs(r.hidden))))
        self.image.set_data(r.hidden.T)
        self.image.set_extent((0.5, T + 0.5, -0.5, H - 0.5))
        self.image.set_clim(-v, v)
        self.ax_h.set_title(f"hidden states, one sequence ({100 * r.saturation:.0f}% with |h| > 0.99)",
                            fontsize=12)
        self.fig.suptitle((self.label + ": " if self.label else "") + r.title(), fontsize=12)
        return self


def plot_explorer(result: ExploreResult, fig=None, ylim=None, label="", dpi=None):
    """Gradient norms vs steps back (log scale, with the bound) next to a hidden-state heatmap.

    The heatmap shows why a tanh gradient dies: units stuck at ±1 have tanh' ≈ 0.
    ``fig``: an empty figure to draw into (default: a new 10 x 3.9 in figure); ``ylim``: fixed
    limits of the log axis; ``label`` is prefixed to the title (e.g. "Static twin").
    Returns ``(fig, (ax_grad, ax_h))``.
    """
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=FIGSIZE, dpi=dpi)
    elif fig.axes:
        raise HyperparameterError(f"fig: expected an empty figure, got one with {len(fig.axes)} axes")
    view = ExplorerFigure(fig, label, ylim).update(result)
    return view.fig, (view.ax_g, view.ax_h)


# ----------------------------------------------------------------------------- the live widget

class ExplorerWidget:
    """Sliders and dropdowns that redraw ``plot_explorer`` (live: needs a running kernel).

    ``controls`` maps setting names to ipywidgets; changing a value redraws into ``output``.
    ``update(**settings)`` sets several values at once and redraws; ``result`` is the last result.
    One figure (not managed by pyplot) is updated in place and shown as a PNG at ``dpi``.
    """

    def __init__(self, controls, output, box, fixed, dpi=90):
        from matplotlib.figure import Figure
        self.controls, self.output, self.box, self.fixed, self.dpi = controls, output, box, fixed, dpi
        self.view = ExplorerFigure(Figure(figsize=FIGSIZE), label="Live explorer")
        self.result = None
        self._updating = False                                   # True while update() sets several values
        for c in controls.values():
            c.observe(self._on_change, names="value")
        self.redraw()

    def settings(self) -> dict:
        return {**self.fixed, **{k: c.value for k, c in self.controls.items()}}

    def _on_change(self, change):
        if not self._updating:
            self.redraw()

    def update(self, **settings):
        self._updating = True
        try:
            for k, v in settings.items():
                if k not in self.controls:
                    raise HyperparameterError(f"{k}: expected a setting in {tuple(self.controls)}, got {k!r}")
                self.controls[k].value = v
        finally:
            self._updating = False
        self.redraw()

    def redraw(self):
        from IPython.display import Image, clear_output, display
        self.controls["forget_bias"].disabled = self.controls["cell"].value != "lstm"
        self.result = explore(**self.settings())
        self.view.update(self.result)
        png = io.BytesIO()
        self.view.fig.savefig(png, format="png", dpi=self.dpi)   # one render, no pyplot state
        with self.output:
            clear_output(wait=True)
            display(Image(data=png.getvalue(), format="png"))
        return png.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def explorer_widget(cell="rnn-tanh", radius=1.0, T=50, init="orthogonal", forget_bias=1.0, input_scale=1.0,
                    H=32, D=8, B=4, seed=0) -> ExplorerWidget:
    """The live explorer: dropdowns for cell and init, sliders for radius, T, forget bias, input scale.

    Display the returned object in a notebook. ipywidgets is imported here, not at package import.
    """
    _check_settings(cell, radius, T, init, forget_bias, input_scale, H, D, B, seed)
    import ipywidgets as widgets
    style = {"description_width": "90px"}
    controls = {
        "cell": widgets.Dropdown(options=CELLS, value=cell, description="cell", style=style),
        "init": widgets.Dropdown(options=INITS, value=init, description="init", style=style),
        "radius": widgets.FloatSlider(value=radius, min=0.1, max=2.0, step=0.05, description="radius ρ",
                                      continuous_update=False, style=style),
        "T": widgets.IntSlider(value=T, min=5, max=200, step=5, description="length T",
                               continuous_update=False, style=style),
        "forget_bias": widgets.FloatSlider(value=forget_bias, min=-3.0, max=5.0, step=0.5,
                                           description="forget bias", continuous_update=False, style=style),
        "input_scale": widgets.FloatSlider(value=input_scale, min=0.0, max=5.0, step=0.25,
                                           description="input scale", continuous_update=False, style=style),
    }
    output = widgets.Output()
    c = list(controls.values())
    box = widgets.VBox([widgets.HBox(c[:3]), widgets.HBox(c[3:]), output])
    return ExplorerWidget(controls, output, box, dict(H=H, D=D, B=B, seed=seed))


# ----------------------------------------------------------------------------- static twins

def radius_animation(cell="rnn-tanh", radii=np.linspace(0.5, 1.5, 11), T=100, init="orthogonal",
                     forget_bias=1.0, input_scale=1.0, H=32, D=8, B=4, seed=0, dpi=72):
    """Static twin of the widget: one frame per spectral radius (same seed, same inputs).

    Returns a ``matplotlib.animation.FuncAnimation``; ``anim.to_jshtml()`` (or
    ``static_twin_html(anim)``) gives a player with a slider that works without a kernel.
    Keep ``radii`` short (default 11 frames) and ``dpi`` modest: every frame is an embedded PNG.
    """
    from matplotlib.animation import FuncAnimation
    import matplotlib.pyplot as plt
    radii = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    if radii.ndim != 1 or not 1 <= radii.size <= MAX_FRAMES:
        raise HyperparameterError(f"radii: expected 1 to {MAX_FRAMES} values, got {radii.size}")
    results = [explore(cell, float(r), T, init, forget_bias, input_scale, H, D, B, seed) for r in radii]
    vmax = max(1.0, max(float(np.max(np.abs(r.hidden))) for r in results))
    view = ExplorerFigure(plt.figure(figsize=FIGSIZE, dpi=dpi), "Static twin", _log_limits(results))
    view.update(results[0], vmax)

    def draw(frame):
        view.update(results[frame], vmax)
        return view.lines + [view.image]

    anim = FuncAnimation(view.fig, draw, frames=len(results), interval=600, blit=False)
    plt.close(view.fig)                  # the notebook shows the player, not a stray still figure
    return anim


def static_twin_html(anim, default_mode="once", cdn_icons=False):
    """An ``IPython.display.HTML`` player (slider, play/step buttons) for the online book.

    The player sits on a white card so its controls stay readable on a dark page theme.
    matplotlib's player links Font Awesome 4 from a CDN for its button icons; the book's
    theme already ships Font Awesome 6, which draws the same ``fa fa-play``-style icons, so
    the link is dropped (``cdn_icons=False``) and the page needs no network. Pass
    ``cdn_icons=True`` to keep it, e.g. for a notebook viewed outside the book.
    """
    check_option("default_mode", default_mode, ("once", "loop", "reflect"))
    check_option("cdn_icons", cdn_icons, (False, True))
    from IPython.display import HTML
    player = anim.to_jshtml(default_mode=default_mode)
    if not cdn_icons:
        player = re.sub(r"<link[^>]*font-awesome[^>]*>\s*", "", player)
    card = '<div class="static-twin" style="background:#fff;color:#000;display:inline-block;padding:6px">'
    return HTML(card + player + "</div>")


def cell_length_grid(cells=("rnn-tanh", "lstm", "gru"), lengths=(25, 50, 100, 200), radius=1.0,
                     init="orthogonal", forget_bias=1.0, input_scale=1.0, H=32, D=8, B=4, seed=0):
    """Static twin, small multiples: one panel per sequence length, one curve per cell.

    Each curve is ``‖∂L/∂h_t‖`` against the steps back ``T − t`` (log scale, shared).
    Returns ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator
    from .viz import _label
    for c in cells:
        check_option("cells", c, CELLS)
    if len(cells) == 0 or len(lengths) == 0:
        raise HyperparameterError(f"cells, lengths: expected non-empty sequences, got {cells!r}, {lengths!r}")
    results = {(c, T): explore(c, radius, T, init, forget_bias, input_scale, H, D, B, seed)
               for c in cells for T in lengths}
    fig, axes = plt.subplots(1, len(lengths), figsize=(3.2 * len(lengths) + 0.6, 3.6), sharey=True,
                             facecolor="white", layout="constrained", squeeze=False)
    axes = axes[0]
    ylim = _log_limits(list(results.values()))
    for ax, T in zip(axes, lengths):
        for c in cells:
            r = results[(c, T)]
            ax.plot(r.k, np.where(r.grad_norms > 0, r.grad_norms, np.nan), lw=2, label=c)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(numticks=8))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(*ylim)
        ax.grid(True, alpha=0.3)
        _label(ax, f"T = {T}", "steps back, T − t", "‖∂L/∂h_t‖ (log scale)" if ax is axes[0] else None)
    axes[0].legend(fontsize=TICK_SIZE, loc="lower left")
    fig.suptitle(f"Static twin: gradient reaching h_t from a loss on h_T "
                 f"(radius {radius:g}, {init} init, input scale {input_scale:g})", fontsize=12)
    return fig, axes
