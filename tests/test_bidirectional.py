"""Bidirectional: gradients (float64, masks, non-zero states), padding never leaks, errors, contract."""
import numpy as np
import pytest

import rnn_core
from rnn_core import Bidirectional, ShapeError
from helpers import assert_gradcheck, randomize

CELLS = ["rnn", "lstm", "gru"]


def random_state(cell, rng, B, H):
    return (rng.standard_normal((B, H)), rng.standard_normal((B, H))) if cell == "lstm" else rng.standard_normal((B, H))


def state_sum(state, R):
    """Σ state ⊙ R for an h or (h, c) state; R has the same structure."""
    if isinstance(state, tuple):
        return sum(np.sum(s * r) for s, r in zip(state, R))
    return np.sum(state * R)


def lengths_mask(lengths, T):
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(np.float64)   # (T, B)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("trial", range(2))
def test_bidirectional_gradcheck(rng, cell, trial):
    """Every parameter, x and both initial states, with padding and a gradient at both final states."""
    T, B, D, H = int(rng.integers(2, 6)), int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layer = randomize(Bidirectional(cell, D, H, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((T, B, D))
    mask = lengths_mask([T] + [int(rng.integers(1, T + 1)) for _ in range(B - 1)], T)
    s0 = (random_state(cell, rng, B, H), random_state(cell, rng, B, H))
    R = rng.standard_normal((T, B, 2 * H))
    RS = (random_state(cell, rng, B, H), random_state(cell, rng, B, H))

    def f():
        hs, (sf, sb), _ = layer.forward(x, s0, mask)
        return np.sum(hs * R) + state_sum(sf, RS[0]) + state_sum(sb, RS[1])

    _, _, cache = layer.forward(x, s0, mask)
    dx, (ds_f, ds_b) = layer.backward(R, cache, RS)
    arrays = {**layer.params, "x": x}
    grads = {**{k: g.copy() for k, g in layer.grads.items()}, "x": dx}
    for name, s, ds in (("fw", s0[0], ds_f), ("bw", s0[1], ds_b)):
        parts = s if isinstance(s, tuple) else (s,)
        dparts = ds if isinstance(ds, tuple) else (ds,)
        for k, (p, dp) in enumerate(zip(parts, dparts)):
            arrays[f"s0.{name}.{k}"], grads[f"s0.{name}.{k}"] = p, dp
    assert_gradcheck(f, arrays, grads, f"bidirectional {cell}")


@pytest.mark.parametrize("cell", CELLS)
def test_backward_direction_starts_at_last_real_step(rng, cell):
    """Each row equals the same row run alone without its padding: outputs, final states and
    every gradient; padded steps get exactly zero output and zero input gradient."""
    T, B, D, H = 6, 3, 2, 3
    lengths = [6, 4, 1]
    layer = randomize(Bidirectional(cell, D, H, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((T, B, D))
    x[lengths_mask(lengths, T) == 0] = 1e3                      # huge padding values: any leak would show
    mask = lengths_mask(lengths, T)
    R = rng.standard_normal((T, B, 2 * H))
    hs, (sf, sb), cache = layer.forward(x, None, mask)
    dx, _ = layer.backward(R, cache)
    total = {k: g.copy() for k, g in layer.grads.items()}
    assert np.all(hs[mask == 0] == 0) and np.all(dx[mask == 0] == 0)
    acc = {k: np.zeros_like(g) for k, g in total.items()}
    for b, L in enumerate(lengths):
        hs_b, (sf_b, sb_b), cache_b = layer.forward(x[:L, b:b + 1])
        dx_b, _ = layer.backward(R[:L, b:b + 1], cache_b)
        np.testing.assert_allclose(hs[:L, b], hs_b[:, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx[:L, b], dx_b[:, 0], rtol=1e-12, atol=1e-12)
        h_f, h_b = (sf[0], sb[0]) if cell == "lstm" else (sf, sb)
        h_fb, h_bb = (sf_b[0], sb_b[0]) if cell == "lstm" else (sf_b, sb_b)
        np.testing.assert_allclose(h_f[b], h_fb[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_b[b], h_bb[0], rtol=1e-12, atol=1e-12)
        # the backward direction's first output (at the row's last real step) saw only that step
        np.testing.assert_allclose(hs[L - 1, b, H:], hs_b[L - 1, 0, H:], rtol=1e-12, atol=1e-12)
        for k in acc:
            acc[k] += layer.grads[k]
    for k in acc:
        np.testing.assert_allclose(total[k], acc[k], rtol=1e-10, atol=1e-12)


def test_backward_half_reads_the_future(rng):
    """Changing the last input changes the backward half of the first output, never the forward half."""
    layer = Bidirectional("gru", 2, 3, rng=rng, dtype=np.float64)
    x = rng.standard_normal((5, 1, 2))
    hs, _, _ = layer.forward(x)
    x2 = x.copy()
    x2[-1] += 1.0
    hs2, _, _ = layer.forward(x2)
    assert np.array_equal(hs[0, 0, :3], hs2[0, 0, :3])
    assert np.abs(hs[0, 0, 3:] - hs2[0, 0, 3:]).max() > 1e-3


def test_parameter_count_is_twice_one_direction():
    for cell, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        D, H = 5, 7
        assert Bidirectional(cell, D, H).num_params() == 2 * G * H * (D + H + 1)


def test_grads_dict_is_kept_and_params_are_the_layers_arrays(rng):
    layer = Bidirectional("lstm", 2, 3, rng=rng, dtype=np.float64)
    grads, params = layer.grads, layer.params
    x = rng.standard_normal((4, 2, 2))
    for _ in range(2):
        _, _, cache = layer.forward(x)
        layer.backward(rng.standard_normal((4, 2, 6)), cache)
        assert layer.grads is grads
        assert grads["fw.W_x"] is layer.fw.grads["W_x"] and grads["bw.b"] is layer.bw.grads["b"]
    layer.astype(np.float32)
    assert layer.params is params and layer.grads is grads
    assert params["fw.W_h"] is layer.fw.params["W_h"] and params["bw.W_h"].dtype == np.float32
    assert set(grads) == set(params)


def test_errors_name_argument_expected_and_given(rng):
    layer = Bidirectional("gru", 3, 4)
    with pytest.raises(ShapeError, match=r"x: expected .*D=3.*got"):
        layer.forward(np.zeros((5, 2, 4)))
    with pytest.raises(ShapeError, match=r"state0: expected a pair \(forward, backward\).*got ndarray"):
        layer.forward(np.zeros((5, 2, 3)), state0=np.zeros((2, 4)))
    with pytest.raises(ShapeError, match=r"x: expected a non-empty array"):
        layer.forward(np.zeros((0, 2, 3)))
    with pytest.raises(rnn_core.HyperparameterError, match=r"cell: expected one of .*got 'cnn'"):
        Bidirectional("cnn", 3, 4)
    _, _, cache = layer.forward(np.zeros((5, 2, 3)))
    with pytest.raises(ShapeError, match=r"dhs: expected shape \(T=5, B=2, H=8\), got \(5, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 4)), cache)
