"""Diagnostics: how gradients travel back through time.

Notation. ``h_0`` is the initial state ``state0`` and ``h_t = hs[t-1]`` is the
state after step ``t`` (``t = 1..T``). A recurrent step is a map
``h_t = F(h_{t-1}, x_t)``; its **step Jacobian** is the ``H x H`` matrix

    J_t[j, k] = ∂h_t[j] / ∂h_{t-1}[k]

(numerator layout: row ``j`` is an output unit, column ``k`` an input unit).
The gradient of ``h_T`` with respect to an earlier state is the product

    ∂h_T/∂h_t = J_T J_{T-1} ... J_{t+1}        (T - t factors)

and backpropagation through time multiplies a row gradient by the same
matrices: ``∂L/∂h_{t-1} = ∂L/∂h_t · J_t`` (plus any loss term on ``h_{t-1}``).

Step Jacobians, in the package's row-vector convention ``a_t = x_t W_x + h_{t-1} W_h + b``:

* RNN, ``h_t = φ(a_t)``:          ``J_t = diag(φ'(a_t)) W_hᵀ``,  i.e. ``J_t[j, k] = φ'(a_t[j]) W_h[k, j]``.
  (Seen from the forward pass, ``dh_t = dh_{t-1} (W_h ⊙ φ'(a_t))`` with φ' broadcast along columns.)
  ``φ' = 1 - h_t²`` for tanh and ``[h_t > 0]`` for relu.
* LSTM: the state is ``s_t = (h_t, c_t)`` and the step Jacobian is the ``2H x 2H`` matrix
  ``[[∂h_t/∂h_{t-1}, ∂h_t/∂c_{t-1}], [∂c_t/∂h_{t-1}, ∂c_t/∂c_{t-1}]]`` with
  ``∂c_t/∂c_{t-1} = diag(f_t)`` (the "constant error carousel") and
  ``∂c_t/∂h_{t-1} = diag(c_{t-1} f(1-f)) W_hfᵀ + diag(g i(1-i)) W_hiᵀ + diag(i (1-g²)) W_hgᵀ``,
  ``∂h_t/∂h_{t-1} = diag(tanh(c_t) o(1-o)) W_hoᵀ + diag(o (1-tanh²c_t)) ∂c_t/∂h_{t-1}``,
  ``∂h_t/∂c_{t-1} = diag(o (1-tanh²c_t) f_t)``.
  ``∂h_T/∂h_t`` (``wrt="h"``) is the top-left ``H x H`` block of the product of these
  ``2H x 2H`` matrices: it holds ``c_t`` fixed and counts **every** path from ``h_t`` to
  ``h_T``, including those through the cells ``c``. ``wrt="state"`` gives the whole
  ``2H x 2H`` product ``∂(h_T, c_T)/∂(h_t, c_t)``.
* GRU (gates r, z, n; ``h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}``):
  ``J_t = diag(1 - z) J_n + diag(h_{t-1} - n) J_z + diag(z)`` with
  ``J_r = diag(r(1-r)) W_hrᵀ``, ``J_z = diag(z(1-z)) W_hzᵀ`` and
  ``J_n = diag(1-n²) W_hnᵀ (diag(r) + diag(h_{t-1}) J_r)``         (``reset_after=False``),
  ``J_n = diag(1-n²) (diag(u) J_r + diag(r) W_hnᵀ)``, ``u = h_{t-1} W_hn + b_hn``   (``reset_after=True``).

With a mask, a masked step carries the state through unchanged, so its Jacobian is ``I``.
All Jacobian arithmetic is done in float64 (products over long sequences under/overflow float32).
"""
from __future__ import annotations

import copy

import numpy as np

from .errors import HyperparameterError, ShapeError, check_array, check_mask, check_option

__all__ = ["step_jacobians", "jacobian_products", "products_from_jacobians", "jacobian_product_norms",
           "backprop_through_jacobians", "hidden_state_gradients",
           "grad_norms_over_time", "pascanu_bound", "spectral_radius", "largest_singular_value"]


# ----------------------------------------------------------------------------- helpers

def _cell_kind(layer) -> str:
    """"rnn", "lstm" or "gru" from the layer's class (PeepholeLSTM etc. are not supported)."""
    kinds = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
    name = type(layer).__name__
    if name not in kinds:
        raise HyperparameterError(f"layer: expected an RNN, LSTM or GRU layer, got {name}")
    return kinds[name]


def _check_sequence(layer, x, mask):
    """Check x (T, B, D) and mask (T, B) (state0 is checked by ``layer.forward``)."""
    D = layer.params["W_x"].shape[0]
    x = check_array("x", x, 3, (None, None, D), "TBD")
    T, B, _ = x.shape
    return x, check_mask(mask, T, B)


