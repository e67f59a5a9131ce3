"""The recurrent layer folded and unrolled, and backpropagation through time drawn from real norms.

``rnn_folded_unrolled()``      the loop and the chain of identical steps
``bptt(flows, ...)``           the unrolled chain with the gradient flowing back; each red arrow's
                               width and colour follow the norm it carries (``style.grad_style``)
``bptt_animation(flows, ...)`` the same picture, one frame per step back in time (a static twin)

The norms are measured by ``rnn_core`` (``diagnostics.hidden_state_gradients``, or a chapter's own
backward loop) and passed in: the drawing never invents a number.
"""
from __future__ import annotations

import numpy as np

from ..errors import HyperparameterError, check_positive_int
from . import style as S

__all__ = ["rnn_folded_unrolled", "bptt", "bptt_animation"]

RNN_COLOR = "#444444"        # the simple RNN's one layer has no gate: neutral grey


def _rnn_layer(ax, xy, w=1.2, h=0.8):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=S.tint(RNN_COLOR, 0.85), edgecolor=RNN_COLOR, lw=2.2, zorder=4))
    S.label(ax, xy, "tanh", fontsize=S.FONT)


def _out_layer(ax, xy, w=1.2, h=0.7):
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=S.PAPER, edgecolor=RNN_COLOR, lw=1.6, zorder=4))
    S.label(ax, xy, "$W_y$", fontsize=S.FONT)


def rnn_folded_unrolled(T_shown=3):
    """A simple RNN with an output layer: folded (a loop) and unrolled over ``T_shown`` steps + step T.

    ``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``, ``y_t = h_t W_y + b_y``; every column of the
    unrolled chain is the same layer with the same weights.
    """
    T_shown = check_positive_int("T_shown", T_shown)
    if T_shown > 3:
        raise HyperparameterError(f"T_shown: expected 1 to 3 steps before step T (column width), got {T_shown}")
    fig = S.new_figure(S.MAX_WIDTH, 3.35)
    # folded: one cell whose output feeds back into its own input
    ax = S.canvas_axes(fig, (0.0, 0.1, 0.27, 0.8), xlim=(0, 4.2), ylim=(0, 6.2))
    cx, cy = 2.1, 2.7
    S.wire(ax, [(cx, 0.5), (cx, cy - 0.4)])
    S.label(ax, (cx, 0.25), "$x_t$")
    S.label(ax, (cx + 0.45, 1.3), "$W_x$", fontsize=S.SMALL + 1, color=RNN_COLOR)
    S.wire(ax, [(cx, cy + 0.4), (cx, 4.15)])
    _out_layer(ax, (cx, 4.5))
    S.wire(ax, [(cx, 4.85), (cx, 5.6)])
    S.label(ax, (cx, 5.9), "$y_t$")
    S.wire(ax, [(cx, 3.55), (3.5, 3.55), (3.5, 2.35), (cx + 0.6, 2.35)])   # the loop: h_t becomes h_{t-1}
    S.label(ax, (cx - 0.12, 3.65), "$h_t$", ha="right", va="center", fontsize=S.SMALL + 1)
    S.label(ax, (3.15, 1.95), "$h_{t-1}$", fontsize=S.SMALL + 1)
    S.label(ax, (3.9, 2.95), "$W_h$", fontsize=S.SMALL + 1, color=RNN_COLOR)
    _rnn_layer(ax, (cx, cy))
    ax.set_title("folded: a loop", fontsize=S.FONT)

    # unrolled: the same layer at every step
    ax = S.canvas_axes(fig, (0.29, 0.1, 0.71, 0.8), xlim=(0, 14.0), ylim=(0, 6.2))
    cols = [2.4 + 2.9 * k for k in range(T_shown)] + [12.6]
    names = [str(k + 1) for k in range(T_shown)] + ["T"]
    S.label(ax, (0.45, cy), "$h_0$")
    prev = 0.85
    for k, (x, t) in enumerate(zip(cols, names)):
        S.wire(ax, [(x, 0.5), (x, cy - 0.4)])
        S.label(ax, (x, 0.25), f"$x_{t}$")
        S.wire(ax, [(x, cy + 0.4), (x, 4.15)])
        _out_layer(ax, (x, 4.5))
        S.wire(ax, [(x, 4.85), (x, 5.6)])
        S.label(ax, (x, 5.9), f"$y_{t}$")
        if t != "T":
            S.wire(ax, [(prev, cy), (x - 0.6, cy)])
        else:                                     # ... then step T
            mid = (prev + x - 0.6) / 2
            S.wire(ax, [(prev, cy), (mid - 0.45, cy)])
            S.label(ax, (mid, cy), "…", fontsize=S.FONT + 6)
            S.wire(ax, [(mid + 0.45, cy), (x - 0.6, cy)])
        if t != "T":
            S.label(ax, (x + 1.45, cy + 0.35), f"$h_{t}$", fontsize=S.SMALL + 1)
        _rnn_layer(ax, (x, cy))
        prev = x + 0.6
    S.wire(ax, [(prev, cy), (13.95, cy)])
    S.label(ax, (13.55, cy + 0.35), "$h_T$", fontsize=S.SMALL + 1)
    ax.set_title("unrolled in time: the same $W_x$, $W_h$, $b$, $W_y$ at every step", fontsize=S.FONT)
    fig.text(0.5, 0.02, r"$h_t = \tanh(x_t W_x + h_{t-1} W_h + b), \qquad y_t = h_t W_y + b_y$",
             ha="center", va="bottom", fontsize=S.FONT)
    alt = ("A simple RNN drawn twice. Left, folded: the input x_t enters a tanh layer whose output h_t "
           "goes up through the output layer W_y to y_t and also loops back, through W_h, into the same "
           f"layer as h_(t-1). Right, unrolled: {T_shown} identical tanh layers and a last one for step T "
           "in a row, starting from h_0; each takes x_t from below and the previous h from the left and "
           "gives y_t above and h_t to the right, with the same weights at every step.")
    return S.Diagram(fig, alt)


