"""The vanishing-gradient explorer: exact numbers, determinism, options, widget and static twins."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from rnn_core import diagnostics as dg
from rnn_core import explore as ex
from rnn_core.errors import HyperparameterError
from rnn_core.gradcheck import rel_error

plt.switch_backend("Agg")

SMALL = dict(H=6, D=3, B=2)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fd_final_state_jacobian(layer, x, t, states):
    """Central differences of h_T w.r.t. the state after step t (t = 0: state0), per sequence (B, H, H)."""
    s = [a.copy() for a in states[t]] if isinstance(states[t], tuple) else [states[t].copy()]
    h = s[0]
    B, H = h.shape
    eps = 1e-6

    def h_T():
        st = tuple(s) if len(s) == 2 else s[0]
        out = layer.forward(x[t:], state0=st)[1] if t < x.shape[0] else st
        return (out[0] if isinstance(out, tuple) else out).copy()

    cols = []
    for k in range(H):
        old = h[:, k].copy()
        h[:, k] = old + eps
        fp = h_T()
        h[:, k] = old - eps
        fm = h_T()
        h[:, k] = old
        cols.append((fp - fm) / (2 * eps))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("cell", ex.CELLS)
def test_explore_curves_match_finite_differences(cell):
    """jacobian_norms[k] = mean_b ‖∂h_T/∂h_{T-k}‖₂ and grad_norms[k] = mean_b ‖wᵀ ∂h_T/∂h_{T-k}‖."""
    settings = dict(cell=cell, radius=1.1, T=7, init="gaussian", forget_bias=0.5, input_scale=1.5, seed=3, **SMALL)
    res = ex.explore(**settings)
    layer, x, w = ex.make_problem(**settings)
    T, B, _ = x.shape
    H = w.shape[0]
    states = [(np.zeros((B, H)), np.zeros((B, H))) if cell == "lstm" else np.zeros((B, H))]
    for t in range(T):
        states.append(layer.forward(x[t:t + 1], state0=states[-1])[1])
    for t in range(T + 1):
        J = fd_final_state_jacobian(layer, x, t, states)           # (B, H, H)
        k = T - t
        assert rel_error(res.jacobian_norms[k], np.linalg.norm(J, ord=2, axis=(1, 2)).mean()) < 1e-7
        assert rel_error(res.grad_norms[k], np.linalg.norm(w @ J, axis=-1).mean()) < 1e-7
    assert res.grad_norms[0] == pytest.approx(1.0) and res.jacobian_norms[0] == 1.0


@pytest.mark.parametrize("radius", [0.7, 1.0, 1.3])
def test_linear_rnn_decays_at_the_rate_of_the_largest_singular_value(radius):
    """input_scale = 0 keeps a tanh RNN at h = 0 where tanh' = 1: a linear network with
    W_h = ρQ (Q orthogonal), so ‖∂h_T/∂h_{T-k}‖ = ‖wᵀ(W_hᵀ)^k‖ = σ_max^k = ρ^k exactly."""
    res = ex.explore("rnn-tanh", radius=radius, T=60, init="orthogonal", input_scale=0.0, **SMALL)
    np.testing.assert_allclose(res.jacobian_norms, radius ** res.k, rtol=1e-10)
    np.testing.assert_allclose(res.grad_norms, radius ** res.k, rtol=1e-10)
    np.testing.assert_allclose(res.bound, radius ** res.k, rtol=1e-10)
    assert res.sigma_max == pytest.approx(radius)


@pytest.mark.parametrize("init", ["gaussian", "xavier"])
def test_non_orthogonal_init_is_under_the_bound_and_decays_at_the_spectral_radius(init):
    res = ex.explore("rnn-tanh", radius=0.9, T=150, init=init, input_scale=0.0, H=8, D=3, B=1, seed=1)
    assert np.all(res.jacobian_norms <= res.bound * (1 + 1e-12))
    assert res.sigma_max > 0.9                                    # σ_max ≥ ρ, strictly for these
    rate = res.jacobian_norms[-1] ** (1 / res.k[-1])               # Gelfand: ‖A^k‖^(1/k) → ρ(A)
    assert abs(rate - 0.9) < 0.05


def test_pascanu_bound_holds_with_inputs():
    for cell in ("rnn-tanh", "rnn-relu"):
        res = ex.explore(cell, radius=1.2, T=40, init="gaussian", input_scale=2.0, **SMALL)
        assert np.all(res.jacobian_norms <= res.bound * (1 + 1e-12))
        assert np.all(res.grad_norms <= res.jacobian_norms * (1 + 1e-12))   # ‖wᵀP‖ ≤ ‖P‖₂ for ‖w‖ = 1


def test_saturated_tanh_kills_the_gradient():
    """Larger inputs saturate tanh (|h| → 1, tanh' → 0): the gradient 30 steps back drops."""
    calm = ex.explore("rnn-tanh", radius=1.0, T=30, input_scale=0.1, **SMALL)
    loud = ex.explore("rnn-tanh", radius=1.0, T=30, input_scale=5.0, **SMALL)
    assert loud.saturation > calm.saturation
    assert loud.grad_norms[-1] < 1e-3 * calm.grad_norms[-1]


def test_explore_is_deterministic_given_seed():
    a = ex.explore("lstm", T=20, seed=5, **SMALL)
    b = ex.explore("lstm", T=20, seed=5, **SMALL)
    c = ex.explore("lstm", T=20, seed=6, **SMALL)
    for name in ("grad_norms", "jacobian_norms", "hidden"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.grad_norms, c.grad_norms)


@pytest.mark.parametrize("init", ex.INITS)
@pytest.mark.parametrize("cell", ex.CELLS)
def test_every_cell_and_init(cell, init):
    res = ex.explore(cell, radius=0.9, T=12, init=init, **SMALL)
    T, H = 12, SMALL["H"]
    assert res.k.tolist() == list(range(T + 1))
    assert res.grad_norms.shape == res.jacobian_norms.shape == (T + 1,)
    assert res.hidden.shape == (T, H)
    assert np.all(np.isfinite(res.grad_norms)) and np.all(res.grad_norms > 0)
    assert (res.bound is not None) == cell.startswith("rnn")
    layer, _, _ = ex.make_problem(cell, radius=0.9, T=12, init=init, **SMALL)
    W_h = layer.params["W_h"]
    for j in range(W_h.shape[1] // H):
        assert dg.spectral_radius(W_h[:, j * H:(j + 1) * H]) == pytest.approx(0.9)
    assert cell in res.title() and init in res.title()


def test_forget_bias_reaches_the_lstm():
    layer, _, _ = ex.make_problem("lstm", forget_bias=3.0, **SMALL)
    H = SMALL["H"]
    assert np.all(layer.params["b"][H:2 * H] == 3.0)
    low = ex.explore("lstm", T=40, forget_bias=-2.0, **SMALL)
    high = ex.explore("lstm", T=40, forget_bias=4.0, **SMALL)
    assert high.grad_norms[-1] > 100 * low.grad_norms[-1]        # f ≈ 1 keeps the gradient alive


@pytest.mark.parametrize("arg, value, error", [
    ("cell", "transformer", "cell"), ("init", "he", "init"), ("radius", 0.0, "radius"),
    ("radius", float("nan"), "radius"), ("T", 0, "T"), ("T", 2.5, "T"), ("T", 5000, "T"),
    ("forget_bias", "one", "forget_bias"), ("input_scale", -1.0, "input_scale"), ("H", 0, "H"),
    ("D", -2, "D"), ("B", 1.5, "B"), ("seed", -1, "seed")])
def test_bad_options_raise_hyperparameter_error(arg, value, error):
    with pytest.raises(HyperparameterError, match=error):
        ex.explore(**{arg: value})


def test_plot_explorer_figure():
    res = ex.explore("rnn-tanh", radius=1.2, T=30, **SMALL)
    fig, (ax_g, ax_h) = ex.plot_explorer(res)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert ax_g.get_yscale() == "log" and "log scale" in ax_g.get_ylabel()
    assert ax_g.get_xlabel() == "steps back from the end, T − t"
    assert [l.get_visible() for l in ax_g.get_lines()] == [True, True, True]   # gradient, Jacobian norm, bound
    np.testing.assert_allclose(ax_g.get_lines()[0].get_ydata(), res.grad_norms)
    np.testing.assert_allclose(ax_g.get_lines()[2].get_ydata(), res.bound)
    assert ax_h.get_xlabel() == "time step t" and ax_h.get_ylabel() == "hidden unit"
    assert ax_h.get_images()[0].get_array().shape == (SMALL["H"], 30)
    assert "rnn-tanh" in fig._suptitle.get_text() and "radius 1.2" in fig._suptitle.get_text()
    with pytest.raises(HyperparameterError, match="fig"):
        ex.plot_explorer(res, fig=fig)
    fig, (ax_g, _) = ex.plot_explorer(ex.explore("gru", T=10, **SMALL), fig=plt.figure(), label="Static twin")
    assert [l.get_visible() for l in ax_g.get_lines()] == [True, True, False]    # no bound for a GRU
    assert len(ax_g.get_legend().get_texts()) == 2
    assert fig._suptitle.get_text().startswith("Static twin: gru")


def test_widget_builds_and_redraws():
    pytest.importorskip("ipywidgets")
    w = ex.explorer_widget(T=20, H=6, D=3, B=2)
    assert set(w.controls) == {"cell", "init", "radius", "T", "forget_bias", "input_scale"}
    assert w.result.settings["T"] == 20 and w.controls["forget_bias"].disabled
    w.update(radius=1.3)
    assert w.result.settings["radius"] == 1.3
    assert w.redraw()[:8] == b"\x89PNG\r\n\x1a\n"
    assert w.view.fig._suptitle.get_text().startswith("Live explorer: rnn-tanh, radius 1.3")
    w.controls["cell"].value = "lstm"                             # a slider/dropdown change redraws
    assert w.result.settings["cell"] == "lstm" and not w.controls["forget_bias"].disabled
    w.update(T=25, input_scale=2.0)
    assert w.result.settings["T"] == 25 and w.result.hidden.shape == (25, 6)
    assert "application/vnd.jupyter.widget-view+json" in w._repr_mimebundle_()
    with pytest.raises(HyperparameterError, match="depth"):
        w.update(depth=3)


def test_radius_animation_static_twin():
    radii = [0.6, 1.0, 1.4]
    anim = ex.radius_animation("rnn-tanh", radii=radii, T=15, H=6, D=3, B=2, dpi=30)
    assert len(list(anim.new_frame_seq())) == len(radii)
    html = ex.static_twin_html(anim).data
    assert 'type="range"' in html and "anim-slider" in html       # the slider works without a kernel
    assert html.count("data:image/png;base64") == len(radii)
    with pytest.raises(HyperparameterError, match="radii"):
        ex.radius_animation(radii=np.linspace(0.5, 1.5, 40))
    with pytest.raises(HyperparameterError, match="default_mode"):
        ex.static_twin_html(anim, default_mode="bounce")
    # the book needs no CDN: the player's Font Awesome link is dropped unless asked for
    assert "font-awesome" not in html and 'class="fa fa-play"' in html
    assert "font-awesome" in ex.static_twin_html(anim, cdn_icons=True).data
    with pytest.raises(HyperparameterError, match="cdn_icons"):
        ex.static_twin_html(anim, cdn_icons="yes")


def test_cell_length_grid_static_twin():
    fig, axes = ex.cell_length_grid(cells=("rnn-tanh", "lstm"), lengths=(5, 10, 20), **SMALL)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["T = 5", "T = 10", "T = 20"]
    for ax in axes:
        assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log" and ax.get_xlabel()
    assert fig._suptitle.get_text().startswith("Static twin")
    with pytest.raises(HyperparameterError, match="cells"):
        ex.cell_length_grid(cells=("rnn-sigmoid",), lengths=(5,))
