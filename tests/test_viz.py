"""Plotting helpers: each returns a labelled figure, runs headless, and changes no global style."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from types import SimpleNamespace

from rnn_core import viz
from rnn_core.errors import HyperparameterError, ShapeError
from rnn_core.lstm import LSTM
from rnn_core.schedules import cosine_with_warmup

plt.switch_backend("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_labelled(fig, ax, title=True):
    """A Figure, white background, axis labels set, fonts at least 10 pt."""
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.xaxis.label.get_fontsize() >= 10 and ax.yaxis.label.get_fontsize() >= 10
    for tick in ax.get_xticklabels() + ax.get_yticklabels():
        assert tick.get_fontsize() >= 10
    if title:
        assert ax.get_title() or (fig._suptitle is not None and fig._suptitle.get_text())


@pytest.fixture
def lstm_cache(rng):
    layer = LSTM(3, 5, rng=rng, dtype=np.float64)
    x = rng.standard_normal((12, 2, 3))
    return layer.forward(x)[2]


def test_plot_hidden_states(rng):
    hs = np.tanh(rng.standard_normal((20, 3, 8)))
    fig, ax = viz.plot_hidden_states(hs, b=1)
    assert_labelled(fig, ax)
    assert ax.get_xlabel() == "time step t" and ax.get_ylabel() == "hidden unit"
    im = ax.get_images()[0]
    assert im.get_array().shape == (8, 20)                      # units x time
    np.testing.assert_array_equal(im.get_array(), hs[:, 1].T)
    assert im.get_clim() == (-1.0, 1.0)                          # tanh range, white at 0
    assert len(fig.axes) == 2                                    # plus the colorbar
    # relu-sized values widen the symmetric scale; an existing ax is reused
    fig2, ax2 = plt.subplots()
    out_fig, out_ax = viz.plot_hidden_states(3 * np.abs(hs[:, 0]), ax=ax2)
    assert out_ax is ax2 and out_fig is fig2
    assert out_ax.get_images()[0].get_clim()[1] == pytest.approx(3 * np.abs(hs[:, 0]).max())


def test_plot_grad_norms_several_curves_log_scale(rng):
    curves = {"RNN": 0.5 ** np.arange(30), "LSTM": 0.9 ** np.arange(30)}
    fig, ax = viz.plot_grad_norms(curves)
    assert_labelled(fig, ax)
    assert ax.get_yscale() == "log"
    assert "log scale" in ax.get_ylabel()
    assert [l.get_text() for l in ax.get_legend().get_texts()] == ["RNN", "LSTM"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), curves["LSTM"])
    fig, ax = viz.plot_grad_norms(np.ones((3, 10)), logy=False, labels=["a", "b", "c"])
    assert ax.get_yscale() == "linear" and len(ax.get_lines()) == 3


def test_plot_gate_activations(lstm_cache):
    fig, axes = viz.plot_gate_activations(lstm_cache, gates=("i", "f", "o"), b=1)
    assert len(axes) == 4                                        # i, f, o and the cell state c
    assert [ax.get_title() for ax in axes] == ["input gate i", "forget gate f", "output gate o", "cell state c"]
    assert fig._suptitle.get_text() == "Gate activations"
    assert axes[-1].get_xlabel() == "time step t"
    for ax in axes:
        assert ax.get_ylabel() == "unit"
    assert axes[0].get_images()[0].get_clim() == (0.0, 1.0)      # sigmoid gates on [0, 1]
    np.testing.assert_array_equal(axes[1].get_images()[0].get_array(), lstm_cache.f[:, 1].T)
    fig, axes = viz.plot_gate_activations(lstm_cache, gates=("g",), cell=False)
    assert len(axes) == 1


def test_plot_gate_histograms(lstm_cache):
    fig, ax = viz.plot_gate_histograms(lstm_cache, gates=("i", "f"))
    assert_labelled(fig, ax)
    assert ax.get_xlabel() == "gate value"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["input gate i", "forget gate f"]


def test_plot_attention_bar_and_heatmap(rng):
    tokens = ["the", "cat", "sat", "down"]
    w = rng.random(4)
    w /= w.sum()
    fig, ax = viz.plot_attention(w, tokens)
    assert_labelled(fig, ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert len(ax.patches) == 4
    W = rng.random((3, 4))
    W /= W.sum(axis=1, keepdims=True)
    fig, ax = viz.plot_attention(W, tokens, query_tokens=["le", "chat", "assis"])
    assert_labelled(fig, ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["le", "chat", "assis"]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), W)


def test_plot_attention_shared_colour_scale(rng):
    # default: each heatmap's own maximum is the top of its scale; vmax= shares one scale
    tokens = ["a", "b", "c"]
    flat, peaked = np.array([[0.3, 0.3, 0.4]]), np.array([[0.1, 0.1, 0.8]])
    _, ax = viz.plot_attention(flat, tokens)
    assert ax.get_images()[0].get_clim() == (0.0, 0.4)
    for w in (flat, peaked):
        _, ax = viz.plot_attention(w, tokens, vmax=0.8)
        assert ax.get_images()[0].get_clim() == (0.0, 0.8)
    plt.close("all")


def test_plot_training_curves_object_and_dict():
    hist = SimpleNamespace(loss=[3.0, 2.0, 1.5, 1.2], grad_norm=[500.0, 3.0, 2.0, 1.0],
                           lr=[0.1, 0.1, 0.05, 0.05], val_metric=[0.5, 0.7])
    fig, axes = viz.plot_training_curves(hist)
    assert len(axes) == 4
    for ax in axes:
        assert_labelled(fig, ax)
    assert axes[3].get_xlabel() == "epoch" and axes[1].get_yscale() == "log"
    fig, axes = viz.plot_training_curves({"loss": [1.0, 0.5], "lr": [0.1, 0.1], "val_metric": []})
    assert [ax.get_ylabel() for ax in axes] == ["loss", "learning rate"]


def test_plot_predictions_and_schedule(rng):
    t = np.arange(50)
    y = np.sin(t / 5)
    fig, ax = viz.plot_predictions(t, y, y + 0.1 * rng.standard_normal(50))
    assert_labelled(fig, ax)
    assert len(ax.get_lines()) == 2
    steps = np.arange(100)
    fig, ax = viz.plot_schedule(lambda s: cosine_with_warmup(s, lr0=1e-3, total_steps=100, warmup_steps=10), steps)
    assert_labelled(fig, ax)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               cosine_with_warmup(steps, lr0=1e-3, total_steps=100, warmup_steps=10))


def test_no_global_style_change(rng, lstm_cache):
    """Importing rnn_core.viz/explore and drawing every plot leaves rcParams untouched."""
    import importlib
    import rnn_core.explore
    before = dict(matplotlib.rcParams)
    importlib.reload(viz)
    importlib.reload(rnn_core.explore)
    viz.plot_hidden_states(np.zeros((4, 3)))
    viz.plot_grad_norms(np.ones(5))
    viz.plot_gate_activations(lstm_cache)
    viz.plot_gate_histograms(lstm_cache)
    viz.plot_attention(np.ones(3) / 3, ["a", "b", "c"])
    viz.plot_training_curves({"loss": [1.0]})
    viz.plot_predictions(np.arange(3), np.zeros(3), np.ones(3))
    viz.plot_schedule(np.ones(3), np.arange(3))
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_importing_the_package_does_not_import_pyplot():
    """`import rnn_core` stays fast: pyplot is imported only when a helper draws."""
    import subprocess
    import sys
    code = "import sys, rnn_core; print('matplotlib.pyplot' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"] and out.stderr == ""


def test_errors_name_the_argument(rng, lstm_cache):
    with pytest.raises(ShapeError, match="hs"):
        viz.plot_hidden_states(np.zeros(5))
    with pytest.raises(HyperparameterError, match="b"):
        viz.plot_hidden_states(np.zeros((4, 2, 3)), b=5)
    with pytest.raises(ShapeError, match="labels"):
        viz.plot_grad_norms([np.ones(3), np.ones(3)], labels=["one"])
    with pytest.raises(HyperparameterError, match="gates"):
        viz.plot_gate_activations(lstm_cache, gates=("r",))
    with pytest.raises(ShapeError, match="tokens"):
        viz.plot_attention(np.ones(3) / 3, ["a", "b"])
    with pytest.raises(ShapeError, match="weights"):
        viz.plot_attention(np.ones((2, 2, 2)), ["a", "b"])
    with pytest.raises(HyperparameterError, match="history"):
        viz.plot_training_curves({})
    with pytest.raises(ShapeError, match="y_pred"):
        viz.plot_predictions(np.arange(4), np.zeros(4), np.zeros(3))
    with pytest.raises(ShapeError, match="schedule"):
        viz.plot_schedule(np.ones(4), np.arange(3))
