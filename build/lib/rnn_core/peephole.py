"""LSTM with peephole connections: the gates also look at the cell state.

Gers & Schmidhuber (2000), "Recurrent nets that time and count": the input and
forget gates see the previous cell c_{t-1}, the output gate sees the new cell c_t.
Gates fused as in ``lstm.py``, column blocks ``[i | f | g | o]``:

    a   = x_t W_x + h_{t-1} W_h + b                   (B, 4H)
    i   = σ(a_i + peep(c_{t-1}, p_i))
    f   = σ(a_f + peep(c_{t-1}, p_f))
    g   = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o   = σ(a_o + peep(c_t, p_o))                      (o waits for c_t)
    h_t = o ⊙ tanh(c_t)

Two kinds of peephole:

* ``"diagonal"`` (Gers & Schmidhuber 2000): ``peep(c, p) = c ⊙ p``, vectors
  ``p_i, p_f, p_o (H,)``; each unit sees only its own cell.
  Parameters: 4H(D + H + 1) + 3H.
* ``"full"`` (the article's variant): ``peep(c, P) = c P``, matrices
  ``P_i, P_f, P_o (H, H)``; every unit sees every cell.
  Parameters: 4H(D + H + 1) + 3H².

Backward through one step (da_* are gradients of the gate pre-activations):

    do = dh ⊙ tanh(c_t)                da_o = do ⊙ o(1-o)
    dc = dc_from_future + dh ⊙ o ⊙ (1 - tanh²(c_t)) + peep_back(da_o, p_o)
    da_i = dc ⊙ g ⊙ i(1-i)    da_f = dc ⊙ c_{t-1} ⊙ f(1-f)    da_g = dc ⊙ i ⊙ (1-g²)
    dc_{t-1} = dc ⊙ f + peep_back(da_i, p_i) + peep_back(da_f, p_f)
    peep_back(d, p) = d ⊙ p (diagonal) or d Pᵀ (full)
    dp_i = Σ da_i ⊙ c_{t-1} (diagonal) or c_{t-1}ᵀ da_i (full); same for f, and o with c_t.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import sigmoid, tanh
from .errors import (ShapeError, check_array, check_cache, check_dtype, check_mask, check_option,
                     check_positive_int, check_rng)
from .lstm import check_lstm_state, init_lstm_params
from .module import Module

__all__ = ["PeepholeLSTM", "PeepholeCache", "PeepholeStepCache", "peephole_step_forward",
           "peephole_step_backward", "peephole_forward", "peephole_backward", "PEEPHOLE_NAMES"]

PEEPHOLE_NAMES = {"diagonal": ("p_i", "p_f", "p_o"), "full": ("P_i", "P_f", "P_o")}


def _peep(c, p):
    """c ⊙ p for a vector p (H,), c @ p for a matrix p (H, H)."""
    return c * p if p.ndim == 1 else c @ p


def _peep_back(d, p):
    """Gradient of ``_peep`` w.r.t. c, given d = gradient w.r.t. its output."""
    return d * p if p.ndim == 1 else d @ p.T


def _peep_grad(c, d, p):
    """Gradient of ``_peep`` w.r.t. p, summed over every leading axis."""
    H = c.shape[-1]
    c2, d2 = c.reshape(-1, H), d.reshape(-1, H)                 # (N, H)
    return (c2 * d2).sum(axis=0) if p.ndim == 1 else c2.T @ d2


# ----------------------------------------------------------------------------- one step

class PeepholeStepCache(NamedTuple):
    x: np.ndarray        # (B, D)
    h_prev: np.ndarray   # (B, H)
    c_prev: np.ndarray   # (B, H)
    i: np.ndarray        # (B, H)
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray        # (B, H)
    tanh_c: np.ndarray   # (B, H)
    W_x: np.ndarray      # (D, 4H)
    W_h: np.ndarray      # (H, 4H)
    p_i: np.ndarray      # (H,) or (H, H)
    p_f: np.ndarray
    p_o: np.ndarray


def peephole_step_forward(x_t, h_prev, c_prev, W_x, W_h, b, p_i, p_f, p_o):
    """One peephole-LSTM step; p_* are (H,) vectors (diagonal) or (H, H) matrices (full).

    Returns: h (B, H), c (B, H), a ``PeepholeStepCache``.
    """
    H = h_prev.shape[1]
    a = x_t @ W_x + h_prev @ W_h + b                           # (B, 4H)
    i = sigmoid(a[:, :H] + _peep(c_prev, p_i))                 # (B, H)
    f = sigmoid(a[:, H:2 * H] + _peep(c_prev, p_f))
    g = tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    o = sigmoid(a[:, 3 * H:] + _peep(c, p_o))
    tanh_c = tanh(c)
    h = o * tanh_c
    return h, c, PeepholeStepCache(x_t, h_prev, c_prev, i, f, g, o, c, tanh_c, W_x, W_h, p_i, p_f, p_o)


def peephole_step_backward(dh, dc, cache: PeepholeStepCache):
    """Backward of one step: dh, dc (B, H) ->
    (dx, dh_prev, dc_prev, dW_x, dW_h, db, dp_i, dp_f, dp_o)."""
    x, h_prev, c_prev, i, f, g, o, c, tanh_c, W_x, W_h, p_i, p_f, p_o = cache
    da_o = dh * tanh_c * o * (1.0 - o)                         # (B, H)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c) + _peep_back(da_o, p_o)
    da_i = dc * g * i * (1.0 - i)
    da_f = dc * c_prev * f * (1.0 - f)
    da_g = dc * i * (1.0 - g * g)
    dc_prev = dc * f + _peep_back(da_i, p_i) + _peep_back(da_f, p_f)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)     # (B, 4H)
    return (da @ W_x.T, da @ W_h.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0),
            _peep_grad(c_prev, da_i, p_i), _peep_grad(c_prev, da_f, p_f), _peep_grad(c, da_o, p_o))


# ----------------------------------------------------------------------------- a sequence

class PeepholeCache(NamedTuple):
    x: np.ndarray              # (T, B, D)
    h0: np.ndarray             # (B, H)
    c0: np.ndarray             # (B, H)
    gates: np.ndarray          # (T, B, 4H) activated gates [i | f | g | o]
    i: np.ndarray              # (T, B, H) views into gates
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c_new: np.ndarray          # (T, B, H) the cell value computed at each step (o looks at it)
    c: np.ndarray              # (T, B, H) cell state after each step (carried through masked steps)
    tanh_c: np.ndarray         # (T, B, H) tanh(c_new)
    h: np.ndarray              # (T, B, H) hidden state after each step
    mask: np.ndarray | None    # (T, B) bool, or None
    W_x: np.ndarray            # (D, 4H)
    W_h: np.ndarray            # (H, 4H)
    p_i: np.ndarray            # (H,) or (H, H)
    p_f: np.ndarray
    p_o: np.ndarray


def peephole_forward(x, h0, c0, W_x, W_h, b, p_i, p_f, p_o, mask=None):
    """Run the peephole LSTM over a sequence (same conventions as ``lstm_forward``).

    Returns: hs (T, B, H), (h_T, c_T), a ``PeepholeCache``.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    A = np.matmul(x.reshape(T * B, D), W_x).reshape(T, B, 4 * H)  # (T, B, 4H)
    A += b
    c_new = np.empty((T, B, H), dtype=A.dtype)
    c, tanh_c, h = np.empty_like(c_new), np.empty_like(c_new), np.empty_like(c_new)
    keep = None if mask is None else ~mask.astype(bool)[:, :, None]   # (T, B, 1)
    h_prev, c_prev = h0, c0
    for t in range(T):
        a = A[t]                                                  # (B, 4H) view
        a += h_prev @ W_h
        a[:, :H] += _peep(c_prev, p_i)
        a[:, H:2 * H] += _peep(c_prev, p_f)
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        sigmoid(a[:, :2 * H], out=a[:, :2 * H])                   # i, f
        tanh(g, out=g)
        np.multiply(f, c_prev, out=c_new[t])
        c_new[t] += i * g                                         # c_t = f ⊙ c_{t-1} + i ⊙ g
        o += _peep(c_new[t], p_o)
        sigmoid(o, out=o)
        tanh(c_new[t], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=h[t])                       # h_t = o ⊙ tanh(c_t)
        c[t] = c_new[t]
        if keep is not None:
            np.copyto(c[t], c_prev, where=keep[t])
            np.copyto(h[t], h_prev, where=keep[t])
        h_prev, c_prev = h[t], c[t]
    # hs, h_T and c_T are new arrays: the caller may edit them without changing the cache (and the gradients)
    hs = h.copy() if mask is None else h * mask[:, :, None].astype(h.dtype)
    m = None if mask is None else mask.astype(bool)
    cache = PeepholeCache(x, h0, c0, A, A[..., :H], A[..., H:2 * H], A[..., 2 * H:3 * H], A[..., 3 * H:],
                          c_new, c, tanh_c, h, m, W_x, W_h, p_i, p_f, p_o)
    return hs, (h[-1].copy(), c[-1].copy()), cache


