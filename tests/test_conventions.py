"""Conventions across frameworks: one test per row of book/conventions.md.

Each test converts ``rnn_core`` parameters to another framework's layout and checks that
the other framework's equations (PyTorch itself when installed, else a numpy transcription
of Keras's documented cell equations) give our outputs, in float64, with random non-zero
parameters. The Keras transcriptions are written batch-major ``(B, T, D)``, as Keras is.
"""
import numpy as np
import pytest

from rnn_core import GRU, LSTM, PeepholeLSTM, clip_grad_norm, clip_grad_value, global_norm
from rnn_core.init import forget_bias

TOL = 1e-12


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def randomise(layer, rng, scale=0.5):
    """Every parameter (biases included) random and non-zero, in place."""
    for p in layer.params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return layer


def blocks(W, order, G):
    """Reorder the G column blocks of a fused matrix (..., G·H): ``order`` lists source block indices."""
    H = W.shape[-1] // G
    return np.concatenate([W[..., k * H:(k + 1) * H] for k in order], axis=-1)


# ----------------------------------------------------------------------------- numpy transcriptions of Keras

def keras_lstm(x_bm, h0, c0, kernel, recurrent_kernel, bias):
    """keras.layers.LSTM (TF2/Keras 3 defaults), batch-major x (B, T, D) -> outputs (B, T, H).

    kernel (D, 4H) and recurrent_kernel (H, 4H) with column blocks i, f, c, o; one bias (4H,):
        z = x_t kernel + h recurrent_kernel + bias;  i, f, o = σ(z_i, z_f, z_o);  c = f c + i tanh(z_c);  h = o tanh(c)
    """
    H = h0.shape[1]
    h, c, out = h0, c0, []
    for t in range(x_bm.shape[1]):
        z = x_bm[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), sigmoid(z[:, 3 * H:])
        c = f * c + i * np.tanh(z[:, 2 * H:3 * H])
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def keras_gru(x_bm, h0, kernel, recurrent_kernel, bias, reset_after):
    """keras.layers.GRU, batch-major x (B, T, D) -> outputs (B, T, H). Column blocks z, r, h.

    reset_after=True (the TF2 default): bias (2, 3H) = [input bias, recurrent bias] and
        hh = tanh(x_h + r ⊙ (h W_rh + b_rh));  reset_after=False: bias (3H,) and hh = tanh(x_h + (r ⊙ h) W_rh).
    Update: h = z ⊙ h_prev + (1 − z) ⊙ hh  (z weighs the OLD state).
    """
    H = h0.shape[1]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    h, out = h0, []
    for t in range(x_bm.shape[1]):
        xz = x_bm[:, t] @ kernel + b_in                                  # (B, 3H)
        inner = h @ recurrent_kernel + b_rec                             # (B, 3H)
        z = sigmoid(xz[:, :H] + inner[:, :H])
        r = sigmoid(xz[:, H:2 * H] + inner[:, H:2 * H])
        if reset_after:
            rec_h = r * inner[:, 2 * H:]
        else:
            rec_h = (r * h) @ recurrent_kernel[:, 2 * H:]
        hh = np.tanh(xz[:, 2 * H:] + rec_h)
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, axis=1)


def article_gru(x, h0, W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h):
    """The source article's GRU equations, time-major: z weighs the NEW candidate.

        z = σ(x W_xz + h W_hz + b_z);  r = σ(x W_xr + h W_hr + b_r)
        h̃ = tanh(x W_xh + (r ⊙ h) W_hh + b_h);  h = (1 − z) ⊙ h + z ⊙ h̃
    """
    h, out = h0, []
    for x_t in x:
        z = sigmoid(x_t @ W_xz + h @ W_hz + b_z)
        r = sigmoid(x_t @ W_xr + h @ W_hr + b_r)
        h_tilde = np.tanh(x_t @ W_xh + (r * h) @ W_hh + b_h)
        h = (1 - z) * h + z * h_tilde
        out.append(h)
    return np.stack(out)


