"""Stacked: gradients (float64, masks, per-layer states, dropout), equivalence with hand-chained layers,
errors, and the params/grads contract."""
import numpy as np
import pytest

import rnn_core
from rnn_core import HyperparameterError, ShapeError, Stacked, gradcheck
from helpers import assert_gradcheck, randomize

CELLS = ["rnn", "lstm", "gru"]


def random_state(cell, rng, B, H, bidirectional=False):
    one = (lambda: (rng.standard_normal((B, H)), rng.standard_normal((B, H)))) if cell == "lstm" \
        else (lambda: rng.standard_normal((B, H)))
    return (one(), one()) if bidirectional else one()


def leaves(state, prefix):
    """Flatten nested tuples of arrays into {name: array}."""
    if isinstance(state, (tuple, list)):
        out = {}
        for k, s in enumerate(state):
            out.update(leaves(s, f"{prefix}.{k}"))
        return out
    return {prefix: state}


def lengths_mask(lengths, T):
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(np.float64)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_gradcheck(rng, cell, bidirectional):
    """Every parameter, x and every layer's initial state; masks; a gradient at every final state."""
    T, B, D, H, L = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(1, 4)), \
        int(rng.integers(1, 4)), int(rng.integers(2, 4))
    net = Stacked(cell, D, H, num_layers=L, bidirectional=bidirectional, rng=rng, dtype=np.float64)
    randomize(net, rng)
    x = rng.standard_normal((T, B, D))
    mask = lengths_mask([T] + [int(rng.integers(1, T + 1)) for _ in range(B - 1)], T)
    s0 = [random_state(cell, rng, B, H, bidirectional) for _ in range(L)]
    R = rng.standard_normal((T, B, net.output_size))
    RS = [random_state(cell, rng, B, H, bidirectional) for _ in range(L)]
    RS_flat = leaves(RS, "s")

    def f():
        hs, states, _ = net.forward(x, s0, mask)
        return np.sum(hs * R) + sum(np.sum(v * RS_flat[k]) for k, v in leaves(states, "s").items())

    _, _, cache = net.forward(x, s0, mask)
    dx, ds0 = net.backward(R, cache, RS)
    arrays = {**net.params, "x": x, **leaves(s0, "s0")}
    grads = {**{k: g.copy() for k, g in net.grads.items()}, "x": dx, **leaves(ds0, "s0")}
    assert_gradcheck(f, arrays, grads, f"stacked {cell}")


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_equals_layers_chained_by_hand(rng, cell):
    """Two layers of Stacked == layer 0 then layer 1 (same arrays), forward and backward."""
    T, B, D, H = 5, 3, 2, 4
    net = randomize(Stacked(cell, D, H, num_layers=2, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((T, B, D))
    mask = lengths_mask([5, 3, 1], T)
    R = rng.standard_normal((T, B, H))
    hs, states, cache = net.forward(x, mask=mask)
    dx, _ = net.backward(R, cache)
    l0, l1 = net.layers
    h0s, st0, c0 = l0.forward(x, mask=mask)
    h1s, st1, c1 = l1.forward(h0s, mask=mask)
    np.testing.assert_array_equal(hs, h1s)
    dh0s, _ = l1.backward(R, c1)
    dx_hand, _ = l0.backward(dh0s, c0)
    np.testing.assert_array_equal(dx, dx_hand)


def test_dropout_between_layers_only_in_training(rng):
    """train=False is deterministic and dropout-free; train=True drops units of layer 0's output
    (never the input x, never the last output), and the gradient check holds with the drawn mask."""
    T, B, D, H = 4, 3, 2, 5
    net = randomize(Stacked("lstm", D, H, num_layers=2, dropout=0.5, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((T, B, D))
    R = rng.standard_normal((T, B, H))
    ev1, _, _ = net.forward(x)
    ev2, _, _ = net.forward(x, train=False)
    np.testing.assert_array_equal(ev1, ev2)
    hs, _, cache = net.forward(x, train=True)
    drop = cache.drops[1]
    assert cache.drops[0] is None and drop is not None
    assert set(np.unique(drop.mask)) == {0.0, 2.0}                   # inverted dropout, rate 0.5
    dx, _ = net.backward(R, cache)
    grads = {**{k: g.copy() for k, g in net.grads.items()}, "x": dx}

    def f():   # the same dropout mask, applied by hand
        h0s, _, _ = net.layers[0].forward(x)
        h1s, _, _ = net.layers[1].forward(h0s * drop.mask)
        return np.sum(h1s * R)

    assert_gradcheck(f, {**net.params, "x": x}, grads, "stacked lstm with dropout")


def test_parameter_counts():
    D, H = 6, 8
    for cell, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        one = G * H * (D + H + 1)
        assert Stacked(cell, D, H, num_layers=1).num_params() == one
        assert Stacked(cell, D, H, num_layers=3).num_params() == one + 2 * G * H * (H + H + 1)
        assert Stacked(cell, D, H, num_layers=2, bidirectional=True).num_params() == \
            2 * G * H * (D + H + 1) + 2 * G * H * (2 * H + H + 1)


def test_grads_dict_is_kept_and_params_are_the_layers_arrays(rng):
    net = Stacked("gru", 2, 3, num_layers=2, bidirectional=True, rng=rng, dtype=np.float64)
    grads, params = net.grads, net.params
    x = rng.standard_normal((4, 2, 2))
    for _ in range(2):
        _, _, cache = net.forward(x)
        net.backward(rng.standard_normal((4, 2, 6)), cache)
        assert net.grads is grads and set(grads) == set(params)
        assert grads["l1.fw.W_h"] is net.layers[1].fw.grads["W_h"]
    net.astype(np.float32)
    assert net.params is params and net.grads is grads
    assert params["l0.bw.W_x"] is net.layers[0].bw.params["W_x"]
    assert all(p.dtype == np.float32 for p in params.values())
    old = params["l1.fw.b"].copy()
    opt = rnn_core.SGD(lr=0.1)
    _, _, cache = net.forward(x.astype(np.float32))
    net.backward(np.ones((4, 2, 6), np.float32), cache)
    opt.step(net.params, net.grads)                                   # the update reaches the layer
    assert not np.array_equal(net.layers[1].fw.params["b"], old)


def test_errors_name_argument_expected_and_given():
    with pytest.raises(HyperparameterError, match=r"num_layers: expected a positive integer, got 0"):
        Stacked("lstm", 3, 4, num_layers=0)
    with pytest.raises(HyperparameterError, match=r"dropout: expected a number in \[0, 1\), got 1.5"):
        Stacked("lstm", 3, 4, dropout=1.5)
    with pytest.raises(HyperparameterError, match=r"bidirectional: expected True or False, got 'yes'"):
        Stacked("lstm", 3, 4, bidirectional="yes")
    net = Stacked("lstm", 3, 4, num_layers=2)
    x = np.zeros((5, 2, 3))
    with pytest.raises(ShapeError, match=r"state0: expected a list of num_layers=2 per-layer states .*got list of length 1"):
        net.forward(x, state0=[None])
    with pytest.raises(ShapeError, match=r"x: expected a non-empty array"):
        net.forward(np.zeros((0, 2, 3)))
    with pytest.raises(ShapeError, match=r"mask: expected shape \(T=5, B=2\), got \(5, 3\)"):
        net.forward(x, mask=np.ones((5, 3)))
    with pytest.raises(HyperparameterError, match=r"train: expected True or False, got 1"):
        net.forward(x, train=1)
    _, _, cache = net.forward(x)
    with pytest.raises(ShapeError, match=r"dstate: expected a list of num_layers=2"):
        net.backward(np.zeros((5, 2, 4)), cache, dstate=[None, None, None])
