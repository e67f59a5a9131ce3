"""Getting data into a recurrent network: batches, padding and masks, vocabularies,
windows over a time series, splits, standardisation and truncated-BPTT streams.

    batches(n_or_arrays, batch_size, rng)     shuffled mini-batches; the last partial batch is KEPT
    pad_sequences(seqs) -> (x (T, B), mask)    ragged sequences to one time-major array + 0/1 mask
    unpad(x, mask) -> seqs                     the inverse
    bucket_by_length(lengths, batch_size, rng) batches of similar length (less padding)
    CharVocab(text), WordVocab(texts)          token <-> id, with <pad> = 0 and <unk> = 1
    sliding_windows(series, window, horizon)   X (N, window, F), y (N, F) for forecasting
    chronological_split(n_or_arrays)           train / validation / test in time order (no shuffling)
    Standardizer                               z = (x − mean) / std, fitted on the training part only
    tbptt_batches(ids, batch_size, seq_len)    B parallel streams cut into consecutive chunks

Loaders for the shipped data sets live in ``rnn_core.datasets``.
"""
from __future__ import annotations

import json
import numbers
import re
from collections import Counter

import numpy as np

from .datasets import load_aapl, load_hamlet, load_movie_reviews, load_seattle_weather
from .errors import (HyperparameterError, ShapeError, check_array, check_option, check_positive_int,
                     check_rng)

__all__ = ["batches", "pad_sequences", "unpad", "bucket_by_length", "tokenize", "CharVocab", "WordVocab",
           "load_vocab", "sliding_windows", "chronological_split", "Standardizer", "tbptt_batches",
           "load_hamlet", "load_movie_reviews", "load_seattle_weather", "load_aapl"]


# ----------------------------------------------------------------------------- batches

_AXIS_HINT = ("; for arrays with different example axes pass one axis per array, e.g. "
              "batches((ids, mask, labels), 32, axis=(1, 1, 0)) for ids, mask (T, N) and labels (N,)")


def _as_arrays(n_or_arrays, axis=0):
    """(n, arrays or None, single, axes): an example count, or arrays sharing their number of
    examples along ``axis`` (an int for all, or a tuple with one axis per array)."""
    if isinstance(n_or_arrays, numbers.Integral) and not isinstance(n_or_arrays, bool):
        return check_positive_int("n", n_or_arrays), None, False, None
    single = isinstance(n_or_arrays, np.ndarray)
    arrays = [n_or_arrays] if single else list(n_or_arrays)
    if not arrays:
        raise ShapeError("arrays: expected a positive int or at least one array, got an empty sequence")
    arrays = [np.asarray(a) for a in arrays]
    if isinstance(axis, (tuple, list)):
        if len(axis) != len(arrays):
            raise HyperparameterError(f"axis: expected one axis per array ({len(arrays)}), got {tuple(axis)!r}")
        axes = [check_option(f"axis[{k}]", a, (0, 1)) for k, a in enumerate(axis)]
    else:
        axes = [axis] * len(arrays)
    hint = "" if isinstance(axis, (tuple, list)) or len(arrays) == 1 else _AXIS_HINT
    for k, (a, ax) in enumerate(zip(arrays, axes)):
        if a.ndim <= ax:
            raise ShapeError(f"arrays[{k}]: expected at least {ax + 1} axes (examples on axis {ax}), "
                             f"got shape {a.shape}{hint}")
    n = arrays[0].shape[axes[0]]
    if n == 0:
        raise ShapeError(f"arrays[0]: expected at least one example on axis {axes[0]}, got shape {arrays[0].shape}")
    for k, (a, ax) in enumerate(zip(arrays[1:], axes[1:]), 1):
        if a.shape[ax] != n:
            raise ShapeError(f"arrays[{k}]: expected {n} examples on axis {ax} like arrays[0], "
                             f"got {a.shape[ax]} (shape {a.shape}){hint}")
    return n, arrays, single, axes


