"""The kernel-free explorer: the values embedded in the book equal rnn_core.explore's."""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rnn_core import explore_static as es
from rnn_core.errors import HyperparameterError
from rnn_core.explore import explore

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")) / "_static" / es.ASSET_DIR
TINY = {"cell": ("rnn-tanh", "lstm"), "init": ("orthogonal", "gaussian"), "radius": (0.9, 1.1), "T": (4, 9),
        "forget_bias": (0.0, 2.0), "input_scale": (0.0, 1.5)}
TINY_FIXED = dict(H=5, D=3, B=2, seed=1)
HALF_MILLI = 0.5 + 1e-6                  # encode_curve rounds 1000·log10 to an int (+ BLAS kernel noise)


def read_script(path: Path) -> dict:
    """The JSON argument of ``RNNExplorer.add(...)`` / ``RNNExplorer.setGrid(...)`` in an asset."""
    text = path.read_text(encoding="utf-8").strip()
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def check_point(chunk, grid, fixed, i, j, k):
    """The stored run at radius[i], input_scale[j], T[k] against a fresh ``explore``."""
    cell, fb = chunk["cell"], chunk["forget_bias"]
    r = explore(cell, grid["radius"][i], grid["T"][k], chunk["init"], 1.0 if fb is None else fb,
                grid["input_scale"][j], **fixed)
    run = chunk["runs"][i][j][k]
    for codes, exact in ((run["g"], r.grad_norms), (run["j"], r.jacobian_norms)):
        assert len(codes) == grid["T"][k] + 1
        zero = ~(np.isfinite(exact) & (exact > 0))                      # stored as None (a gap)
        assert [c is None for c in codes] == zero.tolist()
        stored = np.array([c for c, z in zip(codes, zero) if not z], dtype=float)
        np.testing.assert_array_less(np.abs(stored - 1000 * np.log10(exact[~zero])), HALF_MILLI)
    if r.bound is None:
        assert run["b"] is None
    else:
        assert abs(run["b"] - 1000 * np.log10(r.bound[-1])) <= HALF_MILLI
    assert run["s"] == pytest.approx(r.saturation, abs=1e-6)
    assert chunk["sigma"][i] == pytest.approx(r.sigma_max, abs=1e-6)
    vmax, text = chunk["hidden"][i][j]                                   # stored for the longest T
    h = es.decode_hidden(vmax, text, fixed["H"])[:grid["T"][k]]          # ... its first T steps
    assert h.shape == r.hidden.shape
    assert np.max(np.abs(h - r.hidden)) <= vmax / (es.LEVELS - 1) * (1 + 1e-9)


def test_curve_encoding_round_trip():
    v = np.array([1.0, 3.7e-5, 2.2e12, 0.0, np.inf, 1e-300])
    codes = es.encode_curve(v)
    assert codes[0] == 0 and codes[3] is None and codes[4] is None
    back = es.decode_curve(codes)
    ok = [0, 1, 2, 5]
    np.testing.assert_allclose(back[ok], v[ok], rtol=10 ** 0.0005 - 1)
    assert np.isnan(back[3]) and np.isnan(back[4])


def test_hidden_encoding_round_trip():
    h = np.random.default_rng(0).uniform(-1, 1, (7, 5))
    vmax, text = es.encode_hidden(h)
    assert vmax == 1.0 and len(text) == 35 and set(text) <= set(es.ALPHABET)
    assert np.max(np.abs(es.decode_hidden(vmax, text, 5) - h)) <= 1 / (es.LEVELS - 1)
    vmax, text = es.encode_hidden(np.array([[0.0, -7.5]]))               # relu states can exceed 1
    assert vmax == 7.5 and es.decode_hidden(vmax, text, 2).tolist() == [[0.0, -7.5]]


@pytest.mark.parametrize("cell, fb", [("rnn-tanh", None), ("lstm", 2.0)])
def test_grid_chunk_equals_explore_at_every_point(cell, fb):
    chunk = es.grid_chunk(cell, "gaussian", fb, TINY, TINY_FIXED)
    assert chunk["name"] == es.chunk_name(cell, "gaussian", fb)
    for i in range(2):
        for j in range(2):
            for k in range(2):
                check_point(chunk, TINY, TINY_FIXED, i, j, k)


