"""LSTM (and the shared activations): gradient checks, masks, step-vs-sequence, cache, init, errors."""
import warnings

import numpy as np
import pytest

import rnn_core
from rnn_core import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.activations import sigmoid, tanh
from rnn_core.lstm import LSTM, lstm_step_backward, lstm_step_forward
from helpers import lstm_gradcheck, lstm_mask_matches_unpadded, make_mask, randomize

TOL = 1e-7


def make_layer(rng, D, H):
    """A float64 layer whose every parameter (bias included) is random and non-zero."""
    return randomize(LSTM(D, H, rng=rng, dtype=np.float64), rng)


check = lstm_gradcheck


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("trial", range(5))
def test_gradcheck_elementwise(rng, masked, trial):
    T, B, D, H = rng.integers(1, 7), rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 8)
    res = check(make_layer(rng, D, H), rng, T, B, mask=make_mask(T, B) if masked else None)
    assert res.max_error < TOL, res


def test_gradcheck_directional_long_sequence(rng):
    T, B = 40, 3
    mask = np.ones((T, B))
    mask[30:, 0] = 0
    mask[10:13, 2] = 0
    res = check(make_layer(rng, 5, 6), rng, T, B, mode="directional", mask=mask)
    assert res.max_error < TOL, res


def test_masked_steps_get_zero_gradient_and_match_unpadded(rng):
    lstm_mask_matches_unpadded(make_layer(rng, 4, 5), rng)


def test_sequence_equals_loop_of_steps(rng):
    T, B, D, H = 5, 3, 4, 6
    layer = make_layer(rng, D, H)
    W_x, W_h, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dhs, dh_T, dc_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    hs, (h_T, c_T), cache = layer.forward(x, (h0, c0))
    dx, (dh0, dc0) = layer.backward(dhs, cache, (dh_T, dc_T))

    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, sc = lstm_step_forward(x[t], h, c, W_x, W_h, b)
        for name in ("i", "f", "g", "o"):
            np.testing.assert_allclose(getattr(sc, name), getattr(cache, name)[t], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(c, cache.c[t], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h, hs[t], rtol=1e-12, atol=1e-13)
        caches.append(sc)
    dh_next, dc_next, dx_loop = dh_T, dc_T, np.zeros_like(x)
    sums = [np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)]
    for t in reversed(range(T)):
        dx_loop[t], dh_next, dc_next, *dparams = lstm_step_backward(dhs[t] + dh_next, dc_next, caches[t])
        sums = [s + d for s, d in zip(sums, dparams)]
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dc0, dc_next, rtol=1e-10, atol=1e-12)
    for k, s in zip(("W_x", "W_h", "b"), sums):
        np.testing.assert_allclose(layer.grads[k], s, rtol=1e-10, atol=1e-12)


def test_cache_names_and_shapes(rng):
    layer = rnn_core.LSTM(input_size=3, hidden_size=4, rng=0)
    hs, (h, c), cache = layer.forward(rng.standard_normal((5, 2, 3)))
    for name in ("i", "f", "g", "o", "c", "h", "tanh_c"):
        assert getattr(cache, name).shape == (5, 2, 4), name
    assert cache.gates.shape == (5, 2, 16) and cache.x.shape == (5, 2, 3)
    assert np.all((cache.f > 0) & (cache.f < 1)) and np.all(np.abs(cache.g) < 1)
    np.testing.assert_array_equal(h, hs[-1])
    np.testing.assert_array_equal(c, cache.c[-1])


def test_init_forget_bias_orthogonal_blocks_determinism():
    H, D = 5, 7
    layer = rnn_core.LSTM(input_size=D, hidden_size=H, rng=3)
    assert set(layer.params) == {"W_x", "W_h", "b"} == set(layer.grads)
    assert layer.params["W_x"].shape == (D, 4 * H) and layer.params["W_h"].shape == (H, 4 * H)
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert layer.num_params() == 4 * H * (D + H + 1)
    b = layer.params["b"]
    assert np.all(b[H:2 * H] == 1) and np.all(b[:H] == 0) and np.all(b[2 * H:] == 0)
    for k in range(4):
        block = layer.params["W_h"][:, k * H:(k + 1) * H].astype(np.float64)
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-6)
    assert np.all(np.abs(layer.params["W_x"]) <= np.sqrt(6 / (D + H)))   # Xavier per gate block
    assert np.all(rnn_core.LSTM(D, H, forget_bias=0.0, rng=3).params["b"] == 0)
    again = rnn_core.LSTM(input_size=D, hidden_size=H, rng=3)
    for k in layer.params:
        np.testing.assert_array_equal(layer.params[k], again.params[k])
    hs, _, cache = layer.forward(np.ones((2, 3, D)))               # float64 input, float32 layer
    assert hs.dtype == np.float32
    dx, (dh0, dc0) = layer.backward(np.ones((2, 3, H)), cache, (np.ones((3, H)), np.ones((3, H))))
    assert dx.dtype == dh0.dtype == dc0.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_activations_stable_and_correct():
    x = np.array([-1e4, -800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # no overflow warnings
        s = sigmoid(x)
        s32 = sigmoid(x.astype(np.float32))
    assert s32.dtype == np.float32
    mid = np.abs(x) <= 30
    np.testing.assert_allclose(s[mid], 1 / (1 + np.exp(-x[mid])), rtol=1e-15)
    assert s[0] == 0 and s[-1] == 1 and np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(s + sigmoid(-x), 1, rtol=1e-15)
    y = x.copy()
    assert sigmoid(y, out=y) is y
    np.testing.assert_array_equal(y, s)
    np.testing.assert_array_equal(tanh(x), np.tanh(x))


def test_bad_inputs(rng):
    layer = LSTM(3, 4, rng=0)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(x[None])                           # rank 4
    with pytest.raises(ShapeError, match=r"x: .*D=3"):
        layer.forward(rng.standard_normal((5, 2, 2)))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((5, 0, 3)))               # B = 0
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((0, 2, 3)))               # T = 0
    bad = x.copy()
    bad[0, 1, 0] = np.inf
    with pytest.raises(NonFiniteError, match="x"):
        layer.forward(bad)
    with pytest.raises(ShapeError, match="state0"):
        layer.forward(x, np.zeros((2, 4)))               # not a tuple
    with pytest.raises(ShapeError, match=r"state0\[1\]"):
        layer.forward(x, (np.zeros((2, 4)), np.zeros((2, 5))))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, None, np.ones((4, 2)))
    hs, _, cache = layer.forward(x)
    with pytest.raises(ShapeError, match="dhs"):
        layer.backward(hs[:, :1], cache)
    with pytest.raises(ShapeError, match="dstate"):
        layer.backward(hs, cache, (np.zeros((2, 4)),))
    with pytest.raises(HyperparameterError, match="input_size"):
        LSTM(2.5, 4)
    with pytest.raises(HyperparameterError, match="hidden_size"):
        LSTM(3, 0)
    with pytest.raises(HyperparameterError, match="forget_bias"):
        LSTM(3, 4, forget_bias=float("nan"))
    with pytest.raises(HyperparameterError, match="dtype"):
        LSTM(3, 4, dtype=np.float16)
