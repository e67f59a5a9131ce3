"""Time forward + backward of the recurrent cells: rnn_core vs the article's style vs PyTorch.

    python benchmarks/bench_cells.py                       # table on stdout
    python benchmarks/bench_cells.py --out benchmarks/results.json   # also write JSON (or .csv)
    python benchmarks/bench_cells.py --check               # first verify the baselines agree with rnn_core

For every cell (RNN tanh, LSTM, GRU) and size (T, B, D, H) it times one
``forward`` + ``backward`` (gradients of all weights and of the input):

* rnn_core in float32 (fused gates, batched, hoisted matmuls);
* the article's style (``article_style.py``: a matrix per gate, one sample at
  a time, float64 as in the article);
* PyTorch CPU float32, ``torch.set_num_threads(2)``, if torch is installed.

rnn_core and PyTorch are timed **interleaved** in one process (round after
round: rnn_core, the products alone, PyTorch), and each number is the **median**
of ``--repeats`` rounds: a busy moment of the machine then slows both sides
alike instead of one whole column. Each library keeps its own pool of worker
threads (OpenBLAS's for numpy, OpenMP's for PyTorch), and a pool's idle workers
spin on the cores for a while after each call before they sleep. So before each
library's turn the round **pauses** (``--pause``, 0.25 s) until the other
library's workers sleep, then makes one untimed warm-up call and times the next:
each side is measured as it runs in a program of its own. Without the pause,
in one measured run, PyTorch's LSTM at (50, 32, 64, 128) took 24 ms instead of
9.4 ms and rnn_core's at (25, 1, 65, 100) 8.3 ms instead of 1.6 ms.

The split: ``products_ms`` is the time of the matrix products rnn_core's layer
does (``products()``: the same shapes and layouts, replayed alone); ``other_ms`` =
``rnn_core_ms - products_ms`` is everything else (elementwise gate work, numpy
call overhead, allocations). The floor: one (32x128)@(128x512) float32 product
(numpy and ``torch.mm``), ``np.exp``/``np.tanh`` over a (32, 512) block, a multiply.

``--clock cpu`` measures CPU time of the process (all threads) instead of wall
time: on a busy shared machine it is far less noisy, but it counts the work of
both BLAS/torch threads, so it is not the same quantity as wall time.
Speed depends on the BLAS kernel: the script prints which OpenBLAS core is in use.
No timing here is asserted by any test.
"""
from __future__ import annotations

import argparse
import csv
import ctypes
import glob
import json
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnn_core  # noqa: E402
from article_style import ArticleGRU, ArticleLSTM, ArticleRNN  # noqa: E402

SIZES = [(50, 32, 64, 128), (100, 64, 128, 256), (25, 1, 65, 100)]   # (T, B, D, H)
CELLS = ["RNN", "LSTM", "GRU"]
ARTICLE = {"RNN": ArticleRNN, "LSTM": ArticleLSTM, "GRU": ArticleGRU}


def openblas_core() -> str:
    """Name of the OpenBLAS kernel numpy uses (e.g. 'Haswell', 'SkylakeX'), or '?'."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for lib in libs:
        try:
            dll = ctypes.CDLL(lib)
            for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
                if hasattr(dll, name):
                    f = getattr(dll, name)
                    f.restype = ctypes.c_char_p
                    return f().decode()
        except OSError:
            pass
    return "?"


def _fmt(v, width, spec):
    return ("-" if v is None else format(v, spec)).rjust(width)


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def best_ms(fn, repeats: int) -> float:
    """Best time of ``fn()`` in ms over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return 1e3 * min(times)