def test_grid_chunk_rejects_a_forget_bias_for_the_wrong_cell():
    with pytest.raises(HyperparameterError, match="forget_bias"):
        es.grid_chunk("gru", "orthogonal", 1.0, TINY, TINY_FIXED)
    with pytest.raises(HyperparameterError, match="forget_bias"):
        es.grid_chunk("lstm", "orthogonal", None, TINY, TINY_FIXED)


def test_write_assets_writes_every_chunk_once(tmp_path):
    assert es.write_assets(tmp_path, TINY, TINY_FIXED)
    names = sorted(p.stem for p in tmp_path.glob("*.js"))
    assert names == sorted(["index", "rnn-tanh-orthogonal", "rnn-tanh-gaussian", "lstm-orthogonal-fb0",
                            "lstm-orthogonal-fb2", "lstm-gaussian-fb0", "lstm-gaussian-fb2"])
    meta = read_script(tmp_path / "index.js")
    assert meta["grid"]["radius"] == [0.9, 1.1] and len(meta["colors"]) == es.LEVELS
    assert not es.write_assets(tmp_path, TINY, TINY_FIXED)               # up to date: skipped
    assert es.write_assets(tmp_path, TINY, dict(TINY_FIXED, seed=2))     # another grid: rewritten


def test_explorer_cell_output():
    html = es.explorer(cell="lstm", forget_bias=3.0, T=200)._repr_html_()
    assert 'class="rnn-explorer"' in html and "live explorer" in html
    opening = json.loads(html.split("data-open='")[1].split("'")[0])
    assert opening == dict(cell="lstm", init="orthogonal", radius=1.0, T=200, forget_bias=3.0, input_scale=1.0)
    for bad in (dict(radius=0.7), dict(T=60), dict(cell="peephole"), dict(forget_bias=10.0)):
        with pytest.raises(HyperparameterError, match=list(bad)[0]):
            es.explorer(**bad)


def test_widget_state_is_dropped_from_pages():
    env = SimpleNamespace(nb_metadata={"nb": {"js_files": {"ipywidgets_state": (None, {}), "x": ("x.js", {})}}})
    es._drop_widget_state(SimpleNamespace(env=env), "nb", "page.html", {}, None)
    assert list(env.nb_metadata["nb"]["js_files"]) == ["x"]
    es._drop_widget_state(SimpleNamespace(env=SimpleNamespace()), "other", "page.html", {}, None)


# ----------------------------------------------------------------------------- the built book

@pytest.fixture(scope="module")
def built():
    if not (ASSETS / "index.js").is_file():
        pytest.skip(f"no explorer data at {ASSETS}: build the book first (make book)")
    meta = read_script(ASSETS / "index.js")
    assert meta["fingerprint"] == es._fingerprint(es.GRID, es.FIXED), \
        "the built explorer data are stale: rebuild the book"
    return meta


def test_built_book_has_every_chunk(built):
    want = {es.chunk_name(c, i, f) for c, i, f in es._all_chunks(es.GRID)}
    have = {p.stem for p in ASSETS.glob("*.js")} - {"index"}
    assert have == want
    assert built["grid"] == json.loads(json.dumps(es.GRID)) and built["fixed"] == es.FIXED


def test_built_values_equal_explore_at_sampled_grid_points(built):
    """Twelve grid points, one per cell and init at least, drawn with a fixed seed."""
    rng = np.random.default_rng(12)
    grid = es.GRID
    chunks = list(es._all_chunks(grid))
    picks = [c for c in chunks if c[2] in (None, 1.0)] + [chunks[k] for k in rng.choice(len(chunks), 3)]
    for cell, init, fb in picks[:15]:
        chunk = read_script(ASSETS / f"{es.chunk_name(cell, init, fb)}.js")
        i, j, k = (int(rng.integers(len(grid[n]))) for n in ("radius", "input_scale", "T"))
        check_point(chunk, grid, es.FIXED, i, j, k)
