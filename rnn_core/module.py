"""The one contract every trainable piece of ``rnn_core`` follows.

A ``Module`` owns two dicts with the same keys and shapes:

* ``params[name]`` -- the arrays the forward pass reads and the optimizer updates in place;
* ``grads[name]``  -- filled (overwritten, not accumulated) by ``backward``.

A module built from others (a bidirectional pair, a stack, a model) names them in
``sublayers()``: its ``params`` then hold the sub-modules' own arrays under ``prefix.name``
(``fw.W_x``), ``astype`` casts the sub-modules, and ``_collect_grads`` gathers their gradients
after a backward.

Both are one dict each for the module's whole life: ``backward`` and ``astype`` refill them and
never rebind them, so ``grads = layer.grads; ...; opt.step(layer.params, grads)`` always steps
with the newest gradient (CONTRIBUTING.md, "The params/grads contract"). That is all an
optimizer (``opt.step(params, grads)``), ``clip_grad_norm`` or ``gradcheck`` needs to know.
"""
from __future__ import annotations

import numpy as np

from .errors import check_dtype


class Module:
    """Base class: ``params`` / ``grads`` dicts plus a few conveniences."""

    params: dict
    grads: dict

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}

    def zero_grad(self) -> None:
        """Set every gradient to zero (allocating it if missing)."""
        for k, p in self.params.items():
            self.grads[k] = np.zeros_like(p)

    def num_params(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def sublayers(self) -> dict:
        """The sub-modules this module is built from, by parameter-name prefix
        (``{"fw": ..., "bw": ...}``); ``{}`` for a layer with its own arrays only."""
        return {}

    def _collect_params(self) -> None:
        """Refill ``params`` with the sub-modules' own arrays (the same objects, not copies)
        under ``prefix.name``; the dict itself is kept for life."""
        self.params.clear()
        for prefix, layer in self.sublayers().items():
            for k, p in layer.params.items():
                self.params[f"{prefix}.{k}"] = p

    def _collect_grads(self) -> None:
        """Point ``grads`` at the gradients the sub-modules' backward just wrote."""
        for prefix, layer in self.sublayers().items():
            for k, g in layer.grads.items():
                self.grads[f"{prefix}.{k}"] = g

    def astype(self, dtype) -> "Module":
        """Cast parameters (and reset gradients) to ``dtype`` in place; returns self.

        A module with sub-modules casts them and refills ``params`` and ``grads`` (the same
        dicts) with their new arrays."""
        dt = check_dtype(dtype)
        subs = self.sublayers()
        if subs:
            for layer in subs.values():
                layer.astype(dt)
            self._collect_params()
            self.grads.clear()
        else:
            for k in list(self.params):
                self.params[k] = self.params[k].astype(dt)
        self.zero_grad()
        self.dtype = dt
        return self