def batches(n_or_arrays, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False,
            axis: int = 0):
    """Yield mini-batches covering every example exactly once per call.

    Parameters
    ----------
    n_or_arrays : int n, or an array, or a tuple/list of arrays with the same length along ``axis``
    batch_size : examples per batch; the last batch may be smaller
    rng : seed or Generator for the shuffle (pass the same Generator every epoch for a new order)
    shuffle : False keeps the original order
    drop_last : True drops the last partial batch (the article's generator always did, silently)
    axis : the example axis: 0 for (N, ...) arrays, 1 for time-major (T, B, ...) arrays; or a
        tuple with one axis per array when they differ, e.g. token ids and mask (T, N) with
        labels (N,)::

            for ids, mask, y in batches((ids, mask, labels), 32, rng, axis=(1, 1, 0)):
                ...                                  # ids, mask (T, 32), y (32,)

    Returns
    -------
    an iterator (arguments are checked at the call, not at the first ``next``) yielding an
    index array (B,) if given n; a batch of the array if given one array; a tuple of
    batches if given several arrays.
    """
    if not isinstance(axis, (tuple, list)):
        axis = check_option("axis", axis, (0, 1))
    n, arrays, single, axes = _as_arrays(n_or_arrays, axis)
    batch_size = check_positive_int("batch_size", batch_size)
    check_option("shuffle", shuffle, (False, True))
    check_option("drop_last", drop_last, (False, True))
    order = check_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return _iterate(order, stop, batch_size, arrays, single, axes)   # arguments checked now, not at first next()


def _iterate(order, stop, batch_size, arrays, single, axes):
    """The generator behind ``batches``."""
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]                 # (B,)
        if arrays is None:
            yield idx
        elif single:
            yield np.take(arrays[0], idx, axis=axes[0])
        else:
            yield tuple(np.take(a, idx, axis=ax) for a, ax in zip(arrays, axes))


def bucket_by_length(lengths, batch_size: int, rng=None) -> list:
    """Index batches of sequences of similar length, in random order.

    Sort the examples by length (ties in random order), cut the sorted list into
    batches of ``batch_size`` (the last may be smaller), shuffle the batches.
    Every index appears exactly once; padding inside a batch is small.
    """
    lengths = check_array("lengths", lengths, 1, letters="N")
    batch_size = check_positive_int("batch_size", batch_size)
    gen = check_rng(rng)
    perm = gen.permutation(len(lengths))                        # random tie-break
    order = perm[np.argsort(lengths[perm], kind="stable")]      # (N,) shortest first
    groups = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    return [groups[k] for k in gen.permutation(len(groups))]


# ----------------------------------------------------------------------------- padding and masks

def pad_sequences(seqs, maxlen: int | None = None, padding: str = "post", truncating: str = "post",
                  value=0, dtype=None):
    """Stack ragged sequences into one time-major array and a mask.

    Parameters
    ----------
    seqs : list of B sequences, each of length L_b: 1-d (token ids) or 2-d (L_b, F) features
    maxlen : T; default the longest length. Longer sequences are truncated.
    padding : "post" pads at the end (the usual choice for a masked RNN), "pre" at the start
    truncating : "post" drops the end of a long sequence, "pre" drops its start
    value : the fill value at padded positions
    dtype : of the output; default that of the first non-empty sequence

    Returns
    -------
    x : (T, B) or (T, B, F), time-major
    mask : (T, B) bool, True at real positions
    """
    check_option("padding", padding, ("post", "pre"))
    check_option("truncating", truncating, ("post", "pre"))
    if isinstance(seqs, np.ndarray) and seqs.dtype != object:
        seqs = list(seqs)
    seqs = [np.asarray(s) for s in seqs]
    if not seqs:
        raise ShapeError("seqs: expected at least one sequence, got an empty list")
    rank = seqs[0].ndim
    if rank not in (1, 2):
        raise ShapeError(f"seqs[0]: expected a 1-d (L,) or 2-d (L, F) sequence, got shape {seqs[0].shape}")
    for k, s in enumerate(seqs):
        if s.ndim != rank or (rank == 2 and s.shape[1] != seqs[0].shape[1]):
            want = "(L,)" if rank == 1 else f"(L, F={seqs[0].shape[1]})"
            raise ShapeError(f"seqs[{k}]: expected shape {want} like seqs[0], got {s.shape}")
    lengths = [len(s) for s in seqs]
    T = max(lengths) if maxlen is None else check_positive_int("maxlen", maxlen)
    if T == 0:
        raise ShapeError("seqs: expected at least one non-empty sequence, got only empty ones")
    if dtype is None:
        dtype = next(s.dtype for s in seqs if len(s) > 0)
    B = len(seqs)
    x = np.full((T, B) + seqs[0].shape[1:], value, dtype=dtype)   # (T, B) or (T, B, F)
    mask = np.zeros((T, B), dtype=bool)                            # (T, B)
    for b, s in enumerate(seqs):
        if len(s) > T:
            s = s[:T] if truncating == "post" else s[len(s) - T:]
        L = len(s)
        rows = slice(0, L) if padding == "post" else slice(T - L, T)
        x[rows, b] = s
        mask[rows, b] = True
    return x, mask


