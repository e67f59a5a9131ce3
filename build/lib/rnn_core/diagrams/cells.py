"""Gated cells drawn in the book's visual language (``rnn_core.diagrams.style``).

``lstm_cell(values=None, peephole=None)``  the LSTM step, the cell-state path on a yellow band; with
                                           ``values`` every wire carries one unit's real numbers
``gru_cell(reset_after=False)``            the GRU step
``gru_reset_conventions()``                the two places of the reset gate, drawn as a difference
``peepholes()``                            the LSTM with peepholes, and diagonal vs full connections

Equations (row vectors, fused gate blocks; see the Notation page)::

    LSTM  i,f,o = σ(a^i), σ(a^f), σ(a^o),  g = tanh(a^g),  c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
    GRU   r,z = σ(a^r), σ(a^z),  n = tanh(x W_x^n + b^n + (r ⊙ h_{t-1}) W_h^n),  h_t = (1-z) ⊙ n + z ⊙ h_{t-1}
"""
from __future__ import annotations

import numpy as np

from ..errors import HyperparameterError, check_option
from . import style as S

__all__ = ["lstm_cell", "gru_cell", "gru_reset_conventions", "peepholes"]

LSTM_KEYS = ("c_prev", "i", "f", "g", "o", "c", "h")


def _check_values(values):
    """One unit's numbers at one step: scalars that satisfy the LSTM equations (to 1e-4)."""
    missing = [k for k in LSTM_KEYS if k not in values]
    if missing:
        raise HyperparameterError(f"values: expected the keys {LSTM_KEYS}, missing {missing}")
    v = {k: float(np.asarray(values[k]).reshape(())) for k in LSTM_KEYS}
    c_eq = v["f"] * v["c_prev"] + v["i"] * v["g"]
    h_eq = v["o"] * np.tanh(v["c"])
    if abs(c_eq - v["c"]) > 1e-4 * (1 + abs(v["c"])) or abs(h_eq - v["h"]) > 1e-4:
        raise HyperparameterError(f"values: expected one step of one unit (c = f c_prev + i g = {c_eq:.5g}, "
                                  f"h = o tanh(c) = {h_eq:.5g}), got c = {v['c']:.5g}, h = {v['h']:.5g}")
    return v


