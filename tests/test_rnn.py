"""RNN: gradient checks (elementwise and directional), masks, step-vs-sequence, init, errors."""
import numpy as np
import pytest

import rnn_core
from rnn_core import HyperparameterError, NonFiniteError, ShapeError, gradcheck
from rnn_core.rnn import RNN, rnn_forward, rnn_step_backward, rnn_step_forward
from helpers import make_mask, randomize

TOL = 1e-7


def make_layer(rng, D, H, nonlinearity="tanh"):
    """A float64 layer whose every parameter (bias included) is random and non-zero."""
    return randomize(RNN(D, H, nonlinearity=nonlinearity, rng=rng, dtype=np.float64), rng)


def loss_and_grads(layer, x, h0, mask, R, R2):
    """L = Σ hs⊙R + Σ h_T⊙R2; returns (L, analytic grads of params, x, h0)."""
    hs, h_T, cache = layer.forward(x, h0, mask)
    dx, dh0 = layer.backward(R, cache, R2)
    grads = {k: g.copy() for k, g in layer.grads.items()}
    grads.update(x=dx, h0=dh0)
    return float(np.sum(hs * R) + np.sum(h_T * R2)), grads


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("trial", range(4))
def test_gradcheck_elementwise(rng, nonlinearity, masked, trial):
    T, B, D, H = rng.integers(1, 7), rng.integers(1, 5), rng.integers(1, 8), rng.integers(1, 8)
    layer = make_layer(rng, D, H, nonlinearity)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    R, R2 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    mask = make_mask(T, B) if masked else None
    _, grads = loss_and_grads(layer, x, h0, mask, R, R2)

    def f():
        hs, h_T, _ = layer.forward(x, h0, mask)
        return np.sum(hs * R) + np.sum(h_T * R2)

    res = gradcheck(f, {**layer.params, "x": x, "h0": h0}, grads)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_gradcheck_directional_long_sequence(rng, nonlinearity):
    T, B, D, H = 40, 3, 5, 6
    layer = make_layer(rng, D, H, nonlinearity)
    layer.params["W_h"] *= 0.5                          # keep 40 steps of relu from exploding
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    R, R2 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    mask = np.ones((T, B))
    mask[30:, 0] = 0
    mask[10:13, 2] = 0
    _, grads = loss_and_grads(layer, x, h0, mask, R, R2)

    def f():
        hs, h_T, _ = layer.forward(x, h0, mask)
        return np.sum(hs * R) + np.sum(h_T * R2)

    res = gradcheck(f, {**layer.params, "x": x, "h0": h0}, grads, mode="directional", n_directions=6, rng=rng)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_masked_steps_get_zero_gradient_and_match_unpadded(rng, nonlinearity):
    T, B, D, H = 6, 3, 4, 5
    layer = make_layer(rng, D, H, nonlinearity)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    R, R2 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    mask = np.ones((T, B))
    mask[4:, 0] = 0                                     # row 0: length 4
    mask[2, 1] = 0                                      # row 1: a gap at t=2
    mask[:, 2] = 0                                      # row 2: nothing real
    hs, h_T, cache = layer.forward(x, h0, mask)
    dx, dh0 = layer.backward(R, cache, R2)
    assert np.all(hs[mask == 0] == 0)
    assert np.all(dx[mask == 0] == 0)                   # exactly zero
    np.testing.assert_array_equal(h_T[2], h0[2])        # an empty row keeps its state ...
    np.testing.assert_array_equal(dh0[2], R2[2])        # ... and passes dstate straight back

    # the same rows run alone, without their masked steps, give the same outputs and gradients
    total = {k: np.zeros_like(g) for k, g in layer.grads.items()}
    for b in range(B):
        keep = mask[:, b] == 1
        if not keep.any():
            continue
        hs_b, h_b, cache_b = layer.forward(x[keep, b:b + 1], h0[b:b + 1])
        dx_b, dh0_b = layer.backward(R[keep, b:b + 1], cache_b, R2[b:b + 1])
        np.testing.assert_allclose(hs_b[:, 0], hs[keep, b], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_b[0], h_T[b], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx_b[:, 0], dx[keep, b], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dh0_b[0], dh0[b], rtol=1e-12, atol=1e-12)
        for k in total:
            total[k] += layer.grads[k]
    layer.forward(x, h0, mask)
    layer.backward(R, cache, R2)
    for k in total:
        np.testing.assert_allclose(layer.grads[k], total[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_sequence_equals_loop_of_steps(rng, nonlinearity):
    T, B, D, H = 5, 3, 4, 6
    layer = make_layer(rng, D, H, nonlinearity)
    W_x, W_h, b = (layer.params[k] for k in ("W_x", "W_h", "b"))
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    dhs, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    hs, h_T, cache = layer.forward(x, h0)
    dx, dh0 = layer.backward(dhs, cache, dh_T)

    h, caches = h0, []
    for t in range(T):
        h, c = rnn_step_forward(x[t], h, W_x, W_h, b, nonlinearity)
        np.testing.assert_allclose(h, hs[t], rtol=1e-12, atol=1e-13)
        caches.append(c)
    dh_next, dx_loop = dh_T, np.zeros_like(x)
    sums = [np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)]
    for t in reversed(range(T)):
        dx_loop[t], dh_next, *dparams = rnn_step_backward(dhs[t] + dh_next, caches[t])
        sums = [s + d for s, d in zip(sums, dparams)]
    np.testing.assert_allclose(dx, dx_loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, dh_next, rtol=1e-10, atol=1e-12)
    for k, s in zip(("W_x", "W_h", "b"), sums):
        np.testing.assert_allclose(layer.grads[k], s, rtol=1e-10, atol=1e-12)


def test_init_dtype_and_determinism():
    layer = rnn_core.RNN(input_size=7, hidden_size=5, rng=3)
    assert set(layer.params) == {"W_x", "W_h", "b"} == set(layer.grads)
    assert layer.params["W_x"].shape == (7, 5) and layer.params["W_h"].shape == (5, 5)
    assert all(p.dtype == np.float32 for p in layer.params.values())
    assert layer.num_params() == 5 * (7 + 5 + 1)
    W_h = layer.params["W_h"].astype(np.float64)
    np.testing.assert_allclose(W_h.T @ W_h, np.eye(5), atol=1e-6)   # orthogonal
    assert np.all(layer.params["b"] == 0)
    a = np.sqrt(6 / (7 + 5))                                        # Xavier uniform bound
    assert np.all(np.abs(layer.params["W_x"]) <= a)
    again = rnn_core.RNN(input_size=7, hidden_size=5, rng=3)
    for k in layer.params:
        np.testing.assert_array_equal(layer.params[k], again.params[k])
    hs, h, cache = layer.forward(np.ones((2, 3, 7)))                 # float64 input, float32 layer
    assert hs.dtype == np.float32 and cache.h.shape == (2, 3, 5)
    np.testing.assert_array_equal(h, hs[-1])


def test_backward_overwrites_grads(rng):
    layer = make_layer(rng, 3, 4)
    x = rng.standard_normal((4, 2, 3))
    hs, _, cache = layer.forward(x)
    layer.backward(np.ones_like(hs), cache)
    first = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(np.ones_like(hs), cache)
    for k in first:
        np.testing.assert_array_equal(layer.grads[k], first[k])


def test_bad_inputs(rng):
    layer = RNN(3, 4, rng=0)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(x[0])                              # rank 2
    with pytest.raises(ShapeError, match=r"x: .*D=3"):
        layer.forward(rng.standard_normal((5, 2, 4)))    # wrong D
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((5, 0, 3)))               # B = 0
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((0, 2, 3)))               # T = 0
    bad = x.copy()
    bad[1, 0, 2] = np.nan
    with pytest.raises(NonFiniteError, match="x"):
        layer.forward(bad)
    with pytest.raises(ShapeError, match="state0"):
        layer.forward(x, np.zeros((3, 4)))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, None, np.ones((5, 3)))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, None, np.full((5, 2), 0.5))
    hs, _, cache = layer.forward(x)
    with pytest.raises(ShapeError, match="dhs"):
        layer.backward(hs[:-1], cache)
    with pytest.raises(ShapeError, match="dstate"):
        layer.backward(hs, cache, np.zeros((2, 5)))
    with pytest.raises(HyperparameterError, match="input_size"):
        RNN(0, 4)
    with pytest.raises(HyperparameterError, match="hidden_size"):
        RNN(3, -1)
    with pytest.raises(HyperparameterError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(HyperparameterError, match="dtype"):
        RNN(3, 4, dtype=np.int32)
    with pytest.raises(HyperparameterError, match="rng"):
        RNN(3, 4, rng=-1)