def unpad(x, mask) -> list:
    """Invert ``pad_sequences``: the real positions of each column, as a list of B arrays."""
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"x: expected a 2-d (T, B) or 3-d (T, B, F) array, got shape {x.shape}")
    mask = check_array("mask", mask, 2, x.shape[:2], "TB").astype(bool)
    return [x[mask[:, b], b] for b in range(x.shape[1])]


# ----------------------------------------------------------------------------- vocabularies

PAD, UNK = "<pad>", "<unk>"
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def tokenize(text: str) -> list:
    """Lower-case words (with inner apostrophes: ``don't``) and single punctuation marks."""
    if not isinstance(text, str):
        raise HyperparameterError(f"text: expected a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


class _Vocab:
    """Shared part: ``tokens`` (id -> token), ``stoi`` (token -> id), <pad> = 0, <unk> = 1."""

    kind = ""
    pad_id, unk_id = 0, 1

    def _set_tokens(self, tokens) -> None:
        self.tokens = list(tokens)
        self.stoi = {t: k for k, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens) -> np.ndarray:
        """Token list -> int64 ids; unknown tokens map to ``unk_id``."""
        return np.array([self.stoi.get(t, self.unk_id) for t in tokens], dtype=np.int64)

    def _tokens_of(self, ids, skip_special: bool) -> list:
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1:
            raise ShapeError(f"ids: expected a 1-d integer array, got dtype {ids.dtype} shape {ids.shape}")
        bad = (ids < 0) | (ids >= len(self))
        if bad.any():
            raise ShapeError(f"ids: expected ids in [0, V={len(self)}), got {ids[bad][:5].tolist()}")
        skip = {self.pad_id, self.unk_id} if skip_special else set()
        return [self.tokens[k] for k in ids.tolist() if k not in skip]

    def save(self, path) -> None:
        """Write the vocabulary as JSON (``kind`` and ``tokens``)."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"kind": self.kind, "tokens": self.tokens}, fh, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by ``save``."""
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
        if d.get("kind") != cls.kind:
            raise HyperparameterError(f"path: expected a {cls.kind!r} vocabulary file, got kind {d.get('kind')!r}")
        v = cls.__new__(cls)
        v._set_tokens(d["tokens"])
        return v


class CharVocab(_Vocab):
    """Characters of a text, sorted; ids 0 and 1 are ``<pad>`` and ``<unk>``.

    encode(text) -> ids (L,) int64;  decode(ids) -> text (specials skipped)
    """

    kind = "char"

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise ShapeError(f"text: expected a non-empty str, got {text!r:.40}")
        self._set_tokens([PAD, UNK] + sorted(set(text)))

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise HyperparameterError(f"text: expected a str, got {type(text).__name__}")
        return self.ids(text)

    def decode(self, ids, skip_special: bool = True) -> str:
        return "".join(self._tokens_of(ids, skip_special))


class WordVocab(_Vocab):
    """The ``max_size`` most frequent words of a corpus (the article keeps 5,000).

    Parameters
    ----------
    texts : iterable of str (tokenized with ``tokenizer``) or of token lists
    max_size : at most this many words besides ``<pad>`` (id 0) and ``<unk>`` (id 1)
    min_freq : drop words seen fewer times
    tokenizer : str -> list of tokens

    Ties in frequency are broken alphabetically, so the vocabulary is deterministic.
    encode(text or tokens) -> ids (L,) int64;  decode(ids) -> words joined by spaces
    """

    kind = "word"

    def __init__(self, texts, max_size: int = 5000, min_freq: int = 1, tokenizer=tokenize) -> None:
        max_size = check_positive_int("max_size", max_size)
        min_freq = check_positive_int("min_freq", min_freq)
        if isinstance(texts, (str, bytes)):
            raise ShapeError(f"texts: expected a list of texts (one str per document), got one str of "
                             f"{len(texts)} characters; wrap it: WordVocab([text])")
        self.tokenizer = tokenizer
        counts = Counter()
        n = 0
        for t in texts:
            counts.update(tokenizer(t) if isinstance(t, str) else t)
            n += 1
        if n == 0:
            raise ShapeError("texts: expected at least one text, got none")
        ranked = sorted((w for w, c in counts.items() if c >= min_freq and w not in (PAD, UNK)),
                        key=lambda w: (-counts[w], w))
        self.counts = counts
        self._set_tokens([PAD, UNK] + ranked[:max_size])

    def encode(self, text) -> np.ndarray:
        tokens = getattr(self, "tokenizer", tokenize)(text) if isinstance(text, str) else list(text)
        return self.ids(tokens)

    def decode(self, ids, skip_special: bool = False) -> str:
        return " ".join(self._tokens_of(ids, skip_special))


def load_vocab(path):
    """Load a ``CharVocab`` or ``WordVocab`` saved with ``save``, whichever it is."""
    with open(path, encoding="utf-8") as fh:
        kind = json.load(fh).get("kind")
    cls = {"char": CharVocab, "word": WordVocab}.get(kind)
    if cls is None:
        raise HyperparameterError(f"path: expected a vocabulary file of kind 'char' or 'word', got {kind!r}")
    return cls.load(path)


# ----------------------------------------------------------------------------- time series

def sliding_windows(series, window: int, horizon: int = 1):
    """Inputs and targets for forecasting ``horizon`` steps after a window.

        X[n] = series[n : n + window]            (window, F)
        y[n] = series[n + window + horizon − 1]  (F,)

    Parameters: series (N_total,) or (N_total, F). Returns X (N, window, F),
    y (N, F) with N = N_total − window − horizon + 1 (batch-first: feed
    ``X.transpose(1, 0, 2)`` to a time-major layer).
    """
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]                                # (N_total, 1)
    series = check_array("series", series, 2, letters="NF")
    window = check_positive_int("window", window)
    horizon = check_positive_int("horizon", horizon)
    N = len(series) - window - horizon + 1
    if N < 1:
        raise ShapeError(f"series: expected at least window + horizon = {window + horizon} steps, "
                         f"got {len(series)}")
    X = np.lib.stride_tricks.sliding_window_view(series[:N + window - 1], window, axis=0)  # (N, F, window)
    X = np.ascontiguousarray(X.transpose(0, 2, 1))             # (N, window, F)
    y = series[window + horizon - 1:].copy()                   # (N, F)
    return X, y


