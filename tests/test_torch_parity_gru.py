"""PyTorch parity (optional): GRU(reset_after=True) == torch.nn.GRU, and the cross-entropy loss.

Mapping: W_x = weight_ih_l0ᵀ, W_h = weight_hh_l0ᵀ, b = bias_ih_l0, b_h = bias_hh_l0 (gate order r, z, n).
"""
import numpy as np
import pytest

from rnn_core import GRU, softmax_cross_entropy

torch = pytest.importorskip("torch")

TOL = 1e-10


def torch_gru(layer):
    """A torch.nn.GRU (float64) holding our parameters."""
    D, H = layer.input_size, layer.hidden_size
    ref = torch.nn.GRU(D, H, dtype=torch.float64)
    p = layer.params
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(p["W_x"].T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(p["W_h"].T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        ref.bias_hh_l0.copy_(torch.from_numpy(p["b_h"]))
    return ref


@pytest.mark.parametrize("trial", range(3))
def test_gru_matches_torch(rng, trial):
    T, B, D, H = rng.integers(1, 8), rng.integers(1, 5), rng.integers(1, 6), rng.integers(1, 7)
    layer = GRU(D, H, reset_after=True, rng=rng, dtype=np.float64)
    for p in layer.params.values():                     # random NON-zero biases too
        p[...] = 0.5 * rng.standard_normal(p.shape)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    dhs, dh_T = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))

    hs, h_T, cache = layer.forward(x, h0)
    dx, dh0 = layer.backward(dhs, cache, dh_T)

    ref = torch_gru(layer)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)    # (num_layers=1, B, H)
    out, hT = ref(xt, h0t)
    (torch.sum(out * torch.from_numpy(dhs)) + torch.sum(hT[0] * torch.from_numpy(dh_T))).backward()

    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(h_T, hT[0].detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dh0, h0t.grad[0].numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(layer.grads["W_x"], ref.weight_ih_l0.grad.numpy().T, rtol=0, atol=TOL)
    np.testing.assert_allclose(layer.grads["W_h"], ref.weight_hh_l0.grad.numpy().T, rtol=0, atol=TOL)
    np.testing.assert_allclose(layer.grads["b"], ref.bias_ih_l0.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(layer.grads["b_h"], ref.bias_hh_l0.grad.numpy(), rtol=0, atol=TOL)


def test_masked_gru_matches_torch_on_each_unpadded_row(rng):
    """With padding, each row equals torch run on that row alone (no packing needed)."""
    T, B, D, H = 6, 3, 4, 5
    layer = GRU(D, H, reset_after=True, rng=rng, dtype=np.float64)
    for p in layer.params.values():
        p[...] = 0.5 * rng.standard_normal(p.shape)
    lengths = [6, 3, 1]
    mask = (np.arange(T)[:, None] < np.array(lengths)).astype(np.float64)
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    hs, h_T, _ = layer.forward(x, h0, mask)
    ref = torch_gru(layer)
    for b, L in enumerate(lengths):
        with torch.no_grad():
            out, hT = ref(torch.from_numpy(x[:L, b:b + 1]), torch.from_numpy(h0[None, b:b + 1]))
        np.testing.assert_allclose(hs[:L, b], out[:, 0].numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(h_T[b], hT[0, 0].numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("masked", [False, True])
def test_cross_entropy_matches_torch(rng, masked):
    T, B, V = 5, 4, 7
    logits = 3.0 * rng.standard_normal((T, B, V))
    targets = rng.integers(0, V, size=(T, B))
    mask = np.ones((T, B))
    if masked:
        mask[3:, 1] = 0
        mask[1:, 2] = 0
    loss, dlogits = softmax_cross_entropy(logits, targets, mask if masked else None)

    lt = torch.tensor(logits, requires_grad=True)
    tt = torch.from_numpy(np.where(mask > 0, targets, -100))        # torch's ignore_index for padding
    ref = torch.nn.functional.cross_entropy(lt.reshape(-1, V), tt.reshape(-1), ignore_index=-100)
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), rtol=0, atol=TOL)


def test_cross_entropy_classification_matches_torch(rng):
    B, C = 6, 3
    logits, targets = rng.standard_normal((B, C)), rng.integers(0, C, size=B)
    loss, dlogits = softmax_cross_entropy(logits, targets)
    lt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(lt, torch.from_numpy(targets))
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), rtol=0, atol=TOL)
