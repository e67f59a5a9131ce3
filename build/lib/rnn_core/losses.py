"""Losses: functions returning ``(loss, grad)``, plus ``softmax`` and ``log_softmax``.

    softmax(a)_k     = exp(a_k − m) / Σ_j exp(a_j − m),      m = max_j a_j
    log_softmax(a)_k = a_k − m − log Σ_j exp(a_j − m)         (log-sum-exp: never overflows)

    softmax_cross_entropy:  L = (1/N) Σ_{real tokens} −log softmax(a)_y
                            ∂L/∂a = (softmax(a) − onehot(y)) / N   at real tokens, 0 at padding
    mse:                    L = (1/N) Σ_{real entries} (p − t)²
                            ∂L/∂p = 2 (p − t) / N

``N`` counts only real (unmasked) tokens or entries. ``grad`` has the shape and
dtype of the logits / predictions; ``loss`` is a Python float.

A sequence-level classification loss (one label per sequence) is
``softmax_cross_entropy`` with logits ``(B, C)`` and targets ``(B,)``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import HyperparameterError, NonFiniteError, ShapeError, check_array, check_mask

__all__ = ["softmax", "log_softmax", "softmax_cross_entropy", "mse", "perplexity"]


def _check_logits(logits, axis) -> np.ndarray:
    """A non-empty finite float array with a valid ``axis``."""
    if np.ndim(logits) < 1:
        raise ShapeError(f"logits: expected an array of at least 1 dimension, got shape {np.shape(logits)}")
    a = check_array("logits", logits, np.ndim(logits))
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -a.ndim <= axis < a.ndim:
        raise ShapeError(f"axis: expected an int in [-{a.ndim}, {a.ndim}) for logits of shape {a.shape}, got {axis!r}")
    return a


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (the max is subtracted first)."""
    a = _check_logits(logits, axis)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``a − logsumexp(a)`` along ``axis``, computed without overflow or log(0)."""
    a = _check_logits(logits, axis)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_token_mask(mask, shape: tuple) -> np.ndarray | None:
    """A 0/1 mask of ``shape`` ((T, B) or (B,)), returned as bool, or None."""
    if mask is None:
        return None
    if len(shape) == 2:
        return check_mask(mask, *shape).astype(bool)
    mask = check_array("mask", mask, 1, shape, "B")
    m = mask.astype(np.float64)
    if not np.all((m == 0) | (m == 1)):
        raise ShapeError(f"mask: expected only 0/1 values, got values {np.unique(m)[:5].tolist()}")
    return mask.astype(bool)


def softmax_cross_entropy(logits, targets, mask=None) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer targets under softmax(logits), over real tokens.

    Inputs
    ------
    logits : (T, B, V) or (B, V) float
    targets : (T, B) or (B,) int in [0, V); at masked positions any value is ignored
    mask : (T, B) or (B,) of 0/1, optional; 0 marks padding

    Returns
    -------
    loss : float, mean negative log-likelihood per real token
    dlogits : same shape and dtype as ``logits``, zero at padding
    """
    if np.ndim(logits) not in (2, 3):
        raise ShapeError(f"logits: expected a 3-d (T, B, V) or 2-d (B, V) array, got shape {np.shape(logits)}")
    logits = check_array("logits", logits, np.ndim(logits), letters="TBV" if np.ndim(logits) == 3 else "BV")
    if not np.issubdtype(logits.dtype, np.floating):
        raise ShapeError(f"logits: expected a float array, got dtype {logits.dtype}")
    lead = logits.shape[:-1]                                    # (T, B) or (B,)
    V = logits.shape[-1]
    targets = check_array("targets", targets, len(lead), lead, "TB" if len(lead) == 2 else "B")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ShapeError(f"targets: expected an integer array of class ids, got dtype {targets.dtype}")
    real = _check_token_mask(mask, lead)
    if real is None:
        real = np.ones(lead, dtype=bool)
    N = int(real.sum())
    if N == 0:
        raise ShapeError("mask: expected at least one real (1) token, got all zeros")
    bad = real & ((targets < 0) | (targets >= V))
    if bad.any():
        raise ShapeError(f"targets: expected class ids in [0, V={V}), got {targets[bad][:5].tolist()}")
    y = np.where(real, targets, 0)                              # padding ids replaced by a safe 0

    logp = log_softmax(logits)                                  # (..., V)
    logp_y = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]   # (...)
    loss = -float(np.sum(logp_y[real])) / N

    dlogits = np.exp(logp)                                      # softmax, (..., V)
    np.put_along_axis(dlogits, y[..., None], np.take_along_axis(dlogits, y[..., None], axis=-1) - 1, axis=-1)
    dlogits *= (real / N)[..., None].astype(logits.dtype)
    return loss, dlogits.astype(logits.dtype, copy=False)


def mse(pred, target, mask=None) -> tuple[float, np.ndarray]:
    """Mean squared error over real entries.

    Inputs
    ------
    pred, target : same shape, e.g. (T, B, D) or (B, D)
    mask : 0/1 array whose shape is the leading axes of ``pred``, e.g. (T, B); optional

    Returns
    -------
    loss : float, mean of (pred − target)² over the real entries
    dpred : same shape and dtype as ``pred``
    """
    pred = check_array("pred", pred, max(np.ndim(pred), 1))
    target = check_array("target", target, pred.ndim, pred.shape, "?" * pred.ndim)
    diff = pred - target
    if mask is None:
        N = diff.size
        return float(np.sum(diff * diff)) / N, (2.0 / N * diff).astype(pred.dtype, copy=False)
    k = np.ndim(mask)
    if not 1 <= k <= pred.ndim:
        raise ShapeError(f"mask: expected the leading {min(2, pred.ndim)} axes of pred {pred.shape}, "
                         f"got shape {np.shape(mask)}")
    mask = check_array("mask", mask, k, pred.shape[:k], "TB"[:k] if k <= 2 else "")
    m = mask.astype(np.float64)
    if not np.all((m == 0) | (m == 1)):
        raise ShapeError(f"mask: expected only 0/1 values, got values {np.unique(m)[:5].tolist()}")
    per_entry = int(np.prod(pred.shape[k:], dtype=np.int64))   # entries per masked position
    N = int(m.sum()) * per_entry
    if N == 0:
        raise ShapeError("mask: expected at least one real (1) entry, got all zeros")
    m = m.reshape(m.shape + (1,) * (pred.ndim - k))
    loss = float(np.sum(m * diff * diff)) / N
    return loss, (2.0 / N * m * diff).astype(pred.dtype, copy=False)


def perplexity(mean_nll) -> float:
    """``exp(mean negative log-likelihood per token)``: the effective number of choices."""
    if isinstance(mean_nll, bool) or not isinstance(mean_nll, numbers.Real):
        raise HyperparameterError(f"mean_nll: expected a number >= 0, got {mean_nll!r}")
    if not np.isfinite(mean_nll):
        raise NonFiniteError(f"mean_nll: expected a finite number, got {mean_nll!r}")
    if mean_nll < 0:
        raise HyperparameterError(f"mean_nll: expected a number >= 0, got {mean_nll!r}")
    return float(np.exp(mean_nll))
