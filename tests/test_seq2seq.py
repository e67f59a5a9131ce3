"""Seq2Seq: full backward (decoder -> attention -> encoder -> embeddings) against central differences
in float64 with source and target padding; greedy decoding fed back == teacher forcing; padding never
leaks; save/load; the params/grads contract; clear errors. Also the dates task."""
import numpy as np
import pytest

import rnn_core
from rnn_core import HyperparameterError, Seq2Seq, SequenceError, ShapeError, gradcheck
from helpers import assert_gradcheck
from rnn_core.dates import FORMATS, DateVocab, random_dates

V_SRC, V_TGT = 7, 8          # target ids: 0 <pad>, 1 <s>, 2 </s>, 3..7 tokens


def make(cell, attention, bidirectional, rng, E=3, H=2):
    """A float64 model with every parameter random and non-zero. The attention parameters get a larger
    scale (1.5) so the scores vary across source steps (see rnn_core.gradcheck)."""
    m = Seq2Seq(V_SRC, V_TGT, E, H, cell=cell, attention=attention, bidirectional=bidirectional,
                attention_size=3, rng=rng, dtype=np.float64)
    for k, p in m.params.items():
        p[...] = (1.5 if k.startswith("attn.") else 0.5) * rng.standard_normal(p.shape)
    return m


def batch(rng, src_lengths=(5, 2, 4), tgt_lengths=(4, 2, 3)):
    """src (S, B) padded after each row's length; tgt (T+1, B) = <s> tokens </s> <pad>..."""
    S, T, B = max(src_lengths), max(tgt_lengths), len(src_lengths)
    src = rng.integers(1, V_SRC, size=(S, B))
    tgt = rng.integers(3, V_TGT, size=(T + 1, B))
    tgt[0] = 1
    for b, (Ls, Lt) in enumerate(zip(src_lengths, tgt_lengths)):
        src[Ls:, b] = 0
        tgt[Lt, b] = 2
        tgt[Lt + 1:, b] = 0
    return src, tgt


CONFIGS = [("gru", "additive", True), ("lstm", "additive", False), ("rnn", "additive", True),
           ("lstm", "dot", True), ("gru", "dot", False), ("gru", "none", True), ("lstm", "none", False)]


@pytest.mark.parametrize("cell, attention, bidirectional", CONFIGS)
def test_gradients(rng, cell, attention, bidirectional):
    """Every parameter of the model, elementwise, relative error < 1e-7.
    Measurement: L = Σ R ⊙ logits over the real target steps (R random), with Richardson-
    extrapolated central differences (rnn_core.gradcheck explains why)."""
    m = make(cell, attention, bidirectional, rng)
    src, tgt = batch(rng)
    R = rng.standard_normal((tgt.shape[0] - 1, tgt.shape[1], V_TGT)) * (tgt[1:] != 0)[:, :, None]

    def f():
        return np.sum(m.forward(src, tgt)[0] * R)

    _, cache = m.forward(src, tgt)
    m.backward(R, cache)
    grads = {k: g.copy() for k, g in m.grads.items()}
    assert set(grads) == set(m.params)
    assert_gradcheck(f, m.params, grads, f"{cell}/{attention}/{'bi' if bidirectional else 'uni'}")


def test_loss_and_grads_is_masked_cross_entropy(rng):
    """loss_and_grads == mean −log p over the real target tokens; its gradient checks too."""
    m = make("gru", "additive", True, rng)
    src, tgt = batch(rng)
    loss = m.loss_and_grads(src, tgt)
    logits, _ = m.forward(src, tgt)
    y = tgt[1:]
    logp = logits - np.log(np.sum(np.exp(logits), axis=2, keepdims=True))
    nll = -np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0]
    assert abs(loss - nll[y != 0].mean()) < 1e-12
    grads = {k: g.copy() for k, g in m.grads.items()}
    res = gradcheck(lambda: m.loss(src, tgt), m.params, grads, mode="directional", n_directions=6, rng=rng)
    print(f"cross-entropy, 6 random directions: {res}")
    assert res.max_error < 1e-7, res