def _draw_lstm(ax, values=None, peephole=None):
    """Draw one LSTM step into ``ax`` (x 0..13, y -0.6..7). Returns named artists."""
    from matplotlib.patches import FancyBboxPatch
    a = {}
    ax.add_patch(FancyBboxPatch((0.9, 0.55), 10.6, 5.75, boxstyle="round,pad=0.02,rounding_size=0.3",
                                facecolor=S.CELL_FILL, edgecolor="#999999", lw=1.0, zorder=0))
    y_c, y_bus, y_gate = 5.6, 1.3, 2.6
    a["carousel"] = S.carousel(ax, [(0.0, y_c), (12.9, y_c)])
    S.label(ax, (0.3, y_c + 0.45), "$c_{t-1}$")
    S.label(ax, (12.6, y_c + 0.45), "$c_t$")
    S.label(ax, (6.2, 6.65), "cell state: $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$", fontsize=S.SMALL + 1)
    # inputs: h_{t-1} and x_t, concatenated on the bus
    S.wire(ax, [(0.0, y_bus), (8.2, y_bus)], arrow=False)
    S.label(ax, (0.35, y_bus - 0.4), "$h_{t-1}$")
    S.wire(ax, [(1.8, -0.35), (1.8, y_bus)], arrow=False)
    S.label(ax, (1.8, -0.6), "$x_t$")
    S.label(ax, (5.3, 0.85), "$a_t = x_t W_x + h_{t-1} W_h + b$", fontsize=S.SMALL)
    gates = {"f": (3.0, "σ"), "i": (4.5, "σ"), "g": (6.2, "tanh"), "o": (8.2, "σ")}
    for gate, (x, fn) in gates.items():
        S.wire(ax, [(x, y_bus), (x, y_gate - 0.4)])
        a[f"gate:{gate}"] = S.layer_box(ax, (x, y_gate), fn, gate, gid=f"gate:{gate}")
    # forget: f ⊙ c_{t-1}
    S.wire(ax, [(3.0, y_gate + 0.4), (3.0, y_c - 0.3)], color=S.GATE_COLORS["f"])
    a["op:f"] = S.op_node(ax, (3.0, y_c), "⊙")
    S.label(ax, (2.6, 4.2), "$f_t$", color=S.GATE_COLORS["f"])
    # write: i ⊙ g, added to the cell
    S.wire(ax, [(4.5, y_gate + 0.4), (4.5, 4.3), (5.9, 4.3)], color=S.GATE_COLORS["i"])
    S.label(ax, (4.15, 3.55), "$i_t$", color=S.GATE_COLORS["i"])
    S.wire(ax, [(6.2, y_gate + 0.4), (6.2, 4.0)], color=S.GATE_COLORS["g"])
    S.label(ax, (5.85, 3.45), "$g_t$", color=S.GATE_COLORS["g"])
    a["op:ig"] = S.op_node(ax, (6.2, 4.3), "⊙")
    S.wire(ax, [(6.2, 4.6), (6.2, y_c - 0.3)])
    a["op:+"] = S.op_node(ax, (6.2, y_c), "+")
    # read: h_t = o ⊙ tanh(c_t)
    S.wire(ax, [(9.7, y_c), (9.7, 4.55)])
    S.op_node(ax, (9.7, 4.3), "tanh")
    S.wire(ax, [(9.7, 4.05), (9.7, y_gate + 0.3)])
    S.wire(ax, [(8.75, y_gate), (9.4, y_gate)], color=S.GATE_COLORS["o"])
    S.label(ax, (9.05, y_gate - 0.42), "$o_t$", color=S.GATE_COLORS["o"])
    a["op:h"] = S.op_node(ax, (9.7, y_gate), "⊙")
    S.wire(ax, [(9.7, y_gate - 0.3), (9.7, y_bus), (12.9, y_bus)])
    S.label(ax, (12.6, y_bus - 0.4), "$h_t$")
    S.label(ax, (10.6, 3.3), "$h_t = o_t \\odot \\tanh(c_t)$", fontsize=S.SMALL, ha="left")
    if peephole is not None:
        kind = check_option("peephole", peephole, ("diagonal", "full"))
        p = S.GATE_COLORS["p"]
        dashed = dict(color=p, lw=1.4, ls=(0, (3, 2)))
        S.wire(ax, [(2.2, y_c), (2.2, y_gate + 0.15), (2.45, y_gate + 0.15)], **dashed)
        S.wire(ax, [(2.2, 3.35), (3.95, 3.35), (3.95, y_gate + 0.4)], **dashed)
        S.wire(ax, [(7.6, y_c), (7.6, y_gate + 0.15), (7.65, y_gate + 0.15)], **dashed)
        P = ("p", "\\odot") if kind == "diagonal" else ("P", "")
        S.label(ax, (1.65, 4.2), f"${P[0]}_f, {P[0]}_i$", fontsize=S.SMALL)
        S.label(ax, (7.2, 4.75), f"${P[0]}_o$", fontsize=S.SMALL)
    if values is not None:
        v = _check_values(values)
        tag = S.value_tag
        tag(ax, (1.2, y_c - 0.45), f"{v['c_prev']:+.2f}")
        tag(ax, (3.0, 4.6), f"{v['f']:.2f}", S.GATE_COLORS["f"])
        tag(ax, (4.6, y_c + 0.45), f"{v['f'] * v['c_prev']:+.2f}")
        tag(ax, (5.1, 4.3), f"{v['i']:.2f}", S.GATE_COLORS["i"])
        tag(ax, (6.4, 3.45), f"{v['g']:+.2f}", S.GATE_COLORS["g"], ha="left")
        tag(ax, (6.95, 4.95), f"{v['i'] * v['g']:+.2f}")
        tag(ax, (8.1, y_c + 0.45), f"{v['c']:+.2f}")
        tag(ax, (10.45, 4.3), f"{np.tanh(v['c']):+.2f}", ha="left")
        tag(ax, (8.95, 3.1), f"{v['o']:.2f}", S.GATE_COLORS["o"])
        tag(ax, (11.1, y_bus + 0.4), f"{v['h']:+.2f}")
    return a


