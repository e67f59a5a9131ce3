"""Scratch buffers that a backward pass reuses from one call to the next.

A large array that numpy allocates is fresh memory: the operating system maps each of its
4 KiB pages on first touch (a "page fault"), and the C library gives big blocks back to the
system when they are freed. A training loop that allocates the same (T, B, 4H) temporary in
every backward therefore pays for all of its page faults every time. Measured on the 2-core
machine of ``benchmarks/README.md``: a loop of LSTM forward + backward calls at
(T, B, D, H) = (50, 32, 64, 128) took 1,736 page faults per call, and 0 with the backward's two
large temporaries taken from here (one-thread CPU time 31.5-33.7 ms -> 21.4-26.1 ms per call in
three alternating runs); ``benchmarks/bench_cells.py`` at (100, 64, 128, 256), in three pairs of
runs before and after, went from 201-236 to 174-192 ms (LSTM) and from 180-201 to 141-162 ms (GRU).

``scratch(key, shape, dtype)`` hands out the same memory each time it is called with the same
``key`` in the same thread, growing it when a call needs more. Its contents are whatever the
last user left there. The rules for a caller:

* overwrite every element before reading it;
* never let the array (or a view of it) leave the function: return new arrays computed from it.

The buffers are per thread (``threading.local``), so two threads never share one. They stay
allocated after the call, at the largest size a key has needed (for the LSTM at
(T, B, H) = (100, 64, 256) in float32, 33 MB); ``release()`` frees the calling thread's buffers.
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["scratch", "release"]

_local = threading.local()


def scratch(key, shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype``, the same memory at every call with ``key``.

    The memory is the front of a 1-D buffer kept per (thread, key, dtype); the buffer is replaced
    by a larger one when ``shape`` needs more elements than it has.
    """
    buffers = _local.__dict__                         # {(key, dtype): 1-D array}, this thread's own
    n = int(np.prod(shape))
    dtype = np.dtype(dtype)
    buf = buffers.get((key, dtype))
    if buf is None or buf.size < n:
        buf = buffers[(key, dtype)] = np.empty(n, dtype)
    return buf[:n].reshape(shape)


def release():
    """Free the calling thread's scratch buffers (the next ``scratch`` call allocates again)."""
    _local.__dict__.clear()
