"""Attention over a sequence of hidden states, and the article's AttentionLSTM made real.

Given a query ``q (B, Hq)`` and keys ``k_t (B, H)`` for t = 1..T (e.g. the LSTM outputs)::

    e_t = score(q, k_t)                                  # (T, B) one number per step
    α_t = exp(e_t) / Σ_{s real} exp(e_s)   (α_t = 0 exactly at padded steps)
    context = Σ_t α_t k_t                                # (B, H)

Scores:

    additive (Bahdanau et al. 2015):      e_t = vᵀ tanh(k_t W_k + q W_q + b)
    dot, scaled (Luong et al. 2015; Vaswani et al. 2017): e_t = ⟨q, k_t⟩ / √H

Backward, from ``dcontext (B, H)`` (and optionally ``dweights (T, B)``)::

    dα_t = ⟨dcontext, k_t⟩ (+ dweights_t)          dk_t = α_t dcontext + (score part)
    de_t = α_t (dα_t − Σ_s α_s dα_s)                (softmax backward; 0 where α_t = 0)

A batch column whose steps are all masked gets weights 0 and context 0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import (HyperparameterError, check_array, check_cache, check_dtype, check_mask, check_option,
                     check_positive_int, check_rng)
from .init import xavier_uniform
from .lstm import LSTM, check_lstm_state
from .module import Module

__all__ = ["masked_softmax", "AdditiveAttention", "DotProductAttention", "AttentionLSTM"]


def masked_softmax(e, mask=None):
    """Softmax over time (axis 0) of scores e (T, B); masked steps get weight exactly 0.

    The max over the real steps is subtracted first, so no exp overflows, and masked
    scores never reach ``exp`` (they become ``exp(−inf) = 0``).
    """
    if mask is None:
        p = np.exp(e - e.max(axis=0, keepdims=True))
        return p / p.sum(axis=0, keepdims=True)
    m = np.where(mask, e, -np.inf).max(axis=0, keepdims=True)     # (1, B), −inf if nothing is real
    m = np.where(np.isfinite(m), m, 0.0)
    p = np.exp(np.where(mask, e - m, -np.inf))                    # (T, B), exactly 0 when masked
    s = p.sum(axis=0, keepdims=True)
    return p / np.where(s > 0, s, 1.0)


def _softmax_backward(dw, w):
    """de = w ⊙ (dw − Σ_t w_t dw_t), over axis 0."""
    return w * (dw - np.sum(w * dw, axis=0, keepdims=True))


class AttentionCache(NamedTuple):
    query: np.ndarray          # (B, Hq)
    keys: np.ndarray           # (T, B, H)
    mask: np.ndarray | None    # (T, B) bool
    weights: np.ndarray        # (T, B)
    u: np.ndarray | None       # (T, B, A) tanh(k W_k + q W_q + b), additive score only


def _check_inputs(query, keys, mask, H, Hq, dtype=None):
    """keys (T, B, H), query (B, Hq), mask (T, B) -> arrays (cast to dtype) and a bool mask or None."""
    keys = check_array("keys", keys, 3, (None, None, H), "TBH")
    T, B, H = keys.shape
    query = check_array("query", query, 2, (B, Hq if Hq is not None else H), "BH")
    mask = check_mask(mask, T, B)
    if dtype is not None:
        keys, query = keys.astype(dtype, copy=False), query.astype(dtype, copy=False)
    return query, keys, None if mask is None else mask.astype(bool)


def _check_backward(dcontext, dweights, cache):
    T, B, H = cache.keys.shape
    dcontext = check_array("dcontext", dcontext, 2, (B, H), "BH")
    if dweights is not None:
        dweights = check_array("dweights", dweights, 2, (T, B), "TB")
    return dcontext, dweights


class AdditiveAttention(Module):
    """Bahdanau (additive) attention: ``e_t = vᵀ tanh(k_t W_k + q W_q + b)``.

    Parameters: ``W_k (H, A)``, ``W_q (Hq, A)`` Xavier-uniform, ``b (A,)`` zeros,
    ``v (A,)`` uniform in ±√(3/A) (not zero, or every gradient but dv would start at 0).

    forward(query (B, Hq), keys (T, B, H), mask (T, B) or None) -> context (B, H), weights (T, B), cache
    backward(dcontext (B, H), cache, dweights (T, B) or None) -> dquery (B, Hq), dkeys (T, B, H)
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int, rng=0, dtype=np.float32):
        super().__init__()
        self.query_size = Hq = check_positive_int("query_size", query_size)
        self.key_size = H = check_positive_int("key_size", key_size)
        self.attention_size = A = check_positive_int("attention_size", attention_size)
        self.dtype = check_dtype(dtype)
        gen = check_rng(rng)
        self.params = {"W_k": xavier_uniform((H, A), gen, self.dtype),
                       "W_q": xavier_uniform((Hq, A), gen, self.dtype),
                       "b": np.zeros(A, dtype=self.dtype),
                       "v": xavier_uniform((A,), gen, self.dtype)}
        self.zero_grad()

    def forward(self, query, keys, mask=None):
        query, keys, mask = _check_inputs(query, keys, mask, self.key_size, self.query_size, self.dtype)
        T, B, H = keys.shape
        A = self.attention_size
        p = self.params
        u = (keys.reshape(T * B, H) @ p["W_k"]).reshape(T, B, A)   # (T, B, A)
        u += query @ p["W_q"] + p["b"]                             # (B, A) broadcast over T
        np.tanh(u, out=u)
        e = u @ p["v"]                                             # (T, B) scores
        weights = masked_softmax(e, mask)                          # (T, B)
        context = np.einsum("tb,tbh->bh", weights, keys)           # (B, H)
        return context, weights.copy(), AttentionCache(query, keys, mask, weights, u)

    def backward(self, dcontext, cache: AttentionCache, dweights=None):
        check_cache("cache", cache, AttentionCache, "AdditiveAttention",
                    lambda cache: {"key_size": (self.key_size, cache.keys.shape[-1]),
                                   "query_size": (self.query_size, cache.query.shape[-1]),
                                   "attention_size": (self.attention_size, None if cache.u is None else cache.u.shape[-1])})
        dcontext, dweights = _check_backward(dcontext, dweights, cache)
        dcontext = dcontext.astype(self.dtype, copy=False)
        query, keys, _, w, u = cache
        T, B, H = keys.shape
        A = self.attention_size
        p = self.params
        dw = np.einsum("bh,tbh->tb", dcontext, keys)               # (T, B)
        if dweights is not None:
            dw = dw + dweights
        de = _softmax_backward(dw, w)                              # (T, B)
        da = de[:, :, None] * p["v"] * (1 - u * u)                 # (T, B, A) d pre-tanh
        da2 = da.reshape(T * B, A)
        da_q = da.sum(axis=0)                                      # (B, A) query part, summed over t
        dkeys = w[:, :, None] * dcontext + (da2 @ p["W_k"].T).reshape(T, B, H)
        self.grads.update({"W_k": keys.reshape(T * B, H).T @ da2,      # (H, A)
                           "W_q": query.T @ da_q,                       # (Hq, A)
                           "b": da_q.sum(axis=0),                       # (A,)
                           "v": np.einsum("tba,tb->a", u, de)})         # (A,)
        return da_q @ p["W_q"].T, dkeys


