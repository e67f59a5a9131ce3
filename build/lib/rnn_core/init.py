"""Weight initializers: Gaussian, Xavier/Glorot, He, orthogonal, and the forget-gate bias.

Every initializer takes a ``shape`` ``(fan_in, fan_out)`` in the package's row-vector
convention (``x @ W`` with ``W: (D, G·H)``), an ``rng`` (seed or Generator) and a
``dtype``, and returns a new array. Nothing here touches global ``np.random`` state.

    gaussian        W ~ N(0, std²)                             (the article's default, std = 0.01)
    xavier_uniform  W ~ U(−a, a),  a = gain·√(6 / (fan_in + fan_out))
    xavier_normal   W ~ N(0, σ²),  σ = gain·√(2 / (fan_in + fan_out))
    he_uniform      W ~ U(−a, a),  a = √(6 / fan_in)
    he_normal       W ~ N(0, σ²),  σ = √(2 / fan_in)
    orthogonal      WᵀW = I (tall) or WWᵀ = I (wide), block by block for fused gates
    forget_bias     b[H:2H] = 1   (LSTM gate order i, f, g, o)
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import HyperparameterError, ShapeError, check_array, check_dtype, check_positive, check_positive_int, check_rng

__all__ = ["gaussian", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
           "orthogonal", "forget_bias"]


def _check_shape(shape, ndim=None) -> tuple:
    """A tuple of positive ints (of length ``ndim`` when given)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ShapeError(f"shape: expected a tuple of positive ints, got {shape!r}") from None
    ok = len(shape) > 0 and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                                for s in shape)
    if not ok or (ndim is not None and len(shape) != ndim):
        want = f"a tuple of {ndim} positive ints" if ndim else "a tuple of positive ints"
        raise ShapeError(f"shape: expected {want}, got {shape!r}")
    return tuple(int(s) for s in shape)


def _fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a ``(fan_in, fan_out)`` matrix; a vector counts as (n, n)."""
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


def gaussian(shape, rng=None, std=0.01, dtype=np.float32) -> np.ndarray:
    """``N(0, std²)`` entries: the article's ``randn(...) * 0.01``, kept for comparison chapters."""
    shape = _check_shape(shape)
    std = check_positive("std", std)
    return (check_rng(rng).standard_normal(shape) * std).astype(check_dtype(dtype))


def xavier_uniform(shape, rng=None, dtype=np.float32, gain=1.0) -> np.ndarray:
    """Glorot & Bengio (2010): ``U(−a, a)`` with ``a = gain·√(6 / (fan_in + fan_out))``.

    Keeps the variance of activations and of gradients roughly equal across a
    linear layer; use ``gain`` for the nonlinearity (1 for tanh/sigmoid here).
    """
    shape = _check_shape(shape)
    gain = check_positive("gain", gain)
    fan_in, fan_out = _fans(shape)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return check_rng(rng).uniform(-a, a, size=shape).astype(check_dtype(dtype))


def xavier_normal(shape, rng=None, dtype=np.float32, gain=1.0) -> np.ndarray:
    """Glorot normal: ``N(0, σ²)`` with ``σ = gain·√(2 / (fan_in + fan_out))`` (the article's version)."""
    shape = _check_shape(shape)
    gain = check_positive("gain", gain)
    fan_in, fan_out = _fans(shape)
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return (check_rng(rng).standard_normal(shape) * std).astype(check_dtype(dtype))


