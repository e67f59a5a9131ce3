"""Attention drawn in the book's visual language: scores, softmax weights, the context vector.

``attention(tokens, scores, weights)``       one query over the encoder states ``h_1 … h_T``
``encoder_decoder(source, target, weights)`` an encoder-decoder with attention, one decoder step shown

The line from ``h_t`` to the context is as wide as its weight ``α_t`` (a weight of 1 is
:data:`MAX_LW` points), so the picture is the formula ``context = Σ_t α_t h_t``.
"""
from __future__ import annotations

import numpy as np

from ..errors import HyperparameterError, ShapeError, check_array
from . import style as S

__all__ = ["attention", "encoder_decoder"]

MAX_LW = 12.0
ATTN = "#0b3d91"           # attention lines: dark blue, distinct from the gates' fills at any width


def _weights(name, w, n):
    w = check_array(name, np.asarray(w, dtype=np.float64), 1, (n,), "T")
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-6:
        raise HyperparameterError(f"{name}: expected softmax weights (>= 0, summing to 1), got sum {w.sum():.6g}")
    return w


def _state(ax, xy, text, fontsize=S.FONT):
    ax.text(*xy, text, fontsize=fontsize, ha="center", va="center", zorder=5,
            bbox=dict(boxstyle="round,pad=0.3", facecolor=S.PAPER, edgecolor=S.INK, lw=1.2))


def attention(tokens, scores, weights, title="Attention over the encoder states", query_label="$q$"):
    """One query attending over ``T`` states: score ``e_t``, weight ``α_t``, context ``Σ α_t h_t``.

    tokens: T labels (the words under the states); scores: (T,) the ``e_t``; weights: (T,) the
    softmax ``α_t`` (a masked step has weight 0 and is drawn faded). At most 12 steps.
    """
    T = len(tokens)
    if not 1 <= T <= 12:
        raise ShapeError(f"tokens: expected 1 to 12 tokens (one per state), got {T}")
    e = check_array("scores", np.asarray(scores, dtype=np.float64), 1, (T,), "T", finite=False)
    a = _weights("weights", weights, T)
    from matplotlib.patches import FancyBboxPatch, Rectangle
    fig = S.new_figure(S.MAX_WIDTH, 4.6)
    ax = fig.add_axes((0.01, 0.0, 0.98, 0.92))
    ax.axis("off")
    ax.set_xlim(-0.9, T + 1.4)
    ax.set_ylim(-0.45, 6.3)
    S.title(fig, title)
    xs = np.arange(1, T + 1)
    artists = {}
    ctx = ((T + 1) / 2, 5.7)
    for t, x in enumerate(xs):
        masked = a[t] == 0
        ax.text(x, -0.1, str(tokens[t]), fontsize=S.SMALL + 1, ha="center", va="center",
                color=S.FADED if masked else S.INK)
        S.wire(ax, [(x, 0.15), (x, 0.7)], color=S.FADED if masked else S.WIRE, lw=1.2)
        _state(ax, (x, 1.0), f"$h_{{{t + 1}}}$")
        if t > 0:
            S.wire(ax, [(x - 0.62, 1.0), (x - 0.38, 1.0)], lw=1.0)
        S.wire(ax, [(x, 1.3), (x, 1.95)], color=S.WIRE, lw=1.0)
        S.op_node(ax, (x, 2.2), "", r=0.13)
        ax.text(x, 2.45, f"{e[t]:+.2f}" if np.isfinite(e[t]) else "−∞", fontsize=S.SMALL, ha="center",
                va="bottom", color=S.FADED if masked else S.INK)
        # the weight: a bar and the number, then a line to the context as wide as α_t
        bar = 0.9 * a[t] / max(a.max(), 1e-12)
        ax.add_patch(Rectangle((x - 0.3, 3.75), 0.6, bar, facecolor=S.tint(ATTN, 0.5), edgecolor=ATTN,
                               lw=1.0, zorder=3))
        ax.text(x, 3.33, f"{a[t]:.2f}", fontsize=S.SMALL, ha="center", va="bottom", color=S.INK)
        if a[t] > 0:
            artists[f"alpha:{t + 1}"] = S.wire(ax, [(x, 3.75 + bar), ctx], color=ATTN, lw=0.3 + MAX_LW * a[t],
                                               arrow=False, zorder=2, gid=f"alpha:{t + 1}")
    # the query feeds every score
    _state(ax, (T + 1.0, 2.2), query_label)
    S.wire(ax, [(T + 0.75, 2.2), (0.75, 2.2)], color=S.WIRE, lw=1.0, arrow=False)
    ax.text(-0.85, 2.2, "score\n$e_t$", fontsize=S.SMALL, ha="left", va="center")
    ax.add_patch(FancyBboxPatch((0.6, 2.88), T - 0.2, 0.33, boxstyle="round,pad=0.02", facecolor=S.CELL_FILL,
                                edgecolor=S.INK, lw=1.0, zorder=3))
    ax.text((T + 1) / 2, 3.045, "softmax over $t$ (masked steps get 0)", fontsize=S.SMALL, ha="center",
            va="center", zorder=4)
    ax.text(-0.85, 3.85, "weight\n$\\alpha_t$", fontsize=S.SMALL, ha="left", va="center")
    ax.text(ctx[0], ctx[1] + 0.05, "context $= \\sum_t \\alpha_t h_t$", fontsize=S.FONT, ha="center", va="center",
            zorder=5, bbox=dict(boxstyle="round,pad=0.3", facecolor=S.PAPER, edgecolor=ATTN, lw=1.6))
    top = int(np.argmax(a))
    alt = (f"{title}: {T} encoder states h_1 to h_{T} over the tokens {', '.join(map(S.plain, tokens))}. The query "
           f"is compared with every state to give a score e_t, a softmax turns the scores into weights "
           f"alpha_t, and lines from the states to the context vector are as wide as their weights. The "
           f"largest weight, {a[top]:.2f}, goes to h_{top + 1} ('{S.plain(tokens[top])}'); the smallest non-zero "
           f"weight is {a[a > 0].min():.2f}.")
    return S.Diagram(fig, alt, artists)