def chronological_split(n_or_arrays, fractions=(0.7, 0.15, 0.15)):
    """Split in time order: the first 70% to train, the next 15% to validate, the rest to test.

    Never shuffle a time series before splitting: the model would see the future.
    Given n, returns index ranges; given one array, its parts; given a tuple of
    arrays, one tuple of arrays per part. Sizes are ⌊f·n⌋, the last part takes the rest.
    """
    n, arrays, single, _ = _as_arrays(n_or_arrays)
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or len(fr) not in (2, 3) or np.any(~np.isfinite(fr)) or np.any(fr <= 0) \
            or abs(fr.sum() - 1) > 1e-9:
        raise HyperparameterError(f"fractions: expected 2 or 3 positive numbers summing to 1, got {fractions!r}")
    cuts = np.floor(np.cumsum(fr[:-1]) * n + 1e-9).astype(int)
    bounds = [0, *cuts.tolist(), n]
    sizes = np.diff(bounds)
    if np.any(sizes == 0):
        raise ShapeError(f"n: expected enough examples for non-empty parts with fractions {fractions!r}, "
                         f"got n={n} (sizes {sizes.tolist()})")
    parts = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    if arrays is None:
        return tuple(parts)
    if single:
        return tuple(arrays[0][p[0]:p[-1] + 1] for p in parts)
    return tuple(tuple(a[p[0]:p[-1] + 1] for a in arrays) for p in parts)