def interleaved_ms(fns: dict, repeats: int, pause_before=(), pause: float = 0.0) -> dict:
    """Median time in ms of each function of ``fns``, timed round after round
    (one call of each per round, in turn), each timed call right after an untimed
    warm-up call. Before the functions named in ``pause_before`` (the first of each
    library) the round sleeps ``pause`` seconds, so that the other library's idle
    worker threads have stopped spinning on the cores."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if name in pause_before:
                time.sleep(pause)
            fn()                                   # warm-up: wakes this library's threads
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: 1e3 * float(np.median(t)) for name, t in times.items()}


# The matrix products of one forward + backward of rnn_core's layers, as the code in
# rnn_core/{rnn,lstm,gru}.py does them: (label, how many, shape of the left operand,
# shape of the right one), G = gate columns (H, 4H, 3H). An operand written "T" is a
# transposed view of a contiguous array (BLAS reads it transposed, no copy).
def products(cell, T, B, D, H):
    """[(label, count, (m, k), (k, n), left_T, right_T)] for ``cell`` at size (T, B, D, H)."""
    G = {"RNN": H, "LSTM": 4 * H, "GRU": 3 * H}[cell]
    hoisted = [("input projection X W_x", 1, (T * B, D), (D, G), False, False),
               ("dx = dA W_xᵀ", 1, (T * B, G), (G, D), False, True),
               ("dW_x = Xᵀ dA", 1, (D, T * B), (T * B, G), True, False)]
    if cell == "GRU":                            # r, z from one product; n from its own
        hoisted = [("input projection X W_x (r, z | n)", 1, (T * B, D), (D, 2 * H), False, False),
                   ("input projection X W_x (r, z | n)", 1, (T * B, D), (D, H), False, False),
                   ("dx = dA W_xᵀ (r, z | n)", 1, (T * B, 2 * H), (2 * H, D), False, True),
                   ("dx = dA W_xᵀ (r, z | n)", 1, (T * B, H), (H, D), False, True),
                   ("dW_x = Xᵀ dA (r, z | n)", 1, (D, T * B), (T * B, 2 * H), True, False),
                   ("dW_x = Xᵀ dA (r, z | n)", 1, (D, T * B), (T * B, H), True, False)]
        return hoisted + [
            ("per step h W_h (fwd)", T, (B, H), (H, 2 * H), False, False),
            ("per step (r⊙h) W_hn (fwd)", T, (B, H), (H, H), False, False),
            ("per step dA W_hᵀ (bwd)", T, (B, 2 * H), (2 * H, H), False, False),
            ("per step da_n W_hnᵀ (bwd)", T, (B, H), (H, H), False, False),
            ("dW_h = Hᵀ dA", 1, (H, T * B), (T * B, 2 * H), True, False),
            ("dW_hn = (r⊙H)ᵀ da_n", 1, (H, T * B), (T * B, H), True, False)]
    return hoisted + [
        ("per step h W_h (fwd)", T, (B, H), (H, G), False, False),
        ("per step dA W_hᵀ (bwd)", T, (B, G), (G, H), False, False),
        ("dW_h = Hᵀ dA", 1, (H, T * B), (T * B, G), True, False)]


def product_runners(cell, T, B, D, H, dtype=np.float32):
    """{label: fn} where fn() does that group of products (the rows of ``products`` with that
    label) on random arrays of the same layout."""
    gen = np.random.default_rng(0)
    jobs = {}
    for label, count, (m, k), (k2, n), left_T, right_T in products(cell, T, B, D, H):
        left = gen.standard_normal((k, m) if left_T else (m, k)).astype(dtype)
        right = gen.standard_normal((n, k2) if right_T else (k2, n)).astype(dtype)
        left, right = (left.T if left_T else left), (right.T if right_T else right)
        jobs.setdefault(label, []).append((left, right, np.empty((m, n), dtype), count))

    def runner(group):
        def run():
            for left, right, out, count in group:
                for _ in range(count):
                    np.matmul(left, right, out=out)
        return run
    return {label: runner(group) for label, group in jobs.items()}


def floor_us(torch, repeats: int, pause: float = 0.0) -> dict:
    """The floor of one LSTM step at B=32, H=128: one (32x128)@(128x512) float32 product
    (numpy, torch.mm), np.exp / np.tanh over a (32, 512) block, one multiply; medians in µs."""
    gen = np.random.default_rng(0)
    h, W = gen.standard_normal((32, 128)).astype(np.float32), gen.standard_normal((128, 512)).astype(np.float32)
    a, out = gen.standard_normal((32, 512)).astype(np.float32), np.empty((32, 512), np.float32)
    n = 100                                                    # calls per timing: µs-sized work

    def many(f):
        return lambda: [f() for _ in range(n)]
    fns = {"numpy (32x128)@(128x512)": many(lambda: np.matmul(h, W, out=out)),
           "np.exp (32, 512)": many(lambda: np.exp(a, out=out)),
           "np.tanh (32, 512)": many(lambda: np.tanh(a, out=out)),
           "np.multiply (32, 512)": many(lambda: np.multiply(a, a, out=out))}
    if torch is not None:
        ht, Wt, ot = torch.from_numpy(h), torch.from_numpy(W), torch.empty(32, 512)
        fns["torch.mm (32x128)@(128x512)"] = many(lambda: torch.mm(ht, Wt, out=ot))
    first = ("numpy (32x128)@(128x512)", "torch.mm (32x128)@(128x512)")
    return {k: 1e3 * v / n for k, v in interleaved_ms(fns, repeats, first, pause).items()}


def make_rnn_core(cell, D, H, dtype=np.float32):
    if cell == "RNN":
        return rnn_core.RNN(D, H, rng=0, dtype=dtype)
    if cell == "LSTM":
        return rnn_core.LSTM(D, H, rng=0, dtype=dtype)
    return rnn_core.GRU(D, H, rng=0, dtype=dtype)


def rnn_core_runner(cell, T, B, D, H):
    gen = np.random.default_rng(0)
    layer = make_rnn_core(cell, D, H)
    x = gen.standard_normal((T, B, D)).astype(np.float32)
    dhs = gen.standard_normal((T, B, H)).astype(np.float32)

    def run():
        hs, _, cache = layer.forward(x)
        layer.backward(dhs, cache)
    return run


def time_article(cell, T, B, D, H, repeats):
    gen = np.random.default_rng(0)
    model = ARTICLE[cell](D, H, rng=0)
    x = gen.standard_normal((T, B, D))              # float64, as the article
    dhs = gen.standard_normal((T, B, H))
    return best_ms(lambda: model.forward_backward(x, dhs), repeats)


def torch_runner(torch, cell, T, B, D, H):
    torch.manual_seed(0)
    module = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[cell](D, H)
    gen = np.random.default_rng(0)
    x = torch.from_numpy(gen.standard_normal((T, B, D)).astype(np.float32)).requires_grad_(True)
    dhs = torch.from_numpy(gen.standard_normal((T, B, H)).astype(np.float32))

    def run():
        module.zero_grad()
        x.grad = None
        out, _ = module(x)
        out.backward(dhs)
    return run


def check_article_style():
    """float64: the article-style baselines give rnn_core's gradients (so they do the same work)."""
    gen = np.random.default_rng(1)
    T, B, D, H = 4, 3, 5, 6
    x, dhs = gen.standard_normal((T, B, D)), gen.standard_normal((T, B, H))
    worst = 0.0
    for cell in CELLS:
        if cell == "GRU" and not hasattr(rnn_core, "GRU"):
            continue
        art = ARTICLE[cell](D, H, rng=2)
        for k, v in vars(art).items():                   # random weights and biases
            if isinstance(v, np.ndarray):
                v[...] = 0.5 * gen.standard_normal(v.shape)
        layer = make_rnn_core(cell, D, H, np.float64)
        if cell == "RNN":
            layer.params.update(W_x=art.W_xh, W_h=art.W_hh, b=art.b_h[0])
            order, sign = ["h"], [1]
        elif cell == "LSTM":                             # ours [i|f|g|o] = article i, f, c, o
            order, sign = ["i", "f", "c", "o"], [1, 1, 1, 1]
        else:                                            # ours [r|z|n]; the article's z is our 1 - z
            order, sign = ["r", "z", "h"], [1, -1, 1]
        if cell != "RNN":
            layer.params.update(
                W_x=np.concatenate([s * getattr(art, "W_x" + k) for k, s in zip(order, sign)], axis=1),
                W_h=np.concatenate([s * getattr(art, "W_h" + k) for k, s in zip(order, sign)], axis=1),
                b=np.concatenate([s * getattr(art, "b_" + k)[0] for k, s in zip(order, sign)]))
        _, _, cache = layer.forward(x)
        dx, _ = layer.backward(dhs, cache)
        dx_art, g_art = art.forward_backward(x, dhs)
        dW_x = (g_art["W_xh"] if cell == "RNN" else
                np.concatenate([s * g_art["W_x" + k] for k, s in zip(order, sign)], axis=1))
        errs = [rnn_core.rel_error(dx, dx_art), rnn_core.rel_error(layer.grads["W_x"], dW_x)]
        worst = max(worst, *errs)
        print(f"check {cell:4s}: rel. error dx {errs[0]:.1e}, dW_x {errs[1]:.1e}")
    assert worst < 1e-10, f"article-style baseline disagrees with rnn_core: {worst:.2e}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15,
                    help="interleaved rounds of rnn_core, torch and the products (the median is kept)")
    ap.add_argument("--article-repeats", type=int, default=1, help="timed runs of the slow article style (best)")
    ap.add_argument("--no-article", action="store_true", help="skip the article-style baseline")
    ap.add_argument("--check", action="store_true", help="verify the article-style baselines first")
    ap.add_argument("--out", help="write results to this .json or .csv file")
    ap.add_argument("--clock", choices=sorted(CLOCK), default="wall",
                    help="wall: elapsed time (default); cpu: CPU time of this process, all threads "
                         "(less sensitive to other jobs on a busy machine)")
    ap.add_argument("--torch-threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--pause", type=float, default=0.25,
                    help="seconds to sleep before each library's turn, so the other library's idle "
                         "threads stop spinning (default 0.25; 0 reproduces the old contaminated timing)")
    ap.add_argument("--cells", nargs="+", choices=CELLS, default=CELLS, help="cells to time (default: all)")
    args = ap.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]

    try:
        import torch
        torch.set_num_threads(args.torch_threads)
    except ImportError:
        torch = None
        print("torch not installed: PyTorch column skipped")
    cells = [c for c in args.cells if c != "GRU" or hasattr(rnn_core, "GRU")]
    if "GRU" in args.cells and "GRU" not in cells:
        print("rnn_core.GRU not found: GRU rows skipped")
    if args.check:
        check_article_style()

    env = {"python": platform.python_version(), "numpy": np.__version__,
           "torch": getattr(torch, "__version__", None),
           "torch_threads": None if torch is None else torch.get_num_threads(),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "openblas_core": openblas_core(),
           "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
           "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"), "cpus": os.cpu_count(),
           "processor": platform.processor() or platform.machine(),
           "load_average_1min": round(os.getloadavg()[0], 2), "clock": args.clock,
           "statistic": f"median of {args.repeats} interleaved rounds, each call after a warm-up call, "
                        f"{args.pause} s pause before each library's turn (article: best of {args.article_repeats})"}
    print("environment:", ", ".join(f"{k}={v}" for k, v in env.items()))

    floor = floor_us(torch, args.repeats, args.pause)
    print("floor (µs, median):", ", ".join(f"{k} {v:.1f}" for k, v in floor.items()))

    rows = []
    head = (f"{'cell':5s} {'T,B,D,H':>16s} {'rnn_core ms':>12s} {'products':>9s} {'other':>8s} "
            f"{'article ms':>11s} {'speed-up':>9s} {'torch ms':>9s} {'ours/torch':>10s}")
    print(head)
    print("-" * len(head))
    for cell in cells:
        for (T, B, D, H) in SIZES:
            fns = {"rnn_core": rnn_core_runner(cell, T, B, D, H), **product_runners(cell, T, B, D, H)}
            if torch is not None:
                fns["torch"] = torch_runner(torch, cell, T, B, D, H)
            ms = interleaved_ms(fns, args.repeats, pause_before=("rnn_core", "torch"), pause=args.pause)
            ours, tor = ms.pop("rnn_core"), ms.pop("torch", None)
            prod = sum(ms.values())
            art = None if args.no_article else time_article(cell, T, B, D, H, args.article_repeats)
            row = {"cell": cell, "T": T, "B": B, "D": D, "H": H, "rnn_core_ms": ours,
                   "products_ms": prod, "other_ms": ours - prod, "products": ms, "article_ms": art,
                   "torch_ms": tor, "article_over_rnn_core": None if art is None else art / ours,
                   "rnn_core_over_torch": None if tor is None else ours / tor}
            rows.append(row)
            print(f"{cell:5s} {f'{T},{B},{D},{H}':>16s} {ours:12.2f} {prod:9.2f} {ours - prod:8.2f} "
                  f"{_fmt(art, 11, '.1f')} "
                  f"{_fmt(row['article_over_rnn_core'], 8, '.0f')}{'x' if art else ' '} {_fmt(tor, 9, '.2f')} "
                  f"{_fmt(row['rnn_core_over_torch'], 10, '.2f')}", flush=True)

    print("\nwhere rnn_core's time goes (ms; products replayed alone, 'other' = the rest):")
    for r in rows:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r["products"].items())
        print(f"{r['cell']:5s} ({r['T']}, {r['B']}, {r['D']}, {r['H']}): total {r['rnn_core_ms']:.2f} = "
              f"products {r['products_ms']:.2f} ({100 * r['products_ms'] / r['rnn_core_ms']:.0f} %) "
              f"+ other {r['other_ms']:.2f}\n      products: {parts}")

    ratios = [r["rnn_core_over_torch"] for r in rows if r["rnn_core_over_torch"] is not None]
    summary = {}
    if ratios:
        summary = {"geomean_rnn_core_over_torch": math.exp(sum(map(math.log, ratios)) / len(ratios)),
                   "max_rnn_core_over_torch": max(ratios), "pairs": len(ratios)}
        print(f"geometric mean rnn_core/torch over {len(ratios)} (cell, size) pairs: "
              f"{summary['geomean_rnn_core_over_torch']:.2f} (max {summary['max_rnn_core_over_torch']:.2f})")

    if args.out:
        if args.out.endswith(".csv"):
            with open(args.out, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=[k for k in rows[0] if k != "products"])
                w.writeheader()
                w.writerows([{k: v for k, v in r.items() if k != "products"} for r in rows])
        else:
            with open(args.out, "w") as fh:
                json.dump({"environment": env, "floor_us": floor, "summary": summary, "rows": rows},
                          fh, indent=1, ensure_ascii=False)
                fh.write("\n")
        print("wrote", args.out)


if __name__ == "__main__":
    main()
