"""Helpers shared by the cell tests (imported as ``from helpers import ...``)."""
import numpy as np

from rnn_core import gradcheck


def randomize(layer, rng, scale=0.5):
    """Make every parameter (biases and peepholes included) random and non-zero, in place.

    A check with zero biases can hide a wrong bias path; random ones cannot."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return layer


def assert_gradcheck(f, arrays, grads, label):
    """Elementwise ``gradcheck`` of every array; prints the worst relative error (named) and
    asserts it is below 1e-7."""
    errors = gradcheck(f, arrays, grads).errors
    worst = max(errors, key=errors.get)
    print(f"{label}: max relative error {errors[worst]:.1e} ({worst})")
    assert errors[worst] < 1e-7, errors


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


def lstm_mask_matches_unpadded(layer, rng):
    """Masked steps of an LSTM-like layer get exactly zero output and gradient, carry (h, c)
    through unchanged, and every row equals the same row run alone without its padding."""
    T, B, D, H = 6, 3, layer.input_size, layer.hidden_size
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    R, R2, R3 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    mask = np.ones((T, B))
    mask[4:, 0] = 0                                     # row 0: length 4
    mask[2, 1] = 0                                      # row 1: a gap at t=2
    mask[:, 2] = 0                                      # row 2: nothing real
    hs, (h_T, c_T), cache = layer.forward(x, (h0, c0), mask)
    dx, (dh0, dc0) = layer.backward(R, cache, (R2, R3))
    assert np.all(hs[mask == 0] == 0)
    assert np.all(dx[mask == 0] == 0)                   # exactly zero
    np.testing.assert_array_equal(cache.c[2, 1], cache.c[1, 1])   # the gap carries c ...
    np.testing.assert_array_equal(cache.h[2, 1], cache.h[1, 1])   # ... and h
    np.testing.assert_array_equal(c_T[2], c0[2])
    np.testing.assert_array_equal(dc0[2], R3[2])
    np.testing.assert_array_equal(dh0[2], R2[2])
    grads = {k: g.copy() for k, g in layer.grads.items()}

    total = {k: np.zeros_like(g) for k, g in grads.items()}
    for b in range(B):
        keep = mask[:, b] == 1
        if not keep.any():
            continue
        hs_b, (h_b, c_b), cache_b = layer.forward(x[keep, b:b + 1], (h0[b:b + 1], c0[b:b + 1]))
        dx_b, (dh0_b, dc0_b) = layer.backward(R[keep, b:b + 1], cache_b, (R2[b:b + 1], R3[b:b + 1]))
        for ours, alone in [(hs[keep, b], hs_b[:, 0]), (h_T[b], h_b[0]), (c_T[b], c_b[0]),
                            (dx[keep, b], dx_b[:, 0]), (dh0[b], dh0_b[0]), (dc0[b], dc0_b[0])]:
            np.testing.assert_allclose(ours, alone, rtol=1e-12, atol=1e-12)
        for k in total:
            total[k] += layer.grads[k]
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], rtol=1e-10, atol=1e-12)
