"""An encoder–decoder that learns an alignment: Bahdanau et al. (2015), in numpy.

The encoder reads the source; the decoder writes the target one token at a time and, before
each token, looks at every encoder state again::

    e_s      = E_src[x_s]                                    (S, B, E)   source embeddings
    k_s      = encoder(e)_s                                  (S, B, K)   K = H, or 2H bidirectional
    s_0      = tanh(k_summary W_0 + b_0)                     (B, K)      k_summary = last real state
                                                                         ([→h_last ; ←h_first] if bidirectional)
    for i = 1 … T (teacher forcing: y_{i−1} is the true previous token, y_0 = <s>):
        c_i, α_i = attention(query=s_{i−1}, keys=k, mask)    (B, K), (S, B)   α = 0 at source padding
        s_i      = cell([E_tgt[y_{i−1}] ; c_i], s_{i−1})     (B, K)      GRU, LSTM or RNN step
        logits_i = [s_i ; c_i] W_o + b_o                     (B, V)
    loss = mean over real target tokens of −log softmax(logits_i)[y_i]

Scores (``attention=``): ``"additive"`` e_s = vᵀ tanh(k_s W_k + s_{i−1} W_q + b) (Bahdanau et al.
2015); ``"dot"`` e_s = ⟨s_{i−1}, k_s⟩, Luong et al.'s (2015) unscaled dot score (the √K scaling
is Vaswani et al.'s 2017); ``"none"``: no attention, c_i = k_summary at every step: the fixed
context vector of the RNN encoder–decoder of Cho et al. (2014), the baseline Bahdanau et al.
compared against. The wiring (query = previous state, context fed into the step and the output)
follows Bahdanau et al.; Luong et al. query with the new state instead.

The decoder's cell is stepped with the step functions of ``rnn_core.gru/lstm/rnn``; its own
layer object only owns the parameters. Backward runs through the output layer, the decoder
steps, every attention and into the encoder states and the bridge, then BPTT through the
encoder and both embeddings (gradient-checked in float64).

Token conventions: ``pad_id`` (0) pads both sides; every target row is ``<s> y_1 … y_n </s>``
followed by padding; the source is padded after its real tokens.
"""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np

from .attention import AdditiveAttention, DotProductAttention
from .bidirectional import CELLS, Bidirectional, make_cell
from .errors import HyperparameterError, ShapeError, check_array, check_dtype, check_option, check_positive_int, \
    check_rng
from .gru import gru_step_backward, gru_step_forward
from .layers import Dense, Embedding
from .losses import softmax_cross_entropy
from .lstm import lstm_step_backward, lstm_step_forward
from .module import Module
from .rnn import rnn_step_backward, rnn_step_forward

__all__ = ["Seq2Seq", "SequenceError", "Seq2SeqCache", "Decoded"]

ATTENTION = ("additive", "dot", "none")


class SequenceError(ShapeError):
    """A token sequence is malformed: an empty row, a target without <s> or </s>."""


class Seq2SeqCache(NamedTuple):
    src_embed: object        # Embedding cache
    enc: object              # encoder cache
    keys: np.ndarray         # (S, B, K) encoder states
    src_mask: np.ndarray     # (S, B) bool
    summary: np.ndarray      # (B, K) last real encoder state(s)
    bridge: object           # Dense cache
    s0: np.ndarray           # (B, K) tanh(bridge)
    tgt_embed: object        # Embedding cache of the decoder inputs (T, B)
    steps: list              # per step: (cell step cache, attention cache or None)
    contexts: np.ndarray     # (T, B, K)
    out: object              # Dense cache
    weights: np.ndarray | None   # (T, S, B) attention weights, None without attention


class Decoded(NamedTuple):
    ids: np.ndarray          # (T, B) greedy tokens (after <s>), padded with pad_id after </s>
    weights: np.ndarray | None   # (T, S, B)
    logits: np.ndarray       # (T, B, V) the logits each token was chosen from