def _carried_states(h, h0, mask):
    """States carried out of each step, (T, B, H): at a masked step the previous state."""
    if mask is None:
        return h
    m = mask.astype(bool)[:, :, None]                             # (T, B, 1)
    out = np.empty_like(h)
    prev = h0
    for t in range(h.shape[0]):
        prev = np.where(m[t], h[t], prev)
        out[t] = prev
    return out


def _forward64(layer, x, state0, mask):
    """Run a float64 copy of the layer (the layer itself is left untouched)."""
    layer64 = copy.deepcopy(layer).astype(np.float64)
    if state0 is not None:
        state0 = (tuple(np.asarray(s, np.float64) for s in state0) if isinstance(state0, (tuple, list))
                  else np.asarray(state0, np.float64))
    return layer64.forward(np.asarray(x, np.float64), state0=state0, mask=mask)


# ----------------------------------------------------------------------------- step Jacobians

def step_jacobians(layer, x, state0=None, mask=None, return_hs=False):
    """Per-step Jacobians ``J_t = ∂s_t/∂s_{t-1}`` of an RNN, LSTM or GRU layer (see module docstring).

    Inputs:  x (T, B, D); state0 as for ``layer.forward`` (``None`` = zeros); mask (T, B) or None.
    Returns: J (T, B, S, S) float64 with ``J[t-1] = ∂s_t/∂s_{t-1}`` for ``t = 1..T``, where the state
             is ``s = h`` (S = H) for RNN/GRU and ``s = (h, c)`` concatenated (S = 2H) for LSTM;
             with ``return_hs=True`` the pair ``(J, hs)``, hs (T, B, H) the float64 outputs.
    """
    kind = _cell_kind(layer)
    x, mask = _check_sequence(layer, x, mask)
    T, B, _ = x.shape
    W_h = np.asarray(layer.params["W_h"], np.float64)           # (H, G*H)
    H = W_h.shape[0]
    hs, _, cache = _forward64(layer, x, state0, mask)
    if state0 is None:
        state0 = (np.zeros((B, H)), np.zeros((B, H))) if kind == "lstm" else np.zeros((B, H))
    h0 = np.asarray(state0[0] if kind == "lstm" else state0, np.float64)
    h_new = np.asarray(cache.h, np.float64)                      # (T, B, H) (unmasked steps)
    h = _carried_states(h_new, h0, mask)                          # (T, B, H) carried states
    h_prev = np.concatenate([h0[None], h[:-1]])                   # (T, B, H)

    diag = np.arange(H)                                           # J[..., diag, diag]: a diagonal
    if kind == "rnn":
        nonlin = getattr(layer, "nonlinearity", "tanh")
        dphi = 1.0 - h_new ** 2 if nonlin == "tanh" else (h_new > 0).astype(np.float64)   # (T, B, H)
        J = dphi[..., :, None] * W_h.T                            # (T, B, H, H)

    elif kind == "gru":
        W_hr, W_hz, W_hn = W_h[:, :H], W_h[:, H:2 * H], W_h[:, 2 * H:]
        r, z, n = (np.asarray(getattr(cache, k), np.float64) for k in ("r", "z", "n"))
        J_r = (r * (1 - r))[..., :, None] * W_hr.T                # (T, B, H, H)
        J_z = (z * (1 - z))[..., :, None] * W_hz.T
        if getattr(layer, "reset_after", False):
            b_h = np.asarray(layer.params["b_h"], np.float64)
            b_hn = b_h[2 * H:] if b_h.shape[0] == 3 * H else b_h
            u = h_prev @ W_hn + b_hn                              # (T, B, H)
            J_n = u[..., :, None] * J_r                           # diag(u) J_r
            J_n += r[..., :, None] * W_hn.T                       # + diag(r) W_hnᵀ
        else:
            J_n = W_hn.T @ (h_prev[..., :, None] * J_r)           # W_hnᵀ diag(h_{t-1}) J_r
            J_n += W_hn.T * r[..., None, :]                       # + W_hnᵀ diag(r)
        J_n *= (1 - n ** 2)[..., :, None]
        J = (1 - z)[..., :, None] * J_n
        J += (h_prev - n)[..., :, None] * J_z
        J[..., diag, diag] += z                                   # + diag(z)

    else:  # lstm
        i, f, g, o = (np.asarray(getattr(cache, k), np.float64) for k in ("i", "f", "g", "o"))
        c0 = np.asarray(state0[1], np.float64)
        c = _carried_states(np.asarray(cache.c, np.float64), c0, mask)
        c_prev = np.concatenate([c0[None], c[:-1]])               # (T, B, H)
        tc = np.tanh(c)  # at a real step c is the new cell; masked steps are replaced by I below
        W_hi, W_hf, W_hg, W_ho = (W_h[:, k * H:(k + 1) * H].T for k in range(4))
        J = np.zeros((T, B, 2 * H, 2 * H))
        dh_dh, dh_dc = J[..., :H, :H], J[..., :H, H:]             # views of the four H x H blocks
        dc_dh, dc_dc = J[..., H:, :H], J[..., H:, H:]
        np.multiply((c_prev * f * (1 - f))[..., :, None], W_hf, out=dc_dh)
        dc_dh += (g * i * (1 - i))[..., :, None] * W_hi
        dc_dh += (i * (1 - g ** 2))[..., :, None] * W_hg
        do = o * (1 - tc ** 2)                                    # (T, B, H) ∂h_t/∂c_t
        np.multiply(do[..., :, None], dc_dh, out=dh_dh)
        dh_dh += (tc * o * (1 - o))[..., :, None] * W_ho
        dh_dc[..., diag, diag] = do * f
        dc_dc[..., diag, diag] = f

    if mask is not None:
        J[~mask.astype(bool)] = np.eye(J.shape[-1])               # masked step: state carried, J = I
    return (J, hs) if return_hs else J


