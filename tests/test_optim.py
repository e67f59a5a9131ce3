"""Optimizers checked by hand against their formulas for two steps; clipping; errors."""
import numpy as np
import pytest

from rnn_core.errors import HyperparameterError, ShapeError
from rnn_core.optim import SGD, Adam, RMSprop, clip_grad_norm, clip_grad_value, global_norm


def _problem(rng):
    p0 = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    g1 = {k: rng.standard_normal(v.shape) for k, v in p0.items()}
    g2 = {k: rng.standard_normal(v.shape) for k, v in p0.items()}
    return p0, g1, g2


def _run(opt, p0, g1, g2):
    params = {k: v.copy() for k, v in p0.items()}
    ids = {k: id(v) for k, v in params.items()}
    opt.step(params, g1)
    opt.step(params, g2)
    assert {k: id(v) for k, v in params.items()} == ids  # updated in place
    return params


def test_sgd_plain(rng):
    p0, g1, g2 = _problem(rng)
    out = _run(SGD(lr=0.1), p0, g1, g2)
    for k in p0:
        np.testing.assert_allclose(out[k], p0[k] - 0.1 * g1[k] - 0.1 * g2[k], rtol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov, rng):
    p0, g1, g2 = _problem(rng)
    lr, mu = 0.05, 0.9
    out = _run(SGD(lr, momentum=mu, nesterov=nesterov), p0, g1, g2)
    for k in p0:
        buf1 = g1[k]
        buf2 = mu * buf1 + g2[k]
        d1 = g1[k] + mu * buf1 if nesterov else buf1
        d2 = g2[k] + mu * buf2 if nesterov else buf2
        np.testing.assert_allclose(out[k], p0[k] - lr * d1 - lr * d2, rtol=1e-13)


def test_rmsprop(rng):
    p0, g1, g2 = _problem(rng)
    lr, a, eps = 0.01, 0.9, 1e-8
    out = _run(RMSprop(lr, alpha=a, eps=eps), p0, g1, g2)
    for k in p0:
        v1 = (1 - a) * g1[k] ** 2
        v2 = a * v1 + (1 - a) * g2[k] ** 2
        want = p0[k] - lr * g1[k] / (np.sqrt(v1) + eps) - lr * g2[k] / (np.sqrt(v2) + eps)
        np.testing.assert_allclose(out[k], want, rtol=1e-13)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam(wd, rng):
    p0, g1, g2 = _problem(rng)
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-8
    out = _run(Adam(lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd), p0, g1, g2)
    for k in p0:
        p, m, v = p0[k].copy(), 0.0, 0.0
        for t, g in ((1, g1[k]), (2, g2[k])):
            g = g + wd * p
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p = p - lr * mhat / (np.sqrt(vhat) + eps)
        np.testing.assert_allclose(out[k], p, rtol=1e-13)


def test_adam_first_step_is_lr_times_sign(rng):
    """Bias correction: the first step has size ≈ lr in every coordinate."""
    p = {"w": rng.standard_normal(50)}
    g = {"w": rng.standard_normal(50)}
    before = p["w"].copy()
    Adam(lr=0.01).step(p, g)
    np.testing.assert_allclose(before - p["w"], 0.01 * np.sign(g["w"]), rtol=1e-5)


def test_lr_is_settable_and_state_per_name(rng):
    opt = SGD(lr=0.1, momentum=0.5)
    p = {"a": np.ones(2), "b": np.ones(3)}
    opt.step(p, {"a": np.ones(2), "b": np.ones(3)})
    opt.lr = 0.01
    assert opt.lr == 0.01
    opt.step(p, {"a": np.ones(2), "b": np.ones(3)})
    np.testing.assert_allclose(p["a"], 1 - 0.1 - 0.01 * 1.5)
    assert set(opt.state) == {"a", "b"} and opt.state["a"]["t"] == 2
    opt.reset()
    assert opt.state == {}


def test_float32_params_stay_float32(rng):
    p = {"w": rng.standard_normal(5).astype(np.float32)}
    Adam(1e-3).step(p, {"w": rng.standard_normal(5)})
    assert p["w"].dtype == np.float32