@pytest.mark.parametrize("cell, attention, bidirectional", CONFIGS)
def test_greedy_decoding_fed_back_equals_teacher_forcing(rng, cell, attention, bidirectional):
    """Decode greedily, then teacher-force the decoded tokens: the same logits and attention weights."""
    m = make(cell, attention, bidirectional, rng)
    src, _ = batch(rng)
    dec = m.greedy_decode(src, max_len=6)
    T = dec.ids.shape[0]
    tgt = np.vstack([np.ones((1, src.shape[1]), dtype=np.int64), dec.ids])
    ended = (tgt == 2).any(axis=0)
    if not ended.all():                                   # close unfinished rows with </s>
        tgt = np.vstack([tgt, np.where(ended, 0, 2)[None]])
    logits, cache = m.forward(src, tgt)
    for b in range(src.shape[1]):
        L = int(np.sum(dec.ids[:, b] != 0))                # tokens the decoder really produced
        np.testing.assert_allclose(logits[:L, b], dec.logits[:L, b], rtol=1e-12, atol=1e-12)
        if attention != "none":
            np.testing.assert_allclose(cache.weights[:L, :, b], dec.weights[:L, :, b], rtol=1e-12, atol=1e-12)
    assert T <= 6


def test_source_padding_never_leaks(rng):
    """A row's logits do not depend on its padding (value or amount); padded source steps get weight 0."""
    m = make("lstm", "additive", True, rng)
    src, tgt = batch(rng)
    logits, cache = m.forward(src, tgt)
    pad = src == 0
    assert np.all(cache.weights[:, pad] == 0)
    np.testing.assert_allclose(cache.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    for b in range(src.shape[1]):
        L = int(np.sum(~pad[:, b]))
        Lt = int(np.sum(tgt[:, b] != 0))
        alone, _ = m.forward(src[:L, b:b + 1], tgt[:Lt, b:b + 1])
        np.testing.assert_allclose(logits[:Lt - 1, b], alone[:, 0], rtol=1e-12, atol=1e-12)


def test_attention_none_uses_the_fixed_context(rng):
    m = make("gru", "none", True, rng)
    src, tgt = batch(rng)
    _, cache = m.forward(src, tgt)
    assert cache.weights is None and "attn.W_q" not in m.params
    np.testing.assert_array_equal(cache.contexts, np.broadcast_to(cache.summary, cache.contexts.shape))


def test_save_load_roundtrip(rng, tmp_path):
    m = make("lstm", "dot", True, rng)
    src, tgt = batch(rng)
    path = tmp_path / "model.npz"
    m.save(path)
    m2 = Seq2Seq.load(path)
    assert m2.config == m.config
    np.testing.assert_array_equal(m.forward(src, tgt)[0], m2.forward(src, tgt)[0])
    rnn_core.CharLM(5, 4).save(tmp_path / "lm.npz")
    with pytest.raises(HyperparameterError, match="path: expected a saved Seq2Seq"):
        Seq2Seq.load(tmp_path / "lm.npz")


def test_grads_dict_is_kept_and_params_are_the_layers_arrays(rng):
    m = Seq2Seq(V_SRC, V_TGT, 3, 4, cell="lstm", attention="additive", rng=rng, dtype=np.float64)
    grads, params = m.grads, m.params
    src, tgt = batch(rng)
    for _ in range(2):
        m.loss_and_grads(src, tgt)
        assert m.grads is grads and set(grads) == set(params)
        assert grads["dec.W_h"] is m.layers["dec"].grads["W_h"]
        assert grads["attn.v"] is m.layers["attn"].grads["v"]
    m.astype(np.float32)
    assert m.params is params and m.grads is grads
    assert all(params[f"{pre}.{k}"] is p for pre, layer in m.layers.items() for k, p in layer.params.items())
    assert all(p.dtype == np.float32 for p in params.values())
    before = m.layers["enc"].fw.params["W_x"].copy()
    m.loss_and_grads(src, tgt)
    rnn_core.Adam(lr=0.01).step(m.params, m.grads)      # the update reaches the sub-layers
    assert not np.array_equal(m.layers["enc"].fw.params["W_x"], before)


def test_errors_name_argument_expected_and_given(rng):
    m = Seq2Seq(V_SRC, V_TGT, 3, 4)
    src, tgt = batch(rng)
    with pytest.raises(ShapeError, match=r"tgt: expected batch size B=3 \(as src\), got shape \(5, 2\)"):
        m.forward(src, tgt[:, :2])
    bad = tgt.copy()
    bad[0, 1] = 5
    with pytest.raises(SequenceError, match=r"tgt: expected the start token 1 at step 0 .*got \[5\] in columns \[1\]"):
        m.forward(src, bad)
    bad = tgt.copy()
    bad[bad == 2] = 4
    with pytest.raises(SequenceError, match=r"tgt: expected every column to be <s> … </s>.*got columns \[0, 1, 2\]"):
        m.forward(src, bad)
    with pytest.raises(SequenceError, match=r"tgt: expected at least 2 steps"):
        m.forward(src, tgt[:1])
    bad = src.copy()
    bad[:, 2] = 0
    with pytest.raises(SequenceError, match=r"src: expected at least one real \(non-pad\) token in every column, got none in columns \[2\]"):
        m.forward(bad, tgt)
    with pytest.raises(ShapeError, match=r"src: expected a non-empty array"):
        m.forward(np.zeros((0, 3), dtype=np.int64), tgt)
    with pytest.raises(ShapeError, match=r"src: expected token ids in \[0, V_src=7\), got \[9\]"):
        m.forward(np.where(src == src[0, 0], 9, src), tgt)
    with pytest.raises(ShapeError, match=r"src: expected an integer array of token ids, got dtype float64"):
        m.forward(src.astype(float), tgt)
    with pytest.raises(HyperparameterError, match=r"attention: expected one of .*got 'general'"):
        Seq2Seq(V_SRC, V_TGT, 3, 4, attention="general")
    with pytest.raises(HyperparameterError, match=r"pad_id, start_id, end_id: expected three different ids, got \(0, 1, 1\)"):
        Seq2Seq(V_SRC, V_TGT, 3, 4, end_id=1)
    with pytest.raises(HyperparameterError, match=r"max_len: expected a positive integer, got 0"):
        m.greedy_decode(src, 0)
    assert issubclass(SequenceError, rnn_core.RNNCoreError)


def test_dates_are_seeded_and_correct():
    s1, t1, k1 = random_dates(50, rng=3)
    s2, t2, k2 = random_dates(50, rng=3)
    assert (s1, t1, k1) == (s2, t2, k2)
    assert set(k1) <= set(FORMATS)
    import datetime as dt
    for s, t, k in zip(s1, t1, k1):
        d = dt.date.fromisoformat(t)
        assert 1950 <= d.year <= 2049 and FORMATS[k](d) == s
    assert FORMATS["Day, the dth of Month yyyy"](dt.date(2026, 11, 22)) == "Sunday, the 22nd of November 2026"
    assert FORMATS["d/m/yy"](dt.date(1950, 1, 2)) == "2/1/50"
    v = DateVocab()
    tgt = v.encode_targets(t1)
    assert np.all(tgt[0] == v.start_id) and v.decode(tgt[:, 0]) == t1[0]
    src = v.encode_sources(s1)
    assert v.decode(src[:, 0]) == s1[0]
    with pytest.raises(ShapeError, match=r"text: expected only characters of the date formats, got '#'"):
        v.encode_sources(["1#2"])
    with pytest.raises(HyperparameterError, match=r"formats: expected names from .*got 'yyyy'"):
        random_dates(3, formats=["yyyy"])


def test_one_signature_with_the_other_models(rng):
    """loss_and_grads(x, y, mask=None) and evaluate(x, y, mask=None) as on every model: the mask, if
    given, is the source mask the padding already defines; a different one is refused by name."""
    m = make("gru", "additive", True, rng)
    src, tgt = batch(rng)
    assert m.loss_and_grads(src, tgt, src != 0) == m.loss_and_grads(src, tgt)
    wrong = src != 0
    wrong[0, 0] = False
    with pytest.raises(ShapeError, match="mask: expected None or the source mask"):
        m.loss_and_grads(src, tgt, wrong)
    loss, exact = m.evaluate(src, tgt)
    assert loss == m.loss(src, tgt)
    want = tgt[1:]                                                  # (T, B) tokens after <s>
    got = np.zeros_like(want)                                       # greedy ids, padded to T steps
    ids = m.greedy_decode(src, max_len=want.shape[0]).ids
    got[:ids.shape[0]] = ids
    expected = np.mean([np.array_equal(got[:, b], want[:, b]) for b in range(src.shape[1])])
    assert exact == expected


def test_evaluate_exact_match(rng):
    """A decoder whose output bias makes </s> win at once: target "<s> </s>" is matched exactly,
    a target with a token before </s> is not."""
    m = make("lstm", "dot", False, rng)
    m.layers["out"].params["b"][2] = 1e3                            # </s> always the most likely
    src, _ = batch(rng)
    B = src.shape[1]
    short = np.array([[1] * B, [2] * B])                            # <s> </s>
    longer = np.array([[1] * B, [5] * B, [2] * B])                  # <s> 5 </s>
    assert m.evaluate(src, short)[1] == 1.0
    assert m.evaluate(src, longer)[1] == 0.0
