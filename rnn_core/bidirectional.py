"""A bidirectional recurrent layer: one cell reads the sequence forward, another backward.

Schuster & Paliwal (1997). Two independent layers of the same kind, ``fw`` and ``bw``::

    →h_t = cell_fw(x_t, →h_{t−1})          t = 1 … T       (reads the past)
    ←h_t = cell_bw(x_t, ←h_{t+1})          t = T … 1       (reads the future)
    h_t  = [→h_t ; ←h_t]                   (T, B, 2H)

So the output at step t depends on the whole sequence, before and after t.

**Padding.** The backward cell runs over the time-reversed batch ``x[::-1]`` with the
reversed mask. Trailing padding becomes *leading* padding there, and a masked step carries
the state through unchanged, so the backward direction starts from its initial state at
each row's **last real step**: no padded step leaks into it. (A gap inside a row is skipped
the same way in both directions.) This equals PyTorch's packed sequences.

Final state: ``(state_fw, state_bw)``. ``state_fw`` is the forward state after the last
real step, ``state_bw`` the backward state after the *first* step (it has read everything).
For an LSTM each is ``(h, c)``.

Parameters: the two layers' own, prefixed ``fw.`` and ``bw.`` (``fw.W_x``, ``bw.W_x``, ...),
twice the parameters of one layer.

    forward(x (T, B, D), state0=(s_fw, s_bw) or None, mask (T, B) or None)
        -> hs (T, B, 2H), (state_fw, state_bw), cache
    backward(dhs (T, B, 2H), cache, dstate=(ds_fw, ds_bw) or None) -> dx (T, B, D), (ds0_fw, ds0_bw)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import ShapeError, check_array, check_dtype, check_mask, check_option, check_rng
from .gru import GRU
from .lstm import LSTM
from .module import Module
from .rnn import RNN

__all__ = ["Bidirectional", "CELLS", "make_cell"]

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def make_cell(cell: str, input_size: int, hidden_size: int, gen, dtype, **cell_kwargs) -> Module:
    """An ``RNN``, ``LSTM`` or ``GRU`` layer by name; ``cell_kwargs`` go to its constructor
    (``nonlinearity`` for rnn, ``forget_bias`` for lstm, ``reset_after`` for gru)."""
    check_option("cell", cell, tuple(CELLS))
    return CELLS[cell](input_size, hidden_size, rng=gen, dtype=dtype, **cell_kwargs)


def _pair(name: str, value):
    """None, or a 2-tuple (forward part, backward part)."""
    if value is None:
        return None, None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"{type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise ShapeError(f"{name}: expected a pair (forward, backward) of states, got {got}")
    return value[0], value[1]


class BidirectionalCache(NamedTuple):
    fw: object        # the forward layer's cache
    bw: object        # the backward layer's cache (over the reversed sequence)
    H: int


class Bidirectional(Module):
    """Run ``cell`` forward and a second ``cell`` backward in time; concatenate their outputs.

    ``cell`` is ``"rnn"``, ``"lstm"`` or ``"gru"``; ``cell_kwargs`` are passed to both layers.
    ``output_size = 2 * hidden_size``. See the module docstring for padding and states.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, rng=0, dtype=np.float32, **cell_kwargs):
        super().__init__()
        self.cell = check_option("cell", cell, tuple(CELLS))
        self.dtype = check_dtype(dtype)
        gen = check_rng(rng)
        self.fw = make_cell(cell, input_size, hidden_size, gen, self.dtype, **cell_kwargs)
        self.bw = make_cell(cell, input_size, hidden_size, gen, self.dtype, **cell_kwargs)
        self.input_size, self.hidden_size = self.fw.input_size, self.fw.hidden_size
        self.output_size = 2 * self.hidden_size
        self._collect_params()
        self.zero_grad()

    def sublayers(self) -> dict:
        return {"fw": self.fw, "bw": self.bw}

    def forward(self, x, state0=None, mask=None):
        x = check_array("x", x, 3, (None, None, self.input_size), "TBD")
        T, B, _ = x.shape
        mask = check_mask(mask, T, B)
        s_fw, s_bw = _pair("state0", state0)
        rev_mask = None if mask is None else mask[::-1]
        hs_fw, state_fw, c_fw = self.fw.forward(x, s_fw, mask)             # (T, B, H)
        hs_bw, state_bw, c_bw = self.bw.forward(x[::-1], s_bw, rev_mask)   # (T, B, H), reversed time
        hs = np.concatenate([hs_fw, hs_bw[::-1]], axis=2)                  # (T, B, 2H)
        return hs, (state_fw, state_bw), BidirectionalCache(c_fw, c_bw, self.hidden_size)

    def backward(self, dhs, cache: BidirectionalCache, dstate=None):
        H = cache.H
        T, B = cache.fw.x.shape[:2]
        dhs = check_array("dhs", dhs, 3, (T, B, 2 * H), "TBH")
        ds_fw, ds_bw = _pair("dstate", dstate)
        dx_fw, ds0_fw = self.fw.backward(dhs[:, :, :H], cache.fw, ds_fw)
        dx_bw, ds0_bw = self.bw.backward(dhs[::-1, :, H:], cache.bw, ds_bw)
        self._collect_grads()
        return dx_fw + dx_bw[::-1], (ds0_fw, ds0_bw)
