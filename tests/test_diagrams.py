"""Every diagram of ``rnn_core.diagrams`` is drawn here, so a broken diagram fails the suite.

Checks: each renders to a non-empty PNG of at most the column width at 100 dpi, has text (no
text smaller than ``style.SMALL`` points), an opaque white background and a non-empty alt text
that reaches the ``<img alt=...>`` a notebook shows; the BPTT arrows' widths and colours follow
the gradient norms given; the LSTM annotation refuses numbers that are not one real step.
"""
from __future__ import annotations

import html
import re

import numpy as np
import pytest

import rnn_core as rc
from rnn_core import diagrams
from rnn_core.diagrams import style
from rnn_core.errors import HyperparameterError, ShapeError


def _lstm_values(seed=0):
    """One unit of one real LSTM step."""
    lstm = rc.LSTM(3, 4, rng=seed, dtype=np.float64)
    x = np.random.default_rng(seed).standard_normal((5, 1, 3))
    _, _, cache = lstm.forward(x)
    t, u = 3, 1
    return dict(c_prev=cache.c[t - 1, 0, u], i=cache.i[t, 0, u], f=cache.f[t, 0, u], g=cache.g[t, 0, u],
                o=cache.o[t, 0, u], c=cache.c[t, 0, u], h=cache.h[t, 0, u])


def _norms(T=20):
    return {"simple RNN": 0.7 ** np.arange(T)[::-1], "LSTM": 0.97 ** np.arange(T)[::-1]}


DIAGRAMS = {
    "legend": lambda: diagrams.legend(),
    "rnn_folded_unrolled": lambda: diagrams.rnn_folded_unrolled(),
    "bptt_long": lambda: diagrams.bptt(_norms(50)),
    "bptt_short_direct": lambda: diagrams.bptt({"RNN": [0.5, 0.4, 0.3, 0.0]}, direct={"RNN": [1.0, 1.0, 2.0, 3.0]},
                                               node_values={"RNN": [1, 2, 3, 4]}),
    "lstm_cell": lambda: diagrams.lstm_cell(),
    "lstm_cell_values": lambda: diagrams.lstm_cell(values=_lstm_values()),
    "lstm_cell_peephole_full": lambda: diagrams.lstm_cell(peephole="full"),
    "gru_cell": lambda: diagrams.gru_cell(),
    "gru_cell_reset_after": lambda: diagrams.gru_cell(reset_after=True),
    "gru_reset_conventions": lambda: diagrams.gru_reset_conventions(),
    "peepholes": lambda: diagrams.peepholes(),
    "attention": lambda: diagrams.attention(["a", "b", "c", "d"], [1.0, -1.0, 0.5, -np.inf],
                                            _softmax([1.0, -1.0, 0.5, -np.inf])),
    "encoder_decoder": lambda: diagrams.encoder_decoder(["je", "suis", "là"], ["I", "am", "here"],
                                                        np.full((3, 3), 1 / 3), step=1),
    "encoder_decoder_sketch": lambda: diagrams.encoder_decoder(["a", "b"], ["c"]),
    "connectivity": lambda: diagrams.connectivity("to be, or not to b", _kappas(18), "e",
                                                  {k: 0.5 for k in _kappas(18)}),
}


def _softmax(e):
    e = np.asarray(e, dtype=np.float64)
    w = np.exp(e - e[np.isfinite(e)].max())
    return w / w.sum()


def _kappas(T):
    steps = np.arange(T)[::-1]
    return {"RNN": 0.6 ** steps, "LSTM": 0.9 ** steps, "GRU": 0.8 ** steps}


@pytest.mark.parametrize("name", sorted(DIAGRAMS))
def test_every_diagram_renders_with_text_and_alt(name):
    d = DIAGRAMS[name]()
    png = d.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    w, h = d.fig.get_size_inches()
    assert w <= style.MAX_WIDTH + 1e-9 and h > 1
    assert d.fig.get_facecolor()[3] == 1.0                       # opaque: readable on the dark theme
    texts = [t for t in d.fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize"))
             if t.get_text().strip() and t.get_visible()]
    assert len(texts) >= 3, "a diagram must label what it shows"
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < style.SMALL - 1e-9]
    assert not small, f"text smaller than {style.SMALL} pt: {small[:5]}"
    assert len(d.alt) > 80
    tag = d._repr_html_()
    alt = re.search(r'alt="([^"]*)"', tag).group(1)
    assert html.unescape(alt) == d.alt
    natural = int(round(w * style.DPI))
    assert f'style="max-width:100%;min-width:{int(0.75 * natural)}px;height:auto"' in tag   # >= 75% of natural
    assert 'overflow-x:auto' in tag                                # a phone scrolls the box instead
    assert re.search(r'width="(\d+)"', tag).group(1) == str(int(round(w * style.DPI)))


