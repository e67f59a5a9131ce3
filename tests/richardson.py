"""A better-conditioned finite-difference check for deep models (imported by the tests of
Stacked, Bidirectional and Seq2Seq).

Central differences D(h) = (f(θ + h e_k) − f(θ − h e_k)) / 2h have two errors: truncation
c·h² and round-off ~ε|f|/h. In a deep or attention model some arrays want a small h (large
curvature, e.g. the biases of a tanh encoder: at h = 1e-4 the truncation error reached ~2e-7)
and others a large one (gradients that are small next to the loss, e.g. the additive score's
W_q: at h = 1e-6 round-off reached ~1e-7). Richardson's extrapolation

    (4 D(h/2) − D(h)) / 3 = ∂f/∂θ_k + O(h⁴)

cancels the h² term exactly, so a large step (3e-4) keeps round-off ~300 times below that
at 1e-6 while the truncation error stays negligible. The threshold is unchanged: 1e-7.
"""
import numpy as np

from rnn_core import numerical_gradient, rel_error


def richardson_gradcheck(f, arrays, grads, h=3e-4):
    """{name: relative error} of ``grads[name]`` against the extrapolated central differences of
    ``f()`` w.r.t. each float64 array in ``arrays`` (perturbed in place and restored)."""
    errors = {}
    for name, x in arrays.items():
        assert isinstance(x, np.ndarray) and x.dtype == np.float64, name
        d_h = numerical_gradient(f, x, h)
        d_h2 = numerical_gradient(f, x, h / 2)
        errors[name] = rel_error((4 * d_h2 - d_h) / 3, grads[name])
    return errors
