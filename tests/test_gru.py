"""GRU: step functions, fast sequence path, masks, gradients (float64 finite differences), errors."""
import numpy as np
import pytest

import rnn_core
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.gradcheck import gradcheck
from rnn_core.gru import GRU, gru_step_backward, gru_step_forward

TOL = 1e-7


def random_gru(rng, D, H, reset_after, scale=0.5):
    """A float64 GRU with every parameter random and non-zero (biases included)."""
    layer = GRU(D, H, reset_after=reset_after, rng=rng, dtype=np.float64)
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return layer


def random_mask(rng, T, B):
    """Random lengths in [1, T] per row (row 0 full length) plus one masked step in the middle."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)   # (T, B)
    if T >= 3 and B >= 2:
        mask[1, 1] = 0.0                                                   # a hole, not just padding
    return mask


def step_loop(layer, x, h0, mask=None):
    """The slow reference: gru_step_forward at every step, the state carried at masked steps."""
    p = layer.params
    h, hs = h0, []
    for t in range(x.shape[0]):
        h_new, _ = gru_step_forward(x[t], h, p["W_x"], p["W_h"], p["b"], p.get("b_h"), layer.reset_after)
        m = np.ones((x.shape[1], 1)) if mask is None else mask[t][:, None]
        hs.append(h_new * m)
        h = np.where(m > 0, h_new, h)
    return np.stack(hs), h


def test_defaults_and_param_shapes():
    layer = GRU(4, 3, rng=0)
    assert layer.params["W_x"].dtype == np.float32
    assert set(layer.params) == {"W_x", "W_h", "b"}
    assert layer.params["W_x"].shape == (4, 9) and layer.params["W_h"].shape == (3, 9)
    assert np.all(layer.params["b"] == 0)
    for k in range(3):                                   # each H×H block of W_h is orthogonal
        Wk = layer.params["W_h"][:, 3 * k:3 * k + 3].astype(np.float64)
        np.testing.assert_allclose(Wk.T @ Wk, np.eye(3), atol=1e-6)
    layer = GRU(4, 3, reset_after=True, rng=0)
    assert set(layer.params) == {"W_x", "W_h", "b", "b_h"} and layer.params["b_h"].shape == (9,)
    same = GRU(4, 3, rng=0)
    assert np.array_equal(same.params["W_x"], GRU(4, 3, rng=0).params["W_x"])


@pytest.mark.parametrize("reset_after", [False, True])
def test_step_backward_gradcheck(rng, reset_after):
    B, D, H = rng.integers(1, 5), rng.integers(1, 6), rng.integers(1, 6)
    W_x, W_h = rng.standard_normal((D, 3 * H)), rng.standard_normal((H, 3 * H))
    b, b_h = rng.standard_normal(3 * H), rng.standard_normal(3 * H)
    x, h_prev, dh = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    _, cache = gru_step_forward(x, h_prev, W_x, W_h, b, b_h, reset_after)
    grads = gru_step_backward(dh, cache)
    names = ["x", "h_prev", "W_x", "W_h", "b"] + (["b_h"] if reset_after else [])
    assert len(grads) == len(names)
    arrays = dict(zip(names, [x, h_prev, W_x, W_h, b, b_h]))

    def f():
        return np.sum(gru_step_forward(x, h_prev, W_x, W_h, b, b_h, reset_after)[0] * dh)

    res = gradcheck(f, arrays, dict(zip(names, grads)))
    assert res.max_error < TOL, res


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fast_path_equals_step_loop(rng, reset_after, masked):
    T, B, D, H = 6, 4, 3, 5
    layer = random_gru(rng, D, H, reset_after)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    mask = random_mask(rng, T, B) if masked else None
    hs, h_T, cache = layer.forward(x, h0, mask)
    hs_ref, h_ref = step_loop(layer, x, h0, mask)
    np.testing.assert_allclose(hs, hs_ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_T, h_ref, rtol=0, atol=1e-13)
    assert cache.r.shape == cache.z.shape == cache.n.shape == cache.h.shape == (T, B, H)
    assert np.all((cache.r > 0) & (cache.r < 1) & (cache.z > 0) & (cache.z < 1))

    # the backward of the fast path equals chaining gru_step_backward through time
    dhs, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    dx, dh0 = layer.backward(dhs, cache, dh_T)
    p = layer.params
    caches, h = [], h0
    for t in range(T):
        h_new, c = gru_step_forward(x[t], h, p["W_x"], p["W_h"], p["b"], p.get("b_h"), reset_after)
        caches.append(c)
        m = np.ones((B, 1)) if mask is None else mask[t][:, None]
        h = np.where(m > 0, h_new, h)
    dh, dx_ref, total = dh_T, np.zeros_like(x), {k: np.zeros_like(v) for k, v in p.items()}
    for t in reversed(range(T)):
        m = np.ones((B, 1)) if mask is None else mask[t][:, None]
        out = gru_step_backward((dh + dhs[t]) * m, caches[t])
        dx_ref[t] = out[0]
        dh = out[1] + dh * (1 - m)
        for k, g in zip(["W_x", "W_h", "b", "b_h"], out[2:]):
            total[k] += g
    np.testing.assert_allclose(dx, dx_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dh0, dh, rtol=0, atol=1e-12)
    for k in p:
        np.testing.assert_allclose(layer.grads[k], total[k], rtol=0, atol=1e-12)


def sequence_gradcheck(layer, gen, T, B, masked=True, **kw):
    """Gradcheck of L = Σ hs⊙R + Σ h_T⊙R2 (a non-zero dstate) w.r.t. every param, x and h0,
    with inputs drawn from ``gen``; ``kw`` goes to ``gradcheck``."""
    D, H = layer.input_size, layer.hidden_size
    x, h0 = gen.standard_normal((T, B, D)), gen.standard_normal((B, H))
    mask = random_mask(gen, T, B) if masked else None
    dhs, dh_T = gen.standard_normal((T, B, H)), gen.standard_normal((B, H))
    _, _, cache = layer.forward(x, h0, mask)
    dx, dh0 = layer.backward(dhs, cache, dh_T)

    def f():
        hs, h_T, _ = layer.forward(x, h0, mask)
        return np.sum(hs * dhs) + np.sum(h_T * dh_T)

    arrays = {**layer.params, "x": x, "state0": h0}
    grads = {**{k: g.copy() for k, g in layer.grads.items()}, "x": dx, "state0": dh0}
    return gradcheck(f, arrays, grads, **kw)


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("trial", range(2))
def test_sequence_gradcheck(rng, reset_after, masked, trial):
    T, B, D, H = rng.integers(1, 5), rng.integers(1, 4), rng.integers(1, 5), rng.integers(1, 5)
    if masked:
        T, B = max(T, 3), max(B, 2)
    layer = random_gru(rng, D, H, reset_after)
    res = sequence_gradcheck(layer, rng, T, B, masked)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("reset_after", [False, True])
def test_long_sequence_directional_gradcheck(rng, reset_after):
    T, B, D, H = 40, 3, 4, 6
    layer = random_gru(rng, D, H, reset_after, scale=0.3)
    # A random direction can be nearly orthogonal to the gradient (derivative ~1e-2 while |f| ~ 10):
    # a plain central difference at h = 1e-6 then has round-off ε|f|/h ~ 1e-7 relative (worst 1.1e-7
    # over 80 seeds). gradcheck extrapolates from h = 1e-3 and checks its own error is far below TOL.
    res = sequence_gradcheck(layer, rng, T, B, mode="directional", n_directions=6, rng=1)
    assert res.max_fd_error < TOL / 10, res
    assert res.max_error < TOL, res


@pytest.mark.parametrize("reset_after", [False, True])
def test_long_sequence_elementwise_gradcheck(rng, reset_after):
    """T = 40 with small sizes, every entry checked (about 1 s)."""
    T, B, D, H = 40, 2, 2, 3
    layer = random_gru(rng, D, H, reset_after)
    res = sequence_gradcheck(layer, rng, T, B)
    assert res.max_error < TOL, res


@pytest.mark.parametrize("reset_after", [False, True])
def test_mask_equals_unpadded_and_masked_steps_get_zero_gradient(rng, reset_after):
    T, B, D, H = 7, 3, 4, 5
    layer = random_gru(rng, D, H, reset_after)
    lengths = np.array([7, 4, 1])
    mask = (np.arange(T)[:, None] < lengths).astype(np.float32)            # (T, B) padding at the end
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    hs, h_T, cache = layer.forward(x, h0, mask)
    dhs, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    dx, dh0 = layer.backward(dhs, cache, dh_T)
    grads_masked = {k: g.copy() for k, g in layer.grads.items()}
    for b, L in enumerate(lengths):
        hs_b, h_b, c_b = layer.forward(x[:L, b:b + 1], h0[b:b + 1])        # the row alone, unpadded
        np.testing.assert_allclose(hs[:L, b:b + 1], hs_b, rtol=0, atol=1e-14)
        np.testing.assert_allclose(h_T[b:b + 1], h_b, rtol=0, atol=1e-14)
        assert np.all(hs[L:, b] == 0)
        assert np.all(cache.h[L - 1:, b] == h_T[b])                        # cache.h: the carried state
        assert np.all(dx[L:, b] == 0)                                      # exactly zero
        dx_b, dh0_b = layer.backward(dhs[:L, b:b + 1], c_b, dh_T[b:b + 1])
        np.testing.assert_allclose(dx[:L, b:b + 1], dx_b, rtol=0, atol=1e-13)
        np.testing.assert_allclose(dh0[b:b + 1], dh0_b, rtol=0, atol=1e-13)
    # a masked step changes nothing: perturbing x or dhs there leaves every gradient unchanged
    x2, dhs2 = x.copy(), dhs.copy()
    x2[5:, 1] += 3.0
    dhs2[5:, 1] += 3.0
    hs2, h_T2, cache2 = layer.forward(x2, h0, mask)
    assert np.array_equal(hs2, hs) and np.array_equal(h_T2, h_T)
    dx2, dh02 = layer.backward(dhs2, cache2, dh_T)
    assert np.array_equal(dh02, dh0)
    for k, g in grads_masked.items():
        assert np.array_equal(layer.grads[k], g)


def test_all_ones_mask_equals_no_mask(rng):
    layer = random_gru(rng, 3, 4, False)
    x = rng.standard_normal((5, 2, 3))
    hs, h_T, _ = layer.forward(x)
    hs1, h_T1, _ = layer.forward(x, mask=np.ones((5, 2), dtype=bool))
    assert np.array_equal(hs, hs1) and np.array_equal(h_T, h_T1)


def test_float32_training_dtype(rng):
    layer = GRU(3, 4, reset_after=True, rng=rng)
    x = rng.standard_normal((5, 2, 3))                                     # float64 in, float32 out
    hs, h_T, cache = layer.forward(x, mask=np.ones((5, 2)))
    assert hs.dtype == h_T.dtype == np.float32
    dx, dh0 = layer.backward(np.ones((5, 2, 4)), cache)
    assert dx.dtype == dh0.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_update_gate_convention_is_keep_old_state():
    """z = 1 keeps the old state; the article's z is our 1 − z (docstring mapping)."""
    layer = GRU(2, 3, rng=0, dtype=np.float64)
    layer.params["b"][3:6] = 50.0                                           # z ≈ 1
    h0 = np.array([[0.3, -0.2, 0.7]])
    _, h_T, _ = layer.forward(np.ones((1, 1, 2)), h0)
    np.testing.assert_allclose(h_T, h0, atol=1e-12)
    layer.params["b"][3:6] = -50.0                                          # z ≈ 0: h = n
    _, h_T, cache = layer.forward(np.ones((1, 1, 2)), h0)
    np.testing.assert_allclose(h_T, cache.n[0], atol=1e-12)


