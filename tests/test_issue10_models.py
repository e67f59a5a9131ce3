"""Regression tests of issue 10 for the models: astype that really casts the layers, save/load on
the path the user gave, and a clear error for every broken file load_model can meet."""
import json
import zipfile

import numpy as np
import pytest

import rnn_core
from rnn_core import Adam, RNNCoreError, fit
from rnn_core.models import CharLM, SequenceClassifier, SequenceRegressor, load_model

MAKERS = {
    "CharLM": (lambda: CharLM(6, 5, cell="gru", embed_size=3, rng=0),
               lambda g: (g.integers(0, 6, (4, 3)), g.integers(0, 6, (4, 3)))),
    "SequenceClassifier": (lambda: SequenceClassifier(6, 3, 5, 2, cell="lstm", pooling="attention", rng=0),
                           lambda g: (g.integers(1, 6, (4, 3)), g.integers(0, 2, 3))),
    "SequenceRegressor": (lambda: SequenceRegressor(2, 5, 1, cell="rnn", rng=0),
                          lambda g: (g.standard_normal((4, 3, 2)), g.standard_normal((3, 1)))),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_astype_float64_trains_and_computes_in_float64(name):
    make, data = MAKERS[name]
    m = make().astype(np.float64)
    batch = data(np.random.default_rng(0))
    assert m.forward(batch[0])[0].dtype == np.float64
    for layer in m.layers.values():
        for k, p in layer.params.items():
            assert p.dtype == np.float64
    before = m.evaluate(*batch)[0]
    fit(m, [batch], optimizer=Adam(0.05), epochs=5, progress=False)
    assert m.evaluate(*batch)[0] < before - 1e-3                    # training changed the model
    assert all(p.dtype == np.float64 for p in m.params.values())


@pytest.mark.parametrize("name", list(MAKERS))
@pytest.mark.parametrize("filename", ["weights.bin", "weights", "weights.npz", "dir.with.dots/w"])
def test_save_and_load_agree_on_the_path(name, filename, tmp_path):
    make, data = MAKERS[name]
    m = make()
    path = tmp_path / filename
    path.parent.mkdir(exist_ok=True)
    m.save(path)
    assert path.exists() and sorted(p.name for p in path.parent.iterdir()) == [path.name]
    for loaded in (load_model(path), type(m).load(str(path))):
        for k in m.params:
            np.testing.assert_array_equal(loaded.params[k], m.params[k])


def _saved(tmp_path, edit=None, config=None, name="bad.npz"):
    """A saved regressor's entries, optionally edited, written to an .npz."""
    m = SequenceRegressor(2, 3, 1, cell="rnn", rng=0)
    m.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz", allow_pickle=False) as f:
        entries = {k: f[k] for k in f.files}
    if config is not None:
        entries["__config__"] = np.array(config)
    if edit is not None:
        edit(entries)
    path = tmp_path / name
    with open(path, "wb") as fh:
        np.savez(fh, **entries)
    return path


def _broken_files(tmp_path, case):
    rng = np.random.default_rng(0)
    (tmp_path / "random.npz").write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    good = _saved(tmp_path).read_bytes()
    (tmp_path / "truncated.npz").write_bytes(good[: len(good) // 2])
    np.save(tmp_path / "single.npy", np.zeros(3))
    cfg = {"class": "SequenceRegressor", "input_size": 2, "hidden_size": 3, "output_size": 1, "cell": "rnn",
           "dtype": "float32"}
    cases = {
        "random bytes": (tmp_path / "random.npz", "not an .npz archive"),
        "truncated": (tmp_path / "truncated.npz", "not an .npz archive|truncated|damaged"),
        "a .npy array": (tmp_path / "single.npy", "not an .npz archive"),
        "no config": (lambda: _saved(tmp_path, edit=lambda e: e.pop("__config__")), "'__config__'"),
        "config not JSON": (lambda: _saved(tmp_path, config="{input_size: 2,"), "__config__.*JSON"),
        "config misses a field": (lambda: _saved(tmp_path, config=json.dumps({k: v for k, v in cfg.items()
                                                                     if k != "hidden_size"})), "hidden_size"),
        "config misses the class": (lambda: _saved(tmp_path, config=json.dumps({k: v for k, v in cfg.items()
                                                                       if k != "class"})), "'class'"),
        "a NaN parameter": (lambda: _saved(tmp_path, edit=lambda e: e["rnn.W_h"].__setitem__((0, 0), np.nan)),
                            "rnn.W_h.*finite.*1 NaN"),
        "a missing parameter": (lambda: _saved(tmp_path, edit=lambda e: e.pop("out.b")), "out.b"),
    }
    make, what = cases[case]
    return (make() if callable(make) else make), what


CASES = ["random bytes", "truncated", "a .npy array", "no config", "config not JSON", "config misses a field",
         "config misses the class", "a NaN parameter", "a missing parameter"]


@pytest.mark.parametrize("case", CASES)
def test_load_model_names_the_file_and_what_is_wrong(case, tmp_path):
    path, what = _broken_files(tmp_path, case)
    for load in (load_model, SequenceRegressor.load):
        with pytest.raises(RNNCoreError, match=what) as e:
            load(path)
        msg = str(e.value)
        assert str(path) in msg and "expected" in msg and "allow_pickle" not in msg, msg


def test_load_model_missing_file_says_which(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        load_model(tmp_path / "nothing.npz")