class DotProductAttention(Module):
    """Dot-product attention (Luong et al. 2015): ``e_t = ⟨q, k_t⟩ / √H`` (``scaled=True``) or ``⟨q, k_t⟩``.

    No parameters; query and keys must have the same size H.

    forward(query (B, H), keys (T, B, H), mask (T, B) or None) -> context (B, H), weights (T, B), cache
    backward(dcontext (B, H), cache, dweights (T, B) or None) -> dquery (B, H), dkeys (T, B, H)
    """

    def __init__(self, scaled: bool = True):
        super().__init__()
        if not isinstance(scaled, (bool, np.bool_)):
            raise HyperparameterError(f"scaled: expected True or False, got {scaled!r}")
        self.scaled = bool(scaled)

    def _scale(self, H):
        return 1.0 / np.sqrt(H) if self.scaled else 1.0

    def forward(self, query, keys, mask=None):
        query, keys, mask = _check_inputs(query, keys, mask, None, None)
        s = self._scale(keys.shape[2])
        e = np.einsum("bh,tbh->tb", query, keys) * s               # (T, B) scores
        weights = masked_softmax(e, mask)
        context = np.einsum("tb,tbh->bh", weights, keys)           # (B, H)
        return context, weights.copy(), AttentionCache(query, keys, mask, weights, None)

    def backward(self, dcontext, cache: AttentionCache, dweights=None):
        check_cache("cache", cache, AttentionCache, "DotProductAttention",
                    lambda cache: {"score": ("dot", "dot" if cache.u is None else "additive")})
        dcontext, dweights = _check_backward(dcontext, dweights, cache)
        query, keys, _, w, _ = cache
        s = self._scale(keys.shape[2])
        dw = np.einsum("bh,tbh->tb", dcontext, keys)               # (T, B)
        if dweights is not None:
            dw = dw + dweights
        de = _softmax_backward(dw, w) * s                          # (T, B), d(q·k) per step
        dquery = np.einsum("tb,tbh->bh", de, keys)                 # (B, H)
        dkeys = w[:, :, None] * dcontext + de[:, :, None] * query  # (T, B, H)
        return dquery, dkeys


