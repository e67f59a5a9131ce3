"""Plotting helpers for the book (matplotlib only).

Every helper draws into an ``ax`` you pass or a new figure it creates, labels what it
shows (title, axis labels with units, colorbar) and returns ``(fig, ax)`` (or
``(fig, axes)``) so a chapter can adjust it. Style is set on the figure a helper makes,
never globally: importing this module changes no ``rcParams``, and pyplot is imported
only when a helper is called. New figures have a white background, so they stay
readable on a dark page theme too; colormaps are ``RdBu_r`` (signed values, white at 0)
and ``viridis`` (values in [0, 1]).
"""
from __future__ import annotations

import numpy as np

from .errors import HyperparameterError, ShapeError, check_array

__all__ = ["plot_hidden_states", "plot_grad_norms", "plot_gate_activations", "plot_gate_histograms",
           "plot_attention", "plot_training_curves", "plot_predictions", "plot_schedule"]

TITLE_SIZE = 12
LABEL_SIZE = 11
TICK_SIZE = 10
SIGNED_CMAP = "RdBu_r"      # diverging, white at 0: hidden states, cell states
UNIT_CMAP = "viridis"       # sequential: gates and attention weights in [0, 1]


def _figure(ax=None, nrows=1, ncols=1, figsize=(6.4, 3.6), **kwargs):
    """``ax`` and its figure, or a new white figure with ``nrows x ncols`` axes."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, facecolor="white", layout="constrained",
                             squeeze=nrows * ncols == 1, **kwargs)
    return fig, (axes if nrows * ncols == 1 else axes.ravel())


def _panels(axes, n, what, **figure_kw):
    """The caller's ``axes`` (checked to be ``n`` of them) or ``n`` new ones; returns (fig, axes)."""
    if axes is None:
        fig, axes = _figure(None, **figure_kw)
    axes = np.atleast_1d(axes)
    if len(axes) != n:
        raise ShapeError(f"axes: expected {n} axes (one per {what}), got {len(axes)}")
    return axes[0].figure, axes


def _label(ax, title=None, xlabel=None, ylabel=None):
    """Title, axis labels and tick labels at readable sizes (>= 10 pt), white plotting area."""
    if title is not None:
        ax.set_title(title, fontsize=TITLE_SIZE)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.set_facecolor("white")


def _colorbar(fig, im, ax, label):
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(label, fontsize=LABEL_SIZE)
    cb.ax.tick_params(labelsize=TICK_SIZE)
    return cb


def _one_sequence(name, a, b):
    """(T, H) from a (T, H) or (T, B, H) array (sample ``b``)."""
    a = np.asarray(a)
    if a.ndim == 3:
        if not 0 <= b < a.shape[1]:
            raise HyperparameterError(f"b: expected a sample index in [0, {a.shape[1]}), got {b!r}")
        a = a[:, b]
    return check_array(name, a, 2, letters="TH")


# ----------------------------------------------------------------------------- states and gradients

def plot_hidden_states(hs, ax=None, b=0, title="Hidden states", vmax=None):
    """Heatmap of one sequence's hidden states: units (rows) x time steps (columns).

    hs: (T, H) or (T, B, H) (sample ``b``). The color scale is symmetric around 0,
    ``[-1, 1]`` when every value fits (tanh), else ``±max|h|`` (relu), unless ``vmax`` is given.
    """
    h = _one_sequence("hs", hs, b)                                 # (T, H)
    if vmax is None:
        m = float(np.max(np.abs(h)))
        vmax = 1.0 if m <= 1.0 else m
    fig, ax = _figure(ax)
    im = ax.imshow(h.T, aspect="auto", origin="lower", cmap=SIGNED_CMAP, vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    _colorbar(fig, im, ax, "h value")
    _label(ax, title, "time step t", "hidden unit")
    return fig, ax


def plot_grad_norms(norms, ax=None, labels=None, logy=True, x=None, title="Gradient norm over time",
                    xlabel="time step t", ylabel=None):
    """Gradient norm vs time step, one curve per array.

    norms: a (T,) array, a list of arrays, a (K, T) array or a dict ``label -> array``.
    x: the horizontal positions (default ``0..T-1``), e.g. the gap ``T - t``.
    """
    if isinstance(norms, dict):
        labels, curves = list(norms), [np.asarray(v, dtype=np.float64) for v in norms.values()]
    elif isinstance(norms, (list, tuple)):
        curves = [np.asarray(v, dtype=np.float64) for v in norms]
    else:
        arr = np.asarray(norms, dtype=np.float64)
        curves = [arr] if arr.ndim == 1 else list(arr)
    for k, c in enumerate(curves):
        check_array(f"norms[{k}]", c, 1, letters="T", finite=False)
    if labels is not None and len(labels) != len(curves):
        raise ShapeError(f"labels: expected {len(curves)} labels (one per curve), got {len(labels)}")
    if ylabel is None:
        ylabel = "‖∂L/∂h_t‖" + (" (log scale)" if logy else "")
    fig, ax = _figure(ax)
    for k, c in enumerate(curves):
        xs = np.arange(len(c)) if x is None else np.asarray(x)
        if logy:
            c = np.where(c > 0, c, np.nan)                         # log scale: hide exact zeros
        ax.plot(xs, c, lw=2, label=None if labels is None else labels[k])
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    _label(ax, title, xlabel, ylabel)
    if labels is not None:
        ax.legend(fontsize=TICK_SIZE)
    return fig, ax


# ----------------------------------------------------------------------------- gates

_GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "candidate g",
               "c": "cell state c", "r": "reset gate r", "z": "update gate z", "n": "candidate n",
               "h": "hidden state h"}