def lstm_cell(values=None, peephole=None, title=None):
    """One LSTM step: four gate layers, the cell-state path on a yellow band.

    values: optional dict of one unit's numbers at one step (scalars), keys
            ``c_prev, i, f, g, o, c, h`` (e.g. from an ``LSTM`` cache); every wire is then tagged
            with its value, and ``f c_prev``, ``i g``, ``tanh c`` are computed from them.
            They must satisfy the equations (checked), so the numbers come from a real step.
    peephole: None, "diagonal" or "full": adds the dashed peephole connections.
    """
    fig = S.new_figure(S.MAX_WIDTH, 4.3)
    ax = S.canvas_axes(fig, (0.0, 0.0, 1.0, 0.92), xlim=(-0.1, 13.1), ylim=(-0.85, 7.0))
    artists = _draw_lstm(ax, values, peephole)
    S.title(fig, title or ("One LSTM step" + (f" with {peephole} peepholes" if peephole else "")))
    alt = ("An LSTM cell. Along the top, the cell state runs from c_(t-1) on the left to c_t on the right as a "
           "thick line on a yellow band; on it sit a multiplication by the forget gate f_t and an addition of "
           "i_t times g_t. Below, h_(t-1) and x_t join into a bus that feeds four coloured layers: forget gate "
           "f (sigma, vermillion), input gate i (sigma, blue), candidate g (tanh, green) and output gate o "
           "(sigma, purple). On the right, tanh of c_t is multiplied by o_t to give h_t, which leaves at the "
           "bottom right.")
    if peephole:
        alt += (f" Dashed black lines are the {peephole} peephole connections: c_(t-1) feeds the forget and "
                "input gates, the new c_t feeds the output gate.")
    if values is not None:
        v = _check_values(values)
        alt += (f" Each wire is tagged with one unit's real value at this step: c_(t-1) = {v['c_prev']:.2f}, "
                f"f = {v['f']:.2f}, i = {v['i']:.2f}, g = {v['g']:.2f}, o = {v['o']:.2f}, "
                f"c_t = {v['c']:.2f}, h_t = {v['h']:.2f}.")
    return S.Diagram(fig, alt, artists)


# ----------------------------------------------------------------------------- GRU

def _draw_gru(ax, reset_after=False, emphasis=None):
    """Draw one GRU step into ``ax`` (x 0..13, y -0.6..7); ``emphasis="reset"`` fades all but the reset path."""
    from matplotlib.patches import FancyBboxPatch
    fade = emphasis == "reset"
    col = {k: (S.FADED if fade else S.GATE_COLORS[k]) for k in "rzn"}
    grey = S.FADED if fade else S.WIRE
    ax.add_patch(FancyBboxPatch((0.9, 0.55), 10.6, 5.75, boxstyle="round,pad=0.02,rounding_size=0.3",
                                facecolor=S.CELL_FILL, edgecolor="#999999", lw=1.0, zorder=0))
    y_h, y_bus, y_gate, y_n = 5.6, 1.3, 2.6, 3.3
    S.carousel(ax, [(0.0, y_h), (12.9, y_h)], faded=fade)
    S.label(ax, (0.35, y_h + 0.45), "$h_{t-1}$")
    S.label(ax, (12.6, y_h + 0.45), "$h_t$")
    S.label(ax, (6.3, 6.65), "$h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1}$", fontsize=S.SMALL + 1, faded=fade)
    S.wire(ax, [(0.6, y_h), (0.6, y_bus), (5.3, y_bus)], color=grey, arrow=False)
    S.wire(ax, [(1.7, -0.35), (1.7, y_bus)], color=grey, arrow=False)
    S.label(ax, (1.7, -0.6), "$x_t$")
    S.wire(ax, [(2.7, y_bus), (2.7, y_gate - 0.4)], color=grey)
    S.layer_box(ax, (2.7, y_gate), "σ", "z", faded=fade)
    S.wire(ax, [(4.2, y_bus), (4.2, y_gate - 0.4)], color=grey)
    S.layer_box(ax, (4.2, y_gate), "σ", "r")
    # update gate: z ⊙ h_{t-1} on the top path, (1 - z) ⊙ n below it
    S.wire(ax, [(2.7, y_gate + 0.4), (2.7, 4.6), (7.6, 4.6), (7.6, y_h - 0.3)], color=col["z"])
    S.label(ax, (2.35, 3.7), "$z_t$", color=col["z"])
    S.op_node(ax, (7.6, y_h), "⊙", faded=fade)
    S.wire(ax, [(7.6, 4.6), (8.65, 4.6)], color=col["z"])
    S.op_node(ax, (8.95, 4.6), "1−", faded=fade)
    S.wire(ax, [(9.25, 4.6), (9.9, 4.6)], color=col["z"])
    S.op_node(ax, (10.2, 4.6), "⊙", faded=fade)
    S.wire(ax, [(10.2, 4.9), (10.2, y_h - 0.3)], color=grey)
    S.op_node(ax, (10.2, y_h), "+", faded=fade)
    # the candidate n_t: the part where the two conventions differ
    r_col = S.GATE_COLORS["r"]
    S.wire(ax, [(5.3, y_bus), (5.3, y_n), (5.6 if reset_after else 5.7, y_n)], color=S.WIRE)
    x_first, x_second = 6.3, 7.75
    if reset_after:
        S.layer_box(ax, (x_first, y_n), "$W_h^n, b_h^n$", "n", w=1.4, fontsize=S.SMALL)
        S.wire(ax, [(x_first + 0.7, y_n), (x_second - 0.3, y_n)], color=S.WIRE)
        S.op_node(ax, (x_second, y_n), "⊙", color=r_col)
        x_r = x_second
        S.wire(ax, [(x_second + 0.3, y_n), (8.75, y_n)], color=S.WIRE)
    else:
        S.op_node(ax, (x_first, y_n), "⊙", color=r_col)
        S.wire(ax, [(x_first + 0.3, y_n), (x_second - 0.6, y_n)], color=S.WIRE)
        S.layer_box(ax, (x_second, y_n), "$W_h^n$", "n", w=1.2, fontsize=S.SMALL + 1)
        x_r = x_first
        S.wire(ax, [(x_second + 0.6, y_n), (8.75, y_n)], color=S.WIRE)
    S.wire(ax, [(4.2, y_gate + 0.4), (4.2, 3.95), (x_r, 3.95), (x_r, y_n + 0.3)], color=r_col)
    S.label(ax, (3.85, 3.55), "$r_t$", color=r_col)
    S.op_node(ax, (9.05, y_n), "+", faded=fade)
    S.wire(ax, [(9.05, 1.85), (9.05, y_n - 0.3)], color=grey)
    S.label(ax, (9.05, 1.55), "$x_t W_x^n + b^n$", fontsize=S.SMALL, faded=fade)
    S.wire(ax, [(9.35, y_n), (9.75, y_n)], color=grey)
    S.layer_box(ax, (10.35, y_n), "tanh", "n", w=1.0, faded=fade, fontsize=S.SMALL + 1)
    S.wire(ax, [(10.35, y_n + 0.4), (10.35, 4.3)], color=col["n"])
    S.label(ax, (10.75, 3.95), "$n_t$", color=col["n"])