class Seq2Seq(Module):
    """Encoder–decoder with attention (see the module docstring for the equations).

    Parameters (prefix.name): ``src_embed.W (V_src, E)``, ``enc.*`` (the encoder cell's, or
    ``enc.fw.*``/``enc.bw.*``), ``bridge.W (K, K)``, ``bridge.b``, ``tgt_embed.W (V_tgt, E)``,
    ``attn.W_k, attn.W_q, attn.b, attn.v`` (additive only), ``dec.*`` (a cell with E + K inputs and
    K units), ``out.W (2K, V_tgt)``, ``out.b``. K = hidden_size, or 2·hidden_size with a
    bidirectional encoder.

    forward(src (S, B), tgt (T+1, B)) -> logits (T, B, V_tgt), cache   (cache.weights: (T, S, B))
    loss_and_grads(src, tgt) -> mean cross-entropy per real target token; fills ``grads``
    greedy_decode(src, max_len) -> Decoded(ids (T, B), weights (T, S, B), logits (T, B, V))
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int, hidden_size: int,
                 cell: str = "gru", attention: str = "additive", bidirectional: bool = True,
                 attention_size: int | None = None, pad_id: int = 0, start_id: int = 1, end_id: int = 2,
                 rng=0, dtype=np.float32):
        super().__init__()
        Vs = check_positive_int("src_vocab_size", src_vocab_size)
        Vt = check_positive_int("tgt_vocab_size", tgt_vocab_size)
        E = check_positive_int("embed_size", embed_size)
        H = check_positive_int("hidden_size", hidden_size)
        check_option("cell", cell, tuple(CELLS))
        check_option("attention", attention, ATTENTION)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise HyperparameterError(f"bidirectional: expected True or False, got {bidirectional!r}")
        A = None if attention_size is None else check_positive_int("attention_size", attention_size)
        ids = {}
        for name, v in (("pad_id", pad_id), ("start_id", start_id), ("end_id", end_id)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < Vt:
                raise HyperparameterError(f"{name}: expected an int in [0, tgt_vocab_size={Vt}), got {v!r}")
            ids[name] = int(v)
        if len(set(ids.values())) != 3:
            raise HyperparameterError(f"pad_id, start_id, end_id: expected three different ids, got {tuple(ids.values())}")
        if ids["pad_id"] >= Vs:
            raise HyperparameterError(f"pad_id: expected an int in [0, src_vocab_size={Vs}), got {pad_id!r}")
        dt = check_dtype(dtype)
        self.config = dict(src_vocab_size=Vs, tgt_vocab_size=Vt, embed_size=E, hidden_size=H, cell=cell,
                           attention=attention, bidirectional=bool(bidirectional), attention_size=A,
                           **ids, dtype=dt.name)
        self.cell, self.attention, self.bidirectional = cell, attention, bool(bidirectional)
        self.pad_id, self.start_id, self.end_id = ids["pad_id"], ids["start_id"], ids["end_id"]
        self.V_src, self.V_tgt, self.dtype = Vs, Vt, dt
        K = self.K = 2 * H if self.bidirectional else H
        gen = check_rng(rng)
        self.layers = {"src_embed": Embedding(Vs, E, padding_idx=self.pad_id, rng=gen, dtype=dt),
                       "enc": (Bidirectional(cell, E, H, rng=gen, dtype=dt) if self.bidirectional
                               else make_cell(cell, E, H, gen, dt)),
                       "bridge": Dense(K, K, rng=gen, dtype=dt),
                       "tgt_embed": Embedding(Vt, E, padding_idx=self.pad_id, rng=gen, dtype=dt)}
        if attention == "additive":
            self.layers["attn"] = AdditiveAttention(K, K, K if A is None else A, rng=gen, dtype=dt)
        elif attention == "dot":
            self.layers["attn"] = DotProductAttention(scaled=False)
        self.layers["dec"] = make_cell(cell, E + K, K, gen, dt)
        self.layers["out"] = Dense(2 * K, Vt, rng=gen, dtype=dt)
        self._collect_params()
        self.zero_grad()

    # ------------------------------------------------------------------ plumbing

    def sublayers(self) -> dict:
        return self.layers

    def astype(self, dtype) -> "Seq2Seq":
        super().astype(dtype)
        self.config["dtype"] = self.dtype.name
        return self

    def save(self, path) -> None:
        """Write the parameters and the constructor arguments to an ``.npz`` file (no pickle)."""
        cfg = json.dumps({"class": "Seq2Seq", **self.config})
        np.savez(path, __config__=np.array(cfg), **self.params)

    @classmethod
    def load(cls, path) -> "Seq2Seq":
        with np.load(path, allow_pickle=False) as f:
            cfg = json.loads(str(f["__config__"]))
            if cfg.pop("class", None) != "Seq2Seq":
                raise HyperparameterError("path: expected a saved Seq2Seq, got another kind of file")
            model = cls(**cfg)
            for k, p in model.params.items():
                if k not in f.files or f[k].shape != p.shape:
                    got = f[k].shape if k in f.files else "missing"
                    raise ShapeError(f"path: expected parameter {k!r} of shape {p.shape}, got {got}")
                p[...] = f[k]
        return model

    # ------------------------------------------------------------------ checks

    def _check_src(self, src) -> tuple:
        src = check_array("src", src, 2, letters="SB")
        if not np.issubdtype(src.dtype, np.integer):
            raise ShapeError(f"src: expected an integer array of token ids, got dtype {src.dtype}")
        bad = (src < 0) | (src >= self.V_src)
        if bad.any():
            raise ShapeError(f"src: expected token ids in [0, V_src={self.V_src}), got {src[bad][:5].tolist()}")
        mask = src != self.pad_id                                           # (S, B)
        empty = np.flatnonzero(~mask.any(axis=0))
        if empty.size:
            raise SequenceError(f"src: expected at least one real (non-pad) token in every column, "
                                f"got none in columns {empty[:5].tolist()}")
        return src, mask

    def _check_tgt(self, tgt, B: int) -> np.ndarray:
        tgt = check_array("tgt", tgt, 2, letters="TB")
        if not np.issubdtype(tgt.dtype, np.integer):
            raise ShapeError(f"tgt: expected an integer array of token ids, got dtype {tgt.dtype}")
        if tgt.shape[1] != B:
            raise ShapeError(f"tgt: expected batch size B={B} (as src), got shape {tgt.shape}")
        if tgt.shape[0] < 2:
            raise SequenceError(f"tgt: expected at least 2 steps (<s> … </s>), got shape {tgt.shape}")
        bad = (tgt < 0) | (tgt >= self.V_tgt)
        if bad.any():
            raise ShapeError(f"tgt: expected token ids in [0, V_tgt={self.V_tgt}), got {tgt[bad][:5].tolist()}")
        no_start = np.flatnonzero(tgt[0] != self.start_id)
        if no_start.size:
            raise SequenceError(f"tgt: expected the start token {self.start_id} at step 0 of every column, "
                                f"got {tgt[0, no_start[:5]].tolist()} in columns {no_start[:5].tolist()}")
        real = tgt != self.pad_id                                           # (T, B)
        L = real.sum(axis=0)                                                # real length per column
        last = tgt[np.maximum(L - 1, 0), np.arange(B)]
        ok = (real == (np.arange(tgt.shape[0])[:, None] < L)).all(axis=0)   # padding only at the end
        ok &= (last == self.end_id) & ((tgt == self.end_id).sum(axis=0) == 1) & (L >= 2)
        if not ok.all():
            cols = np.flatnonzero(~ok)[:5].tolist()
            raise SequenceError(f"tgt: expected every column to be <s> … </s> (end token {self.end_id} once, "
                                f"last before the padding), got columns {cols} without")
        return tgt

    # ------------------------------------------------------------------ forward

    def _encode(self, src, mask):
        """src (S, B) -> keys (S, B, K), summary (B, K), s0 state, caches."""
        emb, c_emb = self.layers["src_embed"].forward(src)                    # (S, B, E)
        keys, state, c_enc = self.layers["enc"].forward(emb, None, mask)      # (S, B, K)
        if self.bidirectional:
            (s_fw, s_bw) = state
            summary = np.concatenate([self._h(s_fw), self._h(s_bw)], axis=1)  # (B, K)
        else:
            summary = self._h(state)
        a, c_bridge = self.layers["bridge"].forward(summary)
        s0 = np.tanh(a)                                                       # (B, K)
        return keys, summary, s0, c_emb, c_enc, c_bridge

    def _h(self, state):
        return state[0] if self.cell == "lstm" else state

    def _initial_state(self, s0):
        return (s0, np.zeros_like(s0)) if self.cell == "lstm" else s0

    def _step(self, y_emb, state, keys, mask, summary):
        """One decoder step: y_emb (B, E), state -> new state, output o (B, 2K), context, caches."""
        h_prev = self._h(state)
        if self.attention == "none":
            context, weights, c_att = summary, None, None                    # (B, K)
        else:
            context, weights, c_att = self.layers["attn"].forward(h_prev, keys, mask)   # (B, K), (S, B)
        x = np.concatenate([y_emb, context], axis=1)                          # (B, E + K)
        p = self.layers["dec"].params
        if self.cell == "lstm":
            h, c, c_cell = lstm_step_forward(x, state[0], state[1], p["W_x"], p["W_h"], p["b"])
            state = (h, c)
        elif self.cell == "gru":
            dec = self.layers["dec"]
            h, c_cell = gru_step_forward(x, state, p["W_x"], p["W_h"], p["b"], p.get("b_h"), dec.reset_after)
            state = h
        else:
            h, c_cell = rnn_step_forward(x, state, p["W_x"], p["W_h"], p["b"], self.layers["dec"].nonlinearity)
            state = h
        o = np.concatenate([h, context], axis=1)                              # (B, 2K)
        return state, o, context, weights, (c_cell, c_att)

    def forward(self, src, tgt):
        """Teacher forcing: the decoder reads tgt[:-1] and predicts tgt[1:].

        src (S, B), tgt (T+1, B) -> logits (T, B, V_tgt), ``Seq2SeqCache``.
        """
        src, mask = self._check_src(src)
        tgt = self._check_tgt(tgt, src.shape[1])
        keys, summary, s0, c_emb, c_enc, c_bridge = self._encode(src, mask)
        y_emb, c_temb = self.layers["tgt_embed"].forward(tgt[:-1])          # (T, B, E)
        T = y_emb.shape[0]
        state, outs, ctxs, ws, steps = self._initial_state(s0), [], [], [], []
        for i in range(T):
            state, o, ctx, w, c_step = self._step(y_emb[i], state, keys, mask, summary)
            outs.append(o)
            ctxs.append(ctx)
            ws.append(w)
            steps.append(c_step)
        logits, c_out = self.layers["out"].forward(np.stack(outs))          # (T, B, V)
        weights = None if self.attention == "none" else np.stack(ws)        # (T, S, B)
        return logits, Seq2SeqCache(c_emb, c_enc, keys, mask, summary, c_bridge, s0, c_temb, steps,
                                    np.stack(ctxs), c_out, weights)

    # ------------------------------------------------------------------ backward

    def backward(self, dlogits, cache: Seq2SeqCache) -> None:
        """dlogits (T, B, V_tgt) -> fills ``grads`` (every parameter); returns None (ids have no gradient)."""
        T, B = cache.contexts.shape[:2]
        K = self.K
        dlogits = check_array("dlogits", dlogits, 3, (T, B, self.V_tgt), "TBV")
        dO = self.layers["out"].backward(dlogits, cache.out)                # (T, B, 2K)
        dkeys = np.zeros_like(cache.keys)                                   # (S, B, K)
        dsummary = np.zeros((B, K), dtype=dO.dtype)
        dy_emb = np.empty((T, B, self.layers["tgt_embed"].D), dtype=dO.dtype)      # (T, B, E)
        dec, attn = self.layers["dec"], self.layers.get("attn")
        g_dec = {k: np.zeros_like(p) for k, p in dec.params.items()}
        g_att = {k: np.zeros_like(p) for k, p in attn.params.items()} if attn is not None else {}
        E = dy_emb.shape[2]
        dh_next = np.zeros((B, K), dtype=dO.dtype)
        dc_next = np.zeros((B, K), dtype=dO.dtype)
        for i in range(T - 1, -1, -1):
            c_cell, c_att = cache.steps[i]
            dh = dO[i, :, :K] + dh_next                                     # (B, K) gradient at s_i
            if self.cell == "lstm":
                dx, dh_prev, dc_next, dW_x, dW_h, db = lstm_step_backward(dh, dc_next, c_cell)
                step_g = {"W_x": dW_x, "W_h": dW_h, "b": db}
            else:
                back = gru_step_backward(dh, c_cell) if self.cell == "gru" else rnn_step_backward(dh, c_cell)
                dx, dh_prev = back[0], back[1]
                step_g = dict(zip(["W_x", "W_h", "b", "b_h"], back[2:]))
            for k, g in step_g.items():
                g_dec[k] += g
            dy_emb[i] = dx[:, :E]
            dcontext = dx[:, E:] + dO[i, :, K:]                             # (B, K) step input + output
            if c_att is None:
                dsummary += dcontext                                        # the fixed context
            else:
                dquery, dk = attn.backward(dcontext, c_att)                 # (B, K), (S, B, K)
                dkeys += dk
                dh_prev = dh_prev + dquery                                  # the query is s_{i−1}
                for k, g in attn.grads.items():
                    g_att[k] += g
            dh_next = dh_prev
        # s_0 = tanh(summary W_0 + b_0); the LSTM's c_0 = 0 is a constant
        dsummary += self.layers["bridge"].backward(dh_next * (1.0 - cache.s0 * cache.s0), cache.bridge)
        if self.bidirectional:
            H = K // 2
            dstate = (self._dstate(dsummary[:, :H]), self._dstate(dsummary[:, H:]))
        else:
            dstate = self._dstate(dsummary)
        demb, _ = self.layers["enc"].backward(dkeys, cache.enc, dstate)     # (S, B, E)
        self.layers["src_embed"].backward(demb, cache.src_embed)
        self.layers["tgt_embed"].backward(dy_emb, cache.tgt_embed)
        dec.grads.update(g_dec)
        if attn is not None:
            attn.grads.update(g_att)
        self._collect_grads()

    def _dstate(self, dh):
        return (dh, np.zeros_like(dh)) if self.cell == "lstm" else dh

    # ------------------------------------------------------------------ training and inference

    def _source_mask(self, x, mask):
        """The source mask is read from the padding (x != pad_id); a ``mask`` given must agree."""
        src, real = self._check_src(x)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != real.shape or not np.array_equal(mask.astype(bool), real):
                raise ShapeError(f"mask: expected None or the source mask x != pad_id (shape {real.shape}), "
                                 f"got an array of shape {mask.shape} that differs from it")
        return src

    def loss_and_grads(self, x, y, mask=None) -> float:
        """x (S, B) source ids, y (T+1, B) target ids <s> … </s>; ``mask`` (S, B) is optional (the
        padding defines it). Mean cross-entropy per real target token (teacher forcing); fills ``grads``."""
        logits, cache = self.forward(self._source_mask(x, mask), y)
        t = y[1:]                                                           # (T, B) the tokens to predict
        loss, dlogits = softmax_cross_entropy(logits, t, mask=t != self.pad_id)
        self.backward(dlogits, cache)
        return loss

    def loss(self, x, y, mask=None) -> float:
        """Mean cross-entropy per real target token, without gradients."""
        logits, _ = self.forward(self._source_mask(x, mask), y)
        t = y[1:]
        return softmax_cross_entropy(logits, t, mask=t != self.pad_id)[0]

    def evaluate(self, x, y, mask=None) -> tuple[float, float]:
        """(mean cross-entropy, exact-match accuracy of greedy decoding): a column counts when every
        token up to and including </s> is right."""
        loss = self.loss(x, y, mask)
        want = np.asarray(y)[1:]                                            # (T, B)
        got = self.greedy_decode(x, max_len=want.shape[0]).ids              # (≤T, B)
        got = np.concatenate([got, np.full((want.shape[0] - got.shape[0], got.shape[1]), self.pad_id)])
        return loss, float(np.mean(np.all(got == want, axis=0)))

    def greedy_decode(self, src, max_len: int) -> Decoded:
        """Feed back the most likely token at each step, up to ``max_len`` tokens or </s> in every column."""
        max_len = check_positive_int("max_len", max_len)
        src, mask = self._check_src(src)
        B = src.shape[1]
        keys, summary, s0, *_ = self._encode(src, mask)
        state = self._initial_state(s0)
        y = np.full(B, self.start_id, dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        ids, ws, logits = [], [], []
        W_emb = self.layers["tgt_embed"].params["W"]
        for _ in range(max_len):
            state, o, _, w, _ = self._step(W_emb[y], state, keys, mask, summary)
            z, _ = self.layers["out"].forward(o)                            # (B, V)
            y = np.where(done, self.pad_id, np.argmax(z, axis=1))
            ids.append(y)
            ws.append(w)
            logits.append(z)
            done |= y == self.end_id
            if done.all():
                break
        weights = None if self.attention == "none" else np.stack(ws)
        return Decoded(np.stack(ids), weights, np.stack(logits))