class Standardizer:
    """Per-feature z-scores, ``z = (x − μ) / σ``, with μ, σ from the training data only.

    Statistics are taken over every axis but the last (the features). A constant
    feature (σ = 0) gets σ = 1. Fitting on all data would leak the test set's
    statistics into training.
    """

    def __init__(self) -> None:
        self.mean = None
        self.std = None

    def fit(self, x) -> "Standardizer":
        x = np.asarray(x, dtype=np.float64)
        x = check_array("x", x, max(x.ndim, 1))
        axes = tuple(range(x.ndim - 1))
        self.mean = x.mean(axis=axes)                            # (F,)
        std = x.std(axis=axes)                                   # (F,)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def _check(self, x) -> np.ndarray:
        if self.mean is None:
            raise HyperparameterError("Standardizer: expected fit(x_train) before transform, got an unfitted one")
        x = np.asarray(x)
        F = np.shape(self.mean)[0] if np.ndim(self.mean) else None
        if F is not None and (x.ndim == 0 or x.shape[-1] != F):
            raise ShapeError(f"x: expected a last axis of F={F} features, got shape {x.shape}")
        return x

    def transform(self, x) -> np.ndarray:
        x = self._check(x)
        return ((x - self.mean) / self.std).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)

    def inverse_transform(self, z) -> np.ndarray:
        z = self._check(z)
        return (z * self.std + self.mean).astype(z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64)

    def fit_transform(self, x) -> np.ndarray:
        return self.fit(x).transform(x)


# ----------------------------------------------------------------------------- truncated BPTT

def tbptt_batches(ids, batch_size: int, seq_len: int):
    """Lay a token stream into ``B`` parallel streams and yield consecutive chunks.

    The stream ``ids (N,)`` is cut into B equal rows of length ``L = (N − 1) // B``;
    stream ``b`` reads ``ids[b·L : (b+1)·L]`` and its targets are the next tokens:

        X (L, B) = ids[:B·L].reshape(B, L).T       Y (L, B) = ids[1:B·L + 1].reshape(B, L).T

    Chunk ``k`` is ``(X[k·S:(k+1)·S], Y[k·S:(k+1)·S])`` with ``S = seq_len`` (the last may be
    shorter). Row ``b`` of chunk ``k+1`` continues row ``b`` of chunk ``k``, so a model can
    carry its final state into the next chunk *as values* (``state0``), while the gradient
    stops at the chunk boundary (``dstate=None``): truncated back-propagation through time.

    Returns an iterator of (x (S, B), y (S, B)) int arrays, in order.
    """
    ids = check_array("ids", ids, 1, letters="N")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ShapeError(f"ids: expected an integer array of token ids, got dtype {ids.dtype}")
    B = check_positive_int("batch_size", batch_size)
    S = check_positive_int("seq_len", seq_len)
    L = (len(ids) - 1) // B
    if L < 1:
        raise ShapeError(f"ids: expected at least batch_size + 1 = {B + 1} tokens, got {len(ids)}")
    X = ids[:B * L].reshape(B, L).T                               # (L, B)
    Y = ids[1:B * L + 1].reshape(B, L).T                          # (L, B)
    return ((X[t:t + S], Y[t:t + S]) for t in range(0, L, S))
