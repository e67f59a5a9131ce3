"""Diagnostics: step Jacobians, Jacobian products, total ∂L/∂h_t, spectra and the Pascanu bound.

Everything is checked against central finite differences of ``layer.forward`` in float64.
"""
import numpy as np
import pytest

from rnn_core import diagnostics as dg
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.gradcheck import gradcheck, rel_error
from rnn_core.gru import GRU
from rnn_core.init import orthogonal
from rnn_core.lstm import LSTM
from rnn_core.rnn import RNN

CELLS = ["rnn-tanh", "rnn-relu", "lstm", "gru", "gru-reset-after"]


def make_layer(cell, D, H, rng):
    """A float64 layer with every parameter (biases included) randomised and non-zero."""
    if cell.startswith("rnn"):
        layer = RNN(D, H, nonlinearity=cell[4:], rng=rng, dtype=np.float64)
    elif cell == "lstm":
        layer = LSTM(D, H, rng=rng, dtype=np.float64)
    else:
        layer = GRU(D, H, reset_after=cell == "gru-reset-after", rng=rng, dtype=np.float64)
    for k, p in layer.params.items():
        p += 0.3 * rng.standard_normal(p.shape)
    return layer


def random_problem(cell, rng, with_mask):
    T, B, D, H = int(rng.integers(3, 7)), int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 6))
    layer = make_layer(cell, D, H, rng)
    x = rng.standard_normal((T, B, D))
    if cell == "lstm":
        state0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    else:
        state0 = rng.standard_normal((B, H))
    mask = None
    if with_mask:
        mask = (rng.random((T, B)) > 0.35).astype(np.float64)
        mask[0, 0] = 1.0
        mask[-1, -1] = 0.0                  # at least one masked and one real step
    return layer, x, state0, mask


def states_after_each_step(layer, x, state0, mask):
    """[state0, state after step 1, ..., state after step T] by running the layer one step at a time."""
    states = [state0]
    for t in range(x.shape[0]):
        m = None if mask is None else mask[t:t + 1]
        states.append(layer.forward(x[t:t + 1], state0=states[-1], mask=m)[1])
    return states


def fd_jacobian(fn, v, eps=1e-6):
    """Central-difference Jacobian of fn: (B, n) -> (B, m), per batch row: (B, m, n). ``v`` is restored."""
    B, n = v.shape
    cols = []
    for k in range(n):
        old = v[:, k].copy()
        v[:, k] = old + eps
        fp = fn().copy()
        v[:, k] = old - eps
        fm = fn().copy()
        v[:, k] = old
        cols.append((fp - fm) / (2 * eps))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_products_match_finite_differences(cell, with_mask, rng):
    layer, x, state0, mask = random_problem(cell, rng, with_mask)
    T = x.shape[0]
    P = dg.jacobian_products(layer, x, state0, mask)              # (T, B, H, H)
    states = states_after_each_step(layer, x, state0, mask)
    for t in range(T):
        ms = None if mask is None else mask[t:]
        if cell == "lstm":
            h_t, c_t = (s.copy() for s in states[t])
            P_fd = fd_jacobian(lambda: layer.forward(x[t:], state0=(h_t, c_t), mask=ms)[1][0], h_t)
        else:
            h_t = states[t].copy()
            P_fd = fd_jacobian(lambda: layer.forward(x[t:], state0=h_t, mask=ms)[1], h_t)
        assert rel_error(P[t], P_fd) < 1e-7, (t, rel_error(P[t], P_fd))
        norms2 = dg.jacobian_product_norms(layer, x, state0, mask, ord=2, average=False)
        normsF = dg.jacobian_product_norms(layer, x, state0, mask, ord="fro", average=False)
        assert rel_error(norms2[t], np.linalg.norm(P_fd, ord=2, axis=(1, 2))) < 1e-7
        assert rel_error(normsF[t], np.linalg.norm(P_fd, axis=(1, 2))) < 1e-7


