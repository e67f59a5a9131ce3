"""Long short-term memory: one step, a whole sequence, a layer.

Hochreiter & Schmidhuber (1997), "Long short-term memory", with the forget gate
of Gers, Schmidhuber & Cummins (2000) and the forget-gate bias of 1 recommended
by Jozefowicz, Zaremba & Sutskever (2015). One step, row vectors, the four gates
in ONE fused matrix with column blocks ``[i | f | g | o]`` (PyTorch's order):

    a   = x_t W_x + h_{t-1} W_h + b          (B, 4H)
    i   = σ(a_i)     input gate              (B, H) each
    f   = σ(a_f)     forget gate
    g   = tanh(a_g)  candidate cell
    o   = σ(a_o)     output gate
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Backward through one step, given dh = ∂L/∂h_t and dc = ∂L/∂c_t (from the future):

    do       = dh ⊙ tanh(c_t)
    dc      += dh ⊙ o ⊙ (1 - tanh²(c_t))       (h_t depends on c_t too)
    di = dc ⊙ g    df = dc ⊙ c_{t-1}    dg = dc ⊙ i    dc_{t-1} = dc ⊙ f
    da_i = di ⊙ i(1-i)   da_f = df ⊙ f(1-f)   da_g = dg ⊙ (1-g²)   da_o = do ⊙ o(1-o)
    da = [da_i | da_f | da_g | da_o]                                 (B, 4H)
    dx_t = da W_xᵀ    dh_{t-1} = da W_hᵀ    dW_x += x_tᵀ da    dW_h += h_{t-1}ᵀ da    db += Σ_B da

``dc_{t-1} = dc ⊙ f`` is the "constant error carousel": when f ≈ 1 the cell
gradient flows back through time without being squashed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import sigmoid, tanh
from .errors import HyperparameterError, ShapeError, check_array, check_cache, check_dtype, check_mask, check_positive_int, check_rng
from .init import orthogonal, xavier_uniform
from .module import Module
from .scratch import scratch

__all__ = ["LSTM", "LSTMCache", "LSTMStepCache", "lstm_step_forward", "lstm_step_backward",
           "lstm_forward", "lstm_backward", "check_lstm_state", "init_lstm_params"]


def _gate_grads(dc, do, i, f, g, o, c_prev, da):
    """Fill da (B, 4H) with the pre-activation gradients; return dc_{t-1} (without the carry)."""
    H = i.shape[-1]
    np.multiply(dc * g, i * (1.0 - i), out=da[:, :H])              # da_i
    np.multiply(dc * c_prev, f * (1.0 - f), out=da[:, H:2 * H])    # da_f
    np.multiply(dc * i, 1.0 - g * g, out=da[:, 2 * H:3 * H])       # da_g
    np.multiply(do, o * (1.0 - o), out=da[:, 3 * H:])              # da_o
    return dc * f


# ----------------------------------------------------------------------------- one step

class LSTMStepCache(NamedTuple):
    x: np.ndarray        # (B, D)
    h_prev: np.ndarray   # (B, H)
    c_prev: np.ndarray   # (B, H)
    i: np.ndarray        # (B, H)
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray   # (B, H) tanh(c_t)
    W_x: np.ndarray      # (D, 4H)
    W_h: np.ndarray      # (H, 4H)


def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b):
    """One LSTM step.

    Inputs: x_t (B, D), h_prev (B, H), c_prev (B, H), W_x (D, 4H), W_h (H, 4H), b (4H,).
    Returns: h (B, H), c (B, H), an ``LSTMStepCache``.
    """
    H = h_prev.shape[1]
    a = x_t @ W_x + h_prev @ W_h + b                  # (B, 4H)
    i = sigmoid(a[:, :H])                             # (B, H)
    f = sigmoid(a[:, H:2 * H])
    g = tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g                            # (B, H)
    tanh_c = tanh(c)
    h = o * tanh_c                                    # (B, H)
    return h, c, LSTMStepCache(x_t, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h)


def lstm_step_backward(dh, dc, cache: LSTMStepCache):
    """Backward of one step.

    Inputs: dh (B, H) = ∂L/∂h_t, dc (B, H) = ∂L/∂c_t from later steps.
    Returns: dx (B, D), dh_prev (B, H), dc_prev (B, H),
             dW_x (D, 4H), dW_h (H, 4H), db (4H,).
    """
    x, h_prev, c_prev, i, f, g, o, tanh_c, W_x, W_h = cache
    B, H = h_prev.shape
    do = dh * tanh_c                                  # (B, H)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)        # (B, H)
    da = np.empty((B, 4 * H), dtype=np.result_type(dh, i))  # (B, 4H)
    dc_prev = _gate_grads(dc, do, i, f, g, o, c_prev, da)
    dx = da @ W_x.T                                   # (B, D)
    dh_prev = da @ W_h.T                              # (B, H)
    dW_x = x.T @ da                                   # (D, 4H)
    dW_h = h_prev.T @ da                              # (H, 4H)
    db = da.sum(axis=0)                               # (4H,)
    return dx, dh_prev, dc_prev, dW_x, dW_h, db


# ----------------------------------------------------------------------------- a sequence

class LSTMCache(NamedTuple):
    """Everything the backward needs. The states are stored with the initial one in
    front, ``h_all[0] = h0`` and ``h_all[t + 1] = h_t`` (same for ``c_all``), so
    ``h_all[:-1]`` are the states entering the steps; ``gates`` is the fused
    (T, B, 4H) buffer, and ``i, f, g, o, h, c, h0, c0`` are views into these."""
    x: np.ndarray              # (T, B, D)
    gates: np.ndarray          # (T, B, 4H) activated gates [i | f | g | o]
    c_all: np.ndarray          # (T + 1, B, H) cell state: c0, then after each step (carried through masked steps)
    tanh_c: np.ndarray         # (T, B, H) tanh of the new cell value
    h_all: np.ndarray          # (T + 1, B, H) hidden state: h0, then after each step (carried through masked steps)
    mask: np.ndarray | None    # (T, B) bool, or None
    W_x: np.ndarray            # (D, 4H)
    W_h: np.ndarray            # (H, 4H)

    def _gate(self, k):        # (T, B, H) view of gate block k of ``gates``
        H = self.h_all.shape[2]
        return self.gates[..., k * H:(k + 1) * H]

    i = property(lambda self: self._gate(0))    # (T, B, H) input gate
    f = property(lambda self: self._gate(1))    # forget gate
    g = property(lambda self: self._gate(2))    # candidate cell
    o = property(lambda self: self._gate(3))    # output gate
    c = property(lambda self: self.c_all[1:])   # (T, B, H) c_t after each step
    h = property(lambda self: self.h_all[1:])   # (T, B, H) h_t after each step
    c0 = property(lambda self: self.c_all[0])   # (B, H)
    h0 = property(lambda self: self.h_all[0])   # (B, H)


def _exp_scale(H, dtype):
    """(4H,) factors that turn the pre-activation into the exponent of the gates:
    −1 for i, f, o (σ(a) = 1 / (1 + e^{−a})) and −2 for g (tanh(a) = 2σ(2a) − 1)."""
    s = np.full(4 * H, -1.0, dtype=dtype)
    s[2 * H:3 * H] = -2.0
    return s


def lstm_forward(x, h0, c0, W_x, W_h, b, mask=None):
    """Run the LSTM over a sequence.

    Inputs: x (T, B, D), h0 (B, H), c0 (B, H), W_x (D, 4H), W_h (H, 4H), b (4H,),
    mask (T, B) of 0/1 or None. At a masked step h and c are carried through
    unchanged and the output is 0.

    Returns: hs (T, B, H), (h_T, c_T) each (B, H), an ``LSTMCache``. The returned
    arrays are the caller's own (not views of the cache): editing them cannot
    change the gradients.

    Speed: the four gates come from ONE transcendental pass over the (B, 4H)
    block. The weights are scaled by s = [−1 | −1 | −2 | −1] per gate block
    (exact: powers of two), so the scaled pre-activation is the exponent, and

        e = exp(s ⊙ a)    gates = n / (1 + e) − [0 | 0 | 1 | 0]    with n = [1 | 1 | 2 | 1]

    gives i, f, o = σ(a) and g = 2σ(2a) − 1 = tanh(a); e = inf (a very negative) gives
    exactly 0, and −1 for g. One ``np.exp`` replaces a sigmoid and a tanh.
    """
    T, B, D = x.shape
    H = h0.shape[1]
    s = _exp_scale(H, np.result_type(W_x, W_h))                     # (4H,)
    A = np.matmul(x.reshape(T * B, D), W_x * s).reshape(T, B, 4 * H)  # (T, B, 4H) all input projections, scaled
    A += b * s
    W_hs = W_h * s                                                  # (H, 4H) scaled recurrent weights
    num = -s                                                        # (4H,) numerators [1 | 1 | 2 | 1]
    c = np.empty((T + 1, B, H), dtype=A.dtype)                     # c[t + 1] = c_t
    h = np.empty_like(c)                                            # h[t + 1] = h_t
    c[0], h[0] = c0, h0
    tanh_c = np.empty((T, B, H), dtype=A.dtype)
    keep = None if mask is None else ~mask.astype(bool)[:, :, None]   # (T, B, 1) True where masked
    tmp, tmp4 = np.empty((B, H), dtype=A.dtype), np.empty((B, 4 * H), dtype=A.dtype)
    I, F, G, O = (A[..., k * H:(k + 1) * H] for k in range(4))    # (T, B, H) views, sliced once
    with np.errstate(over="ignore"):                                # e = inf is harmless (see above)
        for t in range(T):
            a = A[t]                                                # (B, 4H) view, becomes the gates
            a += np.matmul(h[t], W_hs, out=tmp4)                    # s ⊙ (x_t W_x + h_{t-1} W_h + b)
            np.exp(a, out=a)                                        # e
            a += 1.0
            np.divide(num, a, out=a)                                # [σ(a_i) | σ(a_f) | 2σ(2a_g) | σ(a_o)]
            i, f, g, o = I[t], F[t], G[t], O[t]                     # (B, H) views of a
            g -= 1.0                                                # g = tanh(a_g)
            np.multiply(f, c[t], out=c[t + 1])                      # c_t = f ⊙ c_{t-1} + i ⊙ g
            np.multiply(i, g, out=tmp)
            c[t + 1] += tmp
            np.tanh(c[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h[t + 1])                 # h_t = o ⊙ tanh(c_t)
            if keep is not None:
                np.copyto(c[t + 1], c[t], where=keep[t])            # masked rows keep their state
                np.copyto(h[t + 1], h[t], where=keep[t])
    hs = h[1:].copy() if mask is None else h[1:] * mask[:, :, None].astype(h.dtype)  # (T, B, H) the caller's
    m = None if mask is None else mask.astype(bool)
    cache = LSTMCache(x, A, c, tanh_c, h, m, W_x, W_h)
    return hs, (h[-1].copy(), c[-1].copy()), cache


def _backward_factors(gates, c_prev, tanh_c, dA, K):
    """The factors of the backward that do not depend on the incoming gradients, for a
    block of steps, in place (no temporaries): gates (S, B, 4H), c_prev and tanh_c (S, B, H) ->

        dA = [g⊙i(1-i) | c_{t-1}⊙f(1-f) | i⊙(1-g²) | tanh(c_t)⊙o(1-o)]     (S, B, 4H)
        K  = o ⊙ (1 - tanh²(c_t))                                            (S, B, H)
    """
    H = K.shape[-1]
    i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
    dA_i, dA_f, dA_g, dA_o = (dA[..., k * H:(k + 1) * H] for k in range(4))
    np.subtract(1.0, gates, out=dA)                                 # [1-i | 1-f | · | 1-o]
    dA *= gates                                                     # [i(1-i) | f(1-f) | · | o(1-o)]
    dA_i *= g
    dA_f *= c_prev
    np.multiply(g, g, out=dA_g)
    np.subtract(1.0, dA_g, out=dA_g)
    dA_g *= i
    dA_o *= tanh_c
    np.multiply(tanh_c, tanh_c, out=K)
    np.subtract(1.0, K, out=K)
    K *= o


_BLOCK_BYTES = 1 << 18      # a block of steps whose factors stay in the processor's cache (256 KiB)


def lstm_backward(dhs, cache: LSTMCache, dh_T=None, dc_T=None):
    """BPTT through ``lstm_forward``.

    Inputs: dhs (T, B, H); dh_T, dc_T (B, H) gradients of the final state (None = zeros).
    Returns: dx (T, B, D), dh0 (B, H), dc0 (B, H), dW_x (D, 4H), dW_h (H, 4H), db (4H,).

    Speed: every factor of ``lstm_step_backward`` that does not depend on the incoming
    gradients (``_backward_factors``: dA and K) is computed for a whole block of steps at
    once, just before the loop reaches them (a block is as many steps as fit in about
    256 KiB, so the loop reads them from the cache; all T steps at once for small B·H).
    The loop then only multiplies them by dc (first three gate blocks) and dh (the last);
    the weight gradients are one product each after the loop. dA and K live in scratch
    memory that every call of the thread reuses (``rnn_core/scratch.py``: no fresh pages per call).
    """
    x, gates, c_all, tanh_c, h_all, mask, W_x, W_h = cache
    T, B, D = x.shape
    H = h_all.shape[2]
    f = cache.f                                                     # (T, B, H) view
    dA = scratch("lstm.dA", gates.shape, gates.dtype)              # (T, B, 4H), reused memory:
    K = scratch("lstm.K", tanh_c.shape, tanh_c.dtype)              # (T, B, H)  neither leaves here
    dA4 = dA.reshape(T, B, 4, H)                                    # gate blocks as an axis
    dA_ifg, dA_o = dA4[:, :, :3], dA4[:, :, 3]                      # (T, B, 3, H), (T, B, H) views
    W_hT = np.ascontiguousarray(W_h.T)                              # (4H, H), contiguous is faster in the loop
    dt = dA.dtype
    dh_next = np.zeros((B, H), dt) if dh_T is None else np.array(dh_T, dtype=dt)   # own buffers,
    dc_next = np.zeros((B, H), dt) if dc_T is None else np.array(dc_T, dtype=dt)   # written in place
    dh, dc = np.empty((B, H), dt), np.empty((B, H), dt)
    steps = max(1, _BLOCK_BYTES // (B * 4 * H * dA.itemsize))       # steps per block
    for stop in range(T, 0, -steps):
        s = slice(max(stop - steps, 0), stop)
        _backward_factors(gates[s], c_all[s], tanh_c[s], dA[s], K[s])   # c_all[t] = c_{t-1}
        for t in range(stop - 1, s.start - 1, -1):
            np.add(dhs[t], dh_next, out=dh)                         # dh = ∂L/∂h_t
            np.multiply(dh, K[t], out=dc)
            dc += dc_next                                           # dc = ∂L/∂c_t
            if mask is not None:
                m = mask[t][:, None]                                # (B, 1)
                carry_h = np.where(m, 0.0, dh_next)                 # masked rows pass the gradient through
                carry_c = np.where(m, 0.0, dc_next)
                dh *= m
                dc *= m
            dA_ifg[t] *= dc[:, None, :]                             # da_i, da_f, da_g
            dA_o[t] *= dh                                           # da_o
            np.multiply(dc, f[t], out=dc_next)                      # the constant error carousel
            np.matmul(dA[t], W_hT, out=dh_next)                     # (B, H)
            if mask is not None:
                dh_next += carry_h
                dc_next += carry_c
    dA2 = dA.reshape(T * B, 4 * H)                                  # (T·B, 4H)
    dx = (dA2 @ W_x.T).reshape(T, B, D)                             # (T, B, D)
    dW_x = x.reshape(T * B, D).T @ dA2                              # (D, 4H)
    dW_h = h_all[:-1].reshape(T * B, H).T @ dA2                     # (H, 4H), h_{t-1} stacked
    db = dA2.sum(axis=0)                                            # (4H,)
    return dx, dh_next, dc_next, dW_x, dW_h, db


# ----------------------------------------------------------------------------- the layer

def init_lstm_params(D, H, forget_bias, gen, dtype):
    """The default LSTM parameters: {W_x (D, 4H), W_h (H, 4H), b (4H,)}, gate order i, f, g, o.

    W_x: Xavier-uniform per (D, H) gate block; W_h: orthogonal per (H, H) gate block
    (Saxe et al. 2014); b: zeros except the forget block, set to ``forget_bias``
    (1 by default, Jozefowicz et al. 2015). Shared with ``PeepholeLSTM``.
    """
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)) or not np.isfinite(forget_bias):
        raise HyperparameterError(f"forget_bias: expected a finite number, got {forget_bias!r}")
    b = np.zeros(4 * H, dtype=dtype)
    b[H:2 * H] = forget_bias
    return {
        "W_x": np.concatenate([xavier_uniform((D, H), gen, dtype) for _ in range(4)], axis=1),
        "W_h": orthogonal((H, 4 * H), gen, dtype, blocks=4),
        "b": b,
    }


def check_lstm_state(name, state, B, H, dtype):
    """A ``(h, c)`` tuple of (B, H) arrays (or None) -> (h, c) cast to ``dtype``, or (None, None)."""
    if state is None:
        return None, None
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise ShapeError(f"{name}: expected a tuple (h, c) of two (B={B}, H={H}) arrays, got {type(state).__name__}"
                         + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else ""))
    h = check_array(f"{name}[0] (h)", state[0], 2, (B, H), "BH").astype(dtype, copy=False)
    c = check_array(f"{name}[1] (c)", state[1], 2, (B, H), "BH").astype(dtype, copy=False)
    return h, c


class LSTM(Module):
    """LSTM layer (Hochreiter & Schmidhuber 1997, with a forget gate).

    Equations (gates fused, column blocks ``[i | f | g | o]`` as in PyTorch)::

        a = x_t W_x + h_{t-1} W_h + b
        i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o)
        c_t = f ⊙ c_{t-1} + i ⊙ g
        h_t = o ⊙ tanh(c_t)

    Parameters (``params``/``grads`` keys)::

        W_x (D, 4H)   Xavier/Glorot uniform, each (D, H) gate block on its own
        W_h (H, 4H)   orthogonal, each H×H gate block on its own
        b   (4H,)     zeros, except the forget block b[H:2H] = forget_bias (1.0, Jozefowicz et al. 2015)
        -> 4H·(D + H + 1) numbers

    ``forward(x (T, B, D), state0=(h0, c0) or None, mask (T, B) or None)``
    returns ``hs (T, B, H)``, the final state ``(h, c)`` and an ``LSTMCache``
    (``cache.i, .f, .g, .o, .c, .h`` are (T, B, H)); ``hs`` and the state are the
    caller's own arrays (editing them does not touch the cache);
    ``backward(dhs, cache, dstate=(dh_T, dc_T) or None)`` returns
    ``(dx, (dh0, dc0))`` and writes fresh gradient arrays into ``grads``, which stays
    the same dict for the layer's life.
    """

    def __init__(self, input_size, hidden_size, forget_bias=1.0, rng=0, dtype=np.float32):
        super().__init__()
        self.input_size = D = check_positive_int("input_size", input_size)
        self.hidden_size = H = check_positive_int("hidden_size", hidden_size)
        self.dtype = check_dtype(dtype)
        self.params = init_lstm_params(D, H, forget_bias, check_rng(rng), self.dtype)
        self.zero_grad()

    def _check_x(self, x, state0, mask):
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD").astype(self.dtype, copy=False)
        T, B, _ = x.shape
        H = self.hidden_size
        h0, c0 = check_lstm_state("state0", state0, B, H, self.dtype)
        if h0 is None:
            h0 = np.zeros((B, H), dtype=self.dtype)
            c0 = np.zeros((B, H), dtype=self.dtype)
        return x, h0, c0, check_mask(mask, T, B)

    def forward(self, x, state0=None, mask=None):
        x, h0, c0, mask = self._check_x(x, state0, mask)
        p = self.params
        return lstm_forward(x, h0, c0, p["W_x"], p["W_h"], p["b"], mask)

    def backward(self, dhs, cache: LSTMCache, dstate=None):
        check_cache("cache", cache, LSTMCache, "LSTM",
                    lambda cache: {"D": (self.input_size, cache.x.shape[-1]), "H": (self.hidden_size, cache.h_all.shape[-1])})
        if cache.W_x is not self.params["W_x"]:
            raise ShapeError("cache: expected the cache returned by this layer's forward, got one made with "
                             "other weights (another layer's, or from before astype)")
        T, B, _ = cache.x.shape
        H = self.hidden_size
        dhs = check_array("dhs", dhs, 3, (T, B, H), "TBH").astype(self.dtype, copy=False)
        dh_T, dc_T = check_lstm_state("dstate", dstate, B, H, self.dtype)
        dx, dh0, dc0, dW_x, dW_h, db = lstm_backward(dhs, cache, dh_T, dc_T)
        self.grads.update(W_x=dW_x, W_h=dW_h, b=db)
        return dx, (dh0, dc0)
