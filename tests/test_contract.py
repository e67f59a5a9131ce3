"""The Module contract (CONTRIBUTING.md, "The params/grads contract"), tested on EVERY Module
subclass found in rnn_core -- discovered, not listed, so a new layer is covered when it lands.

* ``grads`` is one dict for the module's whole life, with exactly the keys of ``params`` and
  arrays of the same shapes and dtypes; ``backward`` overwrites its values (no accumulation).
  So ``grads = layer.grads; ...; opt.step(layer.params, grads)`` trains every module alike.
* ``params`` holds the arrays the forward pass reads: an in-place update of ``params[k]``
  (what every optimizer does) changes the output, also after ``astype``.
* ``astype(dtype)`` casts every parameter, the forward pass computes in that dtype, and the
  ``params``/``grads`` dicts stay the same objects.
* What ``forward`` returns belongs to the caller: editing it in place does not change
  what ``backward`` computes.

How a module is built and run is read from its signatures: constructor arguments by name
(``SIZES``), and the protocol by the first argument of ``forward``. A module this cannot
build fails with a message saying what to add here.
"""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import rnn_core
from rnn_core.module import Module
from rnn_core.optim import SGD

T, B = 5, 3
SIZES = {"input_size": 3, "hidden_size": 4, "attention_size": 3, "query_size": 4, "key_size": 4,
         "V": 7, "D": 3, "in_features": 3, "out_features": 2, "rate": 0.5, "vocab_size": 7,
         "embed_size": 3, "num_classes": 2, "output_size": 2, "num_layers": 2, "cell": "lstm",
         "src_vocab_size": 7, "tgt_vocab_size": 6}


def all_modules():
    """Every public Module subclass defined in a module of rnn_core (including rnn_core.Module's own)."""
    found = {}
    for info in pkgutil.iter_modules(rnn_core.__path__):
        mod = importlib.import_module(f"rnn_core.{info.name}")
        for name, cls in vars(mod).items():
            if (inspect.isclass(cls) and issubclass(cls, Module) and cls is not Module
                    and cls.__module__ == mod.__name__ and not name.startswith("_")):
                found[f"{cls.__module__}.{name}"] = cls
    return found


MODULES = all_modules()


def test_discovery_finds_the_known_modules():
    for name in ["rnn_core.rnn.RNN", "rnn_core.lstm.LSTM", "rnn_core.gru.GRU", "rnn_core.peephole.PeepholeLSTM",
                 "rnn_core.layers.Dense", "rnn_core.layers.Embedding", "rnn_core.attention.AdditiveAttention",
                 "rnn_core.attention.AttentionLSTM", "rnn_core.models.CharLM",
                 "rnn_core.models.SequenceClassifier", "rnn_core.models.SequenceRegressor"]:
        assert name in MODULES, sorted(MODULES)


def build(cls, dtype=np.float64):
    kw = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name == "dtype":
            kw["dtype"] = dtype
        elif name == "rng":
            kw["rng"] = 0
        elif p.default is inspect.Parameter.empty:
            if name not in SIZES:
                pytest.fail(f"{cls.__name__}: tests/test_contract.py does not know a value for the constructor "
                            f"argument {name!r}; add one to SIZES")
            kw[name] = SIZES[name]
    return cls(**kw)


def make_run(m, seed=0):
    """A function ``run() -> outputs`` doing forward + backward with fixed random inputs; outputs is
    a list of arrays (forward outputs, then input gradients). Read from ``forward``'s signature."""
    g = np.random.default_rng(seed)
    dt = getattr(m, "dtype", np.float64)
    if callable(getattr(m, "loss_and_grads", None)):               # a model: loss_and_grads(x, y, mask=None)
        cfg = m.config
        if "src_vocab_size" in cfg:                                # an encoder-decoder: <s> ... </s> targets
            x = g.integers(3, cfg["src_vocab_size"], (T, B))
            y = np.concatenate([np.full((1, B), cfg["start_id"]), g.integers(3, cfg["tgt_vocab_size"], (T - 2, B)),
                                np.full((1, B), cfg["end_id"])])

            def run():
                return [np.asarray(m.loss_and_grads(x, y))]
            return run
        x = (g.integers(1, cfg["vocab_size"], (T, B)) if "vocab_size" in cfg
             else g.standard_normal((T, B, cfg["input_size"])))
        if "num_classes" in cfg:
            y = g.integers(0, cfg["num_classes"], B)
        elif "output_size" in cfg:
            y = g.standard_normal((B, cfg["output_size"]))
        else:
            y = g.integers(0, cfg["vocab_size"], (T, B))
        mask = np.ones((T, B))
        mask[-1, 0] = 0

        def run():
            out = m.loss_and_grads(x, y, mask)
            return [np.asarray(out[0] if isinstance(out, tuple) else out)]
        return run
    first = [n for n in inspect.signature(m.forward).parameters if n != "self"][0]
    if first == "x" and hasattr(m, "hidden_size"):                 # a recurrent layer
        x = g.standard_normal((T, B, m.input_size))

        def run():
            out = m.forward(x)
            dy = g.standard_normal(np.shape(out[0]))
            back = m.backward(dy, out[-1])
            return list(_arrays(out[:-1])) + list(_arrays(back))
        return run
    if first == "x":                                               # elementwise or dense
        x = g.standard_normal((T, B, getattr(m, "in_features", 3)))
    elif first == "ids":
        x = g.integers(0, m.V, (T, B))
    elif first == "query":
        H = getattr(m, "key_size", 4)
        q, keys = g.standard_normal((B, getattr(m, "query_size", H))), g.standard_normal((T, B, H))

        def run():
            out = m.forward(q, keys)
            back = m.backward(g.standard_normal(out[0].shape), out[-1])
            return list(_arrays(out[:-1])) + list(_arrays(back))
        return run
    else:
        pytest.fail(f"{type(m).__name__}: tests/test_contract.py does not know how to call forward({first}, ...)")

    def run():
        out = m.forward(x)
        back = m.backward(g.standard_normal(np.shape(out[0])).astype(dt), out[-1])
        return list(_arrays(out[:-1])) + list(_arrays(back))
    return run