def encoder_decoder(source, target, weights=None, step=None,
                    title="Encoder–decoder with attention"):
    """An encoder reads ``source``, a decoder writes ``target``; decoder step ``step`` attends.

    source, target: token labels (at most 8 each). weights: ``(len(target), len(source))``
    attention weights (rows sum to 1) or ``None`` (equal weights, drawn as a sketch). step: the
    decoder step (0-based) whose attention is drawn, default the last. Encoder states are
    ``h_t``, decoder states ``s_j``; the encoder's last state starts the decoder.
    """
    S_len, T_len = len(source), len(target)
    if not (1 <= S_len <= 8 and 1 <= T_len <= 8):
        raise ShapeError(f"source, target: expected 1 to 8 tokens each, got {S_len} and {T_len}")
    if weights is None:
        A = np.full((T_len, S_len), 1.0 / S_len)
    else:
        A = check_array("weights", np.asarray(weights, dtype=np.float64), 2, (T_len, S_len), "TS")
        for j in range(T_len):
            _weights(f"weights[{j}]", A[j], S_len)
    step = T_len - 1 if step is None else int(step)
    if not 0 <= step < T_len:
        raise HyperparameterError(f"step: expected a decoder step in [0, {T_len}), got {step}")
    fig = S.new_figure(S.MAX_WIDTH, 4.4)
    ax = fig.add_axes((0.01, 0.0, 0.98, 0.9))
    ax.axis("off")
    gap = 1.0
    x_enc = np.arange(S_len, dtype=float)
    x_dec = S_len + gap + np.arange(T_len, dtype=float)
    ax.set_xlim(-3.0, x_dec[-1] + 0.8)                               # room for the bold "encoder" label
    ax.set_ylim(-0.5, 4.9)
    S.title(fig, title)
    artists = {}
    for t, x in enumerate(x_enc):
        ax.text(x, -0.2, str(source[t]), fontsize=S.SMALL + 1, ha="center", va="center")
        S.wire(ax, [(x, 0.05), (x, 0.55)], lw=1.2)
        _state(ax, (x, 0.85), f"$h_{{{t + 1}}}$")
        if t > 0:
            S.wire(ax, [(x - 0.65, 0.85), (x - 0.35, 0.85)], lw=1.0)
    ax.text(-0.85, 0.85, "encoder", fontsize=S.FONT, ha="right", va="center", fontweight="bold")
    y_dec = 3.3
    S.wire(ax, [(x_enc[-1] + 0.35, 0.85), (x_enc[-1] + 0.65, 0.85), (x_enc[-1] + 0.65, y_dec),
                (x_dec[0] - 0.35, y_dec)], lw=1.2)
    for j, x in enumerate(x_dec):
        _state(ax, (x, y_dec), f"$s_{{{j + 1}}}$")
        S.wire(ax, [(x, y_dec + 0.3), (x, y_dec + 0.95)], lw=1.2)
        ax.text(x, y_dec + 1.2, str(target[j]), fontsize=S.SMALL + 1, ha="center", va="center")
        if j > 0:
            S.wire(ax, [(x - 0.65, y_dec), (x - 0.35, y_dec)], lw=1.0)
            S.wire(ax, [(x - 0.9, y_dec + 1.2), (x - 0.5, y_dec + 1.2), (x - 0.5, y_dec - 0.6),
                        (x - 0.2, y_dec - 0.3)], lw=0.9, ls=(0, (2, 2)))   # the previous output is the next input
    ax.text(x_dec[0] - 0.9, y_dec + 0.65, "decoder", fontsize=S.FONT, ha="right", va="center", fontweight="bold")
    ctx = (x_dec[step], 1.9)
    ax.text(*ctx, f"context$_{{{step + 1}}}$", fontsize=S.SMALL + 1, ha="center", va="center", zorder=5,
            bbox=dict(boxstyle="round,pad=0.25", facecolor=S.PAPER, edgecolor=ATTN, lw=1.6))
    S.wire(ax, [(ctx[0], 2.15), (ctx[0], y_dec - 0.3)], color=ATTN, lw=1.6)
    for t, x in enumerate(x_enc):
        artists[f"alpha:{t + 1}"] = S.wire(ax, [(x, 1.15), (ctx[0] - 0.6, ctx[1])], color=ATTN,
                                           lw=0.3 + MAX_LW * A[step, t], arrow=False, zorder=2, alpha=0.85,
                                           gid=f"alpha:{t + 1}")
    a = A[step]
    top = int(np.argmax(a))
    alt = (f"{title}: an encoder chain of states h_1 to h_{S_len} reads the source tokens "
           f"{', '.join(map(S.plain, source))}; its last state starts a decoder chain s_1 to s_{T_len} that writes "
           f"{', '.join(map(S.plain, target))}, each output fed back as the next input. For decoder step "
           f"{step + 1} ('{S.plain(target[step])}'), lines from every encoder state to its context vector are as "
           "wide as "
           + ("the attention weights (drawn equal: no weights were given)." if weights is None else
              f"the attention weights; the largest, {a[top]:.2f}, goes to h_{top + 1} ('{S.plain(source[top])}')."))
    return S.Diagram(fig, alt, artists)
