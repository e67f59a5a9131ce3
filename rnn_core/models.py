"""Whole models composed from the cells and layers, ready for ``fit``.

    CharLM              ids (T, B) -> [one-hot or Embedding] -> cell -> Dense -> logits (T, B, V)
    SequenceClassifier  ids (T, B) + mask -> Embedding -> cell -> last real h or attention -> Dense -> (B, C)
    SequenceRegressor   x (T, B, D) + mask -> cell -> last real h -> Dense -> (B, O)

Every model follows the training protocol of ``rnn_core.train``:

* ``params`` / ``grads``: flat dicts with prefixed names (``"rnn.W_x"``, ``"out.W"``, ...).
  ``params`` holds *the sub-layers' own arrays*, so an optimizer's in-place update reaches
  them; ``grads`` is refreshed from the sub-layers after every backward.
* ``loss_and_grads(x, y, mask=None)``: forward, loss, backward; fills ``grads`` and returns the
  loss (a float). The same signature for every model, so ``fit`` can call ``loss_and_grads(*batch)``
  on batches ``(x, y)`` or ``(x, y, mask)``.
* ``evaluate(x, y, mask=None)``: ``(loss, metric)`` in evaluation mode, without gradients; the metric
  is the task's: perplexity (``CharLM``), accuracy (``SequenceClassifier``), RMSE (``SequenceRegressor``).
* ``save(path)`` / ``Model.load(path)``: an ``.npz`` with every parameter and the
  constructor arguments as a JSON string (read with ``allow_pickle=False``).

``cell`` is ``"rnn"`` (tanh Elman), ``"lstm"`` or ``"gru"``; the LSTM's state is ``(h, c)``,
the others' is ``h``.
"""
from __future__ import annotations

import inspect
import json
import zipfile
from typing import NamedTuple

import numpy as np

from .attention import AdditiveAttention
from .bidirectional import CELLS
from .errors import (FileFormatError, HyperparameterError, NonFiniteError, RNNCoreError, ShapeError, check_array, check_dtype, check_mask, check_option,
                     check_positive, check_positive_int, check_rng, check_unit_interval)
from .layers import Dense, Dropout, Embedding
from .losses import mse, softmax, softmax_cross_entropy
from .module import Module

__all__ = ["CharLM", "SequenceClassifier", "SequenceRegressor", "load_model"]


