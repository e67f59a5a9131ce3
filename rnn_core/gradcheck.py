"""Finite-difference gradient checks (central differences, float64).

The contract: ``f()`` is a function of no arguments that recomputes a scalar
loss from arrays it reads (parameters, inputs, initial states). ``gradcheck``
perturbs those arrays **in place**, calls ``f`` and restores them, then
compares the numerical gradient with the analytic one you computed before.

Two modes (HIPS autograd's trick for the second):

* ``"elementwise"``: every entry, ``(f(θ+h e_k) − f(θ−h e_k)) / 2h``. Exact but
  costs two forward passes per entry: use it for small shapes.
* ``"directional"``: a few random unit directions ``v`` over *all* arrays at
  once, comparing ``(f(θ+hv) − f(θ−hv)) / 2h`` with ``Σ ⟨∂f/∂θ, v⟩``. Two
  forward passes per direction: use it for long sequences.

The error reported is a relative error over a whole array,
``‖g_num − g_ana‖ / max(‖g_num‖ + ‖g_ana‖, tiny)`` (for a direction, the same
on the two scalars). In float64 with ``h = 1e-6`` a correct backward gives
about 1e-10; the book's tests require < 1e-7.

Example::

    res = gradcheck(loss, {"W_h": layer.params["W_h"], "x": x},
                          {"W_h": layer.grads["W_h"], "x": dx})
    assert res.max_error < 1e-7, res
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .errors import HyperparameterError, ShapeError, check_option, check_rng

__all__ = ["GradcheckResult", "gradcheck", "numerical_gradient", "rel_error"]

_TINY = 1e-300


def rel_error(a, b) -> float:
    """``‖a − b‖ / max(‖a‖ + ‖b‖, tiny)``: 0 when equal, 1 when unrelated."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), _TINY))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to ``x`` (perturbed in place)."""
    g = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        k = it.multi_index
        old = x[k]
        x[k] = old + h
        fp = float(f())
        x[k] = old - h
        fm = float(f())
        x[k] = old
        g[k] = (fp - fm) / (2 * h)
    return g


@dataclass
class GradcheckResult:
    """Relative error per array (elementwise) or per direction (directional)."""

    mode: str
    errors: dict = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0

    def __str__(self) -> str:
        rows = ", ".join(f"{k}: {v:.2e}" for k, v in self.errors.items())
        return f"gradcheck({self.mode}) max relative error {self.max_error:.2e} [{rows}]"


def _check_inputs(arrays: Mapping, grads: Mapping) -> None:
    for name, x in arrays.items():
        if name not in grads:
            raise ShapeError(f"grads: expected a gradient for {name!r}, got keys {sorted(grads)}")
        if not isinstance(x, np.ndarray) or x.dtype != np.float64:
            raise ShapeError(f"arrays[{name!r}]: expected a float64 ndarray (checks are done in float64), "
                             f"got {getattr(x, 'dtype', type(x).__name__)}")
        if np.shape(grads[name]) != x.shape:
            raise ShapeError(f"grads[{name!r}]: expected shape {x.shape}, got {np.shape(grads[name])}")


def gradcheck(f: Callable[[], float], arrays: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
              *, mode: str = "elementwise", h: float = 1e-6, n_directions: int = 4,
              rng=0) -> GradcheckResult:
    """Compare analytic ``grads`` with central differences of ``f`` w.r.t. ``arrays``.

    Parameters
    ----------
    f : callable
        ``f() -> float``; recomputes the loss from the current contents of ``arrays``.
    arrays : dict name -> float64 array
        The arrays to perturb (parameters, inputs, states). They are modified in
        place during the check and restored exactly afterwards.
    grads : dict name -> array
        The analytic gradients, same keys and shapes. Copy them before calling if
        ``f`` overwrites them (e.g. if it calls ``backward``).
    mode : "elementwise" or "directional"
    h : step of the central difference.
    n_directions : number of random directions in directional mode.
    rng : seed or Generator for the directions.
    """
    check_option("mode", mode, ("elementwise", "directional"))
    if not (isinstance(h, float) and 0 < h < 1):
        raise HyperparameterError(f"h: expected a float in (0, 1), got {h!r}")
    _check_inputs(arrays, grads)
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
    result = GradcheckResult(mode)
    if mode == "elementwise":
        for name, x in arrays.items():
            result.errors[name] = rel_error(numerical_gradient(f, x, h), grads[name])
        return result
    gen = check_rng(rng)
    for d in range(n_directions):
        v = {k: gen.standard_normal(x.shape) for k, x in arrays.items()}
        norm = np.sqrt(sum(float(np.sum(u * u)) for u in v.values()))
        v = {k: u / norm for k, u in v.items()}
        saved = {k: x.copy() for k, x in arrays.items()}
        for k, x in arrays.items():
            x += h * v[k]
        fp = float(f())
        for k, x in arrays.items():
            x[...] = saved[k] - h * v[k]
        fm = float(f())
        for k, x in arrays.items():
            x[...] = saved[k]
        numeric = (fp - fm) / (2 * h)
        analytic = sum(float(np.sum(grads[k] * v[k])) for k in arrays)
        result.errors[f"direction {d}"] = rel_error(numeric, analytic)
    return result
