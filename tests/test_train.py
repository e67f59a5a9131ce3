"""fit, History, EarlyStopping (restores the best weights), the NaN guard, progress output."""
import io
import sys

import numpy as np
import pytest

from rnn_core import train
from rnn_core.data import batches
from rnn_core.errors import HyperparameterError, NonFiniteError, ShapeError
from rnn_core.optim import SGD, Adam, global_norm
from rnn_core.schedules import step_decay
from rnn_core.train import EarlyStopping, History, fit


class Linear:
    """y = X w + b with mean squared error: the smallest model that follows the protocol."""

    def __init__(self, D, rng):
        self.params = {"w": rng.standard_normal(D), "b": np.zeros(1)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def loss_and_grads(self, X, y):
        r = X @ self.params["w"] + self.params["b"] - y          # (N,)
        self.grads["w"] = 2 * X.T @ r / len(y)
        self.grads["b"] = np.array([2 * r.mean()])
        return float(np.mean(r ** 2))


def _data(rng, N=64, D=3):
    X = rng.standard_normal((N, D))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    return X, y


def test_fit_learns_and_records_history(rng):
    X, y = _data(rng)
    model = Linear(3, rng)
    gen = np.random.default_rng(1)
    hist = fit(model, lambda: batches((X, y), 16, gen), optimizer=SGD(0.1), epochs=30, progress=False)
    assert isinstance(hist, History)
    assert hist.epochs == 30 and hist.steps == 30 * 4
    assert len(hist.loss) == len(hist.grad_norm) == len(hist.lr) == len(hist.epoch) == 120
    assert hist.epoch[:5] == [0, 0, 0, 0, 1]
    assert hist.train_loss[-1] < 1e-6 < hist.train_loss[0]
    np.testing.assert_allclose(model.params["w"], [1.0, -2.0, 0.5], atol=1e-3)
    assert hist.best_epoch is None and not hist.stopped_early


def test_fit_records_norm_before_clipping_and_schedule_lr(rng):
    X, y = _data(rng)
    model = Linear(3, rng)
    seen = []

    def loss_fn(batch):
        loss = model.loss_and_grads(*batch)
        seen.append(global_norm(model.grads))            # the norm before fit clips it
        return loss

    sched = lambda step: step_decay(step, 0.1, 0.5, 4)     # noqa: E731
    hist = fit(model, [(X[:32], y[:32]), (X[32:], y[32:])], loss_fn=loss_fn, optimizer=SGD(1.0),
               epochs=4, clip_norm=0.5, schedule=sched, progress=False)
    np.testing.assert_allclose(hist.grad_norm, seen, rtol=1e-15)
    assert max(hist.grad_norm) > 0.5                        # clipping was active, the log shows the raw norm
    assert hist.lr == [0.1] * 4 + [0.05] * 4


def test_early_stopping_unit():
    es = EarlyStopping(patience=2, min_delta=0.1)
    p = {"w": np.array([0.0])}
    seq = [1.0, 0.5, 0.45, 0.6, 0.3, 0.35, 0.32]
    stops = []
    for k, m in enumerate(seq):
        p["w"][0] = k                                       # the "weights" of epoch k
        stops.append(es.step(m, p))
    # 0.45 is not < 0.5 − 0.1: no improvement; 0.6 neither -> stop at index 3
    assert stops[:4] == [False, False, False, True]
    assert es.best == 0.3 and es.best_epoch == 4
    assert es.best_params["w"][0] == 4 and es.best_params["w"] is not p["w"]
    arr = p["w"]
    es.restore(p)
    assert p["w"] is arr and p["w"][0] == 4                 # restored in place

    es = EarlyStopping(patience=1, mode="max")
    assert es.step(0.5, p) is False
    assert es.step(float("nan"), p) is True                 # NaN never improves
    assert es.best == 0.5


def test_fit_early_stopping_restores_best_weights(rng):
    X, y = _data(rng)
    model = Linear(3, rng)
    vals = iter([3.0, 2.0, 1.0, 1.5, 1.7, 1.9, 2.5, 9.0])
    snapshots = []

    def val_fn():
        snapshots.append({k: v.copy() for k, v in model.params.items()})
        return next(vals)

    es = EarlyStopping(patience=3)
    hist = fit(model, [(X, y)], optimizer=SGD(0.05), epochs=8, val_fn=val_fn, early_stopping=es,
               progress=False)
    assert hist.stopped_early and hist.epochs == 6          # epochs 4, 5, 6 did not improve on epoch 3
    assert hist.best_epoch == 2 and hist.best_val == 1.0 and hist.restored_best
    for k in model.params:
        np.testing.assert_array_equal(model.params[k], snapshots[2][k])
        assert not np.array_equal(snapshots[2][k], snapshots[-1][k])
    assert "best val 1 at epoch 3" in hist.summary()
    assert hist.val_metric is hist.val


class Diverging(Linear):
    """Its loss turns NaN at the 6th call."""

    def __init__(self, D, rng, kind="loss"):
        super().__init__(D, rng)
        self.calls, self.kind = 0, kind

    def loss_and_grads(self, X, y):
        loss = super().loss_and_grads(X, y)
        self.calls += 1
        if self.calls == 6:
            if self.kind == "loss":
                return float("nan")
            if self.kind == "grad":
                self.grads["w"][0] = np.inf
            if self.kind == "raise":
                raise NonFiniteError("logits: expected finite values, got 3 NaN/inf entries")
        return loss


@pytest.mark.parametrize("kind, what", [("loss", "loss"), ("grad", "grad_norm"), ("raise", "loss")])
def test_nan_guard_names_epoch_and_step(kind, what, rng):
    X, y = _data(rng)
    model = Diverging(3, rng, kind)
    two_batches = [(X[:32], y[:32]), (X[32:], y[32:])]
    with pytest.raises(NonFiniteError, match=rf"^{what}: expected a finite value, got .* at epoch 3, step 2 "
                                             r"\(global step 6, lr=0.01\)\. .*gradient clipping .*smaller learning rate"):
        fit(model, two_batches, optimizer=SGD(0.01), epochs=5, progress=False)
    assert np.all(np.isfinite(model.params["w"]))           # the bad step was not applied


def test_progress_quiet_for_short_runs(rng, capsys):
    X, y = _data(rng)
    fit(Linear(3, rng), [(X, y)], optimizer=Adam(0.01), epochs=3, progress=True)
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1 and "\r" not in out.err   # only the one-line summary
    assert out.err.startswith("3 epochs, 3 steps, train loss")
    fit(Linear(3, rng), [(X, y)], optimizer=Adam(0.01), epochs=3, progress=False)
    assert capsys.readouterr() == ("", "")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_updates_in_place_on_a_terminal(rng, monkeypatch):
    monkeypatch.setattr(train, "PROGRESS_AFTER", 0.0)        # pretend the run is long
    monkeypatch.setattr(train, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    X, y = _data(rng)
    hist = fit(Linear(3, rng), [(X, y)], optimizer=Adam(0.01), epochs=4, progress=True)
    err = sys.stderr.getvalue()
    assert err.count("\n") == 1 and err.endswith("\n")       # one line, rewritten with \r
    assert err.count("\repoch ") == 8                         # a step update and an epoch update each
    assert err.rstrip().endswith(hist.summary())


def test_progress_is_plain_lines_when_piped(rng, capsys, monkeypatch):
    """stderr to a file or pipe (capsys is not a TTY): no \r, one plain line at most every PLAIN_EVERY s."""
    monkeypatch.setattr(train, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(train, "PLAIN_EVERY", 0.0, raising=False)
    X, y = _data(rng)
    hist = fit(Linear(3, rng), [(X, y)], optimizer=Adam(0.01), epochs=4, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert len(lines) == 8 + 1 and lines[-1] == hist.summary()
    assert [ln.split()[1] for ln in lines if "train loss" in ln and ln.startswith("epoch")] == ["1/4", "2/4", "3/4", "4/4"]
    monkeypatch.setattr(train, "PLAIN_EVERY", 3600.0)           # a long interval: only the first line and the summary
    hist = fit(Linear(3, rng), [(X, y)], optimizer=Adam(0.01), epochs=4, progress=True)
    assert len(capsys.readouterr().err.splitlines()) == 2


def test_log_every_prints_epoch_lines(rng, capsys):
    X, y = _data(rng)
    fit(Linear(3, rng), [(X, y)], optimizer=SGD(0.01), epochs=4, log_every=2, progress=False,
        val_fn=lambda: 1.0)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[1] for ln in lines] == ["2/4", "4/4"] and "val 1" in lines[0]


def test_fit_errors(rng):
    X, y = _data(rng)
    model = Linear(3, rng)
    ok = dict(optimizer=SGD(0.1), epochs=1, progress=False)
    with pytest.raises(HyperparameterError, match="epochs: expected a positive integer, got 0"):
        fit(model, [(X, y)], **{**ok, "epochs": 0})
    with pytest.raises(HyperparameterError, match="clip_norm: expected a finite number > 0, got 0"):
        fit(model, [(X, y)], clip_norm=0.0, **ok)
    with pytest.raises(HyperparameterError, match="early_stopping: expected a val_fn"):
        fit(model, [(X, y)], early_stopping=EarlyStopping(2), **ok)
    with pytest.raises(HyperparameterError, match="train_batches: expected a function"):
        fit(model, iter([(X, y)]), **ok)
    with pytest.raises(HyperparameterError, match="train_batches"):
        fit(model, [], **ok)
    with pytest.raises(ShapeError, match="train_batches: expected at least one batch per epoch"):
        fit(model, lambda: [], **ok)
    with pytest.raises(HyperparameterError, match="optimizer"):
        fit(model, [(X, y)], optimizer="adam", epochs=1)
    with pytest.raises(HyperparameterError, match="model: expected an object with params and grads"):
        fit(object(), [(X, y)], **ok)
    with pytest.raises(HyperparameterError, match="patience"):
        EarlyStopping(0)
    with pytest.raises(HyperparameterError, match="mode: expected one of"):
        EarlyStopping(2, mode="best")
    with pytest.raises(HyperparameterError, match="min_delta"):
        EarlyStopping(2, min_delta=-1.0)
    with pytest.raises(HyperparameterError, match="EarlyStopping: expected at least one finite metric"):
        EarlyStopping(2).restore(model.params)


def test_val_mode_max_picks_the_highest_metric(rng):
    X, y = _data(rng)
    model = Linear(3, rng)
    scores = iter([0.5, 0.9, 0.7])
    hist = fit(model, [(X, y)], optimizer=SGD(0.01), epochs=3, val_fn=lambda: next(scores),
               val_mode="max", progress=False)
    assert hist.best_epoch == 1 and hist.best_val == 0.9
    with pytest.raises(HyperparameterError, match="val_mode"):
        fit(model, [(X, y)], optimizer=SGD(0.01), epochs=1, val_fn=lambda: 0.0, val_mode="best")
    with pytest.raises(HyperparameterError, match="val_mode"):
        fit(model, [(X, y)], optimizer=SGD(0.01), epochs=1, val_fn=lambda: 0.0, val_mode="max",
            early_stopping=EarlyStopping(2, mode="min"))