class AttentionLSTMCache(NamedTuple):
    lstm: object               # the LSTM's cache
    attn: AttentionCache


class AttentionLSTM(Module):
    """An LSTM whose outputs are summarised by attention (what the article's AttentionLSTM sketches).

        hs, (h_T, c_T) = LSTM(x)                          # hs (T, B, H)
        q = h_T (query="last": the last REAL state of each row) or a learned vector q (H,)
        context, α = attention(q, keys=hs, mask)          # (B, H), (T, B)

    Parameters carry prefixes: ``lstm.W_x, lstm.W_h, lstm.b``; ``attn.W_k, attn.W_q, attn.b, attn.v``
    (score="additive"; "dot" has none); ``q (H,)`` (query="learned"). ``attention_size`` is
    used only by the additive score.

    forward(x (T, B, D), state0=(h0, c0) or None, mask (T, B) or None)
        -> context (B, H), weights (T, B), state (h_T, c_T), cache
    backward(dcontext (B, H), cache, dstate=(dh_T, dc_T) or None) -> dx (T, B, D), (dh0, dc0)
    """

    def __init__(self, input_size: int, hidden_size: int, attention_size: int, score: str = "additive",
                 query: str = "last", rng=0, dtype=np.float32):
        super().__init__()
        self.score = check_option("score", score, ("additive", "dot"))
        self.query = check_option("query", query, ("last", "learned"))
        self.dtype = check_dtype(dtype)
        gen = check_rng(rng)
        self.lstm = LSTM(input_size, hidden_size, rng=gen, dtype=self.dtype)
        self.input_size = self.lstm.input_size
        H = self.hidden_size = self.lstm.hidden_size
        if self.score == "additive":
            self.attn = AdditiveAttention(H, H, attention_size, rng=gen, dtype=self.dtype)
        else:
            if attention_size is not None:
                check_positive_int("attention_size", attention_size)
            self.attn = DotProductAttention(scaled=True)
        self.q = xavier_uniform((H,), gen, self.dtype) if self.query == "learned" else None
        self._collect_params()
        self.zero_grad()

    def sublayers(self) -> dict:
        return {"lstm": self.lstm, "attn": self.attn}

    def _collect_params(self):
        """The sub-layers' arrays (``Module._collect_params``) and the learned query ``q``."""
        super()._collect_params()
        if self.q is not None:
            self.params["q"] = self.q

    def astype(self, dtype):
        dt = check_dtype(dtype)
        if self.q is not None:
            self.q = self.q.astype(dt)           # before the sub-layers: _collect_params reads it
        return super().astype(dt)

    def forward(self, x, state0=None, mask=None):
        hs, state, lstm_cache = self.lstm.forward(x, state0, mask)       # hs (T, B, H)
        B = hs.shape[1]
        # (B, H); a copy of h_T, which is also returned: the caller may edit it before backward
        query = state[0].copy() if self.query == "last" else np.repeat(self.q[None], B, axis=0)
        context, weights, attn_cache = self.attn.forward(query, hs, mask)
        return context, weights, state, AttentionLSTMCache(lstm_cache, attn_cache)

    def backward(self, dcontext, cache: AttentionLSTMCache, dstate=None):
        check_cache("cache", cache, AttentionLSTMCache, "AttentionLSTM")
        T, B, H = cache.attn.keys.shape
        dh_T, dc_T = check_lstm_state("dstate", dstate, B, H, self.dtype)
        if dh_T is None:
            dh_T, dc_T = np.zeros((B, H), dtype=self.dtype), np.zeros((B, H), dtype=self.dtype)
        dquery, dhs = self.attn.backward(dcontext, cache.attn)          # (B, H), (T, B, H)
        grads = {}
        if self.query == "last":
            dh_T = dh_T + dquery                                        # the query is the final state
        else:
            grads["q"] = dquery.sum(axis=0)                             # (H,)
        dx, dstate0 = self.lstm.backward(dhs, cache.lstm, (dh_T, dc_T))
        self._collect_grads()
        self.grads.update(grads)
        return dx, dstate0