def gru_cell(reset_after=False, title=None):
    """One GRU step (``reset_after=False``: the reset gate acts before the recurrent product)."""
    check_option("reset_after", reset_after, (False, True))
    fig = S.new_figure(S.MAX_WIDTH, 4.3)
    ax = S.canvas_axes(fig, (0.0, 0.0, 1.0, 0.92), xlim=(-0.1, 13.1), ylim=(-0.85, 7.0))
    _draw_gru(ax, reset_after)
    S.title(fig, title or "One GRU step")
    alt = _gru_alt(reset_after)
    return S.Diagram(fig, alt)


def _gru_alt(reset_after):
    where = ("h_(t-1) first goes through the layer W_h^n with its bias b_h^n, and the result is multiplied "
             "by r_t" if reset_after else "h_(t-1) is first multiplied by r_t, and the product goes through W_h^n")
    return ("A GRU cell. Along the top, the state runs from h_(t-1) to h_t as a thick line on a yellow band; "
            "on it, h_(t-1) is multiplied by the update gate z_t and (1 - z_t) times the candidate n_t is added. "
            "Below, h_(t-1) and x_t feed the update gate z (sigma, sky blue) and the reset gate r (sigma, "
            f"orange). In the candidate's path {where}; then x_t W_x^n + b^n is added and a tanh gives n_t.")


