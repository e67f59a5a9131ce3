"""Optimizers (SGD, RMSprop, Adam) and gradient clipping.

One interface for every optimizer::

    opt = Adam(lr=1e-3)
    opt.step(params, grads)   # updates every params[name] IN PLACE from grads[name]
    opt.lr = 5e-4             # a schedule may set the learning rate before each step

``params`` and ``grads`` are dicts with the same keys and shapes (a model's or a
layer's ``params`` / ``grads``). The optimizer keeps its state (momentum buffers,
running averages, step counts) per parameter name, so one optimizer serves one
model. ``opt.reset()`` forgets that state. The formulas follow ``torch.optim``
exactly (defaults: no dampening, no centering, no AMSGrad); a parity test
compares ten-step trajectories in float64.

Clipping works on the whole ``grads`` dict at once:

    clip_grad_norm(grads, max_norm)   # one global norm over all arrays (Pascanu et al. 2013)
    clip_grad_value(grads, clip)      # each entry into [−clip, clip]
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import HyperparameterError, ShapeError, check_option, check_positive, check_unit_interval

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "global_norm", "clip_grad_norm", "clip_grad_value"]


def _check_pair(params: Mapping, grads: Mapping) -> None:
    """Same keys, same shapes (checked at every step: it is cheap)."""
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        raise ShapeError(f"params/grads: expected two dicts name -> array, "
                         f"got {type(params).__name__} and {type(grads).__name__}")
    if params.keys() != grads.keys():
        missing = sorted(set(params) - set(grads))
        extra = sorted(set(grads) - set(params))
        raise ShapeError(f"grads: expected the same keys as params, got missing {missing} and extra {extra}")
    for k, p in params.items():
        if not isinstance(p, np.ndarray):
            raise ShapeError(f"params[{k!r}]: expected an ndarray (updated in place), got {type(p).__name__}")
        if np.shape(grads[k]) != p.shape:
            raise ShapeError(f"grads[{k!r}]: expected shape {p.shape} like params[{k!r}], "
                             f"got {np.shape(grads[k])}")


class Optimizer:
    """Base class: holds ``lr`` and the per-parameter ``state``; subclasses define ``_update``."""

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.state: dict = {}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = check_positive("lr", value, allow_zero=True)   # 0 is allowed: a schedule may end there

    def reset(self) -> None:
        """Forget all per-parameter state (buffers and step counts)."""
        self.state = {}

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every ``params[name]`` in place using ``grads[name]``."""
        _check_pair(params, grads)
        for name, p in params.items():
            if name not in self.state or self.state[name]["shape"] != p.shape:
                self.state[name] = {"shape": p.shape, "t": 0}
            s = self.state[name]
            s["t"] += 1
            self._update(p, np.asarray(grads[name], dtype=p.dtype), s)

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

        plain:     p ← p − lr·g
        momentum:  buf ← μ·buf + g   (buf = g at the first step)
                   p ← p − lr·buf
        nesterov:  p ← p − lr·(g + μ·buf)
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = check_unit_interval("momentum", momentum)
        self.nesterov = check_option("nesterov", nesterov, (False, True))
        if nesterov and self.momentum == 0:
            raise HyperparameterError(f"nesterov: expected momentum > 0 with nesterov=True, got momentum={momentum!r}")

    def _update(self, p, g, s) -> None:
        mu = self.momentum
        if mu == 0:
            p -= self.lr * g
            return
        if "buf" not in s:
            s["buf"] = g.copy()
        else:
            s["buf"] *= mu
            s["buf"] += g
        step = g + mu * s["buf"] if self.nesterov else s["buf"]
        p -= self.lr * step


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012), torch's default form (not centered, no momentum).

        v ← α·v + (1 − α)·g²
        p ← p − lr·g / (√v + ε)
    """

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.alpha = check_unit_interval("alpha", alpha)
        self.eps = check_positive("eps", eps)

    def _update(self, p, g, s) -> None:
        if "v" not in s:
            s["v"] = np.zeros_like(p)
        v = s["v"]
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        p -= self.lr * g / (np.sqrt(v) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ε outside the square root.

        g ← g + λ·p                        (weight_decay λ: L2 added to the gradient, as torch.optim.Adam)
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        p ← p − lr·m̂ / (√v̂ + ε)
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.beta1 = check_unit_interval("beta1", beta1)
        self.beta2 = check_unit_interval("beta2", beta2)
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)

    def _update(self, p, g, s) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if "m" not in s:
            s["m"] = np.zeros_like(p)
            s["v"] = np.zeros_like(p)
        m, v, t = s["m"], s["v"], s["t"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        bc1 = 1 - self.beta1 ** t
        bc2 = 1 - self.beta2 ** t
        denom = np.sqrt(v) / np.sqrt(bc2) + self.eps  # √v̂ + ε
        p -= (self.lr / bc1) * m / denom               # lr·m̂ / (√v̂ + ε)


def _arrays(grads, name: str = "grads") -> list:
    """The gradient arrays of a dict (or list) of arrays."""
    arrs = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    if not arrs:
        raise ShapeError(f"{name}: expected at least one gradient array, got none")
    for a in arrs:
        if not isinstance(a, np.ndarray):
            raise ShapeError(f"{name}: expected ndarrays (scaled in place), got {type(a).__name__}")
    return arrs


def global_norm(grads) -> float:
    """``‖g‖ = √(Σ over all arrays and entries of g²)``, computed in float64."""
    return float(np.sqrt(sum(np.sum(np.square(a, dtype=np.float64)) for a in _arrays(grads))))


def clip_grad_norm(grads, max_norm: float) -> float:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

        if ‖g‖ > max_norm:  g ← g · max_norm / ‖g‖      (every array, in place)

    The direction of the update is kept; only its length is capped (Pascanu et
    al. 2013). Returns the norm *before* clipping, the number worth logging. A
    NaN/inf norm is returned as is and nothing is scaled (the training loop's
    guard reports it). torch's ``clip_grad_norm_`` divides by ``‖g‖ + 1e-6``
    instead of ``‖g‖``; the difference is below float32 resolution.
    """
    max_norm = check_positive("max_norm", max_norm)
    arrs = _arrays(grads)
    norm = global_norm(arrs)
    if np.isfinite(norm) and norm > max_norm:
        scale = max_norm / norm
        for a in arrs:
            a *= scale
    return norm


def clip_grad_value(grads, clip: float) -> None:
    """Clip every gradient entry into ``[−clip, clip]``, in place (changes the direction)."""
    clip = check_positive("clip", clip)
    for a in _arrays(grads):
        np.clip(a, -clip, clip, out=a)