class _Model(Module):
    """Shared plumbing: register sub-layers under a prefix, gather grads, save and load."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = config            # the constructor's arguments, saved with the weights
        self.layers = {}                # prefix -> sub-layer

    def _add(self, prefix: str, layer: Module) -> Module:
        self.layers[prefix] = layer
        self._collect_params()            # the layer's own arrays, not copies
        return layer

    def sublayers(self) -> dict:
        return self.layers

    def astype(self, dtype) -> "_Model":
        """Cast every sub-layer to ``dtype`` (float32 or float64) in place; returns self.

        ``params`` and ``grads`` stay the same dicts, refilled with the sub-layers' new arrays,
        so the layers and an optimizer created afterwards see the same arrays."""
        super().astype(dtype)
        self.config["dtype"] = self.dtype.name
        return self

    def _cell_dstate(self, dh: np.ndarray):
        """The gradient at the final state: ``dh`` or ``(dh, 0)`` for an LSTM."""
        return (dh, np.zeros_like(dh)) if self.config["cell"] == "lstm" else dh

    def _last_h(self, state) -> np.ndarray:
        return state[0] if self.config["cell"] == "lstm" else state

    def save(self, path) -> str:
        """Write the parameters and the constructor arguments to an ``.npz`` archive at exactly
        ``path`` (no extension is added: ``save("w.bin")`` writes ``w.bin``); returns the path."""
        cfg = json.dumps({"class": type(self).__name__, **self.config})
        with open(path, "wb") as fh:                  # a file object: numpy appends no ".npz"
            np.savez(fh, __config__=np.array(cfg), **self.params)
        return str(path)

    @classmethod
    def load(cls, path):
        """Rebuild a model saved with ``save`` (no pickle involved)."""
        cfg, arrays = _read_saved(path)
        name = cfg.pop("class")
        if name != cls.__name__:
            raise HyperparameterError(f"path: expected a saved {cls.__name__}, got a saved {name}")
        required = [n for n, p in inspect.signature(cls.__init__).parameters.items()
                    if n != "self" and p.default is inspect.Parameter.empty]
        known = set(inspect.signature(cls.__init__).parameters) - {"self", "rng"}
        missing, unknown = [n for n in required if n not in cfg], sorted(set(cfg) - known)
        if missing or unknown:
            raise FileFormatError(f"{path}: expected a __config__ with the fields of {cls.__name__} "
                                  f"(required {required}), got {sorted(cfg)}"
                                  + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else ""))
        try:
            model = cls(**cfg)
        except RNNCoreError as e:
            raise FileFormatError(f"{path}: expected valid constructor arguments in __config__, got {e}") from None
        for k, p in model.params.items():
            if k not in arrays or arrays[k].shape != p.shape:
                got = arrays[k].shape if k in arrays else "missing"
                raise FileFormatError(f"{path}: expected parameter {k!r} of shape {p.shape}, got {got}")
            a = arrays[k]
            if not np.issubdtype(a.dtype, np.floating) or not np.all(np.isfinite(a)):
                bad = int(a.size - np.count_nonzero(np.isfinite(a))) if np.issubdtype(a.dtype, np.floating) else a.size
                raise NonFiniteError(f"{path}: parameter {k!r}: expected finite float values, got {bad} NaN/inf "
                                     f"(dtype {a.dtype})")
            p[...] = a
        return model


def _read_saved(path) -> tuple[dict, dict]:
    """The JSON config and the arrays of an archive written by ``save``; a ``FileFormatError``
    naming the file for anything else (a missing file stays a ``FileNotFoundError``)."""
    try:
        f = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: expected a model saved with save(), got no such file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise FileFormatError(f"{path}: expected an .npz archive written by save(), got a file that is "
                              f"not an .npz archive (or is damaged): {type(e).__name__}") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise FileFormatError(f"{path}: expected an .npz archive written by save(), got a single array "
                              f"(not an .npz archive; a .npy file?)")
    with f:
        if "__config__" not in f.files:
            raise FileFormatError(f"{path}: expected a '__config__' entry (the constructor's arguments as JSON), "
                                  f"got entries {sorted(f.files)}")
        try:
            arrays = {k: f[k] for k in f.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise FileFormatError(f"{path}: expected a complete .npz archive, got a truncated or damaged one "
                                  f"({type(e).__name__})") from None
    raw = arrays.pop("__config__")
    try:
        cfg = json.loads(str(raw))
    except ValueError:
        raise FileFormatError(f"{path}: expected the __config__ entry to be JSON, got {str(raw)[:60]!r}") from None
    if not isinstance(cfg, dict) or "class" not in cfg:
        raise FileFormatError(f"{path}: expected a JSON object with a 'class' field in __config__, got {str(raw)[:60]!r}")
    return cfg, arrays


def _check_ids(name: str, ids, V: int) -> np.ndarray:
    ids = check_array(name, ids, 2, letters="TB")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ShapeError(f"{name}: expected an integer array of token ids, got dtype {ids.dtype}")
    bad = (ids < 0) | (ids >= V)
    if bad.any():
        raise ShapeError(f"{name}: expected token ids in [0, V={V}), got {ids[bad][:5].tolist()}")
    return ids


# ----------------------------------------------------------------------------- CharLM

class LMCache(NamedTuple):
    embed: object      # Embedding cache, or None with one-hot inputs
    cell: object       # the cell's cache (cache.h (T, B, H), gates, ...)
    out: object        # Dense cache


class CharLM(_Model):
    """A character-level (or word-level) language model: predict token t+1 from tokens ≤ t.

        x_t = onehot(id_t) (embed_size=None)  or  E[id_t]      (T, B, D)
        h_t = cell(x_t, h_{t-1})                                (T, B, H)
        logits_t = h_t W + b                                    (T, B, V)
        loss = mean_t,b −log softmax(logits_t)[y_t]

    Parameters: ``embed.W`` (if ``embed_size``), ``rnn.*`` (the cell's), ``out.W``, ``out.b``.

    For truncated BPTT (``rnn_core.data.tbptt_batches``) use ``tbptt_loss_and_grads`` as
    ``fit``'s ``loss_fn``: it carries the final state of one chunk into the next as values
    (the gradient stops there); call ``reset_state()`` at the start of every epoch.
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm", embed_size: int | None = None,
                 rng=0, dtype=np.float32) -> None:
        V = check_positive_int("vocab_size", vocab_size)
        H = check_positive_int("hidden_size", hidden_size)
        check_option("cell", cell, tuple(CELLS))
        E = None if embed_size is None else check_positive_int("embed_size", embed_size)
        dt = check_dtype(dtype)
        super().__init__(dict(vocab_size=V, hidden_size=H, cell=cell, embed_size=E, dtype=dt.name))
        gen = check_rng(rng)
        self.V, self.H, self.dtype = V, H, dt
        self.embed = None if E is None else self._add("embed", Embedding(V, E, rng=gen, dtype=dt))
        self.cell = self._add("rnn", CELLS[cell](V if E is None else E, H, rng=gen, dtype=dt))
        self.out = self._add("out", Dense(H, V, rng=gen, dtype=dt))
        self.zero_grad()
        self.carry = None              # the state carried between TBPTT chunks
        self.state = None              # the final state of the last loss_and_grads

    def forward(self, ids, state0=None, mask=None):
        """ids (T, B) int, mask (T, B) or None -> logits (T, B, V), final state, ``LMCache``."""
        ids = _check_ids("ids", ids, self.V)
        mask = check_mask(mask, *ids.shape)
        if self.embed is None:
            x, c_emb = np.eye(self.V, dtype=self.dtype)[ids], None   # (T, B, V) one-hot
        else:
            x, c_emb = self.embed.forward(ids)                       # (T, B, E)
        hs, state, c_cell = self.cell.forward(x, state0, mask)       # (T, B, H)
        logits, c_out = self.out.forward(hs)                         # (T, B, V)
        return logits, state, LMCache(c_emb, c_cell, c_out)

    def loss(self, x, y, state0=None, mask=None):
        """Mean cross-entropy per token without gradients -> (loss, final state)."""
        logits, state, _ = self.forward(x, state0, mask)
        return softmax_cross_entropy(logits, y, mask)[0], state

    def evaluate(self, x, y, mask=None) -> tuple[float, float]:
        """(mean cross-entropy per real token, perplexity = exp(loss)) in evaluation mode."""
        loss = self.loss(x, y, mask=mask)[0]
        return loss, float(np.exp(loss))

    def loss_and_grads(self, x, y, mask=None, state0=None) -> float:
        """x, y (T, B) ids, mask (T, B) or None; returns the mean cross-entropy per real token
        and fills ``grads``. The final state is kept in ``self.state`` (TBPTT carries it).

        The gradient w.r.t. ``state0`` is not propagated anywhere: a carried state is a constant.
        """
        logits, self.state, cache = self.forward(x, state0, mask)
        loss, dlogits = softmax_cross_entropy(logits, y, mask)       # (T, B, V)
        dhs = self.out.backward(dlogits, cache.out)                  # (T, B, H)
        dx, _ = self.cell.backward(dhs, cache.cell, dstate=None)     # (T, B, D)
        if self.embed is not None:
            self.embed.backward(dx, cache.embed)
        self._collect_grads()
        return loss

    def reset_state(self) -> None:
        """Forget the carried TBPTT state (start of an epoch, or of a new text)."""
        self.carry = None

    def tbptt_loss_and_grads(self, batch) -> float:
        """One TBPTT chunk ``(x, y)``: start from the carried state, then carry the new one."""
        x, y = batch
        loss = self.loss_and_grads(x, y, state0=self.carry)
        self.carry = self.state
        return loss

    def sample(self, n: int, start, temperature: float = 1.0, rng=None, vocab=None):
        """Generate ``n`` tokens after the prompt ``start``.

        ``start`` is a 1-d array of ids, or a str when a ``vocab`` (``CharVocab``/``WordVocab``)
        is given. Each next token is drawn from ``softmax(logits / temperature)``: below 1
        sharper (more conservative), above 1 flatter (more surprising).
        Returns the ids (n,), or the decoded text when ``vocab`` is given.
        """
        n = check_positive_int("n", n)
        temperature = check_positive("temperature", temperature)
        gen = check_rng(rng)
        ids = vocab.encode(start) if (vocab is not None and isinstance(start, str)) else np.asarray(start)
        ids = check_array("start", ids, 1, letters="T")
        logits, state, _ = self.forward(ids[:, None])                # prompt as one sequence (T, 1)
        out = np.empty(n, dtype=np.int64)
        for k in range(n):
            p = softmax(logits[-1, 0].astype(np.float64) / temperature)   # (V,)
            out[k] = gen.choice(self.V, p=p / p.sum())
            logits, state, _ = self.forward(out[k:k + 1, None], state)   # one step (1, 1)
        return vocab.decode(out) if vocab is not None else out


