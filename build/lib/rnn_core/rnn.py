"""The vanilla (Elman) recurrent network: one step, a whole sequence, a layer.

Elman (1990), "Finding structure in time". One step, row vectors:

    a_t = x_t W_x + h_{t-1} W_h + b          (B, H)
    h_t = φ(a_t),   φ = tanh or relu

Backward through one step (⊙ is the elementwise product):

    da      = dh ⊙ φ'(a_t)        tanh: 1 - h_t²     relu: [h_t > 0]
    dx_t    = da W_xᵀ             dh_{t-1} = da W_hᵀ
    dW_x   += x_tᵀ da             dW_h    += h_{t-1}ᵀ da        db += Σ_B da

Backpropagation through time (BPTT) runs the step backward from t = T-1 to 0,
adding to ``dh`` the gradient that arrives from the output at each step.

Three levels, each readable on its own:

* ``rnn_step_forward`` / ``rnn_step_backward``: one step, for teaching;
* ``rnn_forward`` / ``rnn_backward``: the whole sequence, fast: the input
  projection of all T steps is one matmul before the loop, the weight
  gradients are matmuls after it;
* ``RNN``: a thin ``Module`` that owns ``params``/``grads`` and checks inputs.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import relu, tanh
from .errors import ShapeError, check_array, check_cache, check_dtype, check_mask, check_option, check_positive_int, check_rng
from .init import orthogonal, xavier_uniform
from .module import Module

__all__ = ["RNN", "RNNCache", "RNNStepCache", "rnn_step_forward", "rnn_step_backward",
           "rnn_forward", "rnn_backward"]

NONLINEARITIES = ("tanh", "relu")


def _phi(a: np.ndarray, nonlinearity: str, out=None) -> np.ndarray:
    return tanh(a, out=out) if nonlinearity == "tanh" else relu(a, out=out)


def _dphi(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """φ'(a) written with the output h = φ(a)."""
    return 1.0 - h * h if nonlinearity == "tanh" else (h > 0).astype(h.dtype)


# ----------------------------------------------------------------------------- one step

class RNNStepCache(NamedTuple):
    x: np.ndarray        # (B, D)
    h_prev: np.ndarray   # (B, H)
    h: np.ndarray        # (B, H)
    W_x: np.ndarray      # (D, H)
    W_h: np.ndarray      # (H, H)
    nonlinearity: str


def rnn_step_forward(x_t, h_prev, W_x, W_h, b, nonlinearity="tanh"):
    """One step ``h = φ(x_t W_x + h_prev W_h + b)``.

    Inputs: x_t (B, D), h_prev (B, H), W_x (D, H), W_h (H, H), b (H,).
    Returns: h (B, H) and an ``RNNStepCache``.
    """
    a = x_t @ W_x + h_prev @ W_h + b                  # (B, H)
    h = _phi(a, nonlinearity)                         # (B, H)
    return h, RNNStepCache(x_t, h_prev, h, W_x, W_h, nonlinearity)


def rnn_step_backward(dh, cache: RNNStepCache):
    """Backward of one step. dh (B, H) -> (dx (B, D), dh_prev (B, H), dW_x, dW_h, db)."""
    da = dh * _dphi(cache.h, cache.nonlinearity)      # (B, H)
    dx = da @ cache.W_x.T                             # (B, D)
    dh_prev = da @ cache.W_h.T                        # (B, H)
    dW_x = cache.x.T @ da                             # (D, H)
    dW_h = cache.h_prev.T @ da                        # (H, H)
    db = da.sum(axis=0)                               # (H,)
    return dx, dh_prev, dW_x, dW_h, db


# ----------------------------------------------------------------------------- a sequence

class RNNCache(NamedTuple):
    x: np.ndarray              # (T, B, D)
    h0: np.ndarray             # (B, H)
    h: np.ndarray              # (T, B, H) state after each step (carried through masked steps)
    mask: np.ndarray | None    # (T, B) bool, or None
    W_x: np.ndarray            # (D, H)
    W_h: np.ndarray            # (H, H)
    nonlinearity: str


def rnn_forward(x, h0, W_x, W_h, b, nonlinearity="tanh", mask=None):
    """Run the RNN over a sequence.

    Inputs: x (T, B, D), h0 (B, H), W_x (D, H), W_h (H, H), b (H,),
    mask (T, B) of 0/1 or None. At a masked step the state is carried through,
    ``h_t = h_{t-1}``, and the output is 0.

    Returns: hs (T, B, H) outputs, h_T (B, H) final state, an ``RNNCache``.
    """
    T, B, D = x.shape
    H = W_h.shape[0]
    h = np.matmul(x.reshape(T * B, D), W_x).reshape(T, B, H)  # (T, B, H) all input projections
    h += b                                                     # h[t] holds a_t until step t overwrites it
    keep = None if mask is None else ~mask.astype(bool)[:, :, None]   # (T, B, 1) True where masked
    h_prev, tmp = h0, np.empty((B, H), dtype=h.dtype)
    for t in range(T):
        a_t = h[t]                                             # (B, H) view
        a_t += np.matmul(h_prev, W_h, out=tmp)
        _phi(a_t, nonlinearity, out=a_t)                       # h[t] = φ(a_t)
        if keep is not None:
            np.copyto(a_t, h_prev, where=keep[t])              # masked rows keep h_{t-1}
        h_prev = a_t
    # hs and h_T are new arrays: the caller may edit them without changing the cache (and the gradients)
    hs = h.copy() if mask is None else h * mask[:, :, None].astype(h.dtype)  # (T, B, H)
    m = None if mask is None else mask.astype(bool)
    return hs, h[-1].copy(), RNNCache(x, h0, h, m, W_x, W_h, nonlinearity)


