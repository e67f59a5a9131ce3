"""Issue 10, sections 3 and 4: clear errors that name the argument, what was expected and what was
given; and the friction items (lr = 0, per-array batch axes, evaluate, one loss_and_grads signature)."""
import numpy as np
import pytest

import rnn_core
from rnn_core import (GRU, LSTM, RNN, SGD, AdditiveAttention, Adam, Dense, DTypeError, Embedding,
                      HyperparameterError, PeepholeLSTM, RMSprop, ShapeError, WordVocab, batches,
                      cosine_with_warmup, fit)
from rnn_core.models import CharLM, SequenceClassifier, SequenceRegressor
from test_contract import MODULES


# ----------------------------------------------------------------------------- complex inputs, dtype

@pytest.mark.parametrize("make", [lambda: RNN(2, 3), lambda: LSTM(2, 3), lambda: GRU(2, 3),
                                  lambda: PeepholeLSTM(2, 3), lambda: Dense(2, 3)], ids=["RNN", "LSTM", "GRU",
                                                                                         "PeepholeLSTM", "Dense"])
def test_complex_input_is_an_error_not_a_silent_cast(make):
    x = np.ones((4, 2, 2)) + 1j
    with pytest.raises(DTypeError, match=r"x: expected real numbers, got a complex array \(dtype complex128\)"):
        make().forward(x)
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, ValueError)


def test_complex_targets_and_logits():
    with pytest.raises(DTypeError, match="logits: expected real numbers"):
        rnn_core.softmax_cross_entropy(np.ones((2, 3)) * 1j, np.array([0, 1]))
    with pytest.raises(DTypeError, match="pred: expected real numbers"):
        rnn_core.mse(np.ones((2, 3)) * 1j, np.ones((2, 3)))


@pytest.mark.parametrize("name", sorted(n for n, c in MODULES.items() if "dtype" in
                                        __import__("inspect").signature(c.__init__).parameters))
