"""Composed models: whole-model gradient checks (float64, every parameter), params shared with
the layers, TBPTT carry, sampling, save/load, errors, and an LSTM that learns the adding problem."""
import numpy as np
import pytest

import rnn_core
from rnn_core import gradcheck
from rnn_core.data import CharVocab, batches, tbptt_batches
from rnn_core.errors import HyperparameterError, ShapeError
from rnn_core.losses import mse, softmax_cross_entropy
from rnn_core.models import CharLM, SequenceClassifier, SequenceRegressor, load_model
from rnn_core.optim import SGD, Adam

CELLS = ["rnn", "lstm", "gru"]


def _randomize(model, rng, scale=None):
    """Random non-zero values in every parameter, biases included (in place)."""
    for k, p in model.params.items():
        s = (scale or {}).get(k.split(".")[0], 0.5)
        p[...] = rng.standard_normal(p.shape) * s


def _state(cell, B, H, rng):
    h = rng.standard_normal((B, H))
    return (h, rng.standard_normal((B, H))) if cell == "lstm" else h


def _padded_ids(rng, T, B, V, lengths):
    ids = rng.integers(1, V, size=(T, B))
    mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]     # (T, B) post-padding
    ids[~mask] = 0
    return ids, mask


# ----------------------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("embed_size", [None, 4])
def test_charlm_gradcheck(cell, embed_size, rng):
    V, H, T, B = 7, 5, int(rng.integers(3, 6)), int(rng.integers(2, 4))
    m = CharLM(V, H, cell=cell, embed_size=embed_size, rng=rng, dtype=np.float64)
    _randomize(m, rng)
    x, y = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    s0 = _state(cell, B, H, rng)                                   # a non-zero carried state
    loss = m.loss_and_grads(x, y, state0=s0)
    grads = {k: g.copy() for k, g in m.grads.items()}
    assert set(grads) == set(m.params)
    res = gradcheck(lambda: m.loss(x, y, s0)[0], m.params, grads)
    assert res.max_error < 1e-7, res
    assert loss == pytest.approx(m.loss(x, y, s0)[0], rel=1e-14)


# Classifier: attention parameters see small gradients when the keys h_t are small, and an
# array's relative error is bounded below by finite-difference round-off, about
# 1e-16·|L| / (h·‖g‖). Larger embeddings and output weights keep every ‖g‖ well above
# that floor; the test asserts it, so the check stays meaningful.
CLS_SCALE = {"embed": 1.0, "rnn": 0.8, "attn": 1.0, "out": 1.0}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", ["last", "attention"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_classifier_gradcheck(cell, pooling, dropout, rng):
    V, E, H, C, T, B = 9, 4, 5, 3, 6, 4
    m = SequenceClassifier(V, E, H, C, cell=cell, pooling=pooling, dropout=dropout, rng=rng, dtype=np.float64)
    _randomize(m, rng, CLS_SCALE)
    m.params["embed.W"][0] = 0.0                                   # the <pad> row
    ids, mask = _padded_ids(rng, T, B, V, [6, 4, 5, 2])
    labels = rng.integers(0, C, B)

    def reseed():                                                  # the same dropout masks every call
        if m.drop is not None:
            m.drop.rng = np.random.default_rng(5)

    def f():
        reseed()
        return softmax_cross_entropy(m.forward(ids, mask, train=True)[0], labels)[0]

    reseed()
    m.loss_and_grads(ids, labels, mask)
    grads = {k: g.copy() for k, g in m.grads.items()}
    assert set(grads) == set(m.params)
    assert min(np.linalg.norm(g) for k, g in grads.items() if k != "embed.W") > 2e-3
    np.testing.assert_array_equal(grads["embed.W"][0], 0.0)       # padding gets no gradient
    res = gradcheck(f, m.params, grads)
    assert res.max_error < 1e-7, res


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("masked", [False, True])
def test_regressor_gradcheck(cell, masked, rng):
    D, H, O, T, B = 3, 5, 2, 5, 4
    m = SequenceRegressor(D, H, O, cell=cell, rng=rng, dtype=np.float64)
    _randomize(m, rng)
    x, y = rng.standard_normal((T, B, D)), rng.standard_normal((B, O))
    mask = (np.arange(T)[:, None] < np.array([5, 3, 4, 1])[None, :]) if masked else None
    m.loss_and_grads(x, y, mask)
    grads = {k: g.copy() for k, g in m.grads.items()}
    res = gradcheck(lambda: mse(m.predict(x, mask), y)[0], m.params, grads)
    assert res.max_error < 1e-7, res
    if masked:                                  # padding steps do not change the prediction
        x2 = x.copy()
        x2[~mask] = 100.0
        np.testing.assert_array_equal(m.predict(x2, mask), m.predict(x, mask))


