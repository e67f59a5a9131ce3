"""Embedding, Dense, Dropout: forward values, gradients, padding, train/eval, errors."""
import numpy as np
import pytest

from rnn_core import Dense, Dropout, Embedding
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.gradcheck import gradcheck

TOL = 1e-7


# ---------------------------------------------------------------- Embedding

def test_embedding_lookup_and_padding_row(rng):
    emb = Embedding(10, 4, padding_idx=0, rng=rng)
    assert emb.params["W"].shape == (10, 4) and emb.params["W"].dtype == np.float32
    assert np.all(emb.params["W"][0] == 0)
    ids = np.array([[1, 0, 9], [3, 3, 0]])                      # (T=2, B=3)
    out, cache = emb.forward(ids)
    assert out.shape == (2, 3, 4)
    assert np.array_equal(out[0, 2], emb.params["W"][9])
    assert np.all(out[0, 1] == 0) and np.all(out[1, 2] == 0)   # padding maps to zeros


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_gradcheck_repeated_ids(rng, padding_idx):
    V, D, T, B = 6, 3, 4, 3
    emb = Embedding(V, D, padding_idx=padding_idx, rng=rng, dtype=np.float64)
    ids = rng.integers(0, V, size=(T, B))
    ids[0, 0] = ids[1, 0] = 4                                   # repeated id: gradients add up
    ids[2, 1] = 2
    dout = rng.standard_normal((T, B, D))
    out, cache = emb.forward(ids)
    assert emb.backward(dout, cache) is None

    def f():
        return np.sum(emb.forward(ids)[0] * dout)

    grads = {"W": emb.grads["W"].copy()}
    if padding_idx is not None:
        assert np.all(grads["W"][padding_idx] == 0)
        # the padding row's true derivative is not zero, we freeze it on purpose: check the rest
        keep = np.arange(V) != padding_idx
        num = np.zeros_like(grads["W"])
        np.add.at(num, ids.ravel(), dout.reshape(-1, D))
        np.testing.assert_allclose(grads["W"][keep], num[keep], rtol=0, atol=1e-12)
    else:
        res = gradcheck(f, {"W": emb.params["W"]}, grads)
        assert res.max_error < TOL, res


def test_embedding_errors(rng):
    with pytest.raises(HyperparameterError, match="V"):
        Embedding(0, 3)
    with pytest.raises(HyperparameterError, match="D"):
        Embedding(5, -2)
    with pytest.raises(HyperparameterError, match="padding_idx"):
        Embedding(5, 3, padding_idx=5)
    with pytest.raises(HyperparameterError, match="dtype"):
        Embedding(5, 3, dtype=np.int64)
    emb = Embedding(5, 3, rng=rng)
    with pytest.raises(ShapeError, match="ids"):
        emb.forward(np.array([[1, 5]]))                          # out of range
    with pytest.raises(ShapeError, match="ids"):
        emb.forward(np.array([[-1, 2]]))
    with pytest.raises(ShapeError, match="ids"):
        emb.forward(np.array([[1.0, 2.0]]))                      # not integer
    with pytest.raises(ShapeError, match="ids"):
        emb.forward(np.zeros((2, 2, 2), dtype=int))              # rank 3
    with pytest.raises(ShapeError, match="ids"):
        emb.forward(np.zeros((0, 2), dtype=int))                 # T = 0
    _, cache = emb.forward(np.array([[1, 2]]))
    with pytest.raises(ShapeError, match="dout"):
        emb.backward(np.zeros((1, 2, 4)), cache)


# ---------------------------------------------------------------- Dense

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_dense_gradcheck(rng, shape):
    D_in, D_out = 3, 2
    layer = Dense(D_in, D_out, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(D_out)          # non-zero bias
    x = rng.standard_normal(shape[:-1] + (D_in,))
    y, cache = layer.forward(x)
    assert y.shape == shape[:-1] + (D_out,)
    np.testing.assert_allclose(y, x @ layer.params["W"] + layer.params["b"], rtol=0, atol=1e-13)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy, cache)

    def f():
        return np.sum(layer.forward(x)[0] * dy)

    res = gradcheck(f, {**layer.params, "x": x}, {**{k: g.copy() for k, g in layer.grads.items()}, "x": dx})
    assert res.max_error < TOL, res


