"""The source article's coding style, kept as a speed baseline for ``bench_cells.py``.

What makes this "article style" (and slow), on purpose:

* a separate weight matrix and bias per gate (``W_xi, W_hi, b_i``, ``W_xf`` ...),
  so each step does 2 matmuls per gate instead of one fused matmul;
* one sample at a time: ``x_t`` is a ``(1, D)`` row and the batch is a Python loop;
* the input projection is recomputed inside the time loop, and the weight
  gradients are accumulated step by step (``dW += np.dot(x.T, da)``);
* float64 (the article draws weights with ``np.random.randn``) and Python lists
  of per-step arrays.

Each class has ``forward_backward(x (T, B, D), dhs (T, B, H)) -> (dx, grads)``,
doing the same work as one ``layer.forward`` + ``layer.backward`` of ``rnn_core``
(gradients of all weights and of the input). The backward passes are written
here (the article's stop early); a check in ``bench_cells.py --check`` compares
them with ``rnn_core`` so the baseline is not faster because it is wrong.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class ArticleRNN:
    """h = tanh(x W_xh + h W_hh + b_h), one (1, D) sample at a time."""

    def __init__(self, input_size, hidden_size, rng=0, dtype=np.float64):
        gen = np.random.default_rng(rng)
        self.hidden_size = hidden_size
        self.W_xh = (gen.standard_normal((input_size, hidden_size)) * 0.01).astype(dtype)
        self.W_hh = (gen.standard_normal((hidden_size, hidden_size)) * 0.01).astype(dtype)
        self.b_h = np.zeros((1, hidden_size), dtype=dtype)

    def forward_backward(self, x, dhs):
        T, B, _ = x.shape
        grads = {k: np.zeros_like(v) for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        dx = np.zeros_like(x)
        for b in range(B):                                       # one sample at a time
            inputs = [x[t, b:b + 1] for t in range(T)]           # (1, D) rows
            h = np.zeros((1, self.hidden_size), dtype=x.dtype)
            hidden_states = [h]
            for xt in inputs:
                h = np.tanh(np.dot(xt, self.W_xh) + np.dot(h, self.W_hh) + self.b_h)
                hidden_states.append(h)
            dh_next = np.zeros_like(h)
            for t in reversed(range(T)):
                dh = dhs[t, b:b + 1] + dh_next
                dh_raw = (1 - hidden_states[t + 1] ** 2) * dh
                grads["W_xh"] += np.dot(inputs[t].T, dh_raw)
                grads["W_hh"] += np.dot(hidden_states[t].T, dh_raw)
                grads["b_h"] += dh_raw
                dx[t, b:b + 1] = np.dot(dh_raw, self.W_xh.T)
                dh_next = np.dot(dh_raw, self.W_hh.T)
        return dx, grads


class ArticleLSTM:
    """i, f, o, c~ each with its own W_x?, W_h?, b_?; one (1, D) sample at a time."""

    GATES = ("i", "f", "o", "c")

    def __init__(self, input_size, hidden_size, rng=0, dtype=np.float64):
        gen = np.random.default_rng(rng)
        self.hidden_size = hidden_size
        for k in self.GATES:
            setattr(self, "W_x" + k, (gen.standard_normal((input_size, hidden_size)) * 0.01).astype(dtype))
            setattr(self, "W_h" + k, (gen.standard_normal((hidden_size, hidden_size)) * 0.01).astype(dtype))
            setattr(self, "b_" + k, np.zeros((1, hidden_size), dtype=dtype))

    def step(self, x, prev_h, prev_c):
        i = sigmoid(np.dot(x, self.W_xi) + np.dot(prev_h, self.W_hi) + self.b_i)
        f = sigmoid(np.dot(x, self.W_xf) + np.dot(prev_h, self.W_hf) + self.b_f)
        o = sigmoid(np.dot(x, self.W_xo) + np.dot(prev_h, self.W_ho) + self.b_o)
        c_tilde = np.tanh(np.dot(x, self.W_xc) + np.dot(prev_h, self.W_hc) + self.b_c)
        c = f * prev_c + i * c_tilde
        h = o * np.tanh(c)
        return h, c, (x, prev_h, prev_c, i, f, o, c_tilde, c)

    def forward_backward(self, x, dhs):
        T, B, _ = x.shape
        grads = {k: np.zeros_like(v) for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        dx = np.zeros_like(x)
        for b in range(B):
            h = np.zeros((1, self.hidden_size), dtype=x.dtype)
            c = np.zeros_like(h)
            caches = []
            for t in range(T):
                h, c, cache = self.step(x[t, b:b + 1], h, c)
                caches.append(cache)
            dh_next, dc_next = np.zeros_like(h), np.zeros_like(c)
            for t in reversed(range(T)):
                xt, prev_h, prev_c, i, f, o, c_tilde, c = caches[t]
                dh = dhs[t, b:b + 1] + dh_next
                tanh_c = np.tanh(c)
                dc = dc_next + dh * o * (1 - tanh_c ** 2)
                d = {"i": dc * c_tilde * i * (1 - i),
                     "f": dc * prev_c * f * (1 - f),
                     "o": dh * tanh_c * o * (1 - o),
                     "c": dc * i * (1 - c_tilde ** 2)}
                dxt = np.zeros_like(xt)
                dh_next = np.zeros_like(prev_h)
                for k in self.GATES:
                    grads["W_x" + k] += np.dot(xt.T, d[k])
                    grads["W_h" + k] += np.dot(prev_h.T, d[k])
                    grads["b_" + k] += d[k]
                    dxt += np.dot(d[k], getattr(self, "W_x" + k).T)
                    dh_next += np.dot(d[k], getattr(self, "W_h" + k).T)
                dx[t, b:b + 1] = dxt
                dc_next = dc * f
        return dx, grads


class ArticleGRU:
    """The article's GRU: z, r, h~ = tanh(x W_xh + (r ⊙ h) W_hh + b_h); h = (1-z) h + z h~."""

    def __init__(self, input_size, hidden_size, rng=0, dtype=np.float64):
        gen = np.random.default_rng(rng)
        self.hidden_size = hidden_size
        for k in ("z", "r", "h"):
            setattr(self, "W_x" + k, (gen.standard_normal((input_size, hidden_size)) * 0.01).astype(dtype))
            setattr(self, "W_h" + k, (gen.standard_normal((hidden_size, hidden_size)) * 0.01).astype(dtype))
            setattr(self, "b_" + k, np.zeros((1, hidden_size), dtype=dtype))

    def step(self, x, prev_h):
        z = sigmoid(np.dot(x, self.W_xz) + np.dot(prev_h, self.W_hz) + self.b_z)
        r = sigmoid(np.dot(x, self.W_xr) + np.dot(prev_h, self.W_hr) + self.b_r)
        h_tilde = np.tanh(np.dot(x, self.W_xh) + np.dot(r * prev_h, self.W_hh) + self.b_h)
        h = (1 - z) * prev_h + z * h_tilde
        return h, (x, prev_h, z, r, h_tilde)

    def forward_backward(self, x, dhs):
        T, B, _ = x.shape
        grads = {k: np.zeros_like(v) for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        dx = np.zeros_like(x)
        for b in range(B):
            h = np.zeros((1, self.hidden_size), dtype=x.dtype)
            caches = []
            for t in range(T):
                h, cache = self.step(x[t, b:b + 1], h)
                caches.append(cache)
            dh_next = np.zeros_like(h)
            for t in reversed(range(T)):
                xt, prev_h, z, r, h_tilde = caches[t]
                dh = dhs[t, b:b + 1] + dh_next
                da_h = dh * z * (1 - h_tilde ** 2)
                d_rh = np.dot(da_h, self.W_hh.T)                     # gradient of r ⊙ prev_h
                da_z = dh * (h_tilde - prev_h) * z * (1 - z)
                da_r = d_rh * prev_h * r * (1 - r)
                grads["W_xh"] += np.dot(xt.T, da_h)
                grads["W_hh"] += np.dot((r * prev_h).T, da_h)
                grads["b_h"] += da_h
                grads["W_xz"] += np.dot(xt.T, da_z)
                grads["W_hz"] += np.dot(prev_h.T, da_z)
                grads["b_z"] += da_z
                grads["W_xr"] += np.dot(xt.T, da_r)
                grads["W_hr"] += np.dot(prev_h.T, da_r)
                grads["b_r"] += da_r
                dx[t, b:b + 1] = (np.dot(da_h, self.W_xh.T) + np.dot(da_z, self.W_xz.T)
                                  + np.dot(da_r, self.W_xr.T))
                dh_next = (dh * (1 - z) + d_rh * r + np.dot(da_z, self.W_hz.T)
                           + np.dot(da_r, self.W_hr.T))
        return dx, grads
