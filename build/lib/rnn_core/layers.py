"""The non-recurrent layers around a recurrent cell: Embedding, Dense, Dropout.

    Embedding   out[t, b] = W[ids[t, b]]                       W (V, D)
    Dense       y = x W + b  on the last axis, at every step    W (D_in, D_out), b (D_out,)
    Dropout     y = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p)      (inverted dropout; identity in eval)

Each has ``forward(...) -> (out, cache)`` and ``backward(dout, cache)``; the two
with parameters subclass ``Module`` and fill ``grads`` (overwritten, not accumulated).
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .errors import (HyperparameterError, ShapeError, check_array, check_dtype, check_positive_int, check_rng,
                     check_unit_interval)
from .init import xavier_uniform
from .module import Module

__all__ = ["Embedding", "Dense", "Dropout"]


class Embedding(Module):
    """A lookup table of ``V`` vectors of size ``D``: ``out[..., :] = W[ids[...]]``.

    Parameters: ``W (V, D)``, initialised ``N(0, 1)`` (as ``torch.nn.Embedding``).
    With ``padding_idx=p`` the row ``W[p]`` starts at zero and always gets zero
    gradient, so padding tokens map to the zero vector for the whole training.

    forward(ids (T, B) or (B,) int) -> out (..., D), cache
    backward(dout (..., D), cache) -> None   (ids are not differentiable; fills grads["W"])
    """

    def __init__(self, V: int, D: int, padding_idx: int | None = None, rng=0, dtype=np.float32):
        super().__init__()
        self.V = check_positive_int("V", V)
        self.D = check_positive_int("D", D)
        if padding_idx is not None and (isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral)
                                        or not 0 <= padding_idx < self.V):
            raise HyperparameterError(f"padding_idx: expected None or an int in [0, V={self.V}), got {padding_idx!r}")
        self.padding_idx = padding_idx
        self.dtype = check_dtype(dtype)
        W = check_rng(rng).standard_normal((self.V, self.D)).astype(self.dtype)
        if padding_idx is not None:
            W[padding_idx] = 0.0
        self.params = {"W": W}
        self.zero_grad()

    def forward(self, ids):
        if np.ndim(ids) not in (1, 2):
            raise ShapeError(f"ids: expected a 2-d (T, B) or 1-d (B,) array, got shape {np.shape(ids)}")
        ids = check_array("ids", ids, np.ndim(ids), letters="TB" if np.ndim(ids) == 2 else "B")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ShapeError(f"ids: expected an integer array of token ids, got dtype {ids.dtype}")
        bad = (ids < 0) | (ids >= self.V)
        if bad.any():
            raise ShapeError(f"ids: expected token ids in [0, V={self.V}), got {ids[bad][:5].tolist()}")
        out = self.params["W"][ids]                          # (..., D)
        return out, ids

    def backward(self, dout, cache) -> None:
        ids = cache
        if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
            raise ShapeError(f"cache: expected the token ids returned by this Embedding's forward, got "
                             f"{type(ids).__name__} {getattr(ids, 'dtype', '')} (another layer's cache?)")
        dout = check_array("dout", dout, ids.ndim + 1, ids.shape + (self.D,), "TBD"[-ids.ndim - 1:])
        dW = np.zeros_like(self.params["W"])                 # (V, D)
        np.add.at(dW, ids.ravel(), dout.reshape(-1, self.D))  # rows of repeated ids add up
        if self.padding_idx is not None:
            dW[self.padding_idx] = 0.0
        self.grads["W"] = dW
        return None


class Dense(Module):
    """An affine map on the last axis, applied at every time step: ``y = x W + b``.

    Parameters: ``W (D_in, D_out)`` Xavier-uniform, ``b (D_out,)`` zeros.

    forward(x (..., D_in)) -> y (..., D_out), cache
    backward(dy (..., D_out), cache) -> dx (..., D_in);  dW = xᵀ dy, db = Σ dy over all leading axes
    """

    def __init__(self, in_features: int, out_features: int, rng=0, dtype=np.float32):
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        self.dtype = check_dtype(dtype)
        self.params = {"W": xavier_uniform((self.in_features, self.out_features), check_rng(rng), self.dtype),
                       "b": np.zeros(self.out_features, dtype=self.dtype)}
        self.zero_grad()

    def forward(self, x):
        if np.ndim(x) < 1:
            raise ShapeError(f"x: expected an array of shape (..., D_in={self.in_features}), got a scalar")
        x = check_array("x", x, np.ndim(x), (None,) * (np.ndim(x) - 1) + (self.in_features,),
                        "?" * (np.ndim(x) - 1) + "D")
        x2 = x.reshape(-1, self.in_features)                  # (N, D_in), N = product of leading axes
        y = x2 @ self.params["W"] + self.params["b"]          # (N, D_out)
        return y.reshape(x.shape[:-1] + (self.out_features,)), x

    def backward(self, dy, cache):
        x = cache
        if not isinstance(x, np.ndarray) or x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ShapeError(f"cache: expected the input x (..., D_in={self.in_features}) returned by this "
                             f"Dense's forward, got {type(x).__name__} of shape {np.shape(x)} (another layer's cache?)")
        dy = check_array("dy", dy, x.ndim, x.shape[:-1] + (self.out_features,), "?" * (x.ndim - 1) + "O")
        x2 = x.reshape(-1, self.in_features)                  # (N, D_in)
        dy2 = dy.reshape(-1, self.out_features)               # (N, D_out)
        self.grads["W"] = x2.T @ dy2                          # (D_in, D_out)
        self.grads["b"] = dy2.sum(axis=0)                     # (D_out,)
        return (dy2 @ self.params["W"].T).reshape(x.shape)


def _check_bool(name: str, value) -> bool:
    """True or False exactly (``1`` or ``"yes"`` are refused, not coerced)."""
    if not isinstance(value, (bool, np.bool_)):
        raise HyperparameterError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


class DropoutCache(NamedTuple):
    """``mask`` is the scaled keep-mask ``m / (1 − p)`` (broadcastable to x), or None in eval mode."""
    mask: np.ndarray | None
    shape: tuple                                          # shape of x


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014): zero each unit with probability ``rate``
    and scale the survivors by ``1 / (1 − rate)``, so the expected output equals the input
    and evaluation needs no rescaling (``train=False`` is the identity).

    Apply it to the non-recurrent connections (input → layer, layer → layer, layer → output),
    not to the recurrent ``h_{t−1} → h_t`` path (Zaremba et al. 2014).
    With ``shared_across_time=True`` one mask ``(B, D)`` is drawn per sequence and reused at
    every step of an ``x (T, B, D)`` (the "variational" dropout of Gal & Ghahramani 2016).

    forward(x, rng=None, train=True) -> y (same shape), cache   (rng None: the layer's own generator)
    backward(dy, cache) -> dx = dy ⊙ m / (1 − p)
    """

    def __init__(self, rate: float, shared_across_time: bool = False, rng=0):
        super().__init__()
        self.rate = check_unit_interval("rate", rate)
        self.shared_across_time = _check_bool("shared_across_time", shared_across_time)
        self.rng = check_rng(rng)

    def forward(self, x, rng=None, train: bool = True):
        _check_bool("train", train)
        if self.shared_across_time:
            x = check_array("x", x, 3, letters="TBD")
        else:
            x = check_array("x", x, max(np.ndim(x), 1))
        if not np.issubdtype(x.dtype, np.floating):
            raise ShapeError(f"x: expected a float array, got dtype {x.dtype}")
        if not train or self.rate == 0.0:
            return x, DropoutCache(None, x.shape)
        gen = self.rng if rng is None else check_rng(rng)
        keep = 1.0 - self.rate
        mask_shape = x.shape[1:] if self.shared_across_time else x.shape   # (B, D) or x.shape
        mask = (gen.random(mask_shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * mask, DropoutCache(mask, x.shape)                 # (B, D) broadcasts over T

    def backward(self, dy, cache: DropoutCache):
        dy = check_array("dy", dy, len(cache.shape), cache.shape)
        if cache.mask is None:
            return dy
        return dy * cache.mask
