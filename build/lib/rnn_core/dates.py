"""A small, offline, seeded translation task: dates written by people -> ISO 8601.

    "29 Nov 2026"                  -> "2026-11-29"
    "November 29, 2026"            -> "2026-11-29"
    "29/11/26"                     -> "2026-11-29"
    "Sunday, 29th of November 2026" -> "2026-11-29"

Each output character must come from the right input characters (the year first, although
most formats write it last), so a model's alignment can be checked by eye. Dates are drawn
uniformly from 1950-01-01 … 2049-12-31; two-digit years ``yy`` mean 19yy for yy ≥ 50 and
20yy below (the "pivot" rule of many date parsers). Everything is generated from a seed:
no download, the same data on every machine.

    sources, targets, kinds = random_dates(n, rng)      # lists of str
    vocab = DateVocab()                                 # <pad>=0, <s>=1, </s>=2, then characters
    src, tgt = vocab.encode_sources(sources), vocab.encode_targets(targets)   # (S, B), (T, B) int64
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

from .errors import HyperparameterError, ShapeError, check_positive_int, check_rng

__all__ = ["FORMATS", "random_dates", "DateVocab"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FIRST, _LAST = _dt.date(1950, 1, 1).toordinal(), _dt.date(2049, 12, 31).toordinal()


def _ordinal(d: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


# name -> function of a datetime.date; shortest first
FORMATS = {
    "d/m/yy":          lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}",
    "dd.mm.yyyy":      lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "d Mon yyyy":      lambda d: f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}",
    "Mon d, yyyy":     lambda d: f"{_MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "Month d, yyyy":   lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    "Day, d Month yyyy": lambda d: f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}",
    "Day, the dth of Month yyyy":
        lambda d: f"{_DAYS[d.weekday()]}, the {_ordinal(d.day)} of {_MONTHS[d.month - 1]} {d.year}",
}


def random_dates(n: int, rng=0, formats=None):
    """``n`` random dates, each written in a random format, with its ISO form.

    formats: names from ``FORMATS`` (default: all, equally often).
    Returns (sources, targets, kinds): three lists of ``n`` strings (``kinds`` = format names).
    """
    n = check_positive_int("n", n)
    gen = check_rng(rng)
    names = list(FORMATS) if formats is None else list(formats)
    for name in names:
        if name not in FORMATS:
            raise HyperparameterError(f"formats: expected names from {list(FORMATS)}, got {name!r}")
    if not names:
        raise HyperparameterError("formats: expected at least one format name, got none")
    days = gen.integers(_FIRST, _LAST + 1, size=n)
    kinds = [names[k] for k in gen.integers(0, len(names), size=n)]
    dates = [_dt.date.fromordinal(int(o)) for o in days]
    return [FORMATS[k](d) for k, d in zip(kinds, dates)], [d.isoformat() for d in dates], kinds


class DateVocab:
    """Characters of every format, with three special tokens: ``<pad>`` 0, ``<s>`` 1, ``</s>`` 2.

    encode_sources(list of B str) -> (S, B) int64, padded with 0 after each string
    encode_targets(list of B str) -> (T, B) int64: <s>, the characters, </s>, then padding
    decode(ids (L,)) -> str, stopping at </s> and skipping <s> and <pad>
    """

    pad_id, start_id, end_id = 0, 1, 2

    def __init__(self) -> None:
        chars = set("0123456789 ,./-") | set("".join(_MONTHS + _DAYS)) | set("thofsndrd")
        self.tokens = ["<pad>", "<s>", "</s>"] + sorted(chars)
        self.stoi = {t: k for k, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def _ids(self, text: str) -> list:
        if not isinstance(text, str) or not text:
            raise ShapeError(f"text: expected a non-empty str, got {text!r}")
        bad = [c for c in text if c not in self.stoi]
        if bad:
            raise ShapeError(f"text: expected only characters of the date formats, got {''.join(bad)!r}")
        return [self.stoi[c] for c in text]

    def _pad(self, rows: list) -> np.ndarray:
        if not rows:
            raise ShapeError("texts: expected at least one string, got none")
        out = np.full((max(map(len, rows)), len(rows)), self.pad_id, dtype=np.int64)   # (L, B)
        for b, r in enumerate(rows):
            out[:len(r), b] = r
        return out

    def encode_sources(self, texts) -> np.ndarray:
        return self._pad([self._ids(t) for t in texts])

    def encode_targets(self, texts) -> np.ndarray:
        return self._pad([[self.start_id] + self._ids(t) + [self.end_id] for t in texts])

    def decode(self, ids) -> str:
        out = []
        for k in np.asarray(ids).tolist():
            if k == self.end_id:
                break
            if k not in (self.pad_id, self.start_id):
                out.append(self.tokens[k])
        return "".join(out)