# ----------------------------------------------------------------------------- BPTT

def _fmt(v):
    return "0" if v == 0 else f"{v:.1e}".replace("e-0", "e-").replace("e+0", "e")


def bptt(flows, direct=None, node_values=None, title="Backpropagation through time", lo_hi=None,
         value_label="$\\Vert\\partial L/\\partial h_t\\Vert$", title_lines=1):
    """The unrolled chain ``h_1 … h_T`` with the gradient flowing back, one row per network.

    flows:  dict ``label -> (T,)``: ``flows[t-1]`` is the norm of the gradient that arrives at
            ``h_t`` from the right (from ``h_{t+1}``, or from the loss ``L`` for ``t = T``): a red
            arrow whose width and colour follow it (0 = no arrow).
    direct: optional dict ``label -> (T,)``: the norm arriving at ``h_t`` from its own output ``y_t``
            (a red arrow from above), e.g. ``‖δy_t W_yᵀ‖``.
    node_values: optional dict ``label -> (T,)`` printed under the nodes (``T ≤ 12``), e.g. the
            total ``‖δh_t‖``.
    lo_hi:  ``(lo, hi)`` of the log colour scale (default: shared by every arrow drawn).

    ``T ≤ 12`` draws labelled boxes; longer chains are drawn compactly (dots, ticks every few steps).
    Returns a ``Diagram``; ``artists["grad:<label>:<t>"]`` is the arrow into ``h_t``.
    """
    flows = S.check_norms("flows", flows)
    labels = list(flows)
    T = len(flows[labels[0]])
    direct = None if direct is None else S.check_norms("direct", direct, T)
    if direct is not None and set(direct) != set(labels):
        raise HyperparameterError(f"direct: expected the labels {labels}, got {list(direct)}")
    node_values = None if node_values is None else S.check_norms("node_values", node_values, T)
    lo, hi = lo_hi or S.grad_limits(*flows.values(), *(direct.values() if direct else []))
    compact = T > 12
    row_h = 1.55 if direct is not None else 1.25
    top = 0.35 + 0.25 * title_lines                # title lines and the key to the arrows
    height = 0.95 + row_h * len(labels) + top
    fig = S.new_figure(S.MAX_WIDTH, height)
    S.title(fig, title)
    fig.text(0.5, 1 - (top - 0.12) / height, "grey →: forward $h_{t-1} \\to h_t$;   red ←: gradient flowing back",
             fontsize=S.SMALL, ha="center", va="center")
    artists = {}
    for r, name in enumerate(labels):
        bottom = (0.95 + row_h * (len(labels) - 1 - r)) / height
        ax = fig.add_axes((0.02, bottom, 0.96, (row_h - 0.05) / height))
        ax.axis("off")
        ax.set_xlim(-0.6, T + (1.6 if flows[name][-1] > 0 else 0.8))
        ax.set_ylim(-1.25, 1.9 if direct is not None else 1.0)
        if name:
            ax.text(-0.5, 0.75 if direct is None else 1.6, name, fontsize=S.FONT, ha="left", va="center",
                    fontweight="bold")
        t_all = np.arange(1, T + 1)
        # forward: thin grey arrows h_{t-1} -> h_t above the nodes
        if compact:
            S.wire(ax, [(0.6, 0.32), (T + 0.3, 0.32)], lw=1.0)
            ax.plot(t_all, np.zeros(T), "o", ms=4.5, color=S.INK, zorder=5)
            ticks = sorted({1, T} | set(range(10, T, 10)))
            for t in ticks:
                ax.text(t, -1.05, f"$h_{{{t}}}$", fontsize=S.SMALL, ha="center", va="center")
        else:
            for t in t_all:
                ax.text(t, 0, f"$h_{{{t}}}$", fontsize=S.FONT, ha="center", va="center", zorder=5,
                        bbox=dict(boxstyle="round,pad=0.25", facecolor=S.PAPER, edgecolor=S.INK, lw=1.2))
                if t > 1:
                    S.wire(ax, [(t - 0.72, 0.3), (t - 0.28, 0.3)], lw=1.0)
        if flows[name][-1] > 0:                   # the loss reads h_T
            ax.text(T + 1, 0, "$L$", fontsize=S.FONT, ha="center", va="center", zorder=5,
                    bbox=dict(boxstyle="circle,pad=0.2", facecolor=S.PAPER, edgecolor=S.INK, lw=1.2))
        # backward: one red arrow into every h_t, from h_{t+1} (or from L)
        for t in t_all:
            v = float(flows[name][t - 1])
            if v > 0:
                lw, color = S.grad_style(v, lo, hi)
                start = t + 1 - (-0.08 if compact and t < T else 0.3)      # compact: segments overlap a little
                end = t + (0.02 if compact else 0.3)
                artists[f"grad:{name}:{t}"] = S.wire(ax, [(start, -0.32), (end, -0.32)], color=color, lw=lw,
                                                     arrow=not compact or t == 1, zorder=3,
                                                     gid=f"grad:{name}:{t}")
            if direct is not None and direct[name][t - 1] > 0:
                lw, color = S.grad_style(float(direct[name][t - 1]), lo, hi)
                ax.text(t, 1.55, f"$y_{{{t}}}$", fontsize=S.SMALL + 1, ha="center", va="center")
                artists[f"direct:{name}:{t}"] = S.wire(ax, [(t, 1.3), (t, 0.35)], color=color, lw=lw, zorder=3,
                                                       gid=f"direct:{name}:{t}")
        if node_values is not None and not compact:
            for t in t_all:
                artists[f"value:{name}:{t}"] = ax.text(t, -0.95, _fmt(node_values[name][t - 1]),
                                                       fontsize=S.SMALL, ha="center", va="center")
    S.grad_colorbar(fig, lo, hi, (0.30, 0.55 / height, 0.40, 0.13 / height), "arrow: " + value_label
                    + " (log scale)")
    alt = (f"{title}: the unrolled network h_1 to h_{T} drawn as a chain, with red arrows carrying the "
           f"gradient backward; arrow width and colour follow the measured norm on a log "
           f"scale from {_fmt(lo)} to {_fmt(hi)}. ")
    for name in labels:
        f = flows[name]
        drawn = np.nonzero(f)[0]                  # steps with an arrow from the right
        if drawn.size:
            first, last = drawn[0], drawn[-1]
            alt += (f"{name or 'From step to step'}: the gradient arriving at h_{last + 1} has norm "
                    f"{_fmt(f[last])}, the one arriving at h_{first + 1} has norm {_fmt(f[first])}. ")
    if direct is not None:
        alt += "Arrows from above bring the gradient of each step's own output y_t. "
    return S.Diagram(fig, alt, artists)