@pytest.mark.parametrize("with_mask", [False, True])
def test_lstm_full_state_jacobian_matches_finite_differences(with_mask, rng):
    layer, x, state0, mask = random_problem("lstm", rng, with_mask)
    T, B, _ = x.shape
    H = layer.hidden_size
    P = dg.jacobian_products(layer, x, state0, mask, wrt="state")  # (T, B, 2H, 2H)
    assert P.shape == (T, B, 2 * H, 2 * H)
    states = states_after_each_step(layer, x, state0, mask)
    for t in range(T):
        ms = None if mask is None else mask[t:]
        s = np.concatenate(states[t], axis=1)                     # (B, 2H)

        def final_state():
            h, c = layer.forward(x[t:], state0=(s[:, :H].copy(), s[:, H:].copy()), mask=ms)[1]
            return np.concatenate([h, c], axis=1)

        assert rel_error(P[t], fd_jacobian(final_state, s)) < 1e-7


@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_hidden_state_gradients_match_finite_differences(cell, with_mask, rng):
    """G[t-1] = ∂L/∂h_t counts the direct term and everything flowing back from later steps."""
    layer, x, state0, mask = random_problem(cell, rng, with_mask)
    T, B, _ = x.shape
    H = layer.hidden_size
    lstm = cell == "lstm"
    dhs = rng.standard_normal((T, B, H))
    dstate = (rng.standard_normal((B, H)), rng.standard_normal((B, H))) if lstm else rng.standard_normal((B, H))
    G, dstate0 = dg.hidden_state_gradients(layer, x, dhs, state0, mask, dstate)
    states = states_after_each_step(layer, x, state0, mask)
    m = np.ones((T, B)) if mask is None else mask

    for t in range(T + 1):                                        # t = 0 is state0
        ms = None if mask is None else mask[t:]
        if lstm:
            h_t, c_t = (s.copy() for s in states[t])
            arrays = {"h": h_t, "c": c_t}
            grads = {"h": dstate0[0], "c": dstate0[1]} if t == 0 else {"h": G[0][t - 1], "c": G[1][t - 1]}
        else:
            h_t = states[t].copy()
            arrays = {"h": h_t}
            grads = {"h": dstate0 if t == 0 else G[t - 1]}

        def loss():
            state = (h_t, c_t) if lstm else h_t
            if t < T:
                hs, final, _ = layer.forward(x[t:], state0=state, mask=ms)
                L = np.sum(dhs[t:] * hs)
            else:                                                 # after the last step
                final, L = state, 0.0
            L += sum(np.sum(a * b) for a, b in zip(dstate, final)) if lstm else np.sum(dstate * final)
            if t > 0:                                             # the direct term on hs[t-1] = m h_t
                L += np.sum(dhs[t - 1] * m[t - 1][:, None] * h_t)
            return L

        res = gradcheck(loss, arrays, grads)
        assert res.max_error < 1e-7, (t, res)


@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_hidden_state_gradients_agree_with_layer_backward(cell, with_mask, rng):
    """The gradient that reaches state0 is the layer's own dstate0."""
    layer, x, state0, mask = random_problem(cell, rng, with_mask)
    T, B, _ = x.shape
    H = layer.hidden_size
    dhs = rng.standard_normal((T, B, H))
    dstate = (rng.standard_normal((B, H)), rng.standard_normal((B, H))) if cell == "lstm" else rng.standard_normal((B, H))
    _, dstate0 = dg.hidden_state_gradients(layer, x, dhs, state0, mask, dstate)
    _, _, cache = layer.forward(x, state0=state0, mask=mask)
    _, want = layer.backward(dhs, cache, dstate=dstate)
    if cell == "lstm":
        assert rel_error(dstate0[0], want[0]) < 1e-10 and rel_error(dstate0[1], want[1]) < 1e-10
    else:
        assert rel_error(dstate0, want) < 1e-10


