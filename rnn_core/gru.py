"""Gated recurrent unit (Cho et al. 2014): step functions, the sequence loop, the layer.

One fused weight matrix for the three gate blocks, in PyTorch's order ``r, z, n``::

    W_x (D, 3H)   W_h (H, 3H)   b (3H,)   [+ b_h (3H,) when reset_after=True]
    a = x_t W_x + b                                   # (B, 3H), input part of every gate
    r = σ(a_r + h_{t−1} W_hr)                         # reset gate
    z = σ(a_z + h_{t−1} W_hz)                         # update gate ("keep the old state")
    n = tanh(a_n + (r ⊙ h_{t−1}) W_hn)                # candidate, reset_after=False (Cho et al., the article)
    n = tanh(a_n + r ⊙ (h_{t−1} W_hn + b_hn))         # candidate, reset_after=True (PyTorch / cuDNN)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

With ``reset_after=True`` the recurrent side has its own bias ``b_h`` (PyTorch's ``bias_hh``;
``b`` is ``bias_ih``); for r and z only ``b + b_h`` matters, for n the split is real.

**Update-gate convention.** Here (as in Cho et al. 2014 and PyTorch) ``z`` weighs the OLD
state. The article writes ``h = (1 − z)⊙h_{t−1} + z⊙h̃`` with ``h̃`` our ``n``: its ``z`` is our
``1 − z`` (same network, the z-block of W_x, W_h, b negated: σ(−a) = 1 − σ(a)). The article's
separate matrices map to column blocks: W_xr, W_xz, W_xh -> W_x[:, :H], W_x[:, H:2H], W_x[:, 2H:]
(likewise W_h), and its candidate bias (named b_h there) is our b[2H:], not our recurrent bias b_h.

Backward of one step, from ``dh`` (gradient at h_t)::

    dn = dh ⊙ (1 − z)        dz = dh ⊙ (h_{t−1} − n)      dh_{t−1} = dh ⊙ z + ...
    da_n = dn ⊙ (1 − n²)     da_z = dz ⊙ z(1 − z)         da_r = dr ⊙ r(1 − r)
    reset_after=False:  d(r⊙h) = da_n W_hnᵀ,   dr = d(r⊙h) ⊙ h_{t−1},   dh_{t−1} += d(r⊙h) ⊙ r
    reset_after=True:   dhn = da_n ⊙ r,         dr = da_n ⊙ hn,          dh_{t−1} += dhn W_hnᵀ
    dh_{t−1} += [da_r, da_z] W_hrzᵀ;   dx = [da_r, da_z, da_n] W_xᵀ
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .activations import sigmoid
from .errors import (HyperparameterError, ShapeError, check_array, check_cache, check_dtype, check_mask,
                     check_positive_int, check_rng)
from .init import orthogonal, xavier_uniform
from .module import Module
from .scratch import scratch

__all__ = ["GRU", "GRUCache", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward"]


# ---------------------------------------------------------------- one step (for reading)

class GRUStepCache(NamedTuple):
    x: np.ndarray          # (B, D)
    h_prev: np.ndarray     # (B, H)
    r: np.ndarray          # (B, H)
    z: np.ndarray          # (B, H)
    n: np.ndarray          # (B, H)
    rh: np.ndarray | None  # (B, H) r ⊙ h_prev                (reset_after=False)
    hn: np.ndarray | None  # (B, H) h_prev W_hn + b_hn         (reset_after=True)
    W_x: np.ndarray        # (D, 3H)
    W_h: np.ndarray        # (H, 3H)


def gru_step_forward(x_t, h_prev, W_x, W_h, b, b_h=None, reset_after=False):
    """One GRU step. x_t (B, D), h_prev (B, H) -> h (B, H), step_cache.

    ``b_h (3H,)`` is required when ``reset_after=True`` and unused otherwise.
    """
    H = h_prev.shape[1]
    a = x_t @ W_x + b                                     # (B, 3H)
    if reset_after:
        ah = h_prev @ W_h + b_h                           # (B, 3H)
        r = sigmoid(a[:, :H] + ah[:, :H])                 # (B, H)
        z = sigmoid(a[:, H:2 * H] + ah[:, H:2 * H])       # (B, H)
        hn = ah[:, 2 * H:]                                # (B, H)
        n = np.tanh(a[:, 2 * H:] + r * hn)                # (B, H)
        rh = None
    else:
        r = sigmoid(a[:, :H] + h_prev @ W_h[:, :H])
        z = sigmoid(a[:, H:2 * H] + h_prev @ W_h[:, H:2 * H])
        rh = r * h_prev                                   # (B, H)
        n = np.tanh(a[:, 2 * H:] + rh @ W_h[:, 2 * H:])
        hn = None
    h = (1 - z) * n + z * h_prev                          # (B, H)
    return h, GRUStepCache(x_t, h_prev, r, z, n, rh, hn, W_x, W_h)


def gru_step_backward(dh, step_cache: GRUStepCache):
    """Backward of one step. dh (B, H) -> (dx, dh_prev, dW_x, dW_h, db) [+ db_h if reset_after].

    Shapes: dx (B, D), dh_prev (B, H), dW_x (D, 3H), dW_h (H, 3H), db and db_h (3H,).
    """
    x, h_prev, r, z, n, rh, hn, W_x, W_h = step_cache
    H = h_prev.shape[1]
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dh_prev = dh * z
    da_n = dn * (1 - n * n)                               # (B, H)
    da_z = dz * z * (1 - z)
    if hn is not None:                                    # reset_after=True
        dhn = da_n * r
        dr = da_n * hn
    else:
        drh = da_n @ W_h[:, 2 * H:].T                     # (B, H)
        dr = drh * h_prev
        dh_prev = dh_prev + drh * r
    da_r = dr * r * (1 - r)
    da = np.concatenate([da_r, da_z, da_n], axis=1)       # (B, 3H) input-side pre-activations
    dx = da @ W_x.T                                       # (B, D)
    dW_x = x.T @ da                                       # (D, 3H)
    db = da.sum(axis=0)                                   # (3H,)
    if hn is not None:
        dah = np.concatenate([da_r, da_z, dhn], axis=1)   # (B, 3H) recurrent-side pre-activations
        dh_prev = dh_prev + dah @ W_h.T
        return dx, dh_prev, dW_x, h_prev.T @ dah, db, dah.sum(axis=0)
    da_rz = da[:, :2 * H]
    dh_prev = dh_prev + da_rz @ W_h[:, :2 * H].T
    dW_h = np.concatenate([h_prev.T @ da_rz, rh.T @ da_n], axis=1)   # (H, 3H)
    return dx, dh_prev, dW_x, dW_h, db


# ---------------------------------------------------------------- the sequence (fast path)

@dataclass
class GRUCache:
    """Everything the backward needs, stacked over time. ``r, z`` are views of ``rz``."""
    x: np.ndarray                # (T, B, D)
    h0: np.ndarray               # (B, H)
    h: np.ndarray                # (T, B, H) state after each step (carried through masked steps)
    rz: np.ndarray               # (T, B, 2H) [r, z]
    n: np.ndarray                # (T, B, H) candidate
    rh: np.ndarray | None        # (T, B, H) r ⊙ h_prev            (reset_after=False)
    hn: np.ndarray | None        # (T, B, H) h_prev W_hn + b_hn    (reset_after=True)
    mask: np.ndarray | None      # (T, B) bool
    reset_after: bool
    W_x: np.ndarray | None = None   # the layer's weights (backward checks the cache is its own)

    @property
    def r(self):
        return self.rz[..., :self.h.shape[2]]

    @property
    def z(self):
        return self.rz[..., self.h.shape[2]:]

    @property
    def gates(self):
        """(T, B, 3H) [r, z, n], a new array."""
        return np.concatenate([self.rz, self.n], axis=-1)


def gru_forward(x, h0, W_x, W_h, b, b_h=None, mask=None, reset_after=False):
    """Run the GRU over x (T, B, D) from h0 (B, H). Returns hs (T, B, H), h_T (B, H), cache.

    ``mask (T, B)`` bool or None: at a masked step the state is carried and hs[t] = 0.
    Inputs are trusted (checked by the ``GRU`` class).

    Speed: the input projections of all steps are two products before the loop, one for
    the [r, z] block and one for n, so that every step works on contiguous arrays. The
    [r, z] block is stored negated, −(x_t W_x + b), and multiplied by −W_h, so that the
    pre-activation is already the exponent of σ(a) = 1 / (1 + e^{−a}) (exact: a sign flip).
    """
    T, B, D = x.shape
    H = h0.shape[1]
    x2 = x.reshape(T * B, D)
    A_rz = (x2 @ -W_x[:, :2 * H] - b[:2 * H]).reshape(T, B, 2 * H)   # (T, B, 2H) −(x W_x + b) of r, z
    A_n = (x2 @ W_x[:, 2 * H:] + b[2 * H:]).reshape(T, B, H)         # (T, B, H) x W_x + b of n
    if reset_after:
        A_rz -= b_h[:2 * H]                               # r, z recurrent biases just add up
        b_hn = b_h[2 * H:]
    W_hrz = -W_h[:, :2 * H]                               # (H, 2H) negated, a new contiguous array
    W_hn = np.ascontiguousarray(W_h[:, 2 * H:])           # (H, H)
    h_all = np.empty((T, B, H), dtype=A_rz.dtype)        # state after each step
    keep = None if mask is None else ~mask[:, :, None]    # (T, B, 1) True where masked
    rz = np.empty((T, B, 2 * H), dtype=A_rz.dtype)        # [r, z]
    R, Z = rz[..., :H], rz[..., H:]                       # (T, B, H) views
    n = np.empty((T, B, H), dtype=A_rz.dtype)
    u = np.empty((T, B, H), dtype=A_rz.dtype)            # rh or hn, the recurrent input of n
    tmp = np.empty((B, H), dtype=A_rz.dtype)
    h = h0
    with np.errstate(over="ignore"):                      # e^{−a} = inf gives σ = 1 / (1 + inf) = 0
        for t in range(T):
            g = rz[t]                                     # (B, 2H)
            np.matmul(h, W_hrz, out=g)
            g += A_rz[t]                                  # −a_rz
            np.exp(g, out=g)
            g += 1.0
            np.divide(1.0, g, out=g)                      # [r, z] = σ(a_rz)
            if reset_after:
                np.matmul(h, W_hn, out=u[t])
                u[t] += b_hn                              # hn = h W_hn + b_hn
                np.multiply(R[t], u[t], out=n[t])
            else:
                np.multiply(R[t], h, out=u[t])            # rh = r ⊙ h
                np.matmul(u[t], W_hn, out=n[t])
            n[t] += A_n[t]
            np.tanh(n[t], out=n[t])
            np.subtract(h, n[t], out=tmp)                 # h_t = n + z ⊙ (h − n)
            tmp *= Z[t]
            np.add(tmp, n[t], out=h_all[t])
            if keep is not None:
                np.copyto(h_all[t], h, where=keep[t])     # masked rows carry their state
            h = h_all[t]
    # hs and h_T are new arrays: the caller may edit them without changing the cache (and the gradients)
    hs = h_all.copy() if mask is None else h_all * mask[:, :, None]   # (T, B, H), zero at masked steps
    cache = GRUCache(x, h0, h_all, rz, n, None if reset_after else u, u if reset_after else None,
                     mask, reset_after, W_x)
    return hs, h_all[-1].copy(), cache


def gru_backward(dhs, dh_T, cache: GRUCache, W_x, W_h):
    """Backward through time. dhs (T, B, H), dh_T (B, H) -> dx (T, B, D), dh0 (B, H), grads dict.

    grads has dW_x, dW_h, db (and db_h when reset_after); the weight gradients are a few
    large matmuls after the loop over the stacked per-step gradients. The local derivatives
    that do not depend on the incoming gradient are computed for all steps before the loop,
    in place; the loop then works on contiguous (B, H) arrays. All of these temporaries live
    in scratch memory that every call of the thread reuses (``rnn_core/scratch.py``).
    """
    x, h0, h_all, mask = cache.x, cache.h0, cache.h, cache.mask
    T, B, D = x.shape
    H = h0.shape[1]
    W_hrz_T = np.ascontiguousarray(W_h[:, :2 * H].T)      # (2H, H)
    W_hn_T = np.ascontiguousarray(W_h[:, 2 * H:].T)       # (H, H)
    r, z, n = cache.r, cache.z, cache.n                   # (T, B, H) each
    dt = n.dtype

    def buffer(name, G=H):                                # (T, B, G) reused memory (rnn_core/scratch.py):
        return scratch("gru." + name, (T, B, G), dt)      # every element is written before it is read
    h_prev = buffer("h_prev")                             # (T, B, H) state entering each step
    h_prev[0], h_prev[1:] = h0, h_all[:-1]
    # local derivatives for all steps at once (they do not depend on the incoming gradient):
    one_minus_z = np.subtract(1.0, z, out=buffer("1-z"))  # (T, B, H)
    dn_fac = np.multiply(n, n, out=buffer("dn_fac"))
    np.subtract(1.0, dn_fac, out=dn_fac)
    dn_fac *= one_minus_z                                 # da_n = dh ⊙ (1 − z)(1 − n²)
    dz_fac = np.subtract(h_prev, n, out=buffer("dz_fac"))
    dz_fac *= z
    dz_fac *= one_minus_z                                 # da_z = dh ⊙ (h_prev − n) z(1 − z)
    dr_fac = np.subtract(1.0, r, out=buffer("dr_fac"))
    dr_fac *= r
    dr_fac *= cache.hn if cache.reset_after else h_prev   # da_r = d(r⊙u) ⊙ u ⊙ r(1 − r), u = hn or h_prev
    dA_rz = buffer("dA_rz", 2 * H)                        # d pre-activations [a_r, a_z]
    dA_n = buffer("dA_n")                                 # d pre-activation a_n
    dR, dZ = dA_rz[..., :H], dA_rz[..., H:]               # (T, B, H) views
    du = buffer("du")                                     # d rh (reset_after=False) or d hn (True)
    dh = dh_T.astype(dt, copy=True)                       # own buffer, written in place
    dh_t, tmp = np.empty((B, H), dtype=dt), np.empty((B, H), dtype=dt)
    for t in range(T - 1, -1, -1):
        np.add(dh, dhs[t], out=dh_t)                      # (B, H) total gradient at h_t
        if mask is not None:
            m = mask[t][:, None]
            carry = np.where(m, 0, dh)                    # masked rows: pass dh straight through
            np.copyto(dh_t, 0, where=~m)
        np.multiply(dh_t, dn_fac[t], out=dA_n[t])         # da_n
        np.multiply(dh_t, dz_fac[t], out=dZ[t])           # da_z
        if cache.reset_after:
            np.multiply(dA_n[t], r[t], out=du[t])         # dhn = da_n ⊙ r
            np.multiply(dA_n[t], dr_fac[t], out=dR[t])    # da_r = da_n ⊙ hn ⊙ r(1 − r)
            np.multiply(dh_t, z[t], out=dh)
            dh += np.matmul(du[t], W_hn_T, out=tmp)
        else:
            np.matmul(dA_n[t], W_hn_T, out=du[t])         # d(r⊙h) = da_n W_hnᵀ
            np.multiply(du[t], dr_fac[t], out=dR[t])      # da_r = d(r⊙h) ⊙ h_prev ⊙ r(1 − r)
            np.multiply(dh_t, z[t], out=dh)
            np.multiply(du[t], r[t], out=tmp)
            dh += tmp
        dh += np.matmul(dA_rz[t], W_hrz_T, out=tmp)
        if mask is not None:
            dh += carry
    dA_rz2, dA_n2 = dA_rz.reshape(T * B, 2 * H), dA_n.reshape(T * B, H)
    hp2, x2 = h_prev.reshape(T * B, H), x.reshape(T * B, D)
    dx = (dA_rz2 @ W_x[:, :2 * H].T + dA_n2 @ W_x[:, 2 * H:].T).reshape(T, B, D)
    grads = {"W_x": np.concatenate([x2.T @ dA_rz2, x2.T @ dA_n2], axis=1),
             "b": np.concatenate([dA_rz2.sum(axis=0), dA_n2.sum(axis=0)])}
    dW_h = np.empty_like(W_h)
    dW_h[:, :2 * H] = hp2.T @ dA_rz2
    if cache.reset_after:
        du2 = du.reshape(T * B, H)
        dW_h[:, 2 * H:] = hp2.T @ du2                                       # hn = h_prev W_hn + b_hn
        grads["b_h"] = np.concatenate([dA_rz2.sum(axis=0), du2.sum(axis=0)])
    else:
        dW_h[:, 2 * H:] = cache.rh.reshape(T * B, H).T @ dA_n2              # n uses (r⊙h) W_hn
    grads["W_h"] = dW_h
    return dx, dh, grads


# ---------------------------------------------------------------- the layer

class GRU(Module):
    """A GRU layer over time-major sequences (equations in the module docstring).

    Parameters: ``W_x (D, 3H)`` Xavier-uniform per gate block, ``W_h (H, 3H)`` orthogonal per
    H×H block, ``b (3H,)`` zeros, and ``b_h (3H,)`` zeros when ``reset_after=True``.

    forward(x (T, B, D), state0=None (B, H), mask=None (T, B)) -> hs (T, B, H), h_T (B, H), cache
    backward(dhs (T, B, H), cache, dstate=None (B, H)) -> dx (T, B, D), dh0 (B, H); fills grads
    """

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = False, rng=0, dtype=np.float32):
        super().__init__()
        self.input_size = D = check_positive_int("input_size", input_size)
        self.hidden_size = H = check_positive_int("hidden_size", hidden_size)
        if not isinstance(reset_after, (bool, np.bool_)):
            raise HyperparameterError(f"reset_after: expected True or False, got {reset_after!r}")
        self.reset_after = bool(reset_after)
        self.dtype = check_dtype(dtype)
        gen = check_rng(rng)
        W_x = np.concatenate([xavier_uniform((D, H), gen, self.dtype) for _ in range(3)], axis=1)
        self.params = {"W_x": W_x,                                            # (D, 3H)
                       "W_h": orthogonal((H, 3 * H), gen, self.dtype, blocks=3),  # (H, 3H)
                       "b": np.zeros(3 * H, dtype=self.dtype)}
        if self.reset_after:
            self.params["b_h"] = np.zeros(3 * H, dtype=self.dtype)
        self.zero_grad()

    def forward(self, x, state0=None, mask=None):
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD").astype(self.dtype, copy=False)
        T, B, _ = x.shape
        if state0 is None:
            h0 = np.zeros((B, self.hidden_size), dtype=self.dtype)
        else:
            h0 = check_array("state0", state0, 2, (B, self.hidden_size), "BH").astype(self.dtype, copy=False)
        mask = check_mask(mask, T, B)
        if mask is not None:
            mask = mask.astype(bool)
        p = self.params
        return gru_forward(x, h0, p["W_x"], p["W_h"], p["b"], p.get("b_h"), mask, self.reset_after)

    def backward(self, dhs, cache: GRUCache, dstate=None):
        check_cache("cache", cache, GRUCache, "GRU",
                    lambda cache: {"D": (self.input_size, cache.x.shape[-1]), "H": (self.hidden_size, cache.h0.shape[-1]),
                     "reset_after": (self.reset_after, cache.reset_after)})
        if cache.W_x is not self.params["W_x"]:
            raise ShapeError("cache: expected the cache returned by this layer's forward, got one made with "
                             "other weights (another layer's, or from before astype)")
        T, B, _ = cache.x.shape
        H = self.hidden_size
        dhs = check_array("dhs", dhs, 3, (T, B, H), "TBH").astype(self.dtype, copy=False)
        if dstate is None:
            dh_T = np.zeros((B, H), dtype=self.dtype)
        else:
            dh_T = check_array("dstate", dstate, 2, (B, H), "BH").astype(self.dtype, copy=False)
        dx, dh0, grads = gru_backward(dhs, dh_T, cache, self.params["W_x"], self.params["W_h"])
        self.grads.update(grads)                          # the same dict, new values (the contract)
        return dx, dh0