def test_dtype_banana(name):
    from test_contract import SIZES
    import inspect
    cls = MODULES[name]
    kw = {k: SIZES[k] for k, p in inspect.signature(cls.__init__).parameters.items()
          if k != "self" and p.default is inspect.Parameter.empty
          and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    with pytest.raises(HyperparameterError, match="dtype: expected float32 or float64, got 'banana'"):
        cls(**kw, dtype="banana")
    with pytest.raises(HyperparameterError, match="dtype: expected float32 or float64, got 'banana'"):
        cls(**kw).astype("banana")


# ----------------------------------------------------------------------------- a cache from another layer

def _seq_cache(layer, T=3, B=2):
    return layer.forward(np.ones((T, B, layer.input_size)))[-1]


LAYERS = {"RNN": lambda h=3: RNN(2, h, dtype=np.float64), "GRU": lambda h=3: GRU(2, h, dtype=np.float64),
          "PeepholeLSTM": lambda h=3: PeepholeLSTM(2, h, dtype=np.float64),
          "LSTM": lambda h=3: LSTM(2, h, dtype=np.float64)}


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_with_a_cache_from_another_kind_of_layer(name):
    layer = LAYERS[name]()
    other = [n for n in LAYERS if n != name][0]
    cache = _seq_cache(LAYERS[other]())
    with pytest.raises(ShapeError, match=rf"cache: expected the \w+Cache returned by this {name}'s forward, "
                                         rf"got {type(cache).__name__}"):
        layer.backward(np.ones((3, 2, 3)), cache)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_with_a_cache_from_a_layer_of_another_size(name):
    layer = LAYERS[name](h=4)
    with pytest.raises(ShapeError, match=rf"cache: expected a cache from a {name} with H = 4, got 3"):
        layer.backward(np.ones((3, 2, 4)), _seq_cache(LAYERS[name](h=3)))


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_with_a_cache_from_another_layer_of_the_same_size(name):
    layer = LAYERS[name]()
    with pytest.raises(ShapeError, match="cache: expected the cache returned by this layer's forward, got one "
                                         "made with other weights"):
        layer.backward(np.ones((3, 2, 3)), _seq_cache(LAYERS[name]()))


def test_backward_with_foreign_caches_of_the_small_layers():
    att = AdditiveAttention(3, 3, 2)
    _, _, c_dot = rnn_core.DotProductAttention().forward(np.ones((2, 3)), np.ones((4, 2, 3)))
    with pytest.raises(ShapeError, match="cache: expected a cache from a AdditiveAttention with attention_size = 2, "
                                         "got None"):
        att.backward(np.ones((2, 3)), c_dot)
    with pytest.raises(ShapeError, match="cache: expected the AttentionCache returned by this AdditiveAttention's "
                                         "forward, got tuple"):
        att.backward(np.ones((2, 3)), (1, 2))
    with pytest.raises(ShapeError, match=r"cache: expected the input x \(..., D_in=3\) returned by this Dense's "
                                         r"forward, got ndarray of shape \(4, 2\)"):
        Dense(3, 5).backward(np.ones((4, 5)), Dense(2, 5).forward(np.ones((4, 2)))[1])
    with pytest.raises(ShapeError, match="cache: expected the token ids returned by this Embedding's forward, "
                                         "got ndarray float"):
        Embedding(5, 2).backward(np.ones((4, 2)), np.ones((4, 3)))


# ----------------------------------------------------------------------------- WordVocab, fit

def test_wordvocab_of_one_string():
    with pytest.raises(ShapeError, match=r"texts: expected a list of texts \(one str per document\), got one str "
                                         r"of 16 characters; wrap it: WordVocab\(\[text\]\)"):
        WordVocab("one long string!")
    assert len(WordVocab(["one long string!"])) > 3


def _regressor_batch(rng):
    return rng.standard_normal((4, 8, 2)), rng.standard_normal((8, 1))


def test_fit_with_one_batch_instead_of_a_list(rng):
    m = SequenceRegressor(2, 3, 1)
    X, Y = _regressor_batch(rng)
    with pytest.raises(HyperparameterError, match=r"train_batches: expected a list of batches or a function "
                                                  r"returning an epoch's batches, got a tuple of 2 arrays \(one batch\?\)"):
        fit(m, (X, Y), optimizer=Adam(0.01), epochs=1, progress=False)
    fit(m, [(X, Y)], optimizer=Adam(0.01), epochs=1, progress=False)        # what was meant


def test_fit_with_batches_as_lists(rng):
    m = SequenceRegressor(2, 3, 1)
    with pytest.raises(ShapeError, match=r"batch: expected a tuple such as \(x, y\) or \(x, y, mask\), passed to "
                                         r"model.loss_and_grads\(\*batch\), got a list of 2; use tuple\(batch\)"):
        fit(m, [list(_regressor_batch(rng))], optimizer=Adam(0.01), epochs=1, progress=False)


def test_fit_with_a_val_fn_that_returns_none(rng):
    m = SequenceRegressor(2, 3, 1)
    with pytest.raises(ShapeError, match=r"val_fn: expected a function returning one number, got None \(does it "
                                         r"return its result\?\)"):
        fit(m, [_regressor_batch(rng)], optimizer=Adam(0.01), epochs=1, progress=False, val_fn=lambda: None)
    with pytest.raises(ShapeError, match="val_fn: expected a function returning one number, got tuple"):
        fit(m, [_regressor_batch(rng)], optimizer=Adam(0.01), epochs=1, progress=False, val_fn=lambda: (1.0, 0.5))


# ----------------------------------------------------------------------------- section 4

@pytest.mark.parametrize("opt", [SGD, Adam, RMSprop])
def test_learning_rate_zero_is_allowed_negative_or_non_finite_is_not(opt):
    o = opt(0.0)
    p, g = {"w": np.ones(3)}, {"w": np.ones(3)}
    o.step(p, g)
    np.testing.assert_array_equal(p["w"], np.ones(3))              # lr = 0: no change
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(HyperparameterError, match=rf"lr: expected a finite number >= 0, got {bad!r}"):
            opt(bad)
        with pytest.raises(HyperparameterError, match="lr: expected a finite number >= 0"):
            o.lr = bad


def test_cosine_schedule_that_reaches_zero_does_not_abort_fit(rng):
    m = SequenceRegressor(2, 3, 1)
    sched = lambda step: cosine_with_warmup(step, 0.01, total_steps=4, warmup_steps=1, lr_min=0.0)  # noqa: E731
    hist = fit(m, [_regressor_batch(rng)] * 3, optimizer=Adam(0.01), epochs=3, schedule=sched, progress=False)
    assert hist.steps == 9 and hist.lr[4:] == [0.0] * 5


def test_batches_with_a_different_axis_per_array(rng):
    ids, mask, labels = rng.integers(0, 9, (7, 10)), np.ones((7, 10)), np.arange(10)
    got = list(batches((ids, mask, labels), 4, rng, axis=(1, 1, 0)))
    assert [b[0].shape for b in got] == [(7, 4), (7, 4), (7, 2)]
    assert sorted(np.concatenate([b[2] for b in got]).tolist()) == list(range(10))
    for i, m, y in got:
        np.testing.assert_array_equal(i, ids[:, y])                 # rows stay together
    with pytest.raises(ShapeError, match=r"arrays\[2\]: expected at least 2 axes \(examples on axis 1\), got shape "
                                         r"\(10,\); for arrays with different example axes pass one axis per array"):
        batches((ids, mask, labels), 4, axis=1)
    with pytest.raises(HyperparameterError, match=r"axis: expected one axis per array \(3\), got \(1, 0\)"):
        batches((ids, mask, labels), 4, axis=(1, 0))
    with pytest.raises(HyperparameterError, match=r"axis\[1\]: expected one of \(0, 1\), got 2"):
        batches((ids, mask, labels), 4, axis=(1, 2, 0))


MODELS = {
    "CharLM": (lambda: CharLM(6, 5, cell="rnn", rng=0),
               lambda g: (g.integers(0, 6, (4, 3)), g.integers(0, 6, (4, 3)))),
    "SequenceClassifier": (lambda: SequenceClassifier(6, 3, 5, 2, cell="gru", rng=0),
                           lambda g: (g.integers(1, 6, (4, 3)), g.integers(0, 2, 3))),
    "SequenceRegressor": (lambda: SequenceRegressor(2, 5, 1, cell="lstm", rng=0),
                          lambda g: (g.standard_normal((4, 3, 2)), g.standard_normal((3, 1)))),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_one_signature_and_evaluate_on_every_model(name, rng):
    import inspect
    make, data = MODELS[name]
    m = make()
    params = list(inspect.signature(m.loss_and_grads).parameters)
    assert params[:3] == ["x", "y", "mask"] and inspect.signature(m.loss_and_grads).parameters["mask"].default is None
    assert list(inspect.signature(m.evaluate).parameters)[:3] == ["x", "y", "mask"]
    x, y = data(rng)
    mask = np.ones(x.shape[:2])
    mask[-1, 0] = 0
    loss = m.loss_and_grads(x, y, mask)
    assert isinstance(loss, float)
    ev_loss, metric = m.evaluate(x, y, mask)
    assert ev_loss == pytest.approx(loss, rel=1e-5)
    if name == "CharLM":
        assert metric == pytest.approx(np.exp(ev_loss))               # perplexity
        assert m.evaluate(x, y)[0] != pytest.approx(ev_loss)           # the mask counts
    elif name == "SequenceClassifier":
        assert metric == np.mean(m.predict(x, mask) == y)              # accuracy
    else:
        assert metric == pytest.approx(np.sqrt(ev_loss))               # RMSE