def test_diagrams_do_not_register_with_pyplot():
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    diagrams.lstm_cell()
    assert plt.get_fignums() == before                           # a notebook shows only what it returns


def test_bptt_arrow_widths_and_colours_follow_the_norms():
    norms = _norms(30)
    d = diagrams.bptt(norms)
    lo, hi = style.grad_limits(*norms.values())
    for name, values in norms.items():
        widths = []
        for t, v in enumerate(values, start=1):
            arrow = d.artists[f"grad:{name}:{t}"]
            lw, color = style.grad_style(v, lo, hi)
            assert arrow.get_linewidth() == pytest.approx(lw)
            np.testing.assert_allclose(arrow.get_edgecolor(), color)
            widths.append(arrow.get_linewidth())
        # the norms grow towards the loss, and so do the arrows (strictly, both rows)
        assert np.all(np.diff(widths) > 0)
    # the RNN's first arrow is thinner and paler than the LSTM's: the vanishing gradient is seen
    rnn, lstm = d.artists["grad:simple RNN:1"], d.artists["grad:LSTM:1"]
    assert rnn.get_linewidth() < lstm.get_linewidth()
    assert sum(rnn.get_edgecolor()[:3]) > sum(lstm.get_edgecolor()[:3])


def test_grad_style_is_monotone_and_clipped():
    lo, hi = 1e-6, 1.0
    vals = np.logspace(-8, 1, 40)
    lws = [style.grad_style(v, lo, hi)[0] for v in vals]
    assert np.all(np.diff(lws) >= 0)
    assert style.grad_style(1e-9, lo, hi) == style.grad_style(lo, lo, hi)
    assert style.grad_style(5.0, lo, hi) == style.grad_style(hi, lo, hi)


def test_bptt_zero_norm_draws_no_arrow_and_checks_its_input():
    d = diagrams.bptt({"x": [1.0, 0.5, 0.0]})
    assert "grad:x:3" not in d.artists and "grad:x:2" in d.artists
    d = diagrams.bptt({"y": [0.0, 0.0]}, direct={"y": [1.0, 2.0]})   # only the outputs' gradients
    assert set(d.artists) == {"direct:y:1", "direct:y:2"}
    with pytest.raises(ShapeError, match="flows"):
        diagrams.bptt({"a": np.ones(4), "b": np.ones(5)})
    with pytest.raises(HyperparameterError, match="flows"):
        diagrams.bptt({"a": [1.0, -1.0]})
    with pytest.raises(HyperparameterError, match="direct"):
        diagrams.bptt({"a": [1.0, 1.0]}, direct={"b": [1.0, 1.0]})


def test_bptt_animation_steps_backward_and_has_alt(tmp_path):
    anim, alt = diagrams.bptt_animation(_norms(8), max_frames=30)
    frames = list(anim._framedata) if hasattr(anim, "_framedata") else None
    html_player = diagrams.static_twin(anim, alt).data
    assert "font-awesome" not in html_player                     # no CDN asset
    imgs = re.findall(r"<img [^>]*>", html_player)
    assert imgs and all('alt="' in i for i in imgs)
    assert re.search(r'alt="[^"]{80,}"', imgs[0])
    n_frames = len(re.findall(r"frames\[\d+\] = ", html_player))
    assert n_frames == 8, frames


def test_lstm_values_must_be_one_real_step():
    v = _lstm_values()
    d = diagrams.lstm_cell(values=v)
    shown = {t.get_text() for t in d.fig.texts + d.fig.axes[0].texts}
    assert f"{v['f']:.2f}" in shown and f"{v['h']:+.2f}" in shown
    assert f"{v['f'] * v['c_prev']:+.2f}" in shown                 # f ⊙ c_{t-1}, computed from them
    bad = dict(v, c=v["c"] + 0.5)
    with pytest.raises(HyperparameterError, match="values"):
        diagrams.lstm_cell(values=bad)
    with pytest.raises(HyperparameterError, match="values"):
        diagrams.lstm_cell(values={"i": 0.5})


