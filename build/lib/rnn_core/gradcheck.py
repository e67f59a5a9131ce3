"""Finite-difference gradient checks (float64), with an error bar on the finite difference.

The contract: ``f()`` is a function of no arguments that recomputes a scalar
loss from arrays it reads (parameters, inputs, initial states). ``gradcheck``
perturbs those arrays **in place**, calls ``f`` and restores them, then
compares the numerical gradient with the analytic one you computed before.

Two modes (HIPS autograd's trick for the second):

* ``"elementwise"``: every entry ``θ_k`` on its own. Exact but costs six forward
  passes per entry: use it for small shapes.
* ``"directional"``: a few random unit directions ``v`` over *all* arrays at
  once, comparing the numerical derivative of ``s ↦ f(θ + s v)`` with
  ``Σ ⟨∂f/∂θ, v⟩``. Six forward passes per direction: use it for long sequences.

**How the derivative is estimated.** A central difference
``D(h) = (f(θ+h) − f(θ−h)) / 2h`` has two errors: truncation ``≈ a h²`` and
round-off ``≈ ε |f| / h`` (``ε ≈ 1e-16``; the BLAS kernel and the thread count
decide how the round-off falls). With the old single step ``h = 1e-6`` the
round-off alone reached ~1e-7 relative on a long sequence whose directional
derivative is small next to ``|f|``, so a correct backward passed on one CPU and
failed on another. Here Richardson extrapolation removes the ``h²`` term::

    R(h) = (4 D(h/2) − D(h)) / 3   = f' + O(h⁴)

which allows a 1000× larger step (``h = 1e-3``) and so 1000× less round-off.
The estimate's own error is measured, not assumed: ``R(h/2)`` is 16× more
accurate in truncation, so ``|R(h) − R(h/2)|`` estimates the error of ``R(h)``
(truncation, round-off, or a kink of relu crossed by the step). When that
estimate is above ``RESOLUTION`` relative, the step is divided by 10 (at most
twice) and the most accurate attempt is kept.

The error reported is a relative error over a whole array,
``‖g_num − g_ana‖ / max(‖g_num‖ + ‖g_ana‖, tiny)`` (for a direction, the same
on the two scalars); ``GradcheckResult.fd_errors`` holds the finite difference's
own estimated error on the same scale. A correct backward gives about 1e-10;
the book's tests require < 1e-7, and a wrong one gives 1e-3 or more.

Example::

    res = gradcheck(loss, {"W_h": layer.params["W_h"], "x": x},
                          {"W_h": layer.grads["W_h"], "x": dx})
    assert res.max_error < 1e-7, res
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .errors import HyperparameterError, ShapeError, check_option, check_positive_int, check_rng

__all__ = ["GradcheckResult", "gradcheck", "numerical_gradient", "rel_error", "RESOLUTION"]

_TINY = 1e-300
RESOLUTION = 1e-8     # accept a finite difference whose own relative error is below this (10x under 1e-7)
_RETRIES = 2          # at most this many divisions of h by 10


def rel_error(a, b) -> float:
    """``‖a − b‖ / max(‖a‖ + ‖b‖, tiny)``: 0 when equal, 1 when unrelated."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), _TINY))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Plain central-difference gradient of ``f()`` w.r.t. ``x`` (perturbed in place).

    ``(f(x + h e_k) − f(x − h e_k)) / 2h`` per entry: the textbook formula, without
    the extrapolation and error estimate that ``gradcheck`` adds."""
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


def _richardson(f_at: Callable[[float], float], h: float) -> tuple[float, float]:
    """Derivative at 0 of ``s ↦ f_at(s)`` and an estimate of its error.

    D(s) = (f(s) − f(−s)) / 2s;  R(s) = (4 D(s/2) − D(s)) / 3.
    Returns R(h) and |R(h) − R(h/2)| (six evaluations of f)."""
    D = [(f_at(s) - f_at(-s)) / (2 * s) for s in (h, h / 2, h / 4)]
    r1 = (4 * D[1] - D[0]) / 3
    r2 = (4 * D[2] - D[1]) / 3
    return r1, abs(r1 - r2)


@dataclass
class GradcheckResult:
    """Relative error per array (elementwise) or per direction (directional), and the
    finite difference's own estimated relative error (``fd_errors``, same keys)."""

    mode: str
    errors: dict = field(default_factory=dict)
    fd_errors: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0

    @property
    def max_fd_error(self) -> float:
        """How small an error this check can resolve (should be far below the tolerance)."""
        return max(self.fd_errors.values()) if self.fd_errors else 0.0

    def __str__(self) -> str:
        rows = ", ".join(f"{k}: {v:.2e}" for k, v in self.errors.items())
        return (f"gradcheck({self.mode}) max relative error {self.max_error:.2e} "
                f"(finite difference's own error ≤ {self.max_fd_error:.1e}) [{rows}]")