def rnn_backward(dhs, cache: RNNCache, dh_T=None):
    """BPTT through ``rnn_forward``.

    Inputs: dhs (T, B, H) gradient of the outputs, dh_T (B, H) gradient of the
    final state (None = zeros). Returns (dx (T, B, D), dh0 (B, H), dW_x, dW_h, db).
    """
    x, h0, h, mask, W_x, W_h, nl = cache
    T, B, D = x.shape
    H = h0.shape[1]
    da = _dphi(h, nl)                                          # (T, B, H) φ'(a_t) for all steps at once
    dh_next = np.zeros_like(h0) if dh_T is None else dh_T
    dh = np.empty_like(h0)                                     # (B, H) buffer
    W_hT = np.ascontiguousarray(W_h.T)                         # (H, H), contiguous is faster in the loop
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)                        # dh = ∂L/∂h_t
        if mask is not None:
            m = mask[t][:, None]                               # (B, 1)
            carry = np.where(m, 0.0, dh_next)                  # masked rows pass dh_next through
            dh *= m
        da[t] *= dh                                            # da = dh ⊙ φ'(a_t)
        dh_next = da[t] @ W_hT                                 # (B, H)
        if mask is not None:
            dh_next += carry
    da2 = da.reshape(T * B, H)                                 # (T·B, H)
    dx = (da2 @ W_x.T).reshape(T, B, D)                        # (T, B, D)
    dW_x = x.reshape(T * B, D).T @ da2                         # (D, H)
    dW_h = h0.T @ da[0] + h[:-1].reshape((T - 1) * B, H).T @ da[1:].reshape((T - 1) * B, H)  # (H, H)
    db = da2.sum(axis=0)                                       # (H,)
    return dx, dh_next, dW_x, dW_h, db


# ----------------------------------------------------------------------------- the layer

class RNN(Module):
    """Elman RNN layer: ``h_t = φ(x_t W_x + h_{t-1} W_h + b)``, φ = tanh or relu.

    Parameters (``params``/``grads`` keys)::

        W_x (D, H)   Xavier/Glorot uniform
        W_h (H, H)   orthogonal
        b   (H,)     zeros
        -> H·(D + H + 1) numbers

    ``forward(x (T, B, D), state0=h0 (B, H) or None, mask (T, B) or None)``
    returns ``hs (T, B, H)``, the final state ``h (B, H)`` and an ``RNNCache``;
    ``backward(dhs, cache, dstate=dh_T or None)`` returns ``(dx, dh0)`` and
    overwrites ``grads``.
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", rng=0, dtype=np.float32):
        super().__init__()
        self.input_size = D = check_positive_int("input_size", input_size)
        self.hidden_size = H = check_positive_int("hidden_size", hidden_size)
        self.nonlinearity = check_option("nonlinearity", nonlinearity, NONLINEARITIES)
        self.dtype = check_dtype(dtype)
        gen = check_rng(rng)
        self.params = {
            "W_x": xavier_uniform((D, H), gen, self.dtype),
            "W_h": orthogonal((H, H), gen, self.dtype),
            "b": np.zeros(H, dtype=self.dtype),
        }
        self.zero_grad()

    def forward(self, x, state0=None, mask=None):
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD").astype(self.dtype, copy=False)
        T, B, _ = x.shape
        H = self.hidden_size
        if state0 is None:
            h0 = np.zeros((B, H), dtype=self.dtype)
        else:
            h0 = check_array("state0", state0, 2, (B, H), "BH").astype(self.dtype, copy=False)
        mask = check_mask(mask, T, B)
        p = self.params
        return rnn_forward(x, h0, p["W_x"], p["W_h"], p["b"], self.nonlinearity, mask)

    def backward(self, dhs, cache: RNNCache, dstate=None):
        check_cache("cache", cache, RNNCache, "RNN",
                    lambda cache: {"D": (self.input_size, cache.x.shape[-1]), "H": (self.hidden_size, cache.h0.shape[-1])})
        if cache.W_x is not self.params["W_x"]:
            raise ShapeError("cache: expected the cache returned by this layer's forward, got one made with "
                             "other weights (another layer's, or from before astype)")
        T, B, _ = cache.x.shape
        H = self.hidden_size
        dhs = check_array("dhs", dhs, 3, (T, B, H), "TBH").astype(self.dtype, copy=False)
        if dstate is not None:
            dstate = check_array("dstate", dstate, 2, (B, H), "BH").astype(self.dtype, copy=False)
        dx, dh0, dW_x, dW_h, db = rnn_backward(dhs, cache, dstate)
        self.grads.update(W_x=dW_x, W_h=dW_h, b=db)
        return dx, dh0