def test_top_level_export():
    assert rnn_core.GRU is GRU


@pytest.mark.parametrize("kwargs, name, err", [
    (dict(input_size=0, hidden_size=3), "input_size", HyperparameterError),
    (dict(input_size=2, hidden_size=-1), "hidden_size", HyperparameterError),
    (dict(input_size=2.5, hidden_size=3), "input_size", HyperparameterError),
    (dict(input_size=2, hidden_size=3, reset_after="yes"), "reset_after", HyperparameterError),
    (dict(input_size=2, hidden_size=3, reset_after=1), "reset_after", HyperparameterError),
    (dict(input_size=2, hidden_size=3, dtype=np.int32), "dtype", HyperparameterError),
    (dict(input_size=2, hidden_size=3, rng=-1), "rng", HyperparameterError),
])
def test_constructor_errors(kwargs, name, err):
    with pytest.raises(err, match=name):
        GRU(**kwargs)


def test_forward_backward_errors(rng):
    layer = GRU(3, 4, rng=0, dtype=np.float64)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(x[0])                                                # rank 2
    with pytest.raises(ShapeError, match=r"x: expected shape \(T, B, D=3\), got \(5, 2, 4\)"):
        layer.forward(rng.standard_normal((5, 2, 4)))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((0, 2, 3)))                                 # T = 0
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((5, 0, 3)))                                 # B = 0
    bad = x.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(NonFiniteError, match="x"):
        layer.forward(bad)
    with pytest.raises(ShapeError, match="state0"):
        layer.forward(x, state0=np.zeros((3, 4)))
    with pytest.raises(NonFiniteError, match="state0"):
        layer.forward(x, state0=np.full((2, 4), np.inf))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, mask=np.ones((5, 3)))
    with pytest.raises(ShapeError, match="mask"):
        layer.forward(x, mask=np.full((5, 2), 0.5))
    _, _, cache = layer.forward(x)
    with pytest.raises(ShapeError, match="dhs"):
        layer.backward(np.zeros((5, 2, 3)), cache)
    with pytest.raises(ShapeError, match="dstate"):
        layer.backward(np.zeros((5, 2, 4)), cache, dstate=np.zeros((2, 3)))
    with pytest.raises(NonFiniteError, match="dhs"):
        layer.backward(np.full((5, 2, 4), np.nan), cache)