def test_gates_have_distinct_colours_and_bad_options_are_refused():
    colors = {g: style.GATE_COLORS[g] for g in "ifgorz"}
    assert len(set(colors.values())) == 6
    with pytest.raises(HyperparameterError):
        diagrams.lstm_cell(peephole="sideways")
    with pytest.raises(HyperparameterError):
        diagrams.peepholes(H=40)
    with pytest.raises(HyperparameterError, match="alt"):
        style.Diagram(style.new_figure(2, 2), "  ")
    with pytest.raises(HyperparameterError, match="width"):
        style.new_figure(12, 2)


def test_attention_lines_are_as_wide_as_the_weights():
    e = np.array([2.0, -1.0, 0.3, 0.0, 1.0])
    a = _softmax(e)
    d = diagrams.attention(list("abcde"), e, a)
    widths = np.array([d.artists[f"alpha:{t}"].get_linewidth() for t in range(1, 6)])
    from rnn_core.diagrams.attention import MAX_LW
    np.testing.assert_allclose(widths, 0.3 + MAX_LW * a)
    assert f"{a.max():.2f}" in d.alt
    with pytest.raises(HyperparameterError, match="weights"):
        diagrams.attention(list("ab"), [0.0, 0.0], [0.7, 0.7])
    with pytest.raises(ShapeError, match="tokens"):
        diagrams.attention(list("abcdefghijklmn"), np.zeros(14), np.full(14, 1 / 14))


def test_encoder_decoder_draws_the_chosen_step():
    W = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    d = diagrams.encoder_decoder(["x", "y", "z"], ["p", "q"], W, step=1)
    widths = [d.artists[f"alpha:{t}"].get_linewidth() for t in (1, 2, 3)]
    assert np.argmax(widths) == 2 and "0.80" in d.alt
    with pytest.raises(HyperparameterError, match="step"):
        diagrams.encoder_decoder(["x"], ["p"], step=3)
    with pytest.raises(HyperparameterError, match="weights"):
        diagrams.encoder_decoder(["x", "y"], ["p"], [[0.9, 0.9]])


def test_connectivity_norms_match_finite_differences():
    """κ_t is the norm of ∂ log p(target)/∂x_t: checked against central differences in float64."""
    V, T = 7, 6
    ids = np.random.default_rng(0).integers(0, V, T)
    target = 3
    for cell in ("rnn", "lstm", "gru"):
        lm = rc.CharLM(V, hidden_size=5, cell=cell, rng=1, dtype=np.float64)
        for p in lm.params.values():                                # random non-zero biases too
            p += 0.1 * np.random.default_rng(2).standard_normal(p.shape)
        kappa, p_target = diagrams.connectivity_norms(lm, ids, target)

        def log_p(x):
            hs, _, _ = lm.cell.forward(x)
            logits, _ = lm.out.forward(hs)
            z = logits[-1, 0]
            return z[target] - np.log(np.sum(np.exp(z - z.max()))) - z.max()

        x = np.eye(V)[ids][:, None, :]
        assert np.exp(log_p(x)) == pytest.approx(p_target, rel=1e-12)
        num = np.zeros((T, V))
        eps = 1e-6
        for t in range(T):
            for v in range(V):
                xp, xm = x.copy(), x.copy()
                xp[t, 0, v] += eps
                xm[t, 0, v] -= eps
                num[t, v] = (log_p(xp) - log_p(xm)) / (2 * eps)
        np.testing.assert_allclose(kappa, np.linalg.norm(num, axis=1), rtol=1e-7)


def test_connectivity_shading_follows_kappa():
    kappas = _kappas(12)
    d = diagrams.connectivity("abcdefghijkl", kappas, "m")
    for name, k in kappas.items():
        fills = [d.artists[f"char:{name}:{t}"].get_facecolor() for t in range(1, 13)]
        darkness = [-sum(f[:3]) for f in fills]
        assert np.all(np.diff(darkness) >= -1e-12)                  # later characters: larger κ, darker
    assert diagrams.reach(kappas["LSTM"]) > diagrams.reach(kappas["RNN"])
    assert diagrams.reach(np.array([1e-3, 0.5, 1.0])) == 2
    with pytest.raises(ShapeError, match="norms"):
        diagrams.connectivity("abc", {"x": np.ones(4)}, "d")
