"""Connectivity on real text: how strongly each earlier character moves the next prediction.

After Madsen (2019), "Visualizing memorization in RNNs" (Distill), and Cashman et al. (2019),
RNNbow: for a character language model reading ``x_1 … x_T``, the connectivity of step ``t``
is the gradient norm

    κ_t = ‖∂ log p(y_T | x_1 … x_T) / ∂x_t‖          (x_t: the one-hot or embedded input at t)

of the log-probability of the true next character with respect to that character's input.
``connectivity_norms`` measures it with one backward pass (float64 copies of the layers);
``connectivity`` shades each character of the passage by ``κ_t`` relative to the model's
largest, on a log scale, one block per model, so the reader sees how far back each one looks.
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import HyperparameterError, ShapeError, check_array
from ..losses import softmax
from . import style as S

__all__ = ["connectivity_norms", "connectivity", "reach"]


def connectivity_norms(model, ids, target):
    """``κ_t`` for ``t = 1..T`` and the probability the model gives the true next token.

    model: a ``CharLM``; ids: (T,) int token ids of the passage; target: the id of the token
    that follows it. Returns ``(kappa (T,), p_target)``, float64.
    """
    ids = check_array("ids", ids, 1, letters="T")
    if not np.issubdtype(ids.dtype, np.integer) or ids.size == 0:
        raise ShapeError(f"ids: expected a non-empty 1-d array of token ids, got dtype {ids.dtype}, size {ids.size}")
    V = model.V
    if not 0 <= int(target) < V:
        raise HyperparameterError(f"target: expected a token id in [0, {V}), got {target!r}")
    cell = copy.deepcopy(model.cell).astype(np.float64)
    out = copy.deepcopy(model.out).astype(np.float64)
    if model.embed is None:
        x = np.eye(V)[ids][:, None, :]                                # (T, 1, V) one-hot
    else:
        x = np.asarray(model.embed.params["W"], np.float64)[ids][:, None, :]   # (T, 1, E)
    hs, _, cell_cache = cell.forward(x)                               # (T, 1, H)
    logits, out_cache = out.forward(hs)                               # (T, 1, V)
    p = softmax(logits[-1, 0])                                        # (V,) next-token distribution
    dlogits = np.zeros_like(logits)
    dlogits[-1, 0] = -p
    dlogits[-1, 0, int(target)] += 1.0                                # ∂ log p_target / ∂ logits
    dhs = out.backward(dlogits, out_cache)                            # (T, 1, H)
    dx, _ = cell.backward(dhs, cell_cache)                            # (T, 1, D)
    return np.linalg.norm(dx[:, 0], axis=-1), float(p[int(target)])


def _show(ch):
    return {" ": "␣", "\n": "↵", "\t": "→"}.get(ch, ch)


def connectivity(text, norms, next_char, probs=None, decades=3.0, cols=44,
                 title="How far back does each cell look?"):
    """Each character of ``text`` shaded by its connectivity ``κ_t``, one block per model.

    text: the passage (T characters); norms: dict ``label -> (T,)`` from ``connectivity_norms``;
    next_char: the character to be predicted (drawn after the passage); probs: optional dict
    ``label -> p(next_char)``. Shading is ``κ_t / max_t κ_t`` on a log scale over ``decades``.
    ``artists["char:<label>:<t>"]`` is the shaded box of character ``t`` (1-based).
    """
    T = len(text)
    norms = S.check_norms("norms", norms, T)
    if not 1 <= len(norms) <= 4:
        raise HyperparameterError(f"norms: expected 1 to 4 models, got {len(norms)}")
    if not (isinstance(decades, (int, float)) and decades > 0):
        raise HyperparameterError(f"decades: expected a number > 0, got {decades!r}")
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle
    cmap = colormaps[S.GRAD_CMAP]
    rows = int(np.ceil((T + 1) / cols))
    cols = int(np.ceil((T + 1) / rows))                               # balanced rows, next char included
    block = rows + 1.0
    height = 0.6 + 0.3 * block * len(norms) + 0.95
    fig = S.new_figure(S.MAX_WIDTH, height)
    S.title(fig, title)
    ax = fig.add_axes((0.01, 0.95 / height, 0.98, 1 - 1.55 / height))
    ax.axis("off")
    ax.set_xlim(-0.2, cols + 0.2)
    ax.set_ylim(-block * len(norms) + 0.3, 0.2)
    artists = {}
    for m, (name, k) in enumerate(norms.items()):
        rel = k / k.max() if k.max() > 0 else k
        shade = np.clip(1 + np.log10(np.maximum(rel, 10.0 ** -decades)) / decades, 0, 1)   # 0..1
        y0 = -m * block
        head = name + (f"   p(next = '{_show(next_char)}') = {probs[name]:.2f}" if probs else "")
        ax.text(0, y0 - 0.25, head, fontsize=S.FONT, ha="left", va="center", fontweight="bold")
        for t in range(T + 1):
            r, c = divmod(t, cols)
            x, y = c, y0 - 1.0 - r
            if t == T:                                                 # the character to predict
                ax.add_patch(Rectangle((x + 0.04, y - 0.42), 0.92, 0.84, facecolor=S.PAPER, edgecolor=S.INK,
                                       lw=1.4, ls=(0, (2, 1.5))))
                ax.text(x + 0.5, y, _show(next_char), fontsize=S.SMALL + 1, ha="center", va="center",
                        family="monospace", fontweight="bold")
                continue
            color = cmap(0.05 + 0.95 * shade[t])
            artists[f"char:{name}:{t + 1}"] = ax.add_patch(
                Rectangle((x + 0.04, y - 0.42), 0.92, 0.84, facecolor=color, edgecolor="none",
                          gid=f"char:{name}:{t + 1}"))
            ax.text(x + 0.5, y, _show(text[t]), fontsize=S.SMALL + 1, ha="center", va="center", family="monospace",
                    color=S.PAPER if shade[t] > 0.6 else S.INK)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, LogNorm
    cax = fig.add_axes((0.25, 0.55 / height, 0.5, 0.13 / height))
    cb = fig.colorbar(ScalarMappable(norm=LogNorm(10.0 ** -decades, 1.0),
                                     cmap=ListedColormap(cmap(np.linspace(0.05, 1.0, 256)))),
                      cax=cax, orientation="horizontal")
    cb.set_label("$\\kappa_t$ / its largest: gradient of log p(next) w.r.t. the input at $t$", fontsize=S.SMALL)
    cb.ax.tick_params(labelsize=S.SMALL)
    alt = (f"{title} The passage \"{text}\" is shown once per model ({', '.join(norms)}), each character "
           f"shaded by how strongly it moves the model's prediction of the next character, '{next_char}' "
           f"(the gradient norm, relative to the model's largest, on a log scale over {decades:g} decades). ")
    for name, k in norms.items():
        alt += (f"{name}: reaches back {reach(k)} characters (the earliest with at least 1% of its "
                "strongest influence)"
                + (f", p(next) = {probs[name]:.2f}. " if probs else ". "))
    return S.Diagram(fig, alt, artists)


def reach(kappa, fraction=0.01):
    """How far back a model looks: ``T - t* + 1`` for the earliest step ``t*`` with ``κ_t ≥ fraction · max κ``."""
    k = check_array("kappa", kappa, 1, letters="T")
    rel = k / k.max()
    return int(len(k) - np.argmax(rel >= fraction))