def _check_inputs(arrays: Mapping, grads: Mapping) -> None:
    for name, x in arrays.items():
        if name not in grads:
            raise ShapeError(f"grads: expected a gradient for {name!r}, got keys {sorted(grads)}")
        if not isinstance(x, np.ndarray) or x.dtype != np.float64:
            raise ShapeError(f"arrays[{name!r}]: expected a float64 ndarray (checks are done in float64), "
                             f"got {getattr(x, 'dtype', type(x).__name__)}")
        if np.shape(grads[name]) != x.shape:
            raise ShapeError(f"grads[{name!r}]: expected shape {x.shape}, got {np.shape(grads[name])}")


def _best_of_steps(estimate: Callable[[float], tuple], analytic, h: float):
    """Run ``estimate(h)`` -> (numeric, fd_error arrays), retrying with h/10 while the
    relative fd error is above RESOLUTION; keep the attempt with the smallest one."""
    best = None
    for _ in range(_RETRIES + 1):
        num, err = estimate(h)
        scale = max(np.linalg.norm(num) + np.linalg.norm(analytic), _TINY)
        fd = float(np.linalg.norm(err) / scale)
        if best is None or fd < best[2]:
            best = (num, h, fd)
        if fd <= RESOLUTION:
            break
        h /= 10
    num, h, fd = best
    return rel_error(num, analytic), fd, h


def gradcheck(f: Callable[[], float], arrays: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
              *, mode: str = "elementwise", h: float = 1e-3, n_directions: int = 4,
              rng=0) -> GradcheckResult:
    """Compare analytic ``grads`` with extrapolated central differences of ``f`` w.r.t. ``arrays``.

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
    h : the largest step; the differences use h, h/2 and h/4 (and h/10... if needed).
    n_directions : number of random directions in directional mode.
    rng : seed or Generator for the directions.

    Returns a ``GradcheckResult``: ``errors`` (compare ``max_error`` with 1e-7),
    ``fd_errors`` (the finite difference's own estimated error) and ``steps`` (the h used).
    """
    check_option("mode", mode, ("elementwise", "directional"))
    if not (isinstance(h, float) and 0 < h < 1):
        raise HyperparameterError(f"h: expected a float in (0, 1), got {h!r}")
    n_directions = check_positive_int("n_directions", n_directions)
    _check_inputs(arrays, grads)
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
    result = GradcheckResult(mode)

    def record(key, estimate, analytic):
        result.errors[key], result.fd_errors[key], result.steps[key] = _best_of_steps(estimate, analytic, h)

    if mode == "elementwise":
        for name, x in arrays.items():
            def estimate(step, x=x):
                num, err = np.zeros(x.shape), np.zeros(x.shape)
                for k in np.ndindex(x.shape):
                    old = x[k]

                    def f_at(s):
                        x[k] = old + s
                        try:
                            return float(f())
                        finally:
                            x[k] = old
                    num[k], err[k] = _richardson(f_at, step)
                return num, err
            record(name, estimate, grads[name])
        return result

    gen = check_rng(rng)
    for d in range(n_directions):
        v = {k: gen.standard_normal(x.shape) for k, x in arrays.items()}
        norm = np.sqrt(sum(float(np.sum(u * u)) for u in v.values()))
        v = {k: u / norm for k, u in v.items()}                   # a unit direction over all arrays
        saved = {k: x.copy() for k, x in arrays.items()}

        def f_at(s):
            for k, x in arrays.items():
                x[...] = saved[k] + s * v[k]
            try:
                return float(f())
            finally:
                for k, x in arrays.items():
                    x[...] = saved[k]

        def estimate(step):
            num, err = _richardson(f_at, step)
            return np.array(num), np.array(err)
        analytic = sum(float(np.sum(grads[k] * v[k])) for k in arrays)
        record(f"direction {d}", estimate, np.array(analytic))
    return result