def peephole_backward(dhs, cache: PeepholeCache, dh_T=None, dc_T=None):
    """BPTT through ``peephole_forward``.

    Returns: dx (T, B, D), dh0, dc0 (B, H), dW_x, dW_h, db, dp_i, dp_f, dp_o.
    """
    x, h0, c0, A, i, f, g, o, c_new, c, tanh_c, h, mask, W_x, W_h, p_i, p_f, p_o = cache
    T, B, D = x.shape
    H = h0.shape[1]
    dA = np.empty_like(A)                                         # (T, B, 4H)
    dh_next = np.zeros_like(h0) if dh_T is None else dh_T
    dc_next = np.zeros_like(c0) if dc_T is None else dc_T
    for t in range(T - 1, -1, -1):
        c_prev = c0 if t == 0 else c[t - 1]
        dh = dhs[t] + dh_next
        dc = dc_next
        if mask is not None:
            m = mask[t][:, None]                                  # (B, 1)
            carry_h, carry_c = np.where(m, 0.0, dh_next), np.where(m, 0.0, dc_next)
            dh, dc = np.where(m, dh, 0.0), np.where(m, dc, 0.0)
        da_i, da_f, da_g, da_o = dA[t, :, :H], dA[t, :, H:2 * H], dA[t, :, 2 * H:3 * H], dA[t, :, 3 * H:]
        np.multiply(dh * tanh_c[t], o[t] * (1.0 - o[t]), out=da_o)
        dc = dc + dh * o[t] * (1.0 - tanh_c[t] * tanh_c[t]) + _peep_back(da_o, p_o)
        np.multiply(dc * g[t], i[t] * (1.0 - i[t]), out=da_i)
        np.multiply(dc * c_prev, f[t] * (1.0 - f[t]), out=da_f)
        np.multiply(dc * i[t], 1.0 - g[t] * g[t], out=da_g)
        dc_next = dc * f[t] + _peep_back(da_i, p_i) + _peep_back(da_f, p_f)
        dh_next = dA[t] @ W_h.T
        if mask is not None:
            dh_next += carry_h
            dc_next += carry_c
    dA2 = dA.reshape(T * B, 4 * H)
    dx = (dA2 @ W_x.T).reshape(T, B, D)                           # (T, B, D)
    dW_x = x.reshape(T * B, D).T @ dA2                            # (D, 4H)
    dW_h = h0.T @ dA[0] + h[:-1].reshape((T - 1) * B, H).T @ dA[1:].reshape((T - 1) * B, 4 * H)
    db = dA2.sum(axis=0)
    c_prevs = np.concatenate([c0[None], c[:-1]], axis=0)          # (T, B, H)
    dp_i = _peep_grad(c_prevs, dA[..., :H], p_i)
    dp_f = _peep_grad(c_prevs, dA[..., H:2 * H], p_f)
    dp_o = _peep_grad(c_new, dA[..., 3 * H:], p_o)
    return dx, dh_next, dc_next, dW_x, dW_h, db, dp_i, dp_f, dp_o


