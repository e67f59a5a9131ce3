"""Errors raised at the public boundary of ``rnn_core``, and the checks that raise them.

Every error is a ``ValueError`` subclass whose message names the argument,
what was expected and what was given, e.g.::

    ShapeError: x: expected shape (T, B, D=8), got (5, 3, 7)

Inner functions (step functions, kernels) trust their inputs; the checks below
are called once, where a user's array enters a layer, loss or optimizer.
"""
from __future__ import annotations

import numbers
from typing import Iterable

import numpy as np


class RNNCoreError(ValueError):
    """Base class of every error ``rnn_core`` raises on bad input."""


class ShapeError(RNNCoreError):
    """An array has the wrong rank or shape."""


class DTypeError(ShapeError, TypeError):
    """An array holds the wrong kind of numbers (complex, strings, objects)."""


class HyperparameterError(RNNCoreError):
    """A size, rate or option is out of range or unknown."""


class NonFiniteError(RNNCoreError):
    """An input, loss or gradient contains NaN or infinity."""


class FileFormatError(RNNCoreError):
    """A file is not what ``rnn_core`` wrote (not an .npz, damaged, or missing an entry)."""


def _fmt(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def check_array(name: str, x, ndim: int, expect: Iterable = (), letters: str = "",
                finite: bool = True, allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as an ndarray after checking rank, shape and finiteness.

    ``expect`` gives the expected size per axis (``None`` = any); ``letters``
    names the axes for the message, e.g. ``"TBD"``.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as e:  # pragma: no cover - exotic inputs
            raise ShapeError(f"{name}: expected an array, got {type(x).__name__}") from e
    if not np.issubdtype(x.dtype, np.number) and x.dtype != np.bool_:
        raise DTypeError(f"{name}: expected a numeric array, got dtype {x.dtype}")
    if np.iscomplexobj(x):
        raise DTypeError(f"{name}: expected real numbers, got a complex array (dtype {x.dtype}); "
                         f"pass x.real if the imaginary part is meant to be dropped")
    expect = tuple(expect) if expect else (None,) * ndim
    letters = letters or "?" * ndim
    want = ", ".join(l if e is None else f"{l}={e}" for l, e in zip(letters, expect))
    if x.ndim != ndim:
        raise ShapeError(f"{name}: expected a {ndim}-d array of shape ({want}), got shape {_fmt(x.shape)}")
    for e, s in zip(expect, x.shape):
        if e is not None and e != s:
            raise ShapeError(f"{name}: expected shape ({want}), got {_fmt(x.shape)}")
    if not allow_empty and x.size == 0:
        raise ShapeError(f"{name}: expected a non-empty array of shape ({want}), got {_fmt(x.shape)}")
    if finite and np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        n = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise NonFiniteError(f"{name}: expected finite values, got {n} NaN/inf entries")
    return x


def check_positive_int(name: str, value) -> int:
    """A strictly positive integer (sizes, lengths, counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise HyperparameterError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_positive(name: str, value, allow_zero: bool = False) -> float:
    """A strictly positive (or non-negative) finite real number."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise HyperparameterError(f"{name}: expected a finite number {bound}, got {value!r}")
    return float(value)


def check_unit_interval(name: str, value, closed_right: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with ``closed_right``): rates, betas, momenta."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and 0 <= value and (value <= 1 if closed_right else value < 1)
    if not ok:
        raise HyperparameterError(
            f"{name}: expected a number in [0, 1{']' if closed_right else ')'}, got {value!r}")
    return float(value)


def check_option(name: str, value, options: Iterable):
    """One of a fixed set of options (strings, booleans)."""
    options = tuple(options)
    if value not in options:
        raise HyperparameterError(f"{name}: expected one of {options!r}, got {value!r}")
    return value


def check_mask(mask, T: int, B: int, name: str = "mask") -> np.ndarray | None:
    """A ``(T, B)`` array of 0/1 (bool or numeric); returns float or ``None``."""
    if mask is None:
        return None
    mask = check_array(name, mask, 2, (T, B), "TB")
    m = mask.astype(np.float64)
    if not np.all((m == 0) | (m == 1)):
        raise ShapeError(f"{name}: expected only 0/1 values, got values {np.unique(m)[:5].tolist()}")
    return mask


def check_cache(name: str, cache, cls, owner: str, sizes=None) -> None:
    """The cache handed to ``backward`` came from this kind of layer's ``forward`` with these sizes.

    ``sizes(cache)`` returns a dict mapping a size's name (e.g. ``"H"``) to (expected, got)."""
    if not isinstance(cache, cls):
        raise ShapeError(f"{name}: expected the {cls.__name__} returned by this {owner}'s forward, "
                         f"got {type(cache).__name__}")
    for what, (want, got) in (sizes(cache) if sizes is not None else {}).items():
        if want != got:
            raise ShapeError(f"{name}: expected a cache from a {owner} with {what} = {want}, got {got} "
                             f"(a cache from another layer?)")


def check_rng(rng) -> np.random.Generator:
    """A seed (int or None) or a ``np.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise HyperparameterError(f"rng: expected a non-negative int seed, None or np.random.Generator, got {rng!r}")


def check_dtype(dtype) -> np.dtype:
    """float32 (training) or float64 (checks)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise HyperparameterError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise HyperparameterError(f"dtype: expected float32 or float64, got {dt}")
    return dt
