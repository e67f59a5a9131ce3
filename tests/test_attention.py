"""Attention: masked softmax, additive and dot scores, AttentionLSTM; gradients, masks, errors."""
import numpy as np
import pytest

from rnn_core import LSTM, AdditiveAttention, AttentionLSTM, DotProductAttention
from rnn_core.attention import masked_softmax
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.gradcheck import gradcheck

TOL = 1e-7


def padded_mask(rng, T, B):
    """Random lengths in [1, T] (row 0 full, row 1 padded to length 1 when B > 1)."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    if B > 1:
        lengths[1] = 1
    return (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)   # (T, B)


def make_attention(kind, rng, Hq, H, A):
    if kind == "dot":
        return DotProductAttention(scaled=True), H
    att = AdditiveAttention(Hq, H, A, rng=rng, dtype=np.float64)
    for k, p in att.params.items():                     # random non-zero b and v too
        # matrices scaled by 1/√fan_in: a saturated tanh makes every gradient ~1e-5 and the
        # finite differences meaningless (measured: up to 1.4e-5 relative error with N(0, 1) and A = 1)
        p[...] = rng.standard_normal(p.shape) / (np.sqrt(p.shape[0]) if p.ndim == 2 else 1.0)
    return att, Hq


# ---------------------------------------------------------------- masked softmax

def test_masked_softmax_exact_zeros_and_stability():
    e = np.array([[1e4, 0.0, 5.0], [-1e4, 1e4, 7.0], [3.0, 2.0, 1.0]])              # (T=3, B=3)
    mask = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)
    w = masked_softmax(e, mask)
    assert np.all(np.isfinite(w))
    assert np.all(w[~mask] == 0.0)                      # exactly zero, not 1e-300
    np.testing.assert_allclose(w[:, 0], [1, 0, 0])
    np.testing.assert_allclose(w[:, 1], [1 / (1 + np.e**2), 0, np.e**2 / (1 + np.e**2)])   # 1e4 is masked
    assert np.all(w[:, 2] == 0)                         # no real step: all weights zero
    big = masked_softmax(np.array([[1e300], [-1e300]]))
    np.testing.assert_allclose(big[:, 0], [1, 0])


def test_masked_softmax_equals_softmax_over_real_steps(rng):
    e = rng.standard_normal((6, 4))
    mask = padded_mask(rng, 6, 4).astype(bool)
    w = masked_softmax(e, mask)
    for b in range(4):
        L = int(mask[:, b].sum())
        ref = np.exp(e[:L, b] - e[:L, b].max())
        np.testing.assert_allclose(w[:L, b], ref / ref.sum(), rtol=1e-14)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-14)


# ---------------------------------------------------------------- attention layers

@pytest.mark.parametrize("kind", ["additive", "dot"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("trial", range(2))
def test_attention_gradcheck(rng, kind, masked, trial):
    T, B, H, A = rng.integers(1, 6), rng.integers(1, 4), rng.integers(1, 5), rng.integers(2, 5)
    if masked:
        T, B = max(T, 3), max(B, 2)
    att, Hq = make_attention(kind, rng, rng.integers(1, 5), H, A)
    query, keys = rng.standard_normal((B, Hq)), rng.standard_normal((T, B, H))
    mask = padded_mask(rng, T, B) if masked else None
    dcontext, dweights = rng.standard_normal((B, H)), rng.standard_normal((T, B))
    context, weights, cache = att.forward(query, keys, mask)
    assert context.shape == (B, H) and weights.shape == (T, B)
    dquery, dkeys = att.backward(dcontext, cache, dweights)

    def f():
        c, w, _ = att.forward(query, keys, mask)
        return np.sum(c * dcontext) + np.sum(w * dweights)

    arrays = {**att.params, "query": query, "keys": keys}
    grads = {**{k: g.copy() for k, g in att.grads.items()}, "query": dquery, "keys": dkeys}
    # dW_q is second order (~1e-3 here, see test_attention_lstm_gradcheck): a plain central
    # difference at h = 1e-6 sat at its round-off floor (up to 8.7e-7 over 800 cases); gradcheck's
    # extrapolated differences at h = 1e-3 resolve ~1e-9.
    res = gradcheck(f, arrays, grads)
    assert res.max_error < TOL, res
    if masked:
        pad = mask == 0
        assert np.all(weights[pad] == 0.0)
        assert np.all(dkeys[pad] == 0.0)                # padded keys: exactly zero gradient


@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_attention_forward_by_hand_and_padding_invariance(rng, kind):
    T, B, H, A = 5, 3, 4, 3
    att, Hq = make_attention(kind, rng, 2, H, A)
    query, keys = rng.standard_normal((B, Hq)), rng.standard_normal((T, B, H))
    mask = padded_mask(rng, T, B)
    context, weights, _ = att.forward(query, keys, mask)
    for b in range(B):
        L = int(mask[:, b].sum())
        k = keys[:L, b]                                                     # (L, H)
        if kind == "dot":
            e = k @ query[b] / np.sqrt(H)
        else:
            p = att.params
            e = np.tanh(k @ p["W_k"] + query[b] @ p["W_q"] + p["b"]) @ p["v"]
        a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        np.testing.assert_allclose(weights[:L, b], a, rtol=1e-13)
        np.testing.assert_allclose(context[b], a @ k, rtol=1e-13)
    keys2 = keys.copy()
    keys2[mask == 0] = 1e3 * rng.standard_normal(keys2[mask == 0].shape)  # garbage in the padding
    c2, w2, _ = att.forward(query, keys2, mask)
    assert np.array_equal(w2, weights) and np.allclose(c2, context, rtol=0, atol=1e-14)


def test_unscaled_dot_and_large_scores(rng):
    att = DotProductAttention(scaled=False)
    keys = 1e3 * rng.standard_normal((6, 2, 4))          # scores ~ 1e6: exp would overflow unshifted
    query = rng.standard_normal((2, 4))
    c, w, cache = att.forward(query, keys)
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(c))
    e = np.einsum("bh,tbh->tb", query, keys)
    assert np.array_equal(np.argmax(w, axis=0), np.argmax(e, axis=0))
    dq, dk = att.backward(np.ones((2, 4)), cache)
    assert np.all(np.isfinite(dq)) and np.all(np.isfinite(dk))


@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_fully_masked_row_gives_zero_context_and_gradients(rng, kind):
    att, Hq = make_attention(kind, rng, 3, 4, 2)
    query, keys = rng.standard_normal((2, Hq)), rng.standard_normal((5, 2, 4))
    mask = np.ones((5, 2))
    mask[:, 1] = 0
    c, w, cache = att.forward(query, keys, mask)
    assert np.all(w[:, 1] == 0) and np.all(c[1] == 0)
    dq, dk = att.backward(np.ones((2, 4)), cache, np.ones((5, 2)))
    assert np.all(dq[1] == 0) and np.all(dk[:, 1] == 0)


def test_attention_float32(rng):
    att = AdditiveAttention(3, 4, 5, rng=rng)
    c, w, cache = att.forward(rng.standard_normal((2, 3)), rng.standard_normal((6, 2, 4)), np.ones((6, 2)))
    assert c.dtype == w.dtype == np.float32
    dq, dk = att.backward(np.ones((2, 4)), cache)
    assert dq.dtype == dk.dtype == np.float32 and all(g.dtype == np.float32 for g in att.grads.values())


def test_attention_errors(rng):
    for kwargs, name in [(dict(query_size=0, key_size=2, attention_size=3), "query_size"),
                         (dict(query_size=2, key_size=-1, attention_size=3), "key_size"),
                         (dict(query_size=2, key_size=2, attention_size=0), "attention_size"),
                         (dict(query_size=2, key_size=2, attention_size=3, dtype=np.int8), "dtype")]:
        with pytest.raises(HyperparameterError, match=name):
            AdditiveAttention(**kwargs)
    with pytest.raises(HyperparameterError, match="scaled"):
        DotProductAttention(scaled="yes")
    add, dot = AdditiveAttention(3, 4, 5, rng=0), DotProductAttention()
    keys, q3, q4 = rng.standard_normal((6, 2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    for att, q in [(add, q3), (dot, q4)]:
        with pytest.raises(ShapeError, match="keys"):
            att.forward(q, keys[0])                                         # rank 2
        with pytest.raises(ShapeError, match="keys"):
            att.forward(q, np.zeros((0, 2, 4)))                             # T = 0
        with pytest.raises(ShapeError, match="keys"):
            att.forward(q[:0], np.zeros((6, 0, 4)))                         # B = 0
        with pytest.raises(ShapeError, match="query"):
            att.forward(q[:1], keys)                                        # B mismatch
        with pytest.raises(ShapeError, match="query"):
            att.forward(np.zeros((2, 7)), keys)                             # size mismatch
        with pytest.raises(ShapeError, match="mask"):
            att.forward(q, keys, np.ones((2, 6)))
        with pytest.raises(ShapeError, match="mask"):
            att.forward(q, keys, np.full((6, 2), 2.0))
        bad = keys.copy()
        bad[0, 0, 0] = np.inf
        with pytest.raises(NonFiniteError, match="keys"):
            att.forward(q, bad)
        with pytest.raises(NonFiniteError, match="query"):
            att.forward(np.full_like(q, np.nan), keys)
        _, _, cache = att.forward(q, keys)
        with pytest.raises(ShapeError, match="dcontext"):
            att.backward(np.zeros((2, 3)), cache)
        with pytest.raises(ShapeError, match="dweights"):
            att.backward(np.zeros((2, 4)), cache, np.zeros((2, 6)))
    with pytest.raises(ShapeError, match="keys"):
        add.forward(q3, rng.standard_normal((6, 2, 3)))                     # key_size is 4


# ---------------------------------------------------------------- AttentionLSTM

def random_attention_lstm(rng, D, H, A, score, query):
    model = AttentionLSTM(D, H, A, score=score, query=query, rng=rng, dtype=np.float64)
    for p in model.params.values():
        p[...] = rng.standard_normal(p.shape)
    return model


@pytest.mark.parametrize("score", ["additive", "dot"])
@pytest.mark.parametrize("query", ["last", "learned"])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_lstm_gradcheck(rng, score, query, masked):
    T, B, D, H, A = 4, 3, 3, 4, 4
    model = random_attention_lstm(rng, D, H, A, score, query)
    x = rng.standard_normal((T, B, D))
    state0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    dstate = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    dcontext = rng.standard_normal((B, H))
    mask = padded_mask(rng, T, B) if masked else None
    context, weights, state, cache = model.forward(x, state0, mask)
    dx, dstate0 = model.backward(dcontext, cache, dstate)
    assert set(model.grads) == set(model.params)

    def f():
        c, _, (h, cc), _ = model.forward(x, state0, mask)
        return np.sum(c * dcontext) + np.sum(h * dstate[0]) + np.sum(cc * dstate[1])

    arrays = {**model.params, "x": x, "h0": state0[0], "c0": state0[1]}
    grads = {**{k: g.copy() for k, g in model.grads.items()}, "x": dx, "h0": dstate0[0], "c0": dstate0[1]}
    # The query-side gradients (attn.W_q, attn.b, q) are second order -- Σ_t ∂L/∂e_t = 0, so the
    # query acts only through the curvature of tanh across steps -- and are ~1e-4 while f is O(1):
    # a plain central difference at h = 1e-6 has round-off ε|f|/h ~ 1e-7 relative here. gradcheck's
    # Richardson-extrapolated differences use h = 1e-3 (1000x less round-off) and report their own error.
    res = gradcheck(f, arrays, grads)
    assert res.max_fd_error < TOL / 10, res
    assert res.max_error < TOL, res
    if masked:
        assert np.all(weights[mask == 0] == 0.0) and np.all(dx[mask == 0] == 0.0)


@pytest.mark.parametrize("score", ["additive", "dot"])
def test_attention_lstm_masked_equals_unpadded_rows(rng, score):
    T, B, D, H = 6, 3, 2, 4
    model = random_attention_lstm(rng, D, H, 3, score, "last")
    x = rng.standard_normal((T, B, D))
    mask = padded_mask(rng, T, B)
    context, weights, (h, c), _ = model.forward(x, mask=mask)
    hs_ref, (h_ref, _), _ = model.lstm.forward(x, mask=mask)
    np.testing.assert_array_equal(h, h_ref)                                 # query = last REAL state
    for b in range(B):
        L = int(mask[:, b].sum())
        c_b, w_b, (h_b, _), _ = model.forward(x[:L, b:b + 1])
        np.testing.assert_allclose(context[b], c_b[0], rtol=0, atol=1e-14)
        np.testing.assert_allclose(weights[:L, b], w_b[:, 0], rtol=0, atol=1e-14)
        np.testing.assert_allclose(h[b], h_b[0], rtol=0, atol=1e-14)


def test_attention_lstm_params_are_shared_and_named():
    model = AttentionLSTM(3, 4, 5, rng=0)
    assert set(model.params) == {"lstm.W_x", "lstm.W_h", "lstm.b", "attn.W_k", "attn.W_q", "attn.b", "attn.v"}
    assert model.params["lstm.W_x"] is model.lstm.params["W_x"]
    assert model.params["attn.v"] is model.attn.params["v"]
    assert isinstance(model.lstm, LSTM)
    learned = AttentionLSTM(3, 4, None, score="dot", query="learned", rng=0)
    assert set(learned.params) == {"lstm.W_x", "lstm.W_h", "lstm.b", "q"}
    learned.astype(np.float64)
    assert learned.params["lstm.W_x"] is learned.lstm.params["W_x"]
    assert all(p.dtype == np.float64 for p in learned.params.values())


def test_attention_lstm_errors(rng):
    with pytest.raises(HyperparameterError, match="score"):
        AttentionLSTM(3, 4, 5, score="general")
    with pytest.raises(HyperparameterError, match="query"):
        AttentionLSTM(3, 4, 5, query="first")
    with pytest.raises(HyperparameterError, match="attention_size"):
        AttentionLSTM(3, 4, 0)
    with pytest.raises(HyperparameterError, match="hidden_size"):
        AttentionLSTM(3, 0, 5)
    with pytest.raises(HyperparameterError, match="input_size"):
        AttentionLSTM(-3, 4, 5)
    model = AttentionLSTM(3, 4, 5, rng=0)
    x = rng.standard_normal((5, 2, 3))
    with pytest.raises(ShapeError, match="x"):
        model.forward(x[..., :2])
    with pytest.raises(ShapeError, match="x"):
        model.forward(np.zeros((0, 2, 3)))
    with pytest.raises(ShapeError, match="mask"):
        model.forward(x, mask=np.ones((5, 3)))
    with pytest.raises(ShapeError, match="state0"):
        model.forward(x, state0=(np.zeros((2, 4)), np.zeros((3, 4))))
    _, _, _, cache = model.forward(x)
    with pytest.raises(ShapeError, match="dcontext"):
        model.backward(np.zeros((2, 5)), cache)
    with pytest.raises(ShapeError, match="dstate"):
        model.backward(np.zeros((2, 4)), cache, dstate=np.zeros((2, 4)))
