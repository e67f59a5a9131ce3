"""benchmarks/bench_cells.py: the timing protocol (no timing is asserted, only what is called when)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_cells  # noqa: E402


def test_interleaved_rounds_pause_before_each_library_and_warm_up_every_call(monkeypatch):
    """Round after round, each function is called twice (an untimed warm-up, then the timed
    call), and the round sleeps before the first function of each library, so the other
    library's spinning worker threads cannot slow it down."""
    events = []
    monkeypatch.setattr(bench_cells.time, "sleep", lambda s: events.append(("sleep", s)))
    fns = {name: (lambda name=name: events.append(name)) for name in ("ours", "ours products", "theirs")}
    ms = bench_cells.interleaved_ms(fns, repeats=3, pause_before=("ours", "theirs"), pause=0.25)
    one_round = [("sleep", 0.25), "ours", "ours", "ours products", "ours products",
                 ("sleep", 0.25), "theirs", "theirs"]
    assert events == 3 * one_round
    assert set(ms) == set(fns) and all(v >= 0 for v in ms.values())


def test_no_pause_unless_asked(monkeypatch):
    slept = []
    monkeypatch.setattr(bench_cells.time, "sleep", slept.append)
    bench_cells.interleaved_ms({"a": lambda: None, "b": lambda: None}, repeats=2)
    assert slept == []


@pytest.mark.parametrize("cell", bench_cells.CELLS)
def test_products_are_the_layers_flops(cell):
    """The replayed products of one forward + backward do the layer's multiply-adds:
    3 hoisted products of T·B·D·G and 3 of T·B·H·G (G = gate columns), whatever the split."""
    T, B, D, H = 5, 3, 4, 6
    G = {"RNN": H, "LSTM": 4 * H, "GRU": 3 * H}[cell]
    macs = sum(count * m * k * n for _, count, (m, k), (_, n), *_ in bench_cells.products(cell, T, B, D, H))
    assert macs == 3 * T * B * D * G + 3 * T * B * H * G


def test_product_runners_run_every_product_of_a_group(monkeypatch):
    """Products that share a label (the GRU's [r, z] and n parts) are replayed together."""
    calls = []
    real = bench_cells.np.matmul
    def matmul(a, b, out):
        calls.append((a.shape, b.shape))
        return real(a, b, out=out)
    monkeypatch.setattr(bench_cells.np, "matmul", matmul)
    runners = bench_cells.product_runners("GRU", 5, 3, 4, 6)
    assert set(runners) == {label for label, *_ in bench_cells.products("GRU", 5, 3, 4, 6)}
    for run in runners.values():
        run()
    expected = sorted(((m, k), (k2, n))
                      for _, count, (m, k), (k2, n), *_ in bench_cells.products("GRU", 5, 3, 4, 6)
                      for _ in range(count))
    assert sorted(calls) == expected