def bptt_animation(flows, direct=None, node_values=None, title="Backpropagation through time",
                   max_frames=26, value_label="$\\Vert\\partial L/\\partial h_t\\Vert$"):
    """``bptt`` as an animation: frame k shows the gradient after k steps back from ``L``.

    Arrows not reached yet are drawn pale and dotted. Returns ``(anim, alt)``: a
    ``matplotlib.animation.FuncAnimation`` (show it with ``style.static_twin(anim, alt)``).
    """
    from matplotlib.animation import FuncAnimation
    max_frames = check_positive_int("max_frames", max_frames)
    d = bptt(flows, direct, node_values, title, value_label=value_label, title_lines=2)
    flows = S.check_norms("flows", flows)
    node_values = None if node_values is None else S.check_norms("node_values", node_values)
    labels = list(flows)
    T = len(flows[labels[0]])
    stride = int(np.ceil(T / max_frames))
    frames = list(range(T, 0, -stride))
    if frames[-1] != 1:
        frames.append(1)
    styles = {k: (a.get_linewidth(), a.get_edgecolor()) for k, a in d.artists.items() if not k.startswith("value")}
    head = d.fig.texts[0]                         # the suptitle

    def draw(t_reached):
        for key, a in d.artists.items():
            t = int(key.rsplit(":", 1)[1])
            shown = t >= t_reached
            if key.startswith("value"):
                a.set_visible(shown)
                continue
            lw, color = styles[key]
            a.set_linewidth(lw if shown else 0.8)
            a.set_color(color if shown else S.FADED)
            a.set_linestyle("-" if shown else ":")
        shown = node_values if node_values is not None else flows
        values = ", ".join(f"{name} {_fmt(shown[name][t_reached - 1])}" for name in labels if name) or \
            _fmt(shown[labels[0]][t_reached - 1])
        head.set_text(f"{title}: {T - t_reached} steps back, at $h_{{{t_reached}}}$\n{value_label} = {values}")
        return list(d.artists.values()) + [head]

    draw(frames[0])
    anim = FuncAnimation(d.fig, draw, frames=frames, interval=500, blit=False)
    alt = (f"Animation with a slider, one frame per step back in time: {d.alt} Each frame colours only "
           "the arrows the backward pass has reached so far; the title gives the norms at the current step.")
    return anim, alt
