"""Scratch buffers (rnn_core/scratch.py): reused memory that never leaks into a result."""
import threading

import numpy as np
import pytest

from rnn_core import GRU, LSTM
from rnn_core import scratch as scratch_module
from rnn_core.scratch import release, scratch
from helpers import randomize


def test_same_key_same_memory_and_growth():
    release()
    a = scratch("t.a", (3, 4), np.float32)
    b = scratch("t.a", (2, 5), np.float32)               # fewer elements: the same memory
    assert a.shape == (3, 4) and b.shape == (2, 5) and b.dtype == np.float32
    assert np.shares_memory(a, b)
    c = scratch("t.a", (5, 5), np.float32)               # more elements: a new, larger buffer
    assert c.shape == (5, 5) and not np.shares_memory(a, c)
    assert np.shares_memory(c, scratch("t.a", (25,), np.float32))
    assert not np.shares_memory(c, scratch("t.b", (5, 5), np.float32))        # another key
    assert not np.shares_memory(c, scratch("t.a", (5, 5), np.float64))        # another dtype
    release()
    assert not np.shares_memory(c, scratch("t.a", (5, 5), np.float32))       # released
    release()


def test_threads_do_not_share_buffers():
    release()
    mine = scratch("t.thread", (8,), np.float64)
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(scratch("t.thread", (8,), np.float64)))
    worker.start()
    worker.join()
    assert not np.shares_memory(mine, theirs[0])
    release()


CELLS = [("LSTM", lambda D, H, rng: LSTM(D, H, rng=rng, dtype=np.float64)),
         ("GRU", lambda D, H, rng: GRU(D, H, rng=rng, dtype=np.float64)),
         ("GRU reset_after", lambda D, H, rng: GRU(D, H, reset_after=True, rng=rng, dtype=np.float64))]


@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
@pytest.mark.parametrize("masked", [False, True])
def test_backward_results_never_share_the_scratch_memory(rng, name, make, masked):
    """A second backward (same shapes, then other shapes) reuses the scratch memory; the
    results of the first stay as they were, and equal those computed with fresh memory."""
    D, H = 4, 5
    layer = randomize(make(D, H, rng), rng)

    def backward(T, B):
        gen = np.random.default_rng(T * 10 + B)
        x, dhs = gen.standard_normal((T, B, D)), gen.standard_normal((T, B, H))
        mask = None
        if masked:
            mask = np.ones((T, B))
            mask[-1, 0] = 0
        _, _, cache = layer.forward(x, None, mask)
        dx, dstate0 = layer.backward(dhs, cache)
        states = list(dstate0) if isinstance(dstate0, tuple) else [dstate0]   # (dh0, dc0) or dh0
        return [dx, *states, *(g.copy() for g in layer.grads.values())]

    release()
    fresh = backward(6, 3)                                   # the scratch buffers are new here
    first = backward(6, 3)
    kept = [a.copy() for a in first]
    backward(6, 3)                                           # same shapes: the same memory again
    backward(9, 2)                                           # more steps: larger buffers
    backward(2, 1)                                           # fewer: the front of them
    for a, b, c in zip(first, kept, fresh):
        np.testing.assert_array_equal(a, b)                  # not overwritten by later calls
        np.testing.assert_array_equal(a, c)                  # same numbers as with fresh memory
    for a in first:
        for buf in scratch_module._local.__dict__.values():
            assert not np.shares_memory(a, buf)
    release()
