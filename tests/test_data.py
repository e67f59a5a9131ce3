"""Data pipeline: batches, padding/masks, buckets, vocabularies, windows, splits,
standardisation, truncated-BPTT streams (with a gradient check), loaders."""
import json

import numpy as np
import pytest

import rnn_core
from rnn_core import data
from rnn_core.datasets import DataFileError
from rnn_core.errors import HyperparameterError, ShapeError


# ----------------------------------------------------------------------------- batches

@pytest.mark.parametrize("n, bs", [(10, 3), (12, 4), (1, 5), (7, 1)])
def test_batches_every_example_once_and_keeps_remainder(n, bs, rng):
    for epoch in range(3):
        got = list(data.batches(n, bs, rng))
        assert [len(b) for b in got[:-1]] == [bs] * (len(got) - 1)
        assert len(got) == -(-n // bs)                         # ceil: the partial batch is kept
        np.testing.assert_array_equal(np.sort(np.concatenate(got)), np.arange(n))


def test_batches_shuffle_differs_between_epochs_and_is_seeded():
    gen = np.random.default_rng(0)
    e1 = np.concatenate(list(data.batches(50, 8, gen)))
    e2 = np.concatenate(list(data.batches(50, 8, gen)))
    assert not np.array_equal(e1, e2)
    again = np.concatenate(list(data.batches(50, 8, np.random.default_rng(0))))
    np.testing.assert_array_equal(e1, again)
    np.testing.assert_array_equal(np.concatenate(list(data.batches(50, 8, shuffle=False))), np.arange(50))


def test_batches_drop_last():
    got = list(data.batches(10, 3, 0, drop_last=True))
    assert [len(b) for b in got] == [3, 3, 3]
    assert len(np.unique(np.concatenate(got))) == 9


def test_batches_of_arrays_stay_aligned(rng):
    X = np.arange(11 * 2).reshape(11, 2)
    y = np.arange(11) * 10
    seen = []
    for xb, yb in data.batches((X, y), 4, rng):
        np.testing.assert_array_equal(xb[:, 0] * 5, yb)        # row k of X is (2k, 2k+1), y = 10k
        seen.extend(yb.tolist())
    assert sorted(seen) == (np.arange(11) * 10).tolist()
    single = list(data.batches(X, 4, rng))
    assert isinstance(single[0], np.ndarray) and sum(len(b) for b in single) == 11


def test_batches_time_major_axis(rng):
    x = rng.standard_normal((5, 9, 3))                         # (T, B, D)
    ids = np.arange(9)
    for xb, ib in data.batches((x, ids[None, :].repeat(5, 0)), 4, rng, axis=1):
        assert xb.shape[0] == 5 and xb.shape[1] == ib.shape[1] <= 4
        np.testing.assert_array_equal(xb, x[:, ib[0]])


def test_batches_errors():
    with pytest.raises(HyperparameterError, match="batch_size: expected a positive integer, got 0"):
        data.batches(10, 0)
    with pytest.raises(HyperparameterError, match="n: expected a positive integer, got 0"):
        data.batches(0, 2)
    with pytest.raises(ShapeError, match=r"arrays\[1\]: expected 5 examples on axis 0 like arrays\[0\], got 4"):
        data.batches((np.zeros(5), np.zeros(4)), 2)
    with pytest.raises(ShapeError, match=r"arrays\[0\]: expected at least one example"):
        data.batches(np.zeros((0, 3)), 2)
    with pytest.raises(ShapeError, match="arrays: expected a positive int or at least one array"):
        data.batches([], 2)
    with pytest.raises(HyperparameterError, match="shuffle"):
        data.batches(5, 2, shuffle="yes")
    with pytest.raises(HyperparameterError, match="axis"):
        data.batches(5, 2, axis=2)


def test_bucket_by_length(rng):
    lengths = rng.integers(1, 30, size=53)
    got = data.bucket_by_length(lengths, 8, rng)
    np.testing.assert_array_equal(np.sort(np.concatenate(got)), np.arange(53))
    spread = sum(lengths[g].max() - lengths[g].min() for g in got)
    random_spread = sum(lengths[g].max() - lengths[g].min() for g in data.batches(53, 8, rng))
    assert spread < random_spread                              # similar lengths grouped
    with pytest.raises(ShapeError, match="lengths"):
        data.bucket_by_length([], 8)


# ----------------------------------------------------------------------------- padding

def test_pad_sequences_post_and_round_trip():
    seqs = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    x, mask = data.pad_sequences(seqs)
    assert x.shape == mask.shape == (3, 3) and mask.dtype == bool
    np.testing.assert_array_equal(x, [[1, 4, 5], [2, 0, 6], [3, 0, 0]])
    np.testing.assert_array_equal(mask.sum(0), [3, 1, 2])
    for a, b in zip(data.unpad(x, mask), seqs):
        np.testing.assert_array_equal(a, b)


def test_pad_sequences_pre_and_value_and_features(rng):
    seqs = [rng.standard_normal((L, 2)) for L in (4, 1, 3)]
    x, mask = data.pad_sequences(seqs, padding="pre", value=-1.0)
    assert x.shape == (4, 3, 2)
    np.testing.assert_array_equal(mask[:, 1], [False, False, False, True])
    assert np.all(x[:3, 1] == -1.0)
    for a, b in zip(data.unpad(x, mask), seqs):
        np.testing.assert_array_equal(a, b)


def test_pad_sequences_truncating():
    seqs = [[1, 2, 3, 4, 5], [6]]
    x, _ = data.pad_sequences(seqs, maxlen=3)
    np.testing.assert_array_equal(x[:, 0], [1, 2, 3])
    x, _ = data.pad_sequences(seqs, maxlen=3, truncating="pre")
    np.testing.assert_array_equal(x[:, 0], [3, 4, 5])
    x, m = data.pad_sequences(seqs, maxlen=3, padding="pre", truncating="pre")
    np.testing.assert_array_equal(x[:, 1], [0, 0, 6])


def test_pad_mask_works_with_a_masked_layer(rng):
    """The final state of each row equals the state after its last real token."""
    seqs = [rng.standard_normal((L, 3)) for L in (5, 2, 4)]
    x, mask = data.pad_sequences(seqs)
    layer = rnn_core.RNN(3, 4, rng=rng, dtype=np.float64)
    _, h_T, _ = layer.forward(x, mask=mask)
    for b, s in enumerate(seqs):
        _, h_b, _ = layer.forward(s[:, None, :])
        np.testing.assert_allclose(h_T[b], h_b[0], rtol=1e-12)


def test_pad_errors():
    with pytest.raises(ShapeError, match="seqs: expected at least one sequence"):
        data.pad_sequences([])
    with pytest.raises(ShapeError, match=r"seqs\[1\]: expected shape \(L, F=2\) like seqs\[0\], got \(3, 3\)"):
        data.pad_sequences([np.zeros((2, 2)), np.zeros((3, 3))])
    with pytest.raises(HyperparameterError, match="padding: expected one of"):
        data.pad_sequences([[1]], padding="middle")
    with pytest.raises(HyperparameterError, match="truncating"):
        data.pad_sequences([[1]], truncating="both")
    with pytest.raises(HyperparameterError, match="maxlen"):
        data.pad_sequences([[1]], maxlen=0)
    with pytest.raises(ShapeError, match="mask"):
        data.unpad(np.zeros((3, 2)), np.ones((3, 3)))


# ----------------------------------------------------------------------------- vocabularies

def test_tokenize():
    assert data.tokenize("Don't stop, Horatio! 'Tis 2 o'clock.") == \
        ["don't", "stop", ",", "horatio", "!", "'", "tis", "2", "o'clock", "."]


def test_char_vocab_round_trip_and_save(tmp_path):
    text = "to be, or not to be"
    v = data.CharVocab(text)
    assert v.tokens[:2] == ["<pad>", "<unk>"] and v.pad_id == 0 and v.unk_id == 1
    assert len(v) == 2 + len(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.min() >= 2
    assert v.decode(ids) == text
    assert v.encode("z")[0] == v.unk_id
    v.save(tmp_path / "v.json")
    w = data.CharVocab.load(tmp_path / "v.json")
    assert w.tokens == v.tokens
    assert isinstance(data.load_vocab(tmp_path / "v.json"), data.CharVocab)


def test_word_vocab_top_k_and_unk(tmp_path):
    texts = ["the cat sat", "the dog sat", "the cat ran", "a bird"]
    v = data.WordVocab(texts, max_size=3)
    assert v.tokens == ["<pad>", "<unk>", "the", "cat", "sat"]   # counts 3, 2, 2 (ties alphabetical)
    np.testing.assert_array_equal(v.encode("the bird sat"), [2, 1, 4])
    assert v.decode(v.encode("the cat sat")) == "the cat sat"
    assert v.decode([0, 2, 1], skip_special=True) == "the"
    assert len(data.WordVocab(texts, min_freq=2)) == 2 + 3
    v.save(tmp_path / "w.json")
    assert json.loads((tmp_path / "w.json").read_text())["kind"] == "word"
    w = data.load_vocab(tmp_path / "w.json")
    assert isinstance(w, data.WordVocab) and w.tokens == v.tokens
    np.testing.assert_array_equal(w.encode("the bird sat"), [2, 1, 4])
    with pytest.raises(HyperparameterError, match="path: expected a 'char' vocabulary file"):
        data.CharVocab.load(tmp_path / "w.json")


def test_vocab_errors():
    with pytest.raises(ShapeError, match="text: expected a non-empty str"):
        data.CharVocab("")
    with pytest.raises(HyperparameterError, match="max_size"):
        data.WordVocab(["a"], max_size=0)
    with pytest.raises(ShapeError, match="texts: expected at least one text"):
        data.WordVocab([])
    v = data.CharVocab("abc")
    with pytest.raises(ShapeError, match=r"ids: expected ids in \[0, V=5\), got \[7\]"):
        v.decode([7])


# ----------------------------------------------------------------------------- time series

def test_sliding_windows_values():
    s = np.arange(10.0)
    X, y = data.sliding_windows(s, window=3, horizon=2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 1)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[:, 0], [4, 5, 6, 7, 8, 9])
    F = np.stack([s, -s], axis=1)
    X, y = data.sliding_windows(F, 4)
    assert X.shape == (6, 4, 2)                                 # N = 10 − 4 − 1 + 1
    np.testing.assert_array_equal(X[2], F[2:6])
    np.testing.assert_array_equal(y[2], F[6])
    with pytest.raises(ShapeError, match=r"series: expected at least window \+ horizon = 12 steps, got 10"):
        data.sliding_windows(s, 10, 2)
    with pytest.raises(HyperparameterError, match="window"):
        data.sliding_windows(s, 0)


def test_chronological_split():
    tr, va, te = data.chronological_split(20)
    np.testing.assert_array_equal(np.concatenate([tr, va, te]), np.arange(20))
    assert (len(tr), len(va), len(te)) == (14, 3, 3)
    X, y = np.arange(40).reshape(20, 2), np.arange(20)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data.chronological_split((X, y))
    assert ytr.max() < yva.min() <= yva.max() < yte.min()    # time order, no overlap
    np.testing.assert_array_equal(Xva[:, 0] // 2, yva)
    a, b = data.chronological_split(np.arange(10.0), fractions=(0.8, 0.2))
    assert len(a) == 8 and len(b) == 2
    with pytest.raises(HyperparameterError, match="fractions: expected 2 or 3 positive numbers summing to 1"):
        data.chronological_split(10, fractions=(0.5, 0.2))
    with pytest.raises(ShapeError, match="n: expected enough examples"):
        data.chronological_split(3)


def test_standardizer_fit_on_train_only(rng):
    train = rng.normal(5.0, 2.0, size=(100, 3))
    test = rng.normal(8.0, 2.0, size=(20, 3))
    st = data.Standardizer().fit(train)
    z = st.transform(train)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)
    assert st.transform(test).mean() > 1                      # test statistics not leaked in
    np.testing.assert_allclose(st.inverse_transform(st.transform(test)), test, rtol=1e-12)
    const = data.Standardizer().fit(np.ones((4, 1)))
    np.testing.assert_array_equal(const.transform(np.ones((2, 1))), 0)
    x32 = rng.standard_normal((5, 2, 3)).astype(np.float32)   # (T, B, F): stats over T and B
    assert data.Standardizer().fit_transform(x32).dtype == np.float32
    with pytest.raises(HyperparameterError, match="Standardizer: expected fit"):
        data.Standardizer().transform(train)
    with pytest.raises(ShapeError, match="x: expected a last axis of F=3 features"):
        st.transform(np.zeros((4, 2)))


# ----------------------------------------------------------------------------- truncated BPTT

def test_tbptt_layout_streams_continue():
    ids = np.arange(23)
    chunks = list(data.tbptt_batches(ids, batch_size=3, seq_len=3))
    L = (23 - 1) // 3                                          # 7 tokens per stream
    assert [c[0].shape for c in chunks] == [(3, 3), (3, 3), (1, 3)]
    X = np.concatenate([c[0] for c in chunks])                # (L, B)
    Y = np.concatenate([c[1] for c in chunks])
    np.testing.assert_array_equal(X[:, 1], np.arange(L, 2 * L))   # stream b reads ids[b·L:(b+1)·L]
    np.testing.assert_array_equal(Y, X + 1)                        # targets are the next tokens
    with pytest.raises(ShapeError, match=r"ids: expected at least batch_size \+ 1 = 5 tokens, got 4"):
        data.tbptt_batches(np.arange(4), 4, 2)
    with pytest.raises(ShapeError, match="ids: expected an integer array"):
        data.tbptt_batches(np.zeros(10), 2, 2)
    with pytest.raises(HyperparameterError, match="seq_len"):
        data.tbptt_batches(ids, 2, 0)


def test_tbptt_gradient_is_the_truncated_gradient(rng):
    """Chunk 2's loss with the carried-in state held constant: analytic grads equal the
    finite differences of that truncated objective (and differ from full BPTT's)."""
    V, H, B, S = 5, 4, 2, 3
    ids = rng.integers(0, V, size=B * 2 * S + 1)
    (x1, _), (x2, y2) = data.tbptt_batches(ids, B, S)
    onehot = np.eye(V)
    rnn = rnn_core.RNN(V, H, rng=rng, dtype=np.float64)
    rnn.params["b"][:] = rng.standard_normal(H)
    W = rng.standard_normal((H, V))
    _, h_carry, _ = rnn.forward(onehot[x1])                   # chunk 1: state carried as values only

    def truncated_loss():
        hs, _, _ = rnn.forward(onehot[x2], state0=h_carry)
        return rnn_core.losses.softmax_cross_entropy(hs @ W, y2)[0]

    hs, _, cache = rnn.forward(onehot[x2], state0=h_carry)
    _, dlogits = rnn_core.losses.softmax_cross_entropy(hs @ W, y2)
    rnn.backward(dlogits @ W.T, cache, dstate=None)           # the gradient stops at the boundary
    grads = {k: g.copy() for k, g in rnn.grads.items()}
    res = rnn_core.gradcheck(truncated_loss, rnn.params, grads)
    assert res.max_error < 1e-7, res

    def full_loss():                                          # the carry recomputed: full BPTT objective
        _, h1, _ = rnn.forward(onehot[x1])
        hs, _, _ = rnn.forward(onehot[x2], state0=h1)
        return rnn_core.losses.softmax_cross_entropy(hs @ W, y2)[0]

    full = rnn_core.gradcheck(full_loss, {"W_h": rnn.params["W_h"]}, {"W_h": grads["W_h"]})
    assert full.max_error > 1e-4                              # truncation really drops a term


# ----------------------------------------------------------------------------- loaders

def test_loaders_read_the_shipped_files():
    text = data.load_hamlet()
    assert text.startswith("Hamlet") and len(text) == 176410
    sentences, labels, ratings = data.load_movie_reviews()
    assert len(sentences) == len(labels) == len(ratings) == 10568
    assert int(labels.sum()) == 5242 and int((labels == 0).sum()) == 5326
    assert np.all(ratings != 0) and np.array_equal(labels, (ratings > 0).astype(int))
    assert any('"' in s or "''" in s for s in sentences)      # quotes kept (csv.QUOTE_NONE)
    s_all, _, r_all = data.load_movie_reviews(drop_neutral=False)
    assert len(s_all) == 10605 and int((r_all == 0).sum()) == 37
    w = data.load_seattle_weather()
    assert w["dates"].dtype == np.dtype("datetime64[D]") and len(w["dates"]) == 1461
    assert w["dates"][0] == np.datetime64("2012-01-01") and w["dates"][-1] == np.datetime64("2015-12-31")
    assert set(w) == {"dates", "precipitation", "temp_max", "temp_min", "wind", "weather"}
    assert np.all(w["temp_max"] >= w["temp_min"])
    a = data.load_aapl()
    assert len(a["dates"]) == 3270 and a["volume"].dtype == np.int64
    jump = a["close"][1:] / a["close"][:-1]                    # raw close halves on the 2:1 splits...
    adj_jump = a["adj_close"][1:] / a["adj_close"][:-1]        # ...the adjusted close does not
    split_days = a["dates"][1:][(jump < 0.6) & (adj_jump > 0.8)]
    assert [str(d) for d in split_days] == ["2000-06-21", "2005-02-28"]
    assert adj_jump.min() > 0.4                                # (2000-09-29 was a real −52% day)


def test_loader_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataFileError, match=r"data_dir: expected the file 'hamlet.txt' at .*hamlet.txt"):
        data.load_hamlet(data_dir=tmp_path)
    with pytest.raises(ValueError):
        data.load_aapl(data_dir=tmp_path)
    with pytest.raises(FileNotFoundError):
        data.load_seattle_weather(data_dir=tmp_path)
