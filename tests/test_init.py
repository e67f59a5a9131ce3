"""Initializers: shapes, dtypes, statistics, orthogonality (per block), forget bias, errors."""
import numpy as np
import pytest

from rnn_core import init
from rnn_core.errors import HyperparameterError, ShapeError


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 7), (7, 1), (16, 48), (33, 8)])
def test_orthogonal_any_shape(shape, rng):
    W = init.orthogonal(shape, rng, dtype=np.float64)
    m, n = shape
    assert W.shape == shape and W.dtype == np.float64
    gram = W.T @ W if m >= n else W @ W.T          # tall: columns orthonormal; wide: rows
    np.testing.assert_allclose(gram, np.eye(min(m, n)), atol=1e-12)


@pytest.mark.parametrize("H, G", [(4, 4), (6, 3), (5, 1), (3, 2)])
def test_orthogonal_blocks_each_gate_block_is_orthogonal(H, G, rng):
    W = init.orthogonal((H, G * H), rng, dtype=np.float64, blocks=G)  # fused recurrent matrix (H, G·H)
    assert W.shape == (H, G * H)
    for k in range(G):
        blk = W[:, k * H:(k + 1) * H]
        np.testing.assert_allclose(blk.T @ blk, np.eye(H), atol=1e-12)
        np.testing.assert_allclose(blk @ blk.T, np.eye(H), atol=1e-12)
    if G > 1:  # blocks are drawn independently: different gates, cross products far from 0
        assert np.abs(W[:, :H].T @ W[:, H:2 * H]).max() > 0.1


def test_orthogonal_gain_and_wide_blocks(rng):
    W = init.orthogonal((2, 12), rng, dtype=np.float64, gain=0.5, blocks=2)  # blocks (2, 6), wide
    for k in range(2):
        blk = W[:, 6 * k:6 * (k + 1)]
        np.testing.assert_allclose(blk @ blk.T, 0.25 * np.eye(2), atol=1e-12)


def test_orthogonal_is_seeded_and_float32_default():
    a = init.orthogonal((5, 7), rng=3)
    b = init.orthogonal((5, 7), rng=np.random.default_rng(3))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_article_svd_version_returns_the_wrong_shape(rng):
    """The docstring's claim: full SVD of (m, n), m != n, gives neither (m, n)."""
    shape = (3, 5)
    u, _, v = np.linalg.svd(rng.standard_normal(shape))
    article = u if u.shape == shape else v
    assert article.shape == (5, 5) != shape
    assert init.orthogonal(shape, rng).shape == shape


@pytest.mark.parametrize("fn, std", [
    (init.xavier_normal, np.sqrt(2.0 / (200 + 300))),
    (init.xavier_uniform, np.sqrt(6.0 / (200 + 300)) / np.sqrt(3)),
    (init.he_normal, np.sqrt(2.0 / 200)),
    (init.he_uniform, np.sqrt(6.0 / 200) / np.sqrt(3)),
])
def test_variance_scaling_std(fn, std, rng):
    W = fn((200, 300), rng, dtype=np.float64)
    assert W.shape == (200, 300)
    assert abs(W.std() / std - 1) < 0.02           # 60,000 samples: std of the estimate ~0.3%
    assert abs(W.mean()) < 0.01 * std * 10


def test_uniform_bounds_and_gain(rng):
    a = np.sqrt(6.0 / (10 + 20))
    W = init.xavier_uniform((10, 20), rng, dtype=np.float64, gain=2.0)
    assert np.all(np.abs(W) <= 2 * a) and np.abs(W).max() > a
    W = init.he_uniform((10, 20), rng, dtype=np.float64)
    assert np.all(np.abs(W) <= np.sqrt(6.0 / 10))


def test_gaussian_default_std(rng):
    W = init.gaussian((300, 300), rng, dtype=np.float64)
    assert abs(W.std() / 0.01 - 1) < 0.02
    assert init.gaussian((4,), rng).dtype == np.float32


def test_forget_bias_sets_f_block_in_place():
    H = 3
    b = np.arange(4 * H, dtype=np.float64)
    out = init.forget_bias(b, H, value=2.0)
    assert out is b
    np.testing.assert_array_equal(b[H:2 * H], 2.0)
    np.testing.assert_array_equal(b[:H], [0, 1, 2])
    np.testing.assert_array_equal(b[2 * H:], np.arange(2 * H, 4 * H))


def test_errors():
    with pytest.raises(ShapeError, match="shape"):
        init.orthogonal((3,), 0)
    with pytest.raises(ShapeError, match="shape"):
        init.xavier_uniform((3, 0), 0)
    with pytest.raises(ShapeError, match="shape"):
        init.he_normal("ab", 0)
    with pytest.raises(HyperparameterError, match="blocks"):
        init.orthogonal((4, 10), 0, blocks=4)
    with pytest.raises(HyperparameterError, match="blocks"):
        init.orthogonal((4, 8), 0, blocks=0)
    with pytest.raises(HyperparameterError, match="gain"):
        init.orthogonal((4, 8), 0, gain=0.0)
    with pytest.raises(HyperparameterError, match="gain"):
        init.xavier_normal((4, 8), 0, gain=-1.0)
    with pytest.raises(HyperparameterError, match="std"):
        init.gaussian((4, 8), 0, std=0)
    with pytest.raises(HyperparameterError, match="dtype"):
        init.he_uniform((4, 8), 0, dtype=np.int32)
    with pytest.raises(HyperparameterError, match="rng"):
        init.xavier_uniform((4, 8), rng=-1)
    with pytest.raises(ShapeError, match=r"b: expected shape \(4H=12\), got \(8,\)"):
        init.forget_bias(np.zeros(8), 3)
    with pytest.raises(HyperparameterError, match="hidden_size"):
        init.forget_bias(np.zeros(8), 0)
    with pytest.raises(HyperparameterError, match="value"):
        init.forget_bias(np.zeros(8), 2, value=float("nan"))
