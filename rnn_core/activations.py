"""Elementwise activations shared by the recurrent cells.

    sigmoid(x) = 1 / (1 + exp(-x))          sigmoid'(x) = s (1 - s)
    tanh(x)    = (e^x - e^-x) / (e^x + e^-x)  tanh'(x)    = 1 - t^2
    relu(x)    = max(x, 0)                  relu'(x)    = [x > 0]

Each takes an optional ``out`` array (same shape) so a cell can write into a
preallocated buffer, e.g. one gate block of a ``(B, 4H)`` pre-activation.

The sigmoid is computed without overflow for any finite ``x``: with
``e = exp(-|x|)`` (always in (0, 1]),

    sigmoid(x) = 1 / (1 + e)   for x >= 0
    sigmoid(x) = e / (1 + e)   for x <  0

so ``exp`` never sees a large positive argument.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "tanh", "relu"]


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid, numerically stable for any finite ``x``; same shape and dtype as ``x``.

    ``out`` may be ``x`` itself (in-place).
    """
    x = np.asarray(x)
    positive = x >= 0                      # remember the sign before x may be overwritten
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)                       # e = exp(-|x|) in (0, 1]
    numerator = np.where(positive, 1.0, e).astype(e.dtype, copy=False)
    np.add(e, 1.0, out=e)                  # e = 1 + exp(-|x|)
    return np.divide(numerator, e, out=out)


def tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent (numpy's, which is stable); ``out`` may be ``x``."""
    return np.tanh(x, out=out)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0); ``out`` may be ``x``."""
    return np.maximum(x, 0, out=out)
