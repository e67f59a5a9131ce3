"""Parity with PyTorch (float64, random non-zero biases): outputs and every gradient.

Weight layout: ours ``W_x (D, G·H) = weight_ih_l0.T``, ``W_h (H, G·H) = weight_hh_l0.T``,
``b = bias_ih_l0 + bias_hh_l0`` (PyTorch keeps two biases; each of their gradients
equals our ``db``). The LSTM gate order i, f, g, o is the same in both.
Skipped when torch is not installed; torch is never a requirement.
"""
import numpy as np
import pytest

import rnn_core

torch = pytest.importorskip("torch")

TOL = 1e-10


def copy_weights(ours, theirs, rng):
    """Random non-zero torch weights (both biases too); ours get the equivalent values."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape))))
    ours.params["W_x"][...] = theirs.weight_ih_l0.detach().numpy().T
    ours.params["W_h"][...] = theirs.weight_hh_l0.detach().numpy().T
    ours.params["b"][...] = (theirs.bias_ih_l0 + theirs.bias_hh_l0).detach().numpy()


def assert_close(ours, theirs, name):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=name)


def check_param_grads(ours, theirs):
    assert_close(ours.grads["W_x"], theirs.weight_ih_l0.grad.T, "W_x")
    assert_close(ours.grads["W_h"], theirs.weight_hh_l0.grad.T, "W_h")
    assert_close(ours.grads["b"], theirs.bias_ih_l0.grad, "b vs bias_ih")
    assert_close(ours.grads["b"], theirs.bias_hh_l0.grad, "b vs bias_hh")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("trial", range(3))
def test_rnn_matches_torch(rng, nonlinearity, trial):
    T, B, D, H = (int(v) for v in (rng.integers(1, 9), rng.integers(1, 6), rng.integers(1, 9), rng.integers(1, 9)))
    ours = rnn_core.RNN(D, H, nonlinearity=nonlinearity, rng=rng, dtype=np.float64)
    theirs = torch.nn.RNN(D, H, nonlinearity=nonlinearity, dtype=torch.float64)
    copy_weights(ours, theirs, rng)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    R, R2 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))

    hs, h_T, cache = ours.forward(x, h0)
    dx, dh0 = ours.backward(R, cache, R2)

    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    out, h_n = theirs(xt, h0t)
    ((out * torch.from_numpy(R)).sum() + (h_n[0] * torch.from_numpy(R2)).sum()).backward()

    assert_close(hs, out, "hs")
    assert_close(h_T, h_n[0], "h_T")
    assert_close(dx, xt.grad, "dx")
    assert_close(dh0, h0t.grad[0], "dh0")
    check_param_grads(ours, theirs)


def run_torch_lstm(theirs, x, h0, c0, R, R2, R3, lengths=None):
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    if lengths is None:
        out, (h_n, c_n) = theirs(xt, (h0t, c0t))
    else:  # PyTorch's way to mask trailing padding: a packed sequence
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
        out, (h_n, c_n) = theirs(packed, (h0t, c0t))
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
    loss = (out * torch.from_numpy(R)).sum() + (h_n[0] * torch.from_numpy(R2)).sum() \
        + (c_n[0] * torch.from_numpy(R3)).sum()
    loss.backward()
    return out, h_n[0], c_n[0], xt.grad, h0t.grad[0], c0t.grad[0]


@pytest.mark.parametrize("trial", range(4))
def test_lstm_matches_torch(rng, trial):
    T, B, D, H = (int(v) for v in (rng.integers(1, 9), rng.integers(1, 6), rng.integers(1, 9), rng.integers(1, 9)))
    ours = rnn_core.LSTM(D, H, rng=rng, dtype=np.float64)
    theirs = torch.nn.LSTM(D, H, dtype=torch.float64)
    copy_weights(ours, theirs, rng)
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    R, R2, R3 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    hs, (h_T, c_T), cache = ours.forward(x, (h0, c0))
    dx, (dh0, dc0) = ours.backward(R, cache, (R2, R3))
    out, h_n, c_n, dxt, dh0t, dc0t = run_torch_lstm(theirs, x, h0, c0, R, R2, R3)

    for a, b, name in [(hs, out, "hs"), (h_T, h_n, "h_T"), (c_T, c_n, "c_T"),
                       (dx, dxt, "dx"), (dh0, dh0t, "dh0"), (dc0, dc0t, "dc0")]:
        assert_close(a, b, name)
    check_param_grads(ours, theirs)


def test_masked_lstm_matches_torch_packed_sequence(rng):
    """Our mask with trailing padding == PyTorch's packed sequences, outputs and gradients."""
    T, B, D, H = 7, 4, 3, 5
    lengths = [7, 3, 5, 1]
    mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(np.float64)   # (T, B)
    ours = rnn_core.LSTM(D, H, rng=rng, dtype=np.float64)
    theirs = torch.nn.LSTM(D, H, dtype=torch.float64)
    copy_weights(ours, theirs, rng)
    x = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    R, R2, R3 = rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    hs, (h_T, c_T), cache = ours.forward(x, (h0, c0), mask)
    dx, (dh0, dc0) = ours.backward(R, cache, (R2, R3))
    out, h_n, c_n, dxt, dh0t, dc0t = run_torch_lstm(theirs, x, h0, c0, R, R2, R3, lengths)

    for a, b, name in [(hs, out, "hs"), (h_T, h_n, "h_T"), (c_T, c_n, "c_T"),
                       (dx, dxt, "dx"), (dh0, dh0t, "dh0"), (dc0, dc0t, "dc0")]:
        assert_close(a, b, name)
    check_param_grads(ours, theirs)