def _sizes(rng):
    """Random T, B, D, H as Python ints (torch rejects numpy ints as sizes)."""
    return tuple(int(rng.integers(1, n)) for n in (7, 4, 5, 6))


# ----------------------------------------------------------------------------- gate order and bias layout

@pytest.mark.parametrize("trial", range(3))
@pytest.mark.torch
def test_lstm_to_torch_layout(rng, trial):
    """Ours -> PyTorch: weight_ih = W_xᵀ (4H, D), weight_hh = W_hᵀ, rows i, f, g, o; b split into b_ih + b_hh."""
    torch = pytest.importorskip("torch")
    T, B, D, H = _sizes(rng)
    layer = randomise(LSTM(D, H, rng=rng, dtype=np.float64), rng)
    x, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    hs, (h_T, c_T), _ = layer.forward(x, state0=(h0, c0))

    p = layer.params
    b_ih = rng.standard_normal(4 * H)                  # any split works: only b_ih + b_hh matters
    ref = torch.nn.LSTM(D, H, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(p["W_x"].T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(p["W_h"].T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        ref.bias_hh_l0.copy_(torch.from_numpy(p["b"] - b_ih))
        out, (h_n, c_n) = ref(torch.from_numpy(x), (torch.from_numpy(h0[None]), torch.from_numpy(c0[None])))
    np.testing.assert_allclose(out.numpy(), hs, rtol=0, atol=TOL)
    np.testing.assert_allclose(c_n.numpy()[0], c_T, rtol=0, atol=TOL)


@pytest.mark.parametrize("trial", range(3))
def test_lstm_to_keras_layout(rng, trial):
    """Ours -> Keras: kernel = W_x (D, 4H), recurrent_kernel = W_h, bias = b; blocks i, f, c(=g), o: no reordering."""
    T, B, D, H = _sizes(rng)
    layer = randomise(LSTM(D, H, rng=rng, dtype=np.float64), rng)
    x, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    hs, _, _ = layer.forward(x, state0=(h0, c0))
    p = layer.params
    out = keras_lstm(np.swapaxes(x, 0, 1), h0, c0, p["W_x"], p["W_h"], p["b"])   # (B, T, H)
    np.testing.assert_allclose(np.swapaxes(out, 0, 1), hs, rtol=0, atol=TOL)


def test_forget_bias_block_is_second_in_every_layout():
    """b[H:2H] is the forget gate in ours, PyTorch (i, f, g, o) and Keras (i, f, c, o); rnn_core's default is 1."""
    H = 5
    assert np.all(LSTM(3, H).params["b"][H:2 * H] == 1.0)
    b = forget_bias(np.zeros(4 * H), H, value=1.0)
    assert np.array_equal(np.flatnonzero(b), np.arange(H, 2 * H))


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.torch
def test_gru_to_torch_layout(rng, trial):
    """Ours (reset_after=True) -> PyTorch: weight_ih = W_xᵀ rows r, z, n; bias_ih = b, bias_hh = b_h."""
    torch = pytest.importorskip("torch")
    T, B, D, H = _sizes(rng)
    layer = randomise(GRU(D, H, reset_after=True, rng=rng, dtype=np.float64), rng)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    hs, _, _ = layer.forward(x, state0=h0)
    p = layer.params
    ref = torch.nn.GRU(D, H, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(p["W_x"].T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(p["W_h"].T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        ref.bias_hh_l0.copy_(torch.from_numpy(p["b_h"]))
        out, _ = ref(torch.from_numpy(x), torch.from_numpy(h0[None]))
    np.testing.assert_allclose(out.numpy(), hs, rtol=0, atol=TOL)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("trial", range(2))
def test_gru_to_keras_layout(rng, trial, reset_after):
    """Ours -> Keras: column blocks r, z, n reordered to z, r, h; reset_after=True has bias (2, 3H) = [b, b_h]."""
    T, B, D, H = _sizes(rng)
    layer = randomise(GRU(D, H, reset_after=reset_after, rng=rng, dtype=np.float64), rng)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    hs, _, _ = layer.forward(x, state0=h0)
    p = layer.params
    to_keras = lambda W: blocks(W, (1, 0, 2), 3)            # [r | z | n] -> [z | r | h]
    bias = np.stack([to_keras(p["b"]), to_keras(p["b_h"])]) if reset_after else to_keras(p["b"])
    out = keras_gru(np.swapaxes(x, 0, 1), h0, to_keras(p["W_x"]), to_keras(p["W_h"]), bias, reset_after)
    np.testing.assert_allclose(np.swapaxes(out, 0, 1), hs, rtol=0, atol=TOL)


@pytest.mark.parametrize("trial", range(3))
def test_gru_update_gate_sign_article(rng, trial):
    """The article's z is our 1 − z: negate the z blocks (σ(−a) = 1 − σ(a)) and the networks agree."""
    T, B, D, H = _sizes(rng)
    layer = randomise(GRU(D, H, reset_after=False, rng=rng, dtype=np.float64), rng)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    hs, _, _ = layer.forward(x, state0=h0)
    p = layer.params
    r, z, n = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    out = article_gru(x, h0,
                      -p["W_x"][:, z], -p["W_h"][:, z], -p["b"][z],      # the article's z = 1 − ours
                      p["W_x"][:, r], p["W_h"][:, r], p["b"][r],
                      p["W_x"][:, n], p["W_h"][:, n], p["b"][n])
    np.testing.assert_allclose(out, hs, rtol=0, atol=TOL)
    # without the sign flip the two conventions give different networks
    wrong = article_gru(x, h0, p["W_x"][:, z], p["W_h"][:, z], p["b"][z], p["W_x"][:, r], p["W_h"][:, r],
                        p["b"][r], p["W_x"][:, n], p["W_h"][:, n], p["b"][n])
    assert np.abs(wrong - hs).max() > 1e-3


# ----------------------------------------------------------------------------- peepholes

@pytest.mark.parametrize("trial", range(3))
def test_diagonal_peepholes_are_full_peepholes_with_diagonal_matrices(rng, trial):
    """Diagonal peepholes (Gers & Schmidhuber 2000; TF's use_peepholes) = the article's full matrices restricted to diag(p)."""
    T, B, D, H = _sizes(rng)
    diag = randomise(PeepholeLSTM(D, H, peephole="diagonal", rng=rng, dtype=np.float64), rng)
    full = PeepholeLSTM(D, H, peephole="full", rng=rng, dtype=np.float64)
    for k in ("W_x", "W_h", "b"):
        full.params[k][...] = diag.params[k]
    for small, big in zip(("p_i", "p_f", "p_o"), ("P_i", "P_f", "P_o")):
        full.params[big][...] = np.diag(diag.params[small])
    x, h0, c0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    hs_d, _, _ = diag.forward(x, state0=(h0, c0))
    hs_f, _, _ = full.forward(x, state0=(h0, c0))
    np.testing.assert_allclose(hs_f, hs_d, rtol=0, atol=TOL)
    assert diag.num_params() - 4 * H * (D + H + 1) == 3 * H
    assert full.num_params() - 4 * H * (D + H + 1) == 3 * H * H


# ----------------------------------------------------------------------------- clipping

def _grads(rng, scale=10.0):
    return {"W_x": scale * rng.standard_normal((4, 12)), "W_h": scale * rng.standard_normal((3, 12)),
            "b": scale * rng.standard_normal(12)}


def _flat(g):
    return np.concatenate([a.ravel() for a in g.values()])


@pytest.mark.torch
def test_clip_global_norm_matches_torch(rng):
    """clip_grad_norm == torch.nn.utils.clip_grad_norm_ (torch divides by ‖g‖ + 1e-6: accounted for exactly)."""
    torch = pytest.importorskip("torch")
    g = _grads(rng)
    ts = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.float64)) for a in g.values()]
    for t, a in zip(ts, g.values()):
        t.grad = torch.from_numpy(a.copy())
    torch_norm = float(torch.nn.utils.clip_grad_norm_(ts, max_norm=1.0))
    norm = clip_grad_norm(g, 1.0)
    assert abs(norm - torch_norm) < 1e-12 * norm
    torch_scale = norm / (norm + 1e-6)                      # torch's clip_coef = max_norm / (‖g‖ + 1e-6)
    for t, a in zip(ts, g.values()):
        np.testing.assert_allclose(t.grad.numpy(), a * torch_scale, rtol=1e-13, atol=0)


def test_clip_global_norm_is_pascanu(rng):
    """g ← g·τ/‖g‖ when ‖g‖ > τ (Pascanu et al. 2013): length τ, direction unchanged; below τ untouched."""
    g = _grads(rng)
    raw = _flat(g)
    clip_grad_norm(g, 1.0)
    np.testing.assert_allclose(_flat(g), raw / np.linalg.norm(raw), rtol=1e-13, atol=0)
    small = _grads(rng, scale=1e-3)
    before = _flat(small)
    clip_grad_norm(small, 1.0)
    assert np.array_equal(_flat(small), before)


def test_clip_value_matches_torch_and_changes_direction(rng):
    """clip_grad_value == torch.nn.utils.clip_grad_value_ (Keras clipvalue): entrywise, the direction changes."""
    g = _grads(rng)
    raw = _flat(g)
    clip_grad_value(g, 1.0)
    np.testing.assert_array_equal(_flat(g), np.clip(raw, -1.0, 1.0))
    cos = _flat(g) @ raw / (np.linalg.norm(_flat(g)) * np.linalg.norm(raw))
    assert cos < 0.99
    torch = pytest.importorskip("torch")
    ts = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.float64)) for a in g.values()]
    offset = 0
    for t in ts:
        n = t.numel()
        t.grad = torch.from_numpy(raw[offset:offset + n].reshape(tuple(t.shape)).copy())
        offset += n
    torch.nn.utils.clip_grad_value_(ts, clip_value=1.0)
    np.testing.assert_array_equal(np.concatenate([t.grad.numpy().ravel() for t in ts]), _flat(g))