def test_global_norm_and_clip_grad_norm(rng):
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    want = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    assert global_norm(grads) == pytest.approx(want, rel=1e-14)
    before = {k: v.copy() for k, v in grads.items()}
    norm = clip_grad_norm(grads, max_norm=want / 4)
    assert norm == pytest.approx(want, rel=1e-14)                  # norm before clipping
    assert global_norm(grads) == pytest.approx(want / 4, rel=1e-12)
    for k in grads:                                                 # one global scale: direction kept
        np.testing.assert_allclose(grads[k], before[k] / 4, rtol=1e-12)
    # below the threshold nothing changes
    same = {k: v.copy() for k, v in grads.items()}
    clip_grad_norm(grads, max_norm=10 * want)
    for k in grads:
        np.testing.assert_array_equal(grads[k], same[k])


def test_clip_grad_norm_nonfinite_is_returned_not_scaled():
    grads = {"a": np.array([1.0, np.nan])}
    assert np.isnan(clip_grad_norm(grads, 1.0))
    assert grads["a"][0] == 1.0


def test_clip_grad_value():
    grads = {"a": np.array([-3.0, 0.5, 2.0]), "b": np.array([[10.0]])}
    clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["a"], [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(grads["b"], [[1.0]])


@pytest.mark.parametrize("make, name", [
    (lambda: SGD(lr=-0.1), "lr"),              # lr = 0 is allowed (issue 10): a schedule may end there
    (lambda: SGD(lr=float("inf")), "lr"),
    (lambda: SGD(lr=float("nan")), "lr"),
    (lambda: SGD(lr=0.1, momentum=1.0), "momentum"),
    (lambda: SGD(lr=0.1, momentum=-0.1), "momentum"),
    (lambda: SGD(lr=0.1, nesterov=True), "nesterov"),
    (lambda: SGD(lr=0.1, momentum=0.9, nesterov="yes"), "nesterov"),
    (lambda: RMSprop(lr=0.1, alpha=1.0), "alpha"),
    (lambda: RMSprop(lr=0.1, eps=0.0), "eps"),
    (lambda: Adam(lr=0.1, beta1=1.0), "beta1"),
    (lambda: Adam(lr=0.1, beta1=-0.5), "beta1"),
    (lambda: Adam(lr=0.1, beta2=1.5), "beta2"),
    (lambda: Adam(lr=0.1, eps=-1e-8), "eps"),
    (lambda: Adam(lr=0.1, weight_decay=-1.0), "weight_decay"),
])
def test_bad_hyperparameters(make, name):
    with pytest.raises(HyperparameterError, match=rf"^{name}: expected .*, got "):
        make()


def test_bad_lr_assignment():
    opt = Adam(1e-3)
    with pytest.raises(HyperparameterError, match="lr: expected a finite number >= 0, got -1"):
        opt.lr = -1


def test_bad_params_grads():
    opt = SGD(lr=0.1)
    with pytest.raises(ShapeError, match=r"grads: expected the same keys as params, got missing \['b'\]"):
        opt.step({"a": np.ones(2), "b": np.ones(2)}, {"a": np.ones(2)})
    with pytest.raises(ShapeError, match=r"extra \['c'\]"):
        opt.step({"a": np.ones(2)}, {"a": np.ones(2), "c": np.ones(2)})
    with pytest.raises(ShapeError, match=r"grads\['a'\]: expected shape \(2,\) like params\['a'\], got \(3,\)"):
        opt.step({"a": np.ones(2)}, {"a": np.ones(3)})
    with pytest.raises(ShapeError, match=r"params\['a'\]: expected an ndarray"):
        opt.step({"a": [1.0, 2.0]}, {"a": np.ones(2)})


def test_bad_clip_args():
    g = {"a": np.ones(3)}
    with pytest.raises(HyperparameterError, match="max_norm: expected a finite number > 0, got 0"):
        clip_grad_norm(g, 0)
    with pytest.raises(HyperparameterError, match="max_norm"):
        clip_grad_norm(g, -1.0)
    with pytest.raises(HyperparameterError, match="clip"):
        clip_grad_value(g, 0.0)
    with pytest.raises(ShapeError, match="grads: expected at least one gradient array"):
        clip_grad_norm({}, 1.0)