def _arrays(obj):
    """The ndarrays in a (nested) tuple/list."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _arrays(o)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_grads_is_one_dict_overwritten_by_backward(name):
    m = build(MODULES[name])
    params, grads = m.params, m.grads
    assert set(grads) == set(params), name
    make_run(m, seed=1)()
    first = {k: np.array(v) for k, v in m.grads.items()}
    make_run(m, seed=2)()                                          # other inputs
    make_run(m, seed=1)()                                          # the first inputs again
    assert m.grads is grads and m.params is params, f"{name}: backward replaced the grads/params dict"
    assert set(grads) == set(params), f"{name}: grads keys {sorted(grads)} != params keys {sorted(params)}"
    for k, p in params.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, (name, k, grads[k].shape, p.shape)
        np.testing.assert_array_equal(grads[k], first[k], err_msg=f"{name}: grads[{k!r}] accumulated")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_holding_grads_and_stepping_trains(name):
    """The pattern of issue 10: hold ``grads``, call backward, step. Every module must move."""
    m = build(MODULES[name])
    grads = m.grads
    run = make_run(m, seed=3)
    run()
    fresh = {k: np.array(v) for k, v in m.grads.items()}
    before = {k: np.array(p) for k, p in m.params.items()}
    SGD(0.1).step(m.params, grads)
    for k, p in m.params.items():
        np.testing.assert_allclose(p, before[k] - 0.1 * fresh[k], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: the held grads[{k!r}] was stale")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_astype_keeps_params_live_and_computes_in_the_new_dtype(name):
    m = build(MODULES[name], dtype=np.float32)
    params, grads = m.params, m.grads
    assert m.astype(np.float64) is m
    assert m.params is params and m.grads is grads, f"{name}: astype replaced the params/grads dict"
    for k, p in m.params.items():
        assert p.dtype == np.float64 and grads[k].dtype == np.float64, (name, k, p.dtype, grads[k].dtype)
    out = make_run(m, seed=4)()
    for a in out:
        if np.issubdtype(a.dtype, np.floating):
            assert a.dtype == np.float64, f"{name}: computes in {a.dtype} after astype(float64)"
    if not m.params:
        return
    for p in m.params.values():                                    # what an optimizer does
        p += 0.1
    out2 = make_run(m, seed=4)()
    assert any(not np.array_equal(a, b) for a, b in zip(out, out2)), \
        f"{name}: changing params in place after astype changed nothing (the layers read other arrays)"


def _sequence_layers():
    out = []
    for name, cls in sorted(MODULES.items()):
        if callable(getattr(cls, "loss_and_grads", None)):
            continue
        first = [n for n in inspect.signature(cls.forward).parameters if n != "self"][0]
        if first == "x" and {"input_size", "hidden_size"} <= set(inspect.signature(cls.__init__).parameters):
            marks = []
            out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _sequence_layers())
def test_forward_outputs_belong_to_the_caller(name):
    """Editing ``hs`` or the final state in place before ``backward`` must not change the gradients."""
    m = build(MODULES[name])
    g = np.random.default_rng(5)
    x = g.standard_normal((T, B, m.input_size))
    out = m.forward(x)
    dy = g.standard_normal(np.shape(out[0]))
    want_dx = np.array(list(_arrays(m.backward(dy, out[-1])))[0])
    want = {k: np.array(v) for k, v in m.grads.items()}
    out = m.forward(x)
    for a in _arrays(out[:-1]):
        a[...] = 7.0                                               # the user edits what they got
    dx = list(_arrays(m.backward(dy, out[-1])))[0]
    np.testing.assert_array_equal(dx, want_dx, err_msg=f"{name}: editing the outputs changed dx")
    for k in want:
        np.testing.assert_array_equal(m.grads[k], want[k], err_msg=f"{name}: editing the outputs changed {k}")