def test_dense_errors(rng):
    with pytest.raises(HyperparameterError, match="in_features"):
        Dense(0, 2)
    with pytest.raises(HyperparameterError, match="out_features"):
        Dense(2, 1.5)
    layer = Dense(3, 2, rng=rng)
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.float64(1.0))
    with pytest.raises(ShapeError, match="x"):
        layer.forward(np.zeros((0, 3)))
    with pytest.raises(NonFiniteError, match="x"):
        layer.forward(np.array([[1.0, np.nan, 0.0]]))
    _, cache = layer.forward(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="dy"):
        layer.backward(np.zeros((4, 3)), cache)


# ---------------------------------------------------------------- Dropout

def test_dropout_preserves_mean_and_scales_survivors(rng):
    p = 0.3
    drop = Dropout(p, rng=rng)
    x = np.ones((200, 50, 40))                                  # 400 000 units
    y, cache = drop.forward(x)
    kept = y != 0
    assert np.allclose(y[kept], 1 / (1 - p))
    # mean of 400k iid draws with std ≈ 0.65: standard error ≈ 1e-3, 5e-3 is 5 sigmas
    assert abs(y.mean() - 1.0) < 5e-3
    assert abs(kept.mean() - (1 - p)) < 5e-3
    dy = rng.standard_normal(x.shape)
    assert np.array_equal(drop.backward(dy, cache), dy * cache.mask)


def test_dropout_eval_is_identity_and_rate_zero(rng):
    x = rng.standard_normal((4, 3, 2))
    y, cache = Dropout(0.5).forward(x, train=False)
    assert y is x
    assert Dropout(0.5).backward(x, cache) is x
    y, _ = Dropout(0.0).forward(x, rng=rng)
    assert np.array_equal(y, x)


def test_dropout_shared_mask_is_constant_across_time(rng):
    drop = Dropout(0.5, shared_across_time=True)
    x = np.ones((30, 8, 16))
    y, cache = drop.forward(x, rng=rng)
    assert cache.mask.shape == (8, 16)
    assert np.all(y == y[0])                                    # same units dropped at every step
    assert 0 < np.count_nonzero(y[0]) < y[0].size
    dx = drop.backward(np.ones_like(x), cache)
    assert np.all(dx == y)


def test_dropout_is_deterministic_given_rng(rng):
    x = rng.standard_normal((5, 4, 3))
    y1, _ = Dropout(0.4, rng=7).forward(x)
    y2, _ = Dropout(0.4).forward(x, rng=np.random.default_rng(7))
    assert np.array_equal(y1, y2)


def test_dropout_gradcheck(rng):
    drop = Dropout(0.5)
    x = rng.standard_normal((4, 3, 2))
    y, cache = drop.forward(x, rng=3)
    dy = rng.standard_normal(x.shape)
    dx = drop.backward(dy, cache)

    def f():                                                    # the same mask every call
        return np.sum(drop.forward(x, rng=3)[0] * dy)

    res = gradcheck(f, {"x": x}, {"x": dx})
    assert res.max_error < TOL, res


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_dropout_bad_rate(rate):
    with pytest.raises(HyperparameterError, match="rate"):
        Dropout(rate)


def test_dropout_errors(rng):
    with pytest.raises(HyperparameterError, match="shared_across_time"):
        Dropout(0.5, shared_across_time="yes")
    with pytest.raises(ShapeError, match="x"):
        Dropout(0.5, shared_across_time=True).forward(np.ones((3, 4)))
    with pytest.raises(ShapeError, match="x"):
        Dropout(0.5).forward(np.ones((0, 4)))
    with pytest.raises(NonFiniteError, match="x"):
        Dropout(0.5).forward(np.array([1.0, np.inf]))
    with pytest.raises(HyperparameterError, match="train"):
        Dropout(0.5).forward(np.ones(3), train="no")
    with pytest.raises(HyperparameterError, match="rng"):
        Dropout(0.5).forward(np.ones(3), rng=-3)
    _, cache = Dropout(0.5).forward(np.ones((2, 3)), rng=rng)
    with pytest.raises(ShapeError, match="dy"):
        Dropout(0.5).backward(np.ones((3, 2)), cache)
