"""gradcheck itself: it must pass a correct backward on every BLAS kernel, fail a wrong one by
orders of magnitude, and report an error bar that really bounds the finite difference's error."""
import numpy as np
import pytest

import rnn_core.rnn
from rnn_core import HyperparameterError, ShapeError, gradcheck
from rnn_core.peephole import PeepholeLSTM
from rnn_core.rnn import RNN
from helpers import lstm_gradcheck, randomize

TOL = 1e-7
WRONG = 1e3 * TOL          # a planted bug must fail by at least three orders of magnitude


def long_mask(T, B):
    mask = np.ones((T, B))
    mask[30:, 0] = 0
    mask[10:13, 2] = 0
    return mask


def rnn_check(rng, T, B, mode, plant=None, **kw):
    """Gradcheck of an RNN; ``plant(grads)`` edits the analytic gradients (a planted bug)."""
    layer = randomize(RNN(4, 5, rng=rng, dtype=np.float64), rng)
    x, h0 = rng.standard_normal((T, B, 4)), rng.standard_normal((B, 5))
    R, R2 = rng.standard_normal((T, B, 5)), rng.standard_normal((B, 5))

    def f():
        hs, h_T, _ = layer.forward(x, h0)
        return np.sum(hs * R) + np.sum(h_T * R2)

    _, _, cache = layer.forward(x, h0)
    dx, dh0 = layer.backward(R, cache, R2)
    grads = {**{k: g.copy() for k, g in layer.grads.items()}, "x": dx, "h0": dh0}
    if plant is not None:
        plant(grads)
    return gradcheck(f, {**layer.params, "x": x, "h0": h0}, grads, mode=mode, **kw)


PLANTED = {
    "dW_h scaled by 1.001": lambda g: g["W_h"].__imul__(1.001),
    "bias gradient of one unit dropped": lambda g: g["b"].__setitem__(0, 0.0),
    "dx off by one step": lambda g: g.__setitem__("x", np.roll(g["x"], 1, axis=0)),
    "dh0 sign flipped": lambda g: g["h0"].__imul__(-1.0),
}


@pytest.mark.parametrize("mode,T", [("elementwise", 5), ("directional", 40)])
@pytest.mark.parametrize("bug", list(PLANTED))
def test_planted_bug_fails_by_orders_of_magnitude(rng, mode, T, bug):
    seed = int(rng.integers(2**31))
    good = rnn_check(np.random.default_rng(seed), T, 3, mode)
    bad = rnn_check(np.random.default_rng(seed), T, 3, mode, plant=PLANTED[bug])
    assert good.max_error < TOL, good
    assert bad.max_error > WRONG, (bug, bad)


def test_planted_bug_in_the_code_fails(rng, monkeypatch):
    """A wrong derivative inside the backward (tanh' = 1 − h instead of 1 − h²)."""
    seed = int(rng.integers(2**31))
    assert rnn_check(np.random.default_rng(seed), 5, 3, "elementwise").max_error < TOL
    monkeypatch.setattr(rnn_core.rnn, "_dphi", lambda h, nl: 1.0 - h)
    for mode, T in [("elementwise", 5), ("directional", 40)]:
        res = rnn_check(np.random.default_rng(seed), T, 3, mode)
        assert res.max_error > WRONG, res


@pytest.mark.parametrize("peephole", ["diagonal", "full"])
def test_missing_peephole_gradient_fails_on_a_long_sequence(rng, peephole):
    """The case that was at its round-off floor (issue 10): the long-sequence directional check
    resolves ~1e-9 on every kernel, and a peephole gradient left at zero fails by far."""
    layer = randomize(PeepholeLSTM(5, 6, peephole=peephole, rng=rng, dtype=np.float64), rng)
    res = lstm_gradcheck(layer, rng, 40, 3, mode="directional", mask=long_mask(40, 3))
    assert res.max_error < TOL / 10 and res.max_fd_error < TOL / 10, res

    name = "p_o" if peephole == "diagonal" else "P_o"
    real_backward = layer.backward

    def backward(*args, **kw):
        out = real_backward(*args, **kw)
        layer.grads[name][...] = 0.0                    # the output-gate peephole forgotten
        return out
    layer.backward = backward
    bad = lstm_gradcheck(layer, rng, 40, 3, mode="directional", mask=long_mask(40, 3))
    assert bad.max_error > WRONG, bad


def test_error_estimate_bounds_the_real_error():
    """On a function with a known derivative and large higher derivatives, the reported
    error is within the finite difference's own estimated error (which is not absurdly big)."""
    x = np.linspace(-2, 2, 7)
    a = np.array([0.5, 1.0, 3.0, 6.0, 1.0, 2.0, 4.0])

    def f():
        return float(np.sum(np.exp(a * x)))
    exact = {"x": a * np.exp(a * x)}
    for h in (0.5, 0.3, 0.1):                            # truncation-dominated: the estimate holds
        res = gradcheck(f, {"x": x}, exact, h=h)
        assert res.errors["x"] <= 1.5 * res.fd_errors["x"], (h, res)
    assert gradcheck(f, {"x": x}, exact).max_error < 1e-10


def test_kink_of_relu_inside_the_step_is_detected_and_avoided():
    """relu with a kink 2e-4 away from x: the steps 1e-3 .. 2.5e-4 cross it, the error
    estimate says so, and gradcheck retries with h = 1e-4, which is exact again."""
    x = np.array([2e-4, -2e-4, 0.3, -0.7])
    w = np.array([1.0, 2.0, -1.5, 0.5])

    def f():
        return float(np.sum(w * np.maximum(x, 0.0)))
    res = gradcheck(f, {"x": x}, {"x": w * (x > 0)})
    assert res.steps["x"] == pytest.approx(1e-4)
    assert res.max_error < 1e-12 and res.max_fd_error < 1e-12, res


def test_arrays_restored_exactly_and_errors(rng):
    x = rng.standard_normal((3, 2))
    before = x.copy()
    f = lambda: float(np.sum(np.sin(x)))  # noqa: E731
    for mode in ("elementwise", "directional"):
        res = gradcheck(f, {"x": x}, {"x": np.cos(x)}, mode=mode)
        assert res.max_error < 1e-10, res
        np.testing.assert_array_equal(x, before)
    with pytest.raises(ShapeError, match=r"arrays\['x'\]: expected a float64"):
        gradcheck(f, {"x": x.astype(np.float32)}, {"x": np.cos(x)})
    with pytest.raises(ShapeError, match=r"grads\['x'\]: expected shape \(3, 2\), got \(2, 3\)"):
        gradcheck(f, {"x": x}, {"x": np.cos(x).T})
    with pytest.raises(HyperparameterError, match="h: expected a float in"):
        gradcheck(f, {"x": x}, {"x": np.cos(x)}, h=2.0)
    with pytest.raises(HyperparameterError, match="mode: expected one of"):
        gradcheck(f, {"x": x}, {"x": np.cos(x)}, mode="fast")
