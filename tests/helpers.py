"""Helpers shared by the cell tests (imported as ``from helpers import ...``)."""
import numpy as np

from rnn_core import gradcheck


def randomize(layer, rng, scale=0.5):
    """Make every parameter (biases and peepholes included) random and non-zero, in place.

    A check with zero biases can hide a wrong bias path; random ones cannot."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return layer


def make_mask(T, B):
    """Ones, with trailing padding in row 0 (its last step, or its last two) and a gap in
    the middle of the last row."""
    mask = np.ones((T, B))
    if T >= 2:
        mask[-min(T - 1, 2):, 0] = 0
    if T >= 3:
        mask[T // 2, B - 1] = 0
    return mask


def lstm_gradcheck(layer, rng, T, B, mode="elementwise", mask=None):
    """Gradcheck of L = Σ hs⊙R + Σ h_T⊙R2 + Σ c_T⊙R3 w.r.t. every param, x, h0 and c0
    of an LSTM-like layer (state (h, c))."""
    D, H = layer.input_size, layer.hidden_size
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    R, R2, R3 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    def f():
        hs, (h_T, c_T), _ = layer.forward(x, (h0, c0), mask)
        return np.sum(hs * R) + np.sum(h_T * R2) + np.sum(c_T * R3)

    _, _, cache = layer.forward(x, (h0, c0), mask)
    dx, (dh0, dc0) = layer.backward(R, cache, (R2, R3))
    grads = {**{k: g.copy() for k, g in layer.grads.items()}, "x": dx, "h0": dh0, "c0": dc0}
    return gradcheck(f, {**layer.params, "x": x, "h0": h0, "c0": c0}, grads, mode=mode, rng=rng)