# ----------------------------------------------------------------------------- protocol

@pytest.mark.parametrize("make", [
    lambda: CharLM(6, 4, cell="gru", embed_size=3),
    lambda: SequenceClassifier(8, 3, 4, 2, cell="lstm", pooling="attention"),
    lambda: SequenceRegressor(2, 4, cell="rnn"),
])
def test_params_are_the_layers_arrays(make):
    m = make()
    for prefix, layer in m.layers.items():
        for k, p in layer.params.items():
            assert m.params[f"{prefix}.{k}"] is p
    assert m.params["rnn.W_x"].dtype == np.float32
    assert m.num_params() == sum(layer.num_params() for layer in m.layers.values())


def test_optimizer_update_reaches_the_layers(rng):
    m = SequenceRegressor(2, 4, rng=rng)
    x, y = rng.standard_normal((5, 3, 2)).astype(np.float32), rng.standard_normal((3, 1)).astype(np.float32)
    before = m.predict(x)
    w_id = id(m.cell.params["W_h"])
    m.loss_and_grads(x, y)
    SGD(0.5).step(m.params, m.grads)
    assert id(m.cell.params["W_h"]) == w_id
    assert not np.allclose(m.predict(x), before)
    for k in m.grads:                                              # grads refreshed from the layers
        assert m.grads[k] is m.layers[k.split(".")[0]].grads[k.split(".", 1)[1]]


def test_charlm_tbptt_carries_state_as_values(rng):
    V, H = 5, 4
    m = CharLM(V, H, cell="lstm", rng=rng, dtype=np.float64)
    ids = rng.integers(0, V, 2 * 2 * 3 + 1)
    (x1, y1), (x2, y2) = list(tbptt_batches(ids, 2, 3))
    m.reset_state()
    m.tbptt_loss_and_grads((x1, y1))
    loss2 = m.tbptt_loss_and_grads((x2, y2))
    _, (h, c), _ = m.forward(np.concatenate([x1, x2]))             # one pass over both chunks
    np.testing.assert_allclose(m.carry[0], h, rtol=1e-12)
    np.testing.assert_allclose(m.carry[1], c, rtol=1e-12)
    logits, _, _ = m.forward(np.concatenate([x1, x2]))
    assert loss2 == pytest.approx(softmax_cross_entropy(logits[3:], y2)[0], rel=1e-12)
    m.reset_state()
    assert m.carry is None


def test_charlm_learns_a_pattern_with_tbptt(rng):
    text = "abcd" * 200
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    m = CharLM(len(vocab), 16, cell="lstm", embed_size=8, rng=rng)

    def epoch():
        m.reset_state()
        return tbptt_batches(ids, 8, 10)

    hist = rnn_core.fit(m, epoch, loss_fn=m.tbptt_loss_and_grads, optimizer=Adam(0.02), epochs=8,
                        clip_norm=5.0, progress=False)
    assert hist.train_loss[-1] < 0.05 < np.log(4) < hist.loss[0]
    assert m.sample(12, "ab", temperature=0.5, rng=rng, vocab=vocab) == "cdabcdabcdab"


