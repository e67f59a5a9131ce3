"""Loaders for the four small data sets shipped in ``data/`` (numpy and ``csv`` only, no network).

    load_hamlet()           -> str, the play as plain text (character-level language model)
    load_movie_reviews()    -> sentences, labels (1 = positive), ratings (sentiment classification)
    load_seattle_weather()  -> dict of arrays: dates, precipitation, temp_max, temp_min, wind, weather
    load_aapl()             -> dict of arrays: dates, open, high, low, close, volume, adj_close

Each takes an optional ``data_dir``; by default the ``data/`` folder next to the
``rnn_core`` package (the repository root). See ``data/README.md`` for sources and licences.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import RNNCoreError

__all__ = ["DATA_DIR", "DataFileError", "load_hamlet", "load_movie_reviews", "load_seattle_weather", "load_aapl"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class DataFileError(RNNCoreError, FileNotFoundError):
    """A data file is missing: both a ``ValueError`` (like every rnn_core error) and a ``FileNotFoundError``."""


def _path(name: str, data_dir) -> Path:
    """``data_dir / name``, with a clear error naming the path if the file is missing."""
    path = Path(DATA_DIR if data_dir is None else data_dir) / name
    if not path.is_file():
        raise DataFileError(f"data_dir: expected the file {name!r} at {str(path)!r}, got no such file "
                           f"(the data sets ship in the repository's data/ folder; pass data_dir=...)")
    return path


def _read_csv(path: Path, delimiter: str = ",", quoting=csv.QUOTE_MINIMAL) -> tuple[list, list]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter, quoting=quoting))
    return rows[0], rows[1:]


def load_hamlet(data_dir=None) -> str:
    """Shakespeare's *Hamlet* as one string (about 176,000 characters)."""
    return _path("hamlet.txt", data_dir).read_text(encoding="utf-8")


def load_movie_reviews(data_dir=None, drop_neutral: bool = True):
    """Movie-review sentences with their mean human rating (−4 … +4).

    Sentences rated exactly 0 are neutral and dropped (37 of 10,605) unless
    ``drop_neutral=False``; the label is ``rating > 0``. The file is read with
    ``csv.QUOTE_NONE`` because sentences contain quote characters.

    Returns
    -------
    sentences : list of str (10,568)
    labels : (N,) int64, 1 positive (5,242) / 0 negative (5,326)
    ratings : (N,) float64
    """
    header, rows = _read_csv(_path("movie-reviews.tsv", data_dir), "\t", csv.QUOTE_NONE)
    ratings = np.array([float(r[1]) for r in rows])
    sentences = [r[2] for r in rows]
    if drop_neutral:
        keep = ratings != 0
        sentences = [s for s, k in zip(sentences, keep) if k]
        ratings = ratings[keep]
    labels = (ratings > 0).astype(np.int64)
    return sentences, labels, ratings


def load_seattle_weather(data_dir=None) -> dict:
    """Seattle daily weather, 2012-01-01 … 2015-12-31 (1,461 days).

    Returns a dict: ``dates`` (N,) datetime64[D]; ``precipitation`` (mm), ``temp_max``,
    ``temp_min`` (°C), ``wind`` (m/s): (N,) float64; ``weather`` (N,) str labels.
    """
    header, rows = _read_csv(_path("seattle-weather.csv", data_dir))
    cols = list(zip(*rows))
    out = {"dates": np.array([d.replace("/", "-") for d in cols[0]], dtype="datetime64[D]")}
    for k, name in enumerate(header[1:5], 1):
        out[name] = np.array(cols[k], dtype=np.float64)
    out["weather"] = np.array(cols[5])
    return out


def load_aapl(data_dir=None) -> dict:
    """Apple daily prices, 2000-03-01 … 2013-03-01 (3,270 trading days).

    Returns a dict: ``dates`` (N,) datetime64[D]; ``open``, ``high``, ``low``,
    ``close``, ``adj_close`` (USD) (N,) float64; ``volume`` (N,) int64.
    Model ``adj_close``: the raw ``close`` has 2:1 splits on 2000-06-21 and
    2005-02-28 that look like crashes.
    """
    header, rows = _read_csv(_path("aapl.csv", data_dir))
    cols = dict(zip(header, zip(*rows)))
    out = {"dates": np.array(cols["date"], dtype="datetime64[D]")}
    for name in ("open", "high", "low", "close", "adj_close"):
        out[name] = np.array(cols[name], dtype=np.float64)
    out["volume"] = np.array(cols["volume"], dtype=np.float64).astype(np.int64)
    return out