# ----------------------------------------------------------------------------- SequenceClassifier

class ClassifierCache(NamedTuple):
    embed: object
    drop_in: object        # dropout on the embeddings (None if no dropout)
    cell: object
    attn: object           # AttentionCache (pooling="attention") or None
    drop_out: object       # dropout on the pooled features
    out: object
    weights: np.ndarray | None   # attention weights (T, B)


class SequenceClassifier(_Model):
    """Classify a padded batch of token sequences.

        e_t = E[id_t]                          (T, B, E)   embedding, <pad> row stays 0
        h_t = cell(e_t, h_{t-1}), masked       (T, B, H)   padded steps carry the state
        z = h_last  (pooling="last": the last REAL state of each row)
          = Σ_t α_t h_t  (pooling="attention": additive attention with query h_last, α_t = 0 at padding)
        logits = z W + b                       (B, C)
        loss = mean_b −log softmax(logits_b)[label_b]

    Dropout (rate ``dropout``, training only) is applied to the embeddings and to ``z``.
    Parameters: ``embed.W``, ``rnn.*``, ``attn.W_k, attn.W_q, attn.b, attn.v`` (attention), ``out.W``, ``out.b``.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_classes: int, cell: str = "lstm",
                 pooling: str = "last", padding_idx: int | None = 0, dropout: float = 0.0,
                 attention_size: int | None = None, rng=0, dtype=np.float32) -> None:
        V = check_positive_int("vocab_size", vocab_size)
        E = check_positive_int("embed_size", embed_size)
        H = check_positive_int("hidden_size", hidden_size)
        C = check_positive_int("num_classes", num_classes)
        check_option("cell", cell, tuple(CELLS))
        check_option("pooling", pooling, ("last", "attention"))
        dropout = check_unit_interval("dropout", dropout)
        A = H if attention_size is None else check_positive_int("attention_size", attention_size)
        dt = check_dtype(dtype)
        super().__init__(dict(vocab_size=V, embed_size=E, hidden_size=H, num_classes=C, cell=cell,
                              pooling=pooling, padding_idx=padding_idx, dropout=dropout,
                              attention_size=attention_size, dtype=dt.name))
        gen = check_rng(rng)
        self.V, self.C, self.dtype = V, C, dt
        self.embed = self._add("embed", Embedding(V, E, padding_idx=padding_idx, rng=gen, dtype=dt))
        self.cell = self._add("rnn", CELLS[cell](E, H, rng=gen, dtype=dt))
        self.attn = self._add("attn", AdditiveAttention(H, H, A, rng=gen, dtype=dt)) if pooling == "attention" else None
        self.out = self._add("out", Dense(H, C, rng=gen, dtype=dt))
        # dropout gets its own generator, seeded from gen, so training never draws from the caller's
        self.drop = Dropout(dropout, rng=int(gen.integers(2**63))) if dropout > 0 else None
        self.zero_grad()

    def forward(self, ids, mask=None, train: bool = False):
        """ids (T, B), mask (T, B) or None -> logits (B, C), ``ClassifierCache``."""
        ids = _check_ids("ids", ids, self.V)
        T, B = ids.shape
        mask = check_mask(mask, T, B)
        use_drop = train and self.drop is not None
        e, c_emb = self.embed.forward(ids)                              # (T, B, E)
        c_d1 = c_d2 = c_att = weights = None
        if use_drop:
            e, c_d1 = self.drop.forward(e)
        hs, state, c_cell = self.cell.forward(e, mask=mask)             # (T, B, H)
        z = self._last_h(state)                                         # (B, H) last real state
        if self.attn is not None:
            z, weights, c_att = self.attn.forward(z, hs, mask)          # (B, H), (T, B)
        if use_drop:
            z, c_d2 = self.drop.forward(z)
        logits, c_out = self.out.forward(z)                             # (B, C)
        return logits, ClassifierCache(c_emb, c_d1, c_cell, c_att, c_d2, c_out, weights)

    def loss_and_grads(self, x, y, mask=None) -> float:
        """x (T, B) token ids, y (B,) labels, mask (T, B) or None: mean cross-entropy over the
        batch (training mode: dropout on); fills ``grads``."""
        logits, cache = self.forward(x, mask, train=True)
        loss, dlogits = softmax_cross_entropy(logits, y)                # (B, C)
        dz = self.out.backward(dlogits, cache.out)                      # (B, H)
        if cache.drop_out is not None:
            dz = self.drop.backward(dz, cache.drop_out)
        T, B = cache.embed.shape
        if self.attn is not None:
            dh_last, dhs = self.attn.backward(dz, cache.attn)           # (B, H), (T, B, H)
        else:
            dh_last, dhs = dz, np.zeros((T, B, dz.shape[1]), dtype=dz.dtype)
        dx, _ = self.cell.backward(dhs, cache.cell, dstate=self._cell_dstate(dh_last))   # (T, B, E)
        if cache.drop_in is not None:
            dx = self.drop.backward(dx, cache.drop_in)
        self.embed.backward(dx, cache.embed)
        self._collect_grads()
        return loss

    def predict_proba(self, ids, mask=None) -> np.ndarray:
        """Class probabilities (B, C), evaluation mode."""
        return softmax(self.forward(ids, mask)[0])

    def predict(self, ids, mask=None) -> np.ndarray:
        """Predicted class ids (B,)."""
        return np.argmax(self.forward(ids, mask)[0], axis=1)

    def evaluate(self, x, y, mask=None) -> tuple[float, float]:
        """x (T, B) token ids, y (B,) labels -> (mean cross-entropy, accuracy) in evaluation mode."""
        logits, _ = self.forward(x, mask)
        loss = softmax_cross_entropy(logits, y)[0]
        return loss, float(np.mean(np.argmax(logits, axis=1) == np.asarray(y)))

    def attention_weights(self, ids, mask=None) -> np.ndarray:
        """α (T, B): how much each step contributes to the pooled state (0 at padding)."""
        if self.attn is None:
            raise HyperparameterError("pooling: expected 'attention' for attention weights, got 'last'")
        return self.forward(ids, mask)[1].weights


# ----------------------------------------------------------------------------- SequenceRegressor

class RegressorCache(NamedTuple):
    cell: object
    out: object


class SequenceRegressor(_Model):
    """Map a sequence to a vector: forecasting, the adding problem.

        h_t = cell(x_t, h_{t-1}), masked      (T, B, H)
        pred = h_last W + b                   (B, O)
        loss = mean (pred − y)²

    Parameters: ``rnn.*``, ``out.W``, ``out.b``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int = 1, cell: str = "lstm",
                 rng=0, dtype=np.float32) -> None:
        D = check_positive_int("input_size", input_size)
        H = check_positive_int("hidden_size", hidden_size)
        O = check_positive_int("output_size", output_size)
        check_option("cell", cell, tuple(CELLS))
        dt = check_dtype(dtype)
        super().__init__(dict(input_size=D, hidden_size=H, output_size=O, cell=cell, dtype=dt.name))
        gen = check_rng(rng)
        self.dtype = dt
        self.cell = self._add("rnn", CELLS[cell](D, H, rng=gen, dtype=dt))
        self.out = self._add("out", Dense(H, O, rng=gen, dtype=dt))
        self.zero_grad()

    def forward(self, x, mask=None):
        """x (T, B, D), mask (T, B) or None -> pred (B, O), ``RegressorCache``."""
        hs, state, c_cell = self.cell.forward(x, mask=mask)            # (T, B, H)
        pred, c_out = self.out.forward(self._last_h(state))            # (B, O)
        return pred, RegressorCache(c_cell, c_out)

    def predict(self, x, mask=None) -> np.ndarray:
        return self.forward(x, mask)[0]

    def evaluate(self, x, y, mask=None) -> tuple[float, float]:
        """(mean squared error, root mean squared error) in evaluation mode."""
        loss = mse(self.predict(x, mask), y)[0]
        return loss, float(np.sqrt(loss))

    def loss_and_grads(self, x, y, mask=None) -> float:
        """Mean squared error of the prediction against y (B, O); fills ``grads``."""
        pred, cache = self.forward(x, mask)
        loss, dpred = mse(pred, y)                                      # (B, O)
        dh_last = self.out.backward(dpred, cache.out)                  # (B, H)
        T, B = cache.cell.h.shape[:2]
        dhs = np.zeros((T, B, dh_last.shape[1]), dtype=dh_last.dtype)  # only the last state is read
        self.cell.backward(dhs, cache.cell, dstate=self._cell_dstate(dh_last))
        self._collect_grads()
        return loss


def load_model(path):
    """Load any model saved with ``save``: the class is read from the file."""
    name = _read_saved(path)[0]["class"]
    cls = {"CharLM": CharLM, "SequenceClassifier": SequenceClassifier, "SequenceRegressor": SequenceRegressor}
    if name not in cls:
        raise HyperparameterError(f"path: expected a saved CharLM, SequenceClassifier or SequenceRegressor, got {name!r}")
    return cls[name].load(path)
