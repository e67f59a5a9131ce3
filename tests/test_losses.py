"""Losses: values, gradients (float64 finite differences), masks, extreme logits, errors."""
import numpy as np
import pytest

from rnn_core import log_softmax, mse, perplexity, softmax, softmax_cross_entropy
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.gradcheck import gradcheck

TOL = 1e-7


def test_softmax_and_log_softmax_are_stable(rng):
    a = np.array([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]])
    p = softmax(a)
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    lp = log_softmax(a)
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp[0], [0.0, -1e4, -2e4])
    x = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(np.exp(log_softmax(x, axis=1)), softmax(x, axis=1), atol=1e-15)
    np.testing.assert_allclose(softmax(x).sum(-1), 1.0, atol=1e-15)


def test_softmax_errors():
    with pytest.raises(ShapeError, match="logits"):
        softmax(np.float64(1.0))
    with pytest.raises(ShapeError, match="logits"):
        log_softmax(np.zeros((2, 0)))
    with pytest.raises(NonFiniteError, match="logits"):
        softmax(np.array([1.0, np.nan]))
    with pytest.raises(ShapeError, match="axis"):
        log_softmax(np.zeros((2, 3)), axis=2)
    np.testing.assert_allclose(softmax(np.array([0, 0])), [0.5, 0.5])      # ints are promoted


def test_cross_entropy_value_by_hand():
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))    # (B=2, C=3)
    loss, dlogits = softmax_cross_entropy(logits, np.array([1, 2]))
    assert abs(loss - (-np.log(0.5) - np.log(0.8)) / 2) < 1e-14
    np.testing.assert_allclose(dlogits, [[0.1, -0.25, 0.15], [0.05, 0.05, -0.1]], atol=1e-15)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("rank", [2, 3])
def test_cross_entropy_gradcheck(rng, masked, rank):
    shape = (4, 3) if rank == 3 else (5,)
    V = 6
    logits = 2.0 * rng.standard_normal(shape + (V,))
    targets = rng.integers(0, V, size=shape)
    mask = None
    if masked:
        mask = (rng.random(shape) < 0.6).astype(np.float64)
        mask.flat[0] = 1
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)

    def f():
        return softmax_cross_entropy(logits, targets, mask)[0]

    res = gradcheck(f, {"logits": logits}, {"logits": dlogits})
    assert res.max_error < TOL, res
    if masked:
        assert np.all(dlogits[mask == 0] == 0)                    # padding: exactly zero


def test_masked_cross_entropy_is_mean_over_real_tokens_and_ignores_padding_targets(rng):
    T, B, V = 4, 3, 5
    logits = rng.standard_normal((T, B, V))
    targets = rng.integers(0, V, size=(T, B))
    mask = np.ones((T, B))
    mask[2:, 0] = 0
    loss, _ = softmax_cross_entropy(logits, targets, mask)
    lp = log_softmax(logits)
    nll = -np.take_along_axis(lp, targets[..., None], -1)[..., 0]
    assert abs(loss - nll[mask == 1].mean()) < 1e-14
    targets2 = targets.copy()
    targets2[2:, 0] = -1                                            # a padding id outside [0, V)
    loss2, d2 = softmax_cross_entropy(logits, targets2, mask)
    assert loss2 == loss


def test_cross_entropy_extreme_logits(rng):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss, d = softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert abs(loss - (0.0 + (2e4 + np.log(2))) / 2) < 1e-9
    np.testing.assert_allclose(d, [[0, 0, 0], [-0.5, 0.25, 0.25]], atol=1e-15)
    logits32 = (1e4 * rng.standard_normal((3, 2, 4))).astype(np.float32)
    loss, d = softmax_cross_entropy(logits32, np.zeros((3, 2), dtype=int))
    assert np.isfinite(loss) and d.dtype == np.float32 and np.all(np.isfinite(d))


def test_cross_entropy_errors(rng):
    logits = rng.standard_normal((3, 2, 4))
    targets = np.zeros((3, 2), dtype=int)
    with pytest.raises(ShapeError, match="logits"):
        softmax_cross_entropy(logits[0, 0], targets[0, 0])               # rank 1
    with pytest.raises(ShapeError, match="targets"):
        softmax_cross_entropy(logits, np.zeros((3, 3), dtype=int))
    with pytest.raises(ShapeError, match="targets"):
        softmax_cross_entropy(logits, np.full((3, 2), 4))                # out of range
    with pytest.raises(ShapeError, match="targets"):
        softmax_cross_entropy(logits, np.full((3, 2), -1))
    with pytest.raises(ShapeError, match="targets"):
        softmax_cross_entropy(logits, np.zeros((3, 2)))                  # float class ids
    with pytest.raises(ShapeError, match="mask"):
        softmax_cross_entropy(logits, targets, np.ones((2, 3)))
    with pytest.raises(ShapeError, match="mask"):
        softmax_cross_entropy(logits, targets, np.zeros((3, 2)))         # no real token
    with pytest.raises(ShapeError, match="mask"):
        softmax_cross_entropy(logits[0], targets[0], np.array([0.5, 1.0]))
    with pytest.raises(ShapeError, match="logits"):
        softmax_cross_entropy(np.zeros((0, 2, 4)), np.zeros((0, 2), dtype=int))
    with pytest.raises(ShapeError, match="logits"):
        softmax_cross_entropy(np.zeros((3, 2, 4), dtype=int), targets)
    bad = logits.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(NonFiniteError, match="logits"):
        softmax_cross_entropy(bad, targets)


@pytest.mark.parametrize("masked", [False, True])
def test_mse_gradcheck_and_value(rng, masked):
    T, B, D = 4, 3, 2
    pred, target = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, D))
    mask = None
    if masked:
        mask = np.ones((T, B))
        mask[2:, 1] = 0
    loss, dpred = mse(pred, target, mask)
    m = np.ones((T, B)) if mask is None else mask
    expected = np.sum(m[..., None] * (pred - target) ** 2) / (m.sum() * D)
    assert abs(loss - expected) < 1e-14

    def f():
        return mse(pred, target, mask)[0]

    res = gradcheck(f, {"pred": pred}, {"pred": dpred})
    assert res.max_error < TOL, res
    if masked:
        assert np.all(dpred[2:, 1] == 0)


def test_mse_matches_plain_mean():
    loss, d = mse(np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 0.0]))
    assert loss == pytest.approx(20 / 3)
    np.testing.assert_allclose(d, [0.0, 4 / 3, 8 / 3])


def test_mse_errors(rng):
    p = rng.standard_normal((3, 2, 1))
    with pytest.raises(ShapeError, match="target"):
        mse(p, p[:2])
    with pytest.raises(ShapeError, match="mask"):
        mse(p, p, np.ones((2, 3)))
    with pytest.raises(ShapeError, match="mask"):
        mse(p, p, np.ones((3, 2, 1, 1)))
    with pytest.raises(ShapeError, match="mask"):
        mse(p, p, np.zeros((3, 2)))
    with pytest.raises(ShapeError, match="pred"):
        mse(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(NonFiniteError, match="target"):
        mse(p, np.full_like(p, np.nan))


def test_perplexity():
    assert perplexity(0.0) == 1.0
    assert perplexity(np.log(7.0)) == pytest.approx(7.0)
    with pytest.raises(NonFiniteError, match="mean_nll"):
        perplexity(float("nan"))
    with pytest.raises(HyperparameterError, match="mean_nll"):
        perplexity(-1.0)
    with pytest.raises(HyperparameterError, match="mean_nll"):
        perplexity("2")
