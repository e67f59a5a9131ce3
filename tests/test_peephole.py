"""PeepholeLSTM (diagonal and full): gradient checks, masks, step-vs-sequence, relation to LSTM, errors."""
import numpy as np
import pytest

import rnn_core
from rnn_core import HyperparameterError, ShapeError
from rnn_core.peephole import PEEPHOLE_NAMES, PeepholeLSTM, peephole_step_backward, peephole_step_forward
from helpers import lstm_gradcheck, lstm_mask_matches_unpadded, make_mask, randomize

TOL = 1e-7
KINDS = ["diagonal", "full"]


def make_layer(rng, D, H, peephole):
    """A float64 layer whose every parameter (biases, peepholes) is random and non-zero."""
    return randomize(PeepholeLSTM(D, H, peephole=peephole, rng=rng, dtype=np.float64), rng)


check = lstm_gradcheck


@pytest.mark.parametrize("peephole", KINDS)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("trial", range(4))
def test_gradcheck_elementwise(rng, peephole, masked, trial):
    T, B, D, H = rng.integers(1, 7), rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 8)
    res = check(make_layer(rng, D, H, peephole), rng, T, B, mask=make_mask(T, B) if masked else None)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("peephole", KINDS)
def test_gradcheck_directional_long_sequence(rng, peephole):
    T, B = 40, 3
    mask = np.ones((T, B))
    mask[30:, 0] = 0
    mask[10:13, 2] = 0
    res = check(make_layer(rng, 5, 6, peephole), rng, T, B, mode="directional", mask=mask)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("peephole", KINDS)
def test_masked_steps_get_zero_gradient_and_match_unpadded(rng, peephole):
    lstm_mask_matches_unpadded(make_layer(rng, 4, 5, peephole), rng)


@pytest.mark.parametrize("peephole", KINDS)
def test_sequence_equals_loop_of_steps(rng, peephole):
    T, B, D, H = 5, 3, 4, 6
    layer = make_layer(rng, D, H, peephole)
    names = ("W_x", "W_h", "b") + PEEPHOLE_NAMES[peephole]
    params = [layer.params[k] for k in names]
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dhs, dh_T, dc_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    hs, _, cache = layer.forward(x, (h0, c0))
    dx, (dh0, dc0) = layer.backward(dhs, cache, (dh_T, dc_T))

    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, sc = peephole_step_forward(x[t], h, c, *params)
        np.testing.assert_allclose(sc.o, cache.o[t], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h, hs[t], rtol=1e-12, atol=1e-13)
        caches.append(sc)
    dh_next, dc_next, dx_loop = dh_T, dc_T, np.zeros_like(x)
    sums = [np.zeros_like(p) for p in params]
    for t in reversed(range(T)):
        dx_loop[t], dh_next, dc_next, *dparams = peephole_step_backward(dhs[t] + dh_next, dc_next, caches[t])
        sums = [s + d for s, d in zip(sums, dparams)]
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dc0, dc_next, rtol=1e-10, atol=1e-12)
    for k, s in zip(names, sums):
        np.testing.assert_allclose(layer.grads[k], s, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("peephole", KINDS)
def test_zero_peepholes_equal_plain_lstm(rng, peephole):
    D, H = 4, 5
    ours = PeepholeLSTM(D, H, peephole=peephole, rng=7, dtype=np.float64)
    lstm = rnn_core.LSTM(D, H, rng=7, dtype=np.float64)             # same draws for W_x, W_h
    for k in ("W_x", "W_h", "b"):
        np.testing.assert_array_equal(ours.params[k], lstm.params[k])
    x = rng.standard_normal((6, 2, D))
    hs1, (h1, c1), _ = ours.forward(x)
    hs2, (h2, c2), _ = lstm.forward(x)
    np.testing.assert_allclose(hs1, hs2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c1, c2, rtol=1e-13, atol=1e-15)


def test_parameter_counts_and_names():
    D, H = 7, 5
    base = 4 * H * (D + H + 1)
    diag = rnn_core.PeepholeLSTM(D, H, rng=0)
    full = rnn_core.PeepholeLSTM(D, H, peephole="full", rng=0)
    assert set(diag.params) == {"W_x", "W_h", "b", "p_i", "p_f", "p_o"} == set(diag.grads)
    assert set(full.params) == {"W_x", "W_h", "b", "P_i", "P_f", "P_o"} == set(full.grads)
    assert diag.params["p_i"].shape == (H,) and full.params["P_o"].shape == (H, H)
    assert diag.num_params() == base + 3 * H
    assert full.num_params() == base + 3 * H * H
    assert np.all(diag.params["b"][H:2 * H] == 1)


def test_bad_inputs(rng):
    with pytest.raises(HyperparameterError, match="peephole"):
        PeepholeLSTM(3, 4, peephole="matrix")
    with pytest.raises(HyperparameterError, match="hidden_size"):
        PeepholeLSTM(3, 0)
    with pytest.raises(HyperparameterError, match="dtype"):
        PeepholeLSTM(3, 4, dtype="int64")
    layer = PeepholeLSTM(3, 4, rng=0)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(x[:, :, :2])
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((0, 2, 3)))
    with pytest.raises(ShapeError, match=r"state0\[0\]"):
        layer.forward(x, (np.zeros((3, 4)), np.zeros((2, 4))))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, None, np.ones((5, 2, 1)))
    hs, _, cache = layer.forward(x)
    with pytest.raises(ShapeError, match="dhs"):
        layer.backward(hs[..., :3], cache)
    with pytest.raises(ShapeError, match=r"dstate\[1\]"):
        layer.backward(hs, cache, (np.zeros((2, 4)), np.zeros((2, 3))))
