"""A deep (stacked) recurrent network: layer l reads the outputs of layer l − 1.

Graves, Mohamed & Hinton (2013) stacked LSTMs for speech; Pascanu et al. (2014) discuss the
ways to make an RNN deep. Here the depth is in the simplest place, between steps' outputs::

    h_t^(0) = cell_0(x_t,                 h_{t−1}^(0))            (T, B, H)
    h_t^(l) = cell_l(drop(h_t^(l−1)),     h_{t−1}^(l))   l = 1 … L−1
    output  = h^(L−1)                                             (T, B, H) or (T, B, 2H)

Each layer has its own weights and its own state; the time recursion stays inside each layer.
``dropout`` (inverted, training only) acts on the outputs that go from one layer to the next,
never on the recurrent path ``h_{t−1} → h_t`` (Zaremba et al. 2014) and not after the last
layer (as ``torch.nn.LSTM(dropout=...)``). With ``bidirectional=True`` every layer is a
``Bidirectional`` pair and layer l > 0 reads the 2H-wide concatenation of the layer below.

Parameters: each layer's own, prefixed ``l0.``, ``l1.``, ... (``l0.W_x``; bidirectional:
``l0.fw.W_x``, ``l0.bw.W_x``). Layer 0 has ``D`` inputs, the others ``H`` (or ``2H``).

    forward(x (T, B, D), state0=[s_0, …, s_{L−1}] or None, mask (T, B) or None, train=False)
        -> hs (T, B, H·dirs), [final state of each layer], cache
    backward(dhs, cache, dstate=[ds_0, …] or None) -> dx (T, B, D), [dstate0 of each layer]

A layer's state has the structure of its cell (``h``, ``(h, c)``, or a (fw, bw) pair);
``None`` in a list means zeros for that layer. ``backward`` writes every gradient into
``grads``, the same dict for the module's life.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .bidirectional import CELLS, Bidirectional, make_cell
from .errors import HyperparameterError, ShapeError, check_array, check_dtype, check_mask, check_option, \
    check_positive_int, check_rng, check_unit_interval
from .layers import Dropout
from .module import Module

__all__ = ["Stacked"]


def _per_layer(name: str, value, L: int) -> list:
    """None -> [None] * L; else a list/tuple of exactly L per-layer states."""
    if value is None:
        return [None] * L
    if not isinstance(value, (list, tuple)) or len(value) != L:
        got = type(value).__name__ + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise ShapeError(f"{name}: expected a list of num_layers={L} per-layer states (or None), got {got}")
    return list(value)


class StackedCache(NamedTuple):
    layers: list          # each layer's cache
    drops: list           # dropout cache of the input of layer l (None for layer 0 or no dropout)
    T: int
    B: int


class Stacked(Module):
    """``num_layers`` recurrent layers of one kind, one on top of the other.

    cell: ``"rnn"``, ``"lstm"`` or ``"gru"``; ``cell_kwargs`` go to every layer
    (``nonlinearity``, ``forget_bias``, ``reset_after``). ``layers[l]`` is the l-th layer.
    ``output_size`` is ``hidden_size`` (``2 * hidden_size`` if bidirectional).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 2, dropout: float = 0.0,
                 bidirectional: bool = False, rng=0, dtype=np.float32, **cell_kwargs):
        super().__init__()
        self.cell = check_option("cell", cell, tuple(CELLS))
        D = check_positive_int("input_size", input_size)
        H = check_positive_int("hidden_size", hidden_size)
        L = self.num_layers = check_positive_int("num_layers", num_layers)
        self.dropout = check_unit_interval("dropout", dropout)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise HyperparameterError(f"bidirectional: expected True or False, got {bidirectional!r}")
        self.bidirectional = bool(bidirectional)
        self.dtype = check_dtype(dtype)
        self.input_size, self.hidden_size = D, H
        self.output_size = 2 * H if self.bidirectional else H
        gen = check_rng(rng)
        self.layers = []
        for l in range(L):
            d_in = D if l == 0 else self.output_size
            if self.bidirectional:
                self.layers.append(Bidirectional(cell, d_in, H, rng=gen, dtype=self.dtype, **cell_kwargs))
            else:
                self.layers.append(make_cell(cell, d_in, H, gen, self.dtype, **cell_kwargs))
        # dropout draws from its own generator, seeded from gen, never from the caller's
        self.drop = Dropout(self.dropout, rng=int(gen.integers(2**63))) if self.dropout > 0 and L > 1 else None
        self._collect_params()
        self.zero_grad()

    def sublayers(self) -> dict:
        return {f"l{l}": layer for l, layer in enumerate(self.layers)}

    def forward(self, x, state0=None, mask=None, train: bool = False):
        if not isinstance(train, (bool, np.bool_)):
            raise HyperparameterError(f"train: expected True or False, got {train!r}")
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD")
        T, B, _ = x.shape
        mask = check_mask(mask, T, B)
        states0 = _per_layer("state0", state0, self.num_layers)
        caches, drops, states = [], [], []
        h = x
        for l, layer in enumerate(self.layers):
            d_cache = None
            if l > 0 and train and self.drop is not None:
                h, d_cache = self.drop.forward(h)                  # (T, B, H·dirs)
            h, state, cache = layer.forward(h, states0[l], mask)   # (T, B, H·dirs)
            caches.append(cache)
            drops.append(d_cache)
            states.append(state)
        return h, states, StackedCache(caches, drops, T, B)

    def backward(self, dhs, cache: StackedCache, dstate=None):
        dhs = check_array("dhs", dhs, 3, (cache.T, cache.B, self.output_size), "TBH")
        dstates = _per_layer("dstate", dstate, self.num_layers)
        dstates0 = [None] * self.num_layers
        dh = dhs
        for l in range(self.num_layers - 1, -1, -1):
            dh, dstates0[l] = self.layers[l].backward(dh, cache.layers[l], dstates[l])   # dh: gradient of layer l's input
            if cache.drops[l] is not None:
                dh = self.drop.backward(dh, cache.drops[l])
        self._collect_grads()
        return dh, dstates0
