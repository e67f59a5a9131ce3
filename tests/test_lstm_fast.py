"""LSTM fast path: the one-exp gates, the caller's own outputs, the grads contract, masks and extremes."""
import warnings

import numpy as np
import pytest

from rnn_core.lstm import LSTM, lstm_step_forward
from helpers import randomize


def make_layer(rng, D, H, dtype=np.float64):
    return randomize(LSTM(D, H, rng=rng, dtype=dtype), rng)


def run(layer, x, dhs, state0=None, dstate=None, mask=None):
    hs, state, cache = layer.forward(x, state0, mask)
    dx, dstate0 = layer.backward(dhs, cache, dstate)
    return hs, state, dx, dstate0, {k: g.copy() for k, g in layer.grads.items()}


@pytest.mark.parametrize("masked", [False, True])
def test_editing_returned_arrays_does_not_change_gradients(rng, masked):
    """hs, h_T and c_T belong to the caller: editing them in place before backward
    (e.g. an in-place dropout) changes neither the cache nor any gradient."""
    T, B, D, H = 6, 3, 4, 5
    layer = make_layer(rng, D, H)
    x, dhs = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, H))
    state0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    dstate = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    mask = np.ones((T, B)) if masked else None
    if masked:
        mask[4:, 0] = 0
    *_, dx_ref, (dh0_ref, dc0_ref), grads_ref = run(layer, x, dhs, state0, dstate, mask)

    hs, (h_T, c_T), cache = layer.forward(x, state0, mask)
    saved = {name: np.array(getattr(cache, name)) for name in ("h", "c", "i", "f", "g", "o", "tanh_c")}
    hs *= 0.0                                            # the caller reuses its arrays
    h_T[...] = 7.0
    c_T[...] = -7.0
    for name, value in saved.items():
        np.testing.assert_array_equal(getattr(cache, name), value, err_msg=name)
    dx, (dh0, dc0) = layer.backward(dhs, cache, dstate)
    np.testing.assert_array_equal(dx, dx_ref)
    np.testing.assert_array_equal(dh0, dh0_ref)
    np.testing.assert_array_equal(dc0, dc0_ref)
    for k, g in grads_ref.items():
        np.testing.assert_array_equal(layer.grads[k], g, err_msg=k)


def test_inputs_are_not_modified(rng):
    T, B, D, H = 4, 2, 3, 5
    layer = make_layer(rng, D, H)
    x, dhs = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, H))
    state0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    dstate = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    params = {k: p.copy() for k, p in layer.params.items()}
    copies = [a.copy() for a in (x, dhs, *state0, *dstate)]
    run(layer, x, dhs, state0, dstate)
    for a, b in zip((x, dhs, *state0, *dstate), copies):
        np.testing.assert_array_equal(a, b)
    for k, p in params.items():
        np.testing.assert_array_equal(layer.params[k], p)


def test_grads_is_one_dict_refilled_by_every_backward(rng):
    """``layer.grads`` stays the same dict for the layer's life; each backward writes
    fresh gradients into it (a caller holding ``grads = layer.grads`` sees them)."""
    T, B, D, H = 5, 2, 3, 4
    layer = make_layer(rng, D, H)
    grads = layer.grads
    x = rng.standard_normal((T, B, D))
    seen = []
    for _ in range(2):
        dhs = rng.standard_normal((T, B, H))
        *_, fresh = run(layer, x, dhs)
        assert layer.grads is grads and set(grads) == {"W_x", "W_h", "b"}
        for k, g in fresh.items():
            np.testing.assert_array_equal(grads[k], g)
        seen.append(fresh)
    for k in grads:                                       # different dhs, different gradients
        assert not np.allclose(seen[0][k], seen[1][k]), k
    layer.zero_grad()
    assert layer.grads is grads and all(np.all(g == 0) for g in grads.values())
    layer.astype(np.float32)
    assert layer.grads is grads and all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_gates_are_exact_and_silent(rng, dtype):
    """Huge pre-activations: exp overflows to inf inside the fast path, which must give
    σ = 0 and tanh = -1 exactly (never NaN) and raise no warning."""
    D, H = 3, 4
    layer = LSTM(D, H, rng=0, dtype=dtype)
    layer.params["W_x"][...] = 0
    layer.params["W_h"][...] = 0
    layer.params["b"][...] = -1e4                        # every gate far in saturation
    x = rng.standard_normal((3, 2, D))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hs, (h_T, c_T), cache = layer.forward(x, (np.ones((2, H)), np.ones((2, H))))
    assert np.all(cache.i == 0) and np.all(cache.f == 0) and np.all(cache.o == 0)
    assert np.all(cache.g == -1) and np.all(np.isfinite(hs)) and np.all(c_T == 0)
    layer.params["b"][...] = 1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, cache = layer.forward(x)
    assert np.all(cache.i == 1) and np.all(cache.f == 1) and np.all(cache.g == 1) and np.all(cache.o == 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_exp_gates_match_sigmoid_and_tanh(rng, dtype):
    """The fast path's gates (one exp for all four) equal the step function's separate
    sigmoid and tanh to rounding, over the whole useful range of pre-activations."""
    T, B, D, H = 3, 64, 5, 16
    layer = LSTM(D, H, rng=0, dtype=dtype)
    layer.params["W_x"][...] = 6 * rng.standard_normal((D, 4 * H)).astype(dtype)   # a spread up to ±40
    x = rng.standard_normal((T, B, D)).astype(dtype)
    hs, _, cache = layer.forward(x)
    p = layer.params
    _, _, step = lstm_step_forward(x[0], np.zeros((B, H), dtype), np.zeros((B, H), dtype), p["W_x"], p["W_h"], p["b"])
    eps = np.finfo(dtype).eps
    for name in ("i", "f", "g", "o"):
        np.testing.assert_allclose(getattr(cache, name)[0], getattr(step, name), rtol=8 * eps, atol=4 * eps,
                                   err_msg=name)
    assert hs.dtype == dtype and cache.gates.dtype == dtype