def he_uniform(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """He et al. (2015) for ReLU layers: ``U(−a, a)`` with ``a = √(6 / fan_in)``."""
    shape = _check_shape(shape)
    fan_in, _ = _fans(shape)
    a = np.sqrt(6.0 / fan_in)
    return check_rng(rng).uniform(-a, a, size=shape).astype(check_dtype(dtype))


def he_normal(shape, rng=None, dtype=np.float32) -> np.ndarray:
    """He et al. (2015) for ReLU layers: ``N(0, σ²)`` with ``σ = √(2 / fan_in)``."""
    shape = _check_shape(shape)
    fan_in, _ = _fans(shape)
    std = np.sqrt(2.0 / fan_in)
    return (check_rng(rng).standard_normal(shape) * std).astype(check_dtype(dtype))


def _semi_orthogonal(m: int, n: int, gen: np.random.Generator) -> np.ndarray:
    """An (m, n) matrix with orthonormal columns (m ≥ n) or rows (m < n)."""
    tall = m >= n
    A = gen.standard_normal((max(m, n), min(m, n)))  # (big, small), tall
    Q, R = np.linalg.qr(A)                            # Q (big, small), orthonormal columns
    d = np.sign(np.diag(R))
    d[d == 0] = 1.0
    Q = Q * d                                          # sign fix: Q is then uniformly (Haar) distributed
    return Q if tall else Q.T


def orthogonal(shape, rng=None, dtype=np.float32, gain=1.0, blocks=1) -> np.ndarray:
    """A (semi-)orthogonal matrix of ANY 2-d shape, optionally block by block.

    Method (Saxe et al. 2014; as ``torch.nn.init.orthogonal_``): draw a Gaussian
    ``A (max(m,n), min(m,n))``, factor ``A = QR``, multiply each column of ``Q`` by
    ``sign(R_kk)`` (without it ``Q`` is not uniformly distributed), and transpose
    for a wide shape. Result, times ``gain``:

        tall (m ≥ n):  WᵀW = gain²·I   (orthonormal columns)
        wide (m < n):  WWᵀ = gain²·I   (orthonormal rows)

    With ``blocks=G`` the ``(m, G·n)`` matrix is split into ``G`` column blocks of
    shape ``(m, n)`` and each block is made (semi-)orthogonal on its own: a fused
    recurrent matrix ``W_h (H, 4H)`` gets four orthogonal ``H×H`` gate blocks.

    Why not the article's SVD version, ``u, _, v = svd(A); u if u.shape == shape else v``?
    ``np.linalg.svd`` of an ``(m, n)`` matrix returns by default the *full*
    ``u (m, m)`` and ``v (n, n)``. For ``m ≠ n`` neither is ``(m, n)``, so the function
    silently returns the square ``v (n, n)``: an ``(input_size, hidden_size)`` request
    gives a ``(hidden_size, hidden_size)`` matrix, wrong whenever ``input_size ≠ hidden_size``.

    Parameters
    ----------
    shape : (m, n) with n divisible by ``blocks``
    rng : seed or Generator
    dtype : float32 or float64
    gain : scale of the result
    blocks : number of gate blocks G along the columns
    """
    m, n = _check_shape(shape, ndim=2)
    gain = check_positive("gain", gain)
    G = check_positive_int("blocks", blocks)
    if n % G != 0:
        raise HyperparameterError(f"blocks: expected a divisor of shape[1]={n}, got {G}")
    gen = check_rng(rng)
    nb = n // G
    W = np.concatenate([_semi_orthogonal(m, nb, gen) for _ in range(G)], axis=1)  # (m, G·nb)
    return (gain * W).astype(check_dtype(dtype))


def forget_bias(b: np.ndarray, hidden_size: int, value=1.0) -> np.ndarray:
    """Set the forget-gate block of a fused LSTM bias, in place; returns ``b``.

    Gate order i, f, g, o, so ``b (4H,)`` has its f block at ``b[H:2H]``. A positive
    forget bias (Gers et al. 2000; Jozefowicz et al. 2015) starts the cell near
    "remember everything", ``f ≈ σ(1) ≈ 0.73``, so early gradients flow through time.
    """
    H = check_positive_int("hidden_size", hidden_size)
    b = check_array("b", b, 1, (4 * H,), ["4H"])
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)):
        raise HyperparameterError(f"value: expected a finite number, got {value!r}")
    b[H:2 * H] = value
    return b