# ----------------------------------------------------------------------------- products and norms

def jacobian_products(layer, x, state0=None, mask=None, wrt="h"):
    """The Jacobians ``∂h_T/∂h_t`` for ``t = 0..T-1`` (``h_0 = state0``), accumulated backward from T.

    ``P ← P J_t`` for ``t = T, T-1, ..., 1``: one batched matmul per step.

    Inputs:  x (T, B, D); state0, mask as for ``layer.forward``;
             wrt: "h" -> ``∂h_T/∂h_t`` (H x H; for an LSTM with ``c_t`` held fixed, all paths),
                  "state" -> ``∂s_T/∂s_t`` (for an LSTM the 2H x 2H Jacobian of ``(h, c)``).
    Returns: P (T, B, R, R) float64, ``P[t] = ∂h_T/∂h_t`` (gap ``T - t`` steps); R = H or S.
    """
    check_option("wrt", wrt, ("h", "state"))
    J = step_jacobians(layer, x, state0, mask)                    # (T, B, S, S)
    H = layer.params["W_h"].shape[0]
    return products_from_jacobians(J, H if wrt == "h" else J.shape[-1])


def products_from_jacobians(J, R):
    """``P[t] = (J_T ... J_{t+1})[:R, :R]`` for t = 0..T-1 from step Jacobians J (T, B, S, S)."""
    T, B, S, _ = J.shape
    P = np.broadcast_to(np.eye(S)[:R], (B, R, S)).copy()          # (B, R, S): ∂h_T/∂s_T
    out = np.empty((T, B, R, R))
    for t in range(T, 0, -1):
        P = P @ J[t - 1]                                          # (B, R, S): ∂h_T/∂s_{t-1}
        out[t - 1] = P[:, :, :R]
    return out


def jacobian_product_norms(layer, x, state0=None, mask=None, ord=2, wrt="h", average=True):
    """Norms ``‖∂h_T/∂h_t‖`` for ``t = 0..T-1`` (``h_0 = state0``, gap ``T - t`` steps).

    Inputs:  as ``jacobian_products``; ord: 2 (spectral norm = largest singular value) or "fro";
             average: mean over the batch (True) or one curve per sequence (False).
    Returns: norms (T,) or (T, B), float64; ``norms[t]`` belongs to the gap ``T - t``.
    """
    check_option("ord", ord, (2, "fro"))
    P = jacobian_products(layer, x, state0, mask, wrt)            # (T, B, R, R)
    if ord == 2:
        norms = np.linalg.svd(P, compute_uv=False)[..., 0]        # (T, B) largest singular value
    else:
        norms = np.sqrt(np.sum(P ** 2, axis=(-2, -1)))            # (T, B)
    return norms.mean(axis=1) if average else norms