@pytest.mark.parametrize("H", [3, 8])
@pytest.mark.parametrize("radius", [0.8, 1.0, 1.25])
def test_linearised_rnn_decays_exactly_at_rate_of_largest_singular_value(H, radius, rng):
    """At h = 0 (x = 0, b = 0, state0 = 0) tanh'(0) = 1: every step Jacobian is exactly W_hᵀ.

    With W_h = ρ Q, Q orthogonal, all singular values of W_h^k equal ρ^k: ‖∂h_T/∂h_t‖ = ρ^(T-t).
    """
    T, B = 30, 2
    layer = RNN(4, H, rng=rng, dtype=np.float64)
    layer.params["W_h"] = radius * orthogonal((H, H), rng, np.float64)
    x = np.zeros((T, B, 4))
    J = dg.step_jacobians(layer, x)
    np.testing.assert_array_equal(J, np.broadcast_to(layer.params["W_h"].T, J.shape))
    norms = dg.jacobian_product_norms(layer, x)
    gaps = T - np.arange(T)
    np.testing.assert_allclose(norms, radius ** gaps, rtol=1e-10)
    np.testing.assert_allclose(norms, dg.pascanu_bound(layer.params["W_h"], gaps), rtol=1e-10)


def test_relu_rnn_with_positive_preactivations_is_linear(rng):
    """relu with every pre-activation > 0 is the identity: W_h = ρ·(permutation) gives exactly ρ^(T-t)."""
    T, B, D, H, rho = 25, 3, 2, 6, 0.9
    layer = RNN(D, H, nonlinearity="relu", rng=rng, dtype=np.float64)
    layer.params["W_h"] = rho * np.eye(H)[rng.permutation(H)]
    layer.params["W_x"] = np.abs(layer.params["W_x"])
    layer.params["b"] = 0.1 + rng.random(H)
    x = rng.random((T, B, D))                                     # >= 0: all pre-activations > 0
    norms = dg.jacobian_product_norms(layer, x, average=False)
    np.testing.assert_allclose(norms, np.broadcast_to((rho ** (T - np.arange(T)))[:, None], (T, B)), rtol=1e-12)


def test_general_matrix_bounded_by_sigma_max_and_rate_is_spectral_radius(rng):
    """Linearised RNN with a Gaussian W_h: ‖W_h^k‖ ≤ σ_max^k, and ‖W_h^k‖^(1/k) → ρ(W_h) (Gelfand)."""
    T, H = 200, 6
    layer = RNN(3, H, rng=rng, dtype=np.float64)
    layer.params["W_h"] = rng.standard_normal((H, H)) / np.sqrt(H)
    norms = dg.jacobian_product_norms(layer, np.zeros((T, 1, 3)))
    gaps = T - np.arange(T)
    W_h = layer.params["W_h"]
    np.testing.assert_allclose(norms, [np.linalg.norm(np.linalg.matrix_power(W_h.T, k), 2) for k in gaps],
                               rtol=1e-9)
    assert np.all(norms <= dg.pascanu_bound(W_h, gaps) * (1 + 1e-12))
    rate = norms[0] ** (1 / gaps[0])
    assert abs(rate - dg.spectral_radius(W_h)) / dg.spectral_radius(W_h) < 0.05


@pytest.mark.parametrize("cell", ["rnn-tanh", "rnn-relu"])
def test_pascanu_bound_holds_for_random_rnns(cell, rng):
    layer = make_layer(cell, 3, 5, rng)
    T = 12
    x = rng.standard_normal((T, 4, 3))
    norms = dg.jacobian_product_norms(layer, x, average=False)   # (T, B)
    bound = dg.pascanu_bound(layer.params["W_h"], T - np.arange(T))
    assert np.all(norms <= bound[:, None] * (1 + 1e-12))
    assert np.all(norms > 0)