def plot_gate_activations(cache, gates=("i", "f", "o"), b=0, cell=True, axes=None,
                          title="Gate activations"):
    """Heatmaps (unit x time) of the gates of one sequence, read from an LSTM/GRU cache.

    cache: has ``(T, B, H)`` fields named like the gates (``cache.i``, ``cache.f``, ...).
    gates: names to show; ``cell=True`` adds the cell state ``c`` when the cache has it.
    Sigmoid gates use ``viridis`` on [0, 1]; tanh values and ``c`` use ``RdBu_r`` around 0.
    Returns ``(fig, axes)`` with one row per panel.
    """
    names = list(gates) + (["c"] if cell and hasattr(cache, "c") and "c" not in gates else [])
    for name in names:
        if not hasattr(cache, name):
            raise HyperparameterError(f"gates: expected names of cache fields, got {name!r} "
                                      f"which {type(cache).__name__} does not have")
    fig, axes = _panels(axes, len(names), "panel", nrows=len(names),
                        figsize=(6.4, 1.9 * len(names) + 0.6), sharex=True)
    for ax, name in zip(axes, names):
        a = _one_sequence(f"cache.{name}", getattr(cache, name), b)  # (T, H)
        if name in ("i", "f", "o", "r", "z"):
            im = ax.imshow(a.T, aspect="auto", origin="lower", cmap=UNIT_CMAP, vmin=0, vmax=1,
                           interpolation="nearest")
        else:
            v = max(1.0, float(np.max(np.abs(a))))
            im = ax.imshow(a.T, aspect="auto", origin="lower", cmap=SIGNED_CMAP, vmin=-v, vmax=v,
                           interpolation="nearest")
        _colorbar(fig, im, ax, "value")
        _label(ax, _GATE_NAMES.get(name, name), None, "unit")
    _label(axes[-1], None, "time step t", None)
    fig.suptitle(title, fontsize=TITLE_SIZE)
    return fig, axes


def plot_gate_histograms(cache, gates=("i", "f", "o"), ax=None, bins=40, mask=None,
                         title="Distribution of gate values"):
    """Overlaid histograms of gate values over all steps, samples and units.

    mask (T, B) or None: only real (unmasked) steps are counted. A forget gate piled
    up near 1 keeps its memory; a gate stuck near 0 or 1 everywhere is saturated.
    """
    fig, ax = _figure(ax)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for name in gates:
        if not hasattr(cache, name):
            raise HyperparameterError(f"gates: expected names of cache fields, got {name!r} "
                                      f"which {type(cache).__name__} does not have")
        a = check_array(f"cache.{name}", getattr(cache, name), 3, letters="TBH")
        vals = a[np.asarray(mask, bool)] if mask is not None else a
        lo, hi = float(np.min(vals)), float(np.max(vals))
        e = edges if lo >= 0.0 and hi <= 1.0 else np.linspace(min(lo, -1.0), max(hi, 1.0), bins + 1)
        ax.hist(vals.ravel(), bins=e, histtype="step", lw=2, density=True, label=_GATE_NAMES.get(name, name))
    ax.legend(fontsize=TICK_SIZE)
    _label(ax, title, "gate value", "density")
    return fig, ax


# ----------------------------------------------------------------------------- attention