def gru_reset_conventions():
    """The GRU twice, everything faded except the candidate's path: where the reset gate acts."""
    fig = S.new_figure(S.MAX_WIDTH, 8.4)
    S.title(fig, "The GRU's two reset conventions differ only in the candidate's path", y=0.995)
    eqs = {False: ("reset before the product: rnn_core reset_after=False (Cho et al. 2014)",
                   "$n_t = \\tanh\\left(x_t W_x^n + b^n + (r_t \\odot h_{t-1})\\, W_h^n\\right)$"),
           True: ("reset after the product: reset_after=True (PyTorch, cuDNN)",
                  "$n_t = \\tanh\\left(x_t W_x^n + b^n + r_t \\odot (h_{t-1} W_h^n + b_h^n)\\right)$")}
    for k, reset_after in enumerate((False, True)):
        top = 0.945 - 0.475 * k
        ax = S.canvas_axes(fig, (0.0, top - 0.395, 1.0, 0.37), xlim=(-0.1, 13.1), ylim=(-0.85, 7.0))
        _draw_gru(ax, reset_after, emphasis="reset")
        fig.text(0.5, top, eqs[reset_after][0], ha="center", va="top", fontsize=S.FONT, fontweight="bold")
        fig.text(0.5, top - 0.40, eqs[reset_after][1], ha="center", va="top", fontsize=S.FONT)
    alt = ("Two GRU cells, one above the other, drawn alike and faded except for the candidate's path. "
           "Top, reset before the product: " + _gru_alt(False).split("path ")[1] +
           " Bottom, reset after the product: " + _gru_alt(True).split("path ")[1] +
           " The only difference is the order of the orange reset multiplication and the green layer W_h^n.")
    return S.Diagram(fig, alt)


# ----------------------------------------------------------------------------- peepholes

def _connections(ax, x0, kind, H):
    """Cell units (bottom row) to gate units (top row): one line per unit, or every pair."""
    ys, yg = 0.5, 2.7
    xs = x0 + np.arange(H) * 0.9
    for j, xj in enumerate(xs):
        for k, xk in enumerate(xs):
            if kind == "diagonal" and j != k:
                continue
            S.wire(ax, [(xj, ys + 0.25), (xk, yg - 0.3)], color=S.INK, lw=1.2, ls=(0, (3, 2)), arrow=False)
    for j, x in enumerate(xs):
        S.op_node(ax, (x, ys), "", r=0.22)
        S.layer_box(ax, (x, yg), "", "f", w=0.5, h=0.5)
    S.label(ax, (xs[0] - 0.55, ys), "$c_{t-1}$", ha="right")
    S.label(ax, (xs[0] - 0.55, yg), "$f_t$", ha="right", color=S.GATE_COLORS["f"])


def peepholes(H=4):
    """The LSTM with peepholes (dashed), and what ``diagonal`` and ``full`` connect, for H units."""
    if not isinstance(H, (int, np.integer)) or not 2 <= H <= 6:
        raise HyperparameterError(f"H: expected an int from 2 to 6 (units drawn), got {H!r}")
    fig = S.new_figure(S.MAX_WIDTH, 6.6)
    ax = S.canvas_axes(fig, (0.0, 0.37, 1.0, 0.56), xlim=(-0.1, 13.1), ylim=(-0.85, 7.0))
    _draw_lstm(ax, peephole="diagonal")
    S.title(fig, "Peephole connections: the gates look at the cell")
    ax = S.canvas_axes(fig, (0.0, 0.0, 1.0, 0.33), xlim=(0, 14.4), ylim=(-0.6, 3.6))
    _connections(ax, 1.6, "diagonal", H)
    _connections(ax, 9.2, "full", H)
    S.label(ax, (1.6 + 0.45 * (H - 1), 3.35), "diagonal: $c_{t-1} \\odot p_f$, $p_f$ of shape $(H,)$",
            fontsize=S.SMALL + 1)
    S.label(ax, (9.2 + 0.45 * (H - 1), 3.35), "full: $c_{t-1} P_f$, $P_f$ of shape $(H, H)$", fontsize=S.SMALL + 1)
    S.label(ax, (1.6 + 0.45 * (H - 1), -0.35), f"{H} weights: unit j sees its own cell", fontsize=S.SMALL)
    S.label(ax, (9.2 + 0.45 * (H - 1), -0.35), f"{H * H} weights: every unit sees every cell", fontsize=S.SMALL)
    alt = ("Top: an LSTM cell (cell state along the top on a yellow band, four coloured gate layers below) with "
           "dashed peephole connections: the old cell c_(t-1) feeds the forget and input gates, the new cell "
           f"c_t feeds the output gate. Bottom: the connections for H = {H} units, from the cell units to the "
           f"forget-gate units. Left, diagonal: {H} dashed lines, each unit's gate sees only its own cell. "
           f"Right, full: {H * H} dashed lines, every gate unit sees every cell unit.")
    return S.Diagram(fig, alt)