def test_float32_layer_is_analysed_in_float64_and_left_unchanged(rng):
    layer32 = LSTM(3, 4, rng=0)
    before = {k: v.copy() for k, v in layer32.params.items()}
    layer64 = LSTM(3, 4, rng=0, dtype=np.float64)
    x = rng.standard_normal((6, 2, 3))
    n32 = dg.jacobian_product_norms(layer32, x)
    n64 = dg.jacobian_product_norms(layer64, x)
    assert n32.dtype == np.float64
    assert rel_error(n32, n64) < 1e-6                              # same network up to float32 weights
    for k, v in layer32.params.items():
        assert v.dtype == np.float32 and np.array_equal(v, before[k])


def test_grad_norms_over_time(rng):
    G = rng.standard_normal((5, 3, 4))
    per = dg.grad_norms_over_time(G, average=False)
    assert per.shape == (5, 3)
    np.testing.assert_allclose(per[2, 1], np.sqrt(np.sum(G[2, 1] ** 2)))
    np.testing.assert_allclose(dg.grad_norms_over_time(G), per.mean(axis=1))


def test_spectral_radius_and_largest_singular_value():
    N = np.array([[0.0, 2.0], [0.0, 0.0]])                        # nilpotent: ρ = 0 but σ_max = 2
    assert dg.spectral_radius(N) == 0.0
    assert dg.largest_singular_value(N) == pytest.approx(2.0)
    R = 0.7 * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    assert dg.spectral_radius(R) == pytest.approx(0.7)
    assert dg.largest_singular_value(R) == pytest.approx(0.7)
    assert dg.largest_singular_value(np.diag([3.0, -5.0, 1.0])) == pytest.approx(5.0)


def test_pascanu_bound_values():
    W = np.diag([2.0, 0.5])
    np.testing.assert_allclose(dg.pascanu_bound(W, [0, 1, 3]), [1.0, 2.0, 8.0])
    np.testing.assert_allclose(dg.pascanu_bound(W, 3, gamma=0.25), 0.125)   # sigmoid: (σ_max/4)^k


def test_errors_name_the_argument(rng):
    layer = RNN(3, 4, rng=0, dtype=np.float64)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        dg.jacobian_product_norms(layer, rng.standard_normal((5, 2, 7)))
    with pytest.raises(ShapeError, match="x"):
        dg.jacobian_product_norms(layer, rng.standard_normal((5, 3)))
    with pytest.raises(NonFiniteError, match="x"):
        dg.jacobian_product_norms(layer, np.full((5, 2, 3), np.nan))
    with pytest.raises(ShapeError, match="mask"):
        dg.jacobian_product_norms(layer, x, mask=np.ones((5, 3)))
    with pytest.raises(ShapeError, match="state0"):
        dg.jacobian_product_norms(layer, x, state0=np.zeros((2, 5)))
    with pytest.raises(HyperparameterError, match="ord"):
        dg.jacobian_product_norms(layer, x, ord=1)
    with pytest.raises(HyperparameterError, match="wrt"):
        dg.jacobian_products(layer, x, wrt="c")
    with pytest.raises(HyperparameterError, match="layer"):
        dg.step_jacobians(object(), x)
    with pytest.raises(ShapeError, match="dhs"):
        dg.hidden_state_gradients(layer, x, np.zeros((5, 2, 5)))
    with pytest.raises(ShapeError, match="dstate"):
        dg.hidden_state_gradients(layer, x, np.zeros((5, 2, 4)), dstate=np.zeros((3, 4)))
    with pytest.raises(ShapeError, match="W"):
        dg.spectral_radius(np.zeros((3, 4)))
    with pytest.raises(ShapeError, match="W_h"):
        dg.pascanu_bound(np.zeros(3), 2)
    with pytest.raises(HyperparameterError, match="gamma"):
        dg.pascanu_bound(np.eye(2), 2, gamma=0)
    with pytest.raises(HyperparameterError, match="steps"):
        dg.pascanu_bound(np.eye(2), [-1, 2])
    with pytest.raises(ShapeError, match="G"):
        dg.grad_norms_over_time(np.zeros((3, 4)))
