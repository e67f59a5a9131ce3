"""Parity with PyTorch for deep and bidirectional layers (float64, random non-zero biases):
torch.nn.RNN/LSTM/GRU(num_layers=2), LSTM(bidirectional=True) on packed sequences of different
lengths, and num_layers=2 with bidirectional=True together. Outputs, final states of every layer
and direction, and every gradient (parameters, input, initial states).

Mapping: layer l, direction d ("" or "_reverse"): ``W_x = weight_ih_l{l}{d}ᵀ``, ``W_h = weight_hh_l{l}{d}ᵀ``;
RNN/LSTM ``b = bias_ih + bias_hh`` (each of torch's two bias gradients equals our ``db``); GRU with
``reset_after=True``: ``b = bias_ih``, ``b_h = bias_hh``. torch's ``h_0`` is (L·dirs, B, H) in the
order layer 0 forward, layer 0 backward, layer 1 forward, ...
Skipped when torch is not installed.
"""
import numpy as np
import pytest

from rnn_core import Stacked

torch = pytest.importorskip("torch")

TOL = 1e-10
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def our_layers(net):
    """(torch suffix, our single-direction layer) for every layer and direction, in torch's order."""
    for l, layer in enumerate(net.layers):
        if net.bidirectional:
            yield f"l{l}", layer.fw
            yield f"l{l}_reverse", layer.bw
        else:
            yield f"l{l}", layer


def copy_weights(net, ref, rng):
    """Random non-zero torch weights (both biases too); ours get the equivalent values."""
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape))))
    for sfx, layer in our_layers(net):
        g = lambda name: getattr(ref, f"{name}_{sfx}").detach().numpy()
        layer.params["W_x"][...] = g("weight_ih").T
        layer.params["W_h"][...] = g("weight_hh").T
        if net.cell == "gru":
            layer.params["b"][...] = g("bias_ih")
            layer.params["b_h"][...] = g("bias_hh")
        else:
            layer.params["b"][...] = g("bias_ih") + g("bias_hh")


def check_grads(net, ref, errors):
    for sfx, layer in our_layers(net):
        g = lambda name: getattr(ref, f"{name}_{sfx}").grad.numpy()
        pairs = [("W_x", g("weight_ih").T), ("W_h", g("weight_hh").T)]
        if net.cell == "gru":
            pairs += [("b", g("bias_ih")), ("b_h", g("bias_hh"))]
        else:
            pairs += [("b", g("bias_ih")), ("b", g("bias_hh"))]
        for name, theirs in pairs:
            compare(layer.grads[name], theirs, f"{sfx}.{name}", errors)


def compare(ours, theirs, name, errors):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    errors[name] = float(np.max(np.abs(ours - theirs))) if np.size(ours) else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL, err_msg=name)


def run(cell, num_layers, bidirectional, lengths, rng, D=3, H=4):
    T, B = max(lengths), len(lengths)
    dirs = 2 if bidirectional else 1
    kw = {"reset_after": True} if cell == "gru" else {}
    net = Stacked(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, rng=rng, dtype=np.float64, **kw)
    ref = TORCH[cell](D, H, num_layers=num_layers, bidirectional=bidirectional, dropout=0.0, dtype=torch.float64)
    copy_weights(net, ref, rng)
    mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(np.float64)   # (T, B)
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((num_layers * dirs, B, H))
    c0 = rng.standard_normal((num_layers * dirs, B, H))
    R = rng.standard_normal((T, B, dirs * H)) * mask[:, :, None]          # torch pads outputs with 0
    Rh = rng.standard_normal((num_layers * dirs, B, H))
    Rc = rng.standard_normal((num_layers * dirs, B, H))

    def per_layer(a, b=None):
        """torch's stacked (L·dirs, B, H) -> our list of per-layer states."""
        one = (lambda k: (a[k], b[k])) if cell == "lstm" else (lambda k: a[k])
        return [(one(dirs * l), one(dirs * l + 1)) if bidirectional else one(l) for l in range(num_layers)]

    hs, states, cache = net.forward(x, per_layer(h0, c0), mask)
    dx, ds0 = net.backward(R, cache, per_layer(Rh, Rc))

    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
    out, hn = ref(packed, (h0t, c0t) if cell == "lstm" else h0t)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    if cell == "lstm":
        hn, cn = hn
        loss = (out * torch.from_numpy(R)).sum() + (hn * torch.from_numpy(Rh)).sum() + (cn * torch.from_numpy(Rc)).sum()
    else:
        loss = (out * torch.from_numpy(R)).sum() + (hn * torch.from_numpy(Rh)).sum()
    loss.backward()

    errors = {}
    compare(hs, out, "hs", errors)
    compare(dx, xt.grad, "dx", errors)
    for l in range(num_layers):
        for d in range(dirs):
            k = dirs * l + d
            st = states[l][d] if bidirectional else states[l]
            dst = ds0[l][d] if bidirectional else ds0[l]
            if cell == "lstm":
                compare(st[0], hn[k], f"h_n[{k}]", errors)
                compare(st[1], cn[k], f"c_n[{k}]", errors)
                compare(dst[0], h0t.grad[k], f"dh0[{k}]", errors)
                compare(dst[1], c0t.grad[k], f"dc0[{k}]", errors)
            else:
                compare(st, hn[k], f"h_n[{k}]", errors)
                compare(dst, h0t.grad[k], f"dh0[{k}]", errors)
    check_grads(net, ref, errors)
    return errors


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_two_layers_match_torch(rng, cell):
    errors = run(cell, 2, False, [6, 6, 6], rng)
    print(f"{cell} num_layers=2: max |ours − torch| = {max(errors.values()):.1e}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_two_layers_packed_match_torch(rng, cell):
    errors = run(cell, 2, False, [6, 3, 5, 1], rng)
    print(f"{cell} num_layers=2 packed: max |ours − torch| = {max(errors.values()):.1e}")


def test_bidirectional_lstm_packed_matches_torch(rng):
    errors = run("lstm", 1, True, [7, 3, 5, 1], rng)
    print(f"LSTM bidirectional packed: max |ours − torch| = {max(errors.values()):.1e}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_two_layers_bidirectional_packed_match_torch(rng, cell):
    errors = run(cell, 2, True, [5, 2, 4], rng)
    print(f"{cell} num_layers=2 bidirectional packed: max |ours − torch| = {max(errors.values()):.1e}")