def test_sample(rng):
    vocab = CharVocab("hello world")
    m = CharLM(len(vocab), 6, cell="gru", rng=rng, dtype=np.float64)
    a = m.sample(20, vocab.encode("he"), rng=np.random.default_rng(3))
    b = m.sample(20, vocab.encode("he"), rng=np.random.default_rng(3))
    assert a.shape == (20,) and a.dtype == np.int64 and np.all((a >= 0) & (a < len(vocab)))
    np.testing.assert_array_equal(a, b)
    greedy = m.sample(10, vocab.encode("he"), temperature=1e-4, rng=rng)   # ≈ argmax every step
    ids, state = vocab.encode("he"), None
    logits, state, _ = m.forward(ids[:, None])
    for k in range(10):
        nxt = int(np.argmax(logits[-1, 0]))
        assert greedy[k] == nxt
        logits, state, _ = m.forward(np.array([[nxt]]), state)
    assert isinstance(m.sample(5, "lo", rng=rng, vocab=vocab), str)


def test_classifier_predict_and_attention_weights(rng):
    m = SequenceClassifier(10, 4, 6, 3, cell="gru", pooling="attention", rng=rng)
    ids, mask = _padded_ids(rng, 7, 5, 10, [7, 3, 5, 1, 6])
    p = m.predict_proba(ids, mask)
    assert p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(m.predict(ids, mask), p.argmax(1))
    w = m.attention_weights(ids, mask)
    assert w.shape == (7, 5)
    np.testing.assert_allclose(w.sum(0), 1, rtol=1e-6)
    assert np.all(w[~mask] == 0)
    loss, acc = m.evaluate(ids, np.array([0, 1, 2, 0, 1]), mask)
    assert loss > 0 and 0 <= acc <= 1


def test_dropout_only_in_training(rng):
    m = SequenceClassifier(10, 4, 6, 2, dropout=0.5, rng=rng)
    ids, mask = _padded_ids(rng, 5, 3, 10, [5, 5, 2])
    a, _ = m.forward(ids, mask)
    b, _ = m.forward(ids, mask)
    np.testing.assert_array_equal(a, b)                            # evaluation is deterministic
    c, _ = m.forward(ids, mask, train=True)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("make, inputs", [
    (lambda: CharLM(6, 4, cell="gru", embed_size=3, rng=1), lambda r: (r.integers(0, 6, (4, 2)),)),
    (lambda: CharLM(6, 4, cell="lstm", rng=1), lambda r: (r.integers(0, 6, (4, 2)),)),
    (lambda: SequenceClassifier(8, 3, 4, 2, pooling="attention", padding_idx=None, dropout=0.2, rng=1),
     lambda r: (r.integers(0, 8, (4, 2)),)),
    (lambda: SequenceRegressor(2, 4, 3, cell="rnn", rng=1, dtype=np.float64),
     lambda r: (r.standard_normal((4, 2, 2)),)),
])
def test_save_load_round_trip(make, inputs, rng, tmp_path):
    m = make()
    _randomize(m, rng)
    path = tmp_path / "model.npz"
    m.save(path)
    for loaded in (type(m).load(path), load_model(path)):
        assert type(loaded) is type(m) and loaded.config == m.config
        for k in m.params:
            np.testing.assert_array_equal(loaded.params[k], m.params[k])
            assert loaded.params[k].dtype == m.params[k].dtype
        x = inputs(rng)
        np.testing.assert_array_equal(loaded.forward(*x)[0], m.forward(*x)[0])
    with np.load(path, allow_pickle=False) as f:                  # plain arrays, no pickle
        assert "__config__" in f.files


def test_load_wrong_class(tmp_path):
    SequenceRegressor(2, 3).save(tmp_path / "r.npz")
    with pytest.raises(HyperparameterError, match="path: expected a saved CharLM, got a saved SequenceRegressor"):
        CharLM.load(tmp_path / "r.npz")


