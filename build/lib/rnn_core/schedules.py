"""Learning-rate schedules: pure functions of the step, so the book can plot them.

Each takes ``step`` as an int or a numpy array of ints (vectorised, for plots) and
returns the learning rate at that step (a float, or an array of the same shape)::

    steps = np.arange(1000)
    plt.plot(steps, cosine_with_warmup(steps, lr0=1e-3, total_steps=1000, warmup_steps=100))

In a training loop: ``opt.lr = schedule(step)``, e.g. with
``functools.partial(step_decay, lr0=0.1, drop=0.5, every=10)``.

    inverse_time_decay   lr0 / (1 + rate·⌊step / decay_steps⌋)      (the article's rule, per epoch)
    step_decay           lr0 · drop^⌊step / every⌋
    exponential_decay    lr0 · γ^step
    cosine_with_warmup   linear 0 → lr0 over warm-up, then cosine lr0 → lr_min
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import HyperparameterError, check_positive, check_positive_int

__all__ = ["inverse_time_decay", "step_decay", "exponential_decay", "cosine_with_warmup"]


def _check_step(step):
    """A non-negative int, or an integer array of them; returns (array, was_scalar)."""
    s = np.asarray(step)
    if not (np.issubdtype(s.dtype, np.integer) and not s.dtype == np.bool_) or np.any(s < 0):
        raise HyperparameterError(f"step: expected a non-negative int or integer array, got {step!r}")
    return s, s.ndim == 0


def _out(lr: np.ndarray, scalar: bool):
    return float(lr) if scalar else lr


def inverse_time_decay(step, lr0: float, decay_rate: float, decay_steps: int = 1):
    """``lr = lr0 / (1 + decay_rate · ⌊step / decay_steps⌋)``.

    With ``decay_steps`` = steps per epoch this is the article's
    ``initial_lr / (1 + decay_rate * epoch)``.
    """
    s, scalar = _check_step(step)
    lr0 = check_positive("lr0", lr0)
    decay_rate = check_positive("decay_rate", decay_rate, allow_zero=True)
    decay_steps = check_positive_int("decay_steps", decay_steps)
    return _out(lr0 / (1.0 + decay_rate * (s // decay_steps)), scalar)


def step_decay(step, lr0: float, drop: float, every: int):
    """``lr = lr0 · drop^⌊step / every⌋``: multiply by ``drop`` every ``every`` steps."""
    s, scalar = _check_step(step)
    lr0 = check_positive("lr0", lr0)
    if not (isinstance(drop, numbers.Real) and 0 < drop <= 1):
        raise HyperparameterError(f"drop: expected a number in (0, 1], got {drop!r}")
    every = check_positive_int("every", every)
    return _out(lr0 * float(drop) ** (s // every), scalar)


def exponential_decay(step, lr0: float, gamma: float):
    """``lr = lr0 · γ^step`` with ``0 < γ ≤ 1``."""
    s, scalar = _check_step(step)
    lr0 = check_positive("lr0", lr0)
    if not (isinstance(gamma, numbers.Real) and 0 < gamma <= 1):
        raise HyperparameterError(f"gamma: expected a number in (0, 1], got {gamma!r}")
    return _out(lr0 * float(gamma) ** s, scalar)


def cosine_with_warmup(step, lr0: float, total_steps: int, warmup_steps: int, lr_min: float = 0.0):
    """Linear warm-up, then half a cosine down to ``lr_min`` (as in nanoGPT).

        step < W:        lr = lr0 · (step + 1) / W
        W ≤ step < N:    lr = lr_min + ½(lr0 − lr_min)(1 + cos(π·(step − W)/(N − W)))
        step ≥ N:        lr = lr_min

    with ``W = warmup_steps`` and ``N = total_steps``. Warm-up keeps Adam's first,
    poorly estimated steps small; the cosine ends training with small steps.
    """
    s, scalar = _check_step(step)
    lr0 = check_positive("lr0", lr0)
    N = check_positive_int("total_steps", total_steps)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) \
            or not 0 <= warmup_steps < N:
        raise HyperparameterError(f"warmup_steps: expected an int in [0, total_steps={N}), got {warmup_steps!r}")
    lr_min = check_positive("lr_min", lr_min, allow_zero=True)
    if lr_min > lr0:
        raise HyperparameterError(f"lr_min: expected a number <= lr0={lr0}, got {lr_min!r}")
    W = int(warmup_steps)
    s = s.astype(np.float64)
    warm = lr0 * (s + 1) / max(W, 1)
    progress = np.clip((s - W) / (N - W), 0.0, 1.0)
    cosine = lr_min + 0.5 * (lr0 - lr_min) * (1 + np.cos(np.pi * progress))
    return _out(np.where(s < W, warm, cosine), scalar)