def plot_attention(weights, tokens, ax=None, query_tokens=None, title="Attention weights", vmax=None):
    """Attention over source tokens.

    weights: (S,) for one query -> a bar per token; (Q, S) -> heatmap, one row per query
    (``query_tokens`` labels the rows). ``tokens``: the S source tokens. ``vmax``: top of
    the colour scale (default: the largest weight); give several plots the same ``vmax``
    to compare them.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise ShapeError(f"weights: expected shape (S,) or (Q, S), got {w.shape}")
    S = w.shape[-1]
    if len(tokens) != S:
        raise ShapeError(f"tokens: expected {S} tokens (one per weight), got {len(tokens)}")
    fig, ax = _figure(ax, figsize=(max(4.0, 0.5 * S + 1.5), 3.6 if w.ndim == 1 else 0.45 * w.shape[0] + 1.8))
    if w.ndim == 1:
        ax.bar(np.arange(S), w, color="tab:blue")
        ax.set_ylim(0, max(1e-12, float(w.max())) * 1.1)
        _label(ax, title, "source token", "attention weight")
    else:
        top = float(w.max()) if vmax is None else float(vmax)
        im = ax.imshow(w, aspect="auto", cmap=UNIT_CMAP, vmin=0, vmax=max(1e-12, top),
                       interpolation="nearest")
        _colorbar(fig, im, ax, "attention weight")
        if query_tokens is not None:
            if len(query_tokens) != w.shape[0]:
                raise ShapeError(f"query_tokens: expected {w.shape[0]} tokens, got {len(query_tokens)}")
            ax.set_yticks(np.arange(w.shape[0]), [str(q) for q in query_tokens])
        _label(ax, title, "source token", "query (output step)")
    tilt = S > 8 or sum(len(str(t)) + 1 for t in tokens) > 40     # long sentences or words: slanted labels
    ax.set_xticks(np.arange(S), [str(t) for t in tokens], rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax.tick_params(labelsize=TICK_SIZE)
    return fig, ax


# ----------------------------------------------------------------------------- training

def _get(history, name):
    value = history.get(name) if isinstance(history, dict) else getattr(history, name, None)
    return None if value is None or len(value) == 0 else np.asarray(value, dtype=np.float64)


def plot_training_curves(history, axes=None, logy_loss=False, title="Training"):
    """Loss, gradient norm and learning rate per step (and the validation metric per epoch).

    history: an ``rnn_core.train.History`` or any object/dict with lists ``loss``,
    ``grad_norm``, ``lr`` (per step) and optionally ``val_metric`` (per epoch). Missing or
    empty series are skipped. Returns ``(fig, axes)``, one panel per series shown.
    """
    panels = [(k, _get(history, k)) for k in ("loss", "grad_norm", "lr", "val_metric")]
    panels = [(k, v) for k, v in panels if v is not None]
    if not panels:
        raise HyperparameterError("history: expected at least one of loss, grad_norm, lr, val_metric, got none")
    fig, axes = _panels(axes, len(panels), "series", ncols=len(panels),
                        figsize=(min(9.0, 2.9 * len(panels) + 0.4), 3.2))   # fits the text column
    text = {"loss": ("loss per step", "step", "loss"),
            "grad_norm": ("gradient norm", "step", "‖g‖"),
            "lr": ("learning rate", "step", "learning rate"),
            "val_metric": ("validation metric", "epoch", "metric")}
    for ax, (k, v) in zip(axes, panels):
        xs = np.arange(1, len(v) + 1) if k == "val_metric" else np.arange(len(v))
        ax.plot(xs, v, lw=1.5, marker="o" if k == "val_metric" else None, color="tab:blue")
        wide = k == "grad_norm" and np.all(v > 0) and v.max() > 100 * v.min()   # spans decades
        if (k == "loss" and logy_loss) or wide:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        _label(ax, *text[k])
    fig.suptitle(title, fontsize=TITLE_SIZE)
    return fig, axes


def plot_predictions(t, y_true, y_pred, ax=None, title="Predictions", xlabel="time step t", ylabel="value",
                     labels=("target", "prediction")):
    """A time series and a model's predictions on the same axes. t, y_true, y_pred: (N,)."""
    t = check_array("t", t, 1, letters="N")
    y_true = check_array("y_true", y_true, 1, (t.shape[0],), "N")
    y_pred = check_array("y_pred", y_pred, 1, (t.shape[0],), "N")
    fig, ax = _figure(ax, figsize=(7.2, 3.4))
    ax.plot(t, y_true, lw=2, color="black", label=labels[0])
    ax.plot(t, y_pred, lw=2, ls="--", color="tab:orange", label=labels[1])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=TICK_SIZE)
    _label(ax, title, xlabel, ylabel)
    return fig, ax


def plot_schedule(schedule, steps, ax=None, label=None, title="Learning-rate schedule", logy=False):
    """A learning-rate schedule: ``schedule`` is a function of the step (vectorised) or an array."""
    steps = np.asarray(steps)
    lr = np.asarray(schedule(steps) if callable(schedule) else schedule, dtype=np.float64)
    if lr.shape != steps.shape:
        raise ShapeError(f"schedule: expected one learning rate per step, shape {steps.shape}, got {lr.shape}")
    fig, ax = _figure(ax)
    ax.plot(steps, lr, lw=2, label=label)
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if label is not None:
        ax.legend(fontsize=TICK_SIZE)
    _label(ax, title, "step", "learning rate")
    return fig, ax