# ----------------------------------------------------------------------------- the layer

class PeepholeLSTM(Module):
    """LSTM with peephole connections (Gers & Schmidhuber 2000).

    Equations (gates fused, column blocks ``[i | f | g | o]``)::

        a = x_t W_x + h_{t-1} W_h + b
        i = σ(a_i + peep(c_{t-1}, p_i))     f = σ(a_f + peep(c_{t-1}, p_f))     g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g
        o = σ(a_o + peep(c_t, p_o))
        h_t = o ⊙ tanh(c_t)

    ``peephole="diagonal"``: peep(c, p) = c ⊙ p, params ``p_i, p_f, p_o (H,)``;
    total 4H(D + H + 1) + 3H numbers.
    ``peephole="full"`` (the article's variant): peep(c, P) = c P, params
    ``P_i, P_f, P_o (H, H)``; total 4H(D + H + 1) + 3H² numbers.

    ``W_x (D, 4H)`` Xavier uniform per (D, H) gate block, ``W_h (H, 4H)`` orthogonal per gate block,
    ``b (4H,)`` zeros with the forget block set to ``forget_bias``; the peephole
    weights start at zero, so a new layer computes exactly a plain LSTM.
    ``forward``/``backward`` as ``LSTM``; the cache adds ``c_new`` (the cell
    value each step computed, which the output gate looks at).
    """

    def __init__(self, input_size, hidden_size, peephole="diagonal", forget_bias=1.0, rng=0,
                 dtype=np.float32):
        super().__init__()
        self.input_size = D = check_positive_int("input_size", input_size)
        self.hidden_size = H = check_positive_int("hidden_size", hidden_size)
        self.peephole = check_option("peephole", peephole, tuple(PEEPHOLE_NAMES))
        self.dtype = check_dtype(dtype)
        self.params = init_lstm_params(D, H, forget_bias, check_rng(rng), self.dtype)
        p_shape = (H,) if self.peephole == "diagonal" else (H, H)
        for name in PEEPHOLE_NAMES[self.peephole]:
            self.params[name] = np.zeros(p_shape, dtype=self.dtype)
        self.zero_grad()

    def _peepholes(self):
        return [self.params[k] for k in PEEPHOLE_NAMES[self.peephole]]

    def forward(self, x, state0=None, mask=None):
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD").astype(self.dtype, copy=False)
        T, B, _ = x.shape
        H = self.hidden_size
        h0, c0 = check_lstm_state("state0", state0, B, H, self.dtype)
        if h0 is None:
            h0, c0 = np.zeros((B, H), dtype=self.dtype), np.zeros((B, H), dtype=self.dtype)
        mask = check_mask(mask, T, B)
        p = self.params
        return peephole_forward(x, h0, c0, p["W_x"], p["W_h"], p["b"], *self._peepholes(), mask=mask)

    def backward(self, dhs, cache: PeepholeCache, dstate=None):
        check_cache("cache", cache, PeepholeCache, "PeepholeLSTM",
                    lambda cache: {"D": (self.input_size, cache.x.shape[-1]), "H": (self.hidden_size, cache.h0.shape[-1]),
                     "peephole": (self.peephole, "diagonal" if cache.p_i.ndim == 1 else "full")})
        if cache.W_x is not self.params["W_x"]:
            raise ShapeError("cache: expected the cache returned by this layer's forward, got one made with "
                             "other weights (another layer's, or from before astype)")
        T, B, _ = cache.x.shape
        H = self.hidden_size
        dhs = check_array("dhs", dhs, 3, (T, B, H), "TBH").astype(self.dtype, copy=False)
        dh_T, dc_T = check_lstm_state("dstate", dstate, B, H, self.dtype)
        dx, dh0, dc0, dW_x, dW_h, db, dp_i, dp_f, dp_o = peephole_backward(dhs, cache, dh_T, dc_T)
        n_i, n_f, n_o = PEEPHOLE_NAMES[self.peephole]
        self.grads.update({"W_x": dW_x, "W_h": dW_h, "b": db, n_i: dp_i, n_f: dp_f, n_o: dp_o})
        return dx, (dh0, dc0)