def test_model_errors(rng):
    with pytest.raises(HyperparameterError, match=r"cell: expected one of \('rnn', 'lstm', 'gru'\), got 'tcn'"):
        CharLM(5, 4, cell="tcn")
    with pytest.raises(HyperparameterError, match="pooling"):
        SequenceClassifier(5, 3, 4, 2, pooling="max")
    with pytest.raises(HyperparameterError, match="dropout"):
        SequenceClassifier(5, 3, 4, 2, dropout=1.0)
    with pytest.raises(HyperparameterError, match="hidden_size"):
        SequenceRegressor(2, 0)
    with pytest.raises(HyperparameterError, match="embed_size"):
        CharLM(5, 4, embed_size=0)
    with pytest.raises(HyperparameterError, match="padding_idx"):
        SequenceClassifier(5, 3, 4, 2, padding_idx=5)
    m = CharLM(5, 4)
    with pytest.raises(ShapeError, match=r"ids: expected token ids in \[0, V=5\), got \[5\]"):
        m.forward(np.array([[1, 5]]))
    with pytest.raises(ShapeError, match="ids: expected an integer array"):
        m.forward(np.zeros((2, 2)))
    with pytest.raises(HyperparameterError, match="temperature"):
        m.sample(3, [1], temperature=0.0)
    with pytest.raises(HyperparameterError, match="n: expected a positive integer"):
        m.sample(0, [1])
    with pytest.raises(ShapeError, match="start"):
        m.sample(3, [])
    c = SequenceClassifier(5, 3, 4, 2)
    with pytest.raises(HyperparameterError, match="pooling: expected 'attention'"):
        c.attention_weights(np.ones((3, 2), dtype=int))
    with pytest.raises(ShapeError, match="mask"):
        c.loss_and_grads(np.ones((3, 2), dtype=int), np.array([0, 1]), np.ones((3, 3)))
    with pytest.raises(ShapeError, match="targets"):
        c.loss_and_grads(np.ones((3, 2), dtype=int), np.array([0, 1, 1]))
    r = SequenceRegressor(2, 3)
    with pytest.raises(ShapeError, match="x"):
        r.loss_and_grads(np.zeros((4, 2, 3)), np.zeros((2, 1)))
    with pytest.raises(ShapeError, match="target"):
        r.loss_and_grads(np.zeros((4, 2, 2)), np.zeros((3, 1)))


# ----------------------------------------------------------------------------- end to end

def adding_problem(n, T, rng):
    """x (T, n, 2): a random value and a marker channel with two 1s; y (n, 1): the sum of the two
    marked values (Hochreiter & Schmidhuber 1997). Predicting the mean gives MSE = 1/6."""
    vals = rng.random((T, n))
    marks = np.zeros((T, n))
    cols = np.arange(n)
    marks[rng.integers(0, T // 2, n), cols] = 1
    marks[rng.integers(T // 2, T, n), cols] = 1
    x = np.stack([vals, marks], axis=2).astype(np.float32)        # (T, n, 2)
    y = (vals * marks).sum(axis=0)[:, None].astype(np.float32)   # (n, 1)
    return x, y


def test_lstm_learns_the_adding_problem():
    gen = np.random.default_rng(0)
    x, y = adding_problem(1280, 10, gen)
    xv, yv = adding_problem(500, 10, gen)
    m = SequenceRegressor(2, 16, cell="lstm", rng=1)
    order = np.random.default_rng(2)
    hist = rnn_core.fit(m, lambda: ((x[:, i], y[i]) for i in batches(1280, 64, order)),   # x is (T, N, 2)
                        optimizer=Adam(2e-2), epochs=10, val_fn=lambda: mse(m.predict(xv), yv)[0],
                        progress=False)
    assert np.var(yv) > 0.12                                      # the trivial predictor's MSE
    assert hist.val[0] > 0.05
    assert hist.best_val < 0.01, hist.val                          # learned: 16x below the baseline