def test_per_tensor_norm_clipping_differs_from_global(rng):
    """Keras clipnorm clips each array's own norm: every array ≤ τ, but the direction changes (global does not)."""
    g = _grads(rng)
    g["b"] *= 0.01                                           # arrays of very different sizes
    raw = _flat(g)
    per_tensor = {k: a * min(1.0, 1.0 / np.linalg.norm(a)) for k, a in g.items()}
    assert all(np.linalg.norm(a) <= 1.0 + 1e-12 for a in per_tensor.values())
    cos = _flat(per_tensor) @ raw / (np.linalg.norm(_flat(per_tensor)) * np.linalg.norm(raw))
    assert cos < 0.999
    clip_grad_norm(g, 1.0)
    assert abs(global_norm(g) - 1.0) < 1e-12
    cos_global = _flat(g) @ raw / (np.linalg.norm(_flat(g)) * np.linalg.norm(raw))
    assert abs(cos_global - 1.0) < 1e-12


# ----------------------------------------------------------------------------- time-major vs batch-major

@pytest.mark.parametrize("trial", range(2))
@pytest.mark.torch
def test_time_major_vs_batch_first(rng, trial):
    """Ours is time-major (T, B, D); torch batch_first=True (and Keras) take (B, T, D): swap the first two axes."""
    torch = pytest.importorskip("torch")
    T, B, D, H = _sizes(rng)
    layer = randomise(LSTM(D, H, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((T, B, D))
    hs, _, _ = layer.forward(x)
    p = layer.params
    ref = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(p["W_x"].T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(p["W_h"].T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        ref.bias_hh_l0.zero_()
        out, _ = ref(torch.from_numpy(np.swapaxes(x, 0, 1).copy()))          # (B, T, H)
    assert out.shape == (B, T, H)
    np.testing.assert_allclose(np.swapaxes(out.numpy(), 0, 1), hs, rtol=0, atol=TOL)
