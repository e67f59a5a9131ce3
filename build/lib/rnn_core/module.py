"""The one contract every trainable piece of ``rnn_core`` follows.

A ``Module`` owns two dicts with the same keys and shapes:

* ``params[name]`` -- the arrays the forward pass reads and the optimizer updates in place;
* ``grads[name]``  -- filled (overwritten, not accumulated) by ``backward``.

Both are one dict each for the module's whole life: ``backward`` and ``astype`` refill them and
never rebind them, so ``grads = layer.grads; ...; opt.step(layer.params, grads)`` always steps
with the newest gradient (CONTRIBUTING.md, "The params/grads contract"). That is all an
optimizer (``opt.step(params, grads)``), ``clip_grad_norm`` or ``gradcheck`` needs to know.
"""
from __future__ import annotations

import numpy as np

from .errors import check_dtype


class Module:
    """Base class: ``params`` / ``grads`` dicts plus two conveniences."""

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

    def astype(self, dtype) -> "Module":
        """Cast parameters (and reset gradients) to ``dtype`` in place; returns self."""
        dt = check_dtype(dtype)
        for k in list(self.params):
            self.params[k] = self.params[k].astype(dt)
        self.zero_grad()
        self.dtype = dt
        return self