def hidden_state_gradients(layer, x, dhs, state0=None, mask=None, dstate=None):
    """Total gradients ``∂L/∂h_t`` for ``L = Σ_t ⟨dhs[t], hs[t]⟩ + ⟨dstate, state_T⟩``.

    ``dhs[t]`` is only the *direct* gradient on ``hs[t]`` (e.g. from an output layer at step t+1).
    The total gradient also collects what flows back from every later step:

        G_T = dhs[T-1] + dstate,     G_{t} = m_t dhs[t-1] + G_{t+1} J_{t+1}

    (``G_t = ∂L/∂h_t``, row vectors, ``J`` from ``step_jacobians``, ``m_t`` the mask; at a masked
    step ``hs`` is zero, so only the carried-through gradient remains). For an LSTM the state is
    ``(h, c)`` and the same recursion runs on the concatenated gradient.

    Inputs:  x (T, B, D), dhs (T, B, H), state0/mask/dstate as for ``layer.forward/backward``.
    Returns: G (T, B, H) float64 with ``G[t] = ∂L/∂(state after step t+1)``, i.e. ``∂L/∂hs[t]``
             counting all paths; and ``dstate0`` (``∂L/∂state0``, same structure as state0).
             For an LSTM, ``G`` is the h part; the c part is ``G_c`` in ``(G, G_c), dstate0``.
    """
    J = step_jacobians(layer, x, state0, mask)                    # (T, B, S, S)
    T, B, S, _ = J.shape
    H = layer.params["W_h"].shape[0]
    dhs = check_array("dhs", dhs, 3, (T, B, H), "TBH")
    lstm = S == 2 * H
    direct = np.zeros((T, B, S))
    direct[..., :H] = dhs if mask is None else dhs * mask[:, :, None]
    g = np.zeros((B, S))
    if dstate is not None:
        parts = dstate if lstm else (dstate,)
        for k, part in enumerate(parts):
            g[:, k * H:(k + 1) * H] = check_array(f"dstate[{k}]" if lstm else "dstate", part, 2, (B, H), "BH")
    G, g = backprop_through_jacobians(J, direct, g)
    if lstm:
        return (G[..., :H], G[..., H:]), (g[:, :H], g[:, H:])
    return G, g


def backprop_through_jacobians(J, direct, g_T):
    """BPTT with explicit Jacobians: ``G_t = direct_t + G_{t+1} J_{t+1}``, row vectors.

    Inputs: J (T, B, S, S) step Jacobians, direct (T, B, S) direct gradients on the state after
    each step, g_T (B, S) gradient arriving at the final state. Returns G (T, B, S) and ∂L/∂s_0 (B, S).
    """
    G = np.empty(direct.shape)
    g = g_T
    for t in range(J.shape[0] - 1, -1, -1):
        g = g + direct[t]                                         # ∂L/∂s_{t+1}
        G[t] = g
        g = np.einsum("bi,bij->bj", g, J[t])                      # (B, S): flows to s_t
    return G, g


def grad_norms_over_time(G, average=True):
    """Per-step Euclidean norms ``‖G[t, b]‖`` of a (T, B, H) gradient; mean over B or (T, B)."""
    G = check_array("G", G, 3, letters="TBH")
    norms = np.linalg.norm(np.asarray(G, np.float64), axis=-1)  # (T, B)
    return norms.mean(axis=1) if average else norms


# ----------------------------------------------------------------------------- spectra and the bound

def spectral_radius(W):
    """``ρ(W) = max |λ_i(W)|`` of a square matrix."""
    W = check_array("W", W, 2, letters="HH")
    if W.shape[0] != W.shape[1]:
        raise ShapeError(f"W: expected a square matrix (H, H), got shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def largest_singular_value(W):
    """``σ_max(W) = ‖W‖_2``: the most a unit vector can be stretched by W."""
    W = check_array("W", W, 2, letters="MN")
    return float(np.linalg.norm(np.asarray(W, np.float64), ord=2))


def pascanu_bound(W_h, steps, gamma=1.0):
    """Upper bound ``(γ σ_max(W_h))^k`` on ``‖∂h_T/∂h_{T-k}‖_2`` for a vanilla RNN.

    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks":
    with ``‖diag(φ')‖ ≤ γ`` (γ = 1 for tanh, 1/4 for the logistic sigmoid) every step Jacobian has
    ``‖J_t‖ ≤ γ σ_max(W_h)``, so the product of k of them is at most ``(γ σ_max)^k``.
    Hence ``σ_max < 1/γ`` is **sufficient** for the gradients to vanish (exponentially in k),
    and ``σ_max > 1/γ`` is only **necessary** (not sufficient) for them to explode.
    For a linear network the paper states the same with the spectral radius ρ (largest
    |eigenvalue|): ρ < 1 is sufficient for vanishing, ρ > 1 necessary for exploding.

    Inputs:  W_h (H, H); steps: int or array of gaps k = T - t; gamma > 0.
    Returns: the bound, float or array like ``steps``.
    """
    W_h = check_array("W_h", W_h, 2, letters="HH")
    if not (isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and np.isfinite(gamma) and gamma > 0):
        raise HyperparameterError(f"gamma: expected a finite number > 0, got {gamma!r}")
    steps = np.asarray(steps)
    if not np.issubdtype(steps.dtype, np.number) or np.any(steps < 0):
        raise HyperparameterError(f"steps: expected non-negative step counts, got {steps!r}")
    out = (gamma * largest_singular_value(W_h)) ** steps.astype(np.float64)
    return float(out) if out.ndim == 0 else out
