"""Training: one ``fit`` function, ``EarlyStopping`` that really restores the best weights,
a NaN guard and a quiet progress line.

The model protocol is three names:

    model.params                 dict name -> array (updated in place by the optimizer)
    model.grads                  dict name -> array, same keys and shapes
    model.loss_and_grads(*batch) forward + backward on one batch: fills grads, returns the loss
                                 (or a tuple whose first element is the loss)

One step of ``fit``::

    loss = loss_fn(batch)                         # forward + backward, fills model.grads
    norm = clip_grad_norm(model.grads, clip_norm)  # or global_norm(...) without clipping
    optimizer.lr = schedule(step)                  # if a schedule is given
    optimizer.step(model.params, model.grads)

and after each epoch ``val_fn()`` (a function of nothing returning a number) and
``early_stopping.step(val, model.params)``.
"""
from __future__ import annotations

import math
import numbers
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import HyperparameterError, NonFiniteError, ShapeError, check_option, check_positive, check_positive_int
from .optim import Optimizer, clip_grad_norm, global_norm

__all__ = ["EarlyStopping", "History", "fit"]

PROGRESS_AFTER = 2.0    # seconds: shorter runs show no progress line, only the final summary
PROGRESS_EVERY = 0.25   # seconds between refreshes of the progress line (terminal, notebook)
PLAIN_EVERY = 10.0      # seconds between plain lines when stderr is a file or a pipe


# ----------------------------------------------------------------------------- early stopping

class EarlyStopping:
    """Stop when the monitored metric has not improved for ``patience`` epochs; keep the best weights.

        improved  ⇔  metric < best − min_delta   (mode "min", e.g. a loss)
                  ⇔  metric > best + min_delta   (mode "max", e.g. an accuracy)

    ``step(metric, params)`` returns True when training should stop and, on every
    improvement, stores a *copy* of ``params``. ``restore(params)`` writes the best
    copy back into the arrays in place. (The article's version counted epochs but
    never saved the best weights, so training ended with the last, worse ones.)
    A NaN metric never counts as an improvement.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min") -> None:
        self.patience = check_positive_int("patience", patience)
        self.min_delta = check_positive("min_delta", min_delta, allow_zero=True)
        self.mode = check_option("mode", mode, ("min", "max"))
        self.best = None            # best metric so far
        self.best_epoch = None      # 0-based index of the step() call that gave it
        self.best_params = None     # dict of copies
        self.counter = 0            # epochs since the last improvement
        self.calls = 0

    def _improved(self, metric: float) -> bool:
        if not math.isfinite(metric):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta

    def step(self, metric, params: dict) -> bool:
        """Record this epoch's ``metric``; True means stop now."""
        metric = float(metric)
        if self._improved(metric):
            self.best, self.best_epoch, self.counter = metric, self.calls, 0
            self.best_params = {k: np.array(v, copy=True) for k, v in params.items()}
        else:
            self.counter += 1
        self.calls += 1
        return self.counter >= self.patience

    def restore(self, params: dict) -> None:
        """Copy the best parameters back into ``params`` (in place, so layers see them)."""
        if self.best_params is None:
            raise HyperparameterError("EarlyStopping: expected at least one finite metric before restore, got none")
        if params.keys() != self.best_params.keys():
            raise ShapeError(f"params: expected keys {sorted(self.best_params)}, got {sorted(params)}")
        for k, v in params.items():
            v[...] = self.best_params[k]


# ----------------------------------------------------------------------------- history

@dataclass
class History:
    """What ``fit`` recorded. Per step: ``loss``, ``grad_norm`` (before clipping), ``lr``,
    ``epoch``. Per epoch: ``train_loss`` (mean over its steps) and ``val`` (if a ``val_fn``)."""

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val: list = field(default_factory=list)
    mode: str = "min"
    stopped_early: bool = False
    restored_best: bool = False
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def best_epoch(self):
        """0-based epoch with the best validation metric (None without ``val_fn``)."""
        if not self.val:
            return None
        v = np.asarray(self.val, dtype=np.float64)
        v = np.where(np.isfinite(v), v, np.inf if self.mode == "min" else -np.inf)
        return int(np.argmin(v) if self.mode == "min" else np.argmax(v))

    @property
    def val_metric(self) -> list:
        """The per-epoch validation metric (same list as ``val``; the name ``viz`` reads)."""
        return self.val

    @property
    def best_val(self):
        return None if self.best_epoch is None else self.val[self.best_epoch]

    def summary(self) -> str:
        """Epochs, steps, final training loss and time; then (second line) the best validation
        metric and whether training stopped early and restored the best weights."""
        s = f"{self.epochs} epochs, {self.steps} steps"
        if self.loss:
            s += f", train loss {self.train_loss[-1]:.4g}"
        s += f", {self.seconds:.1f} s"
        if self.val:
            s += f"\nbest val {self.best_val:.4g} at epoch {self.best_epoch + 1}"
            if self.stopped_early:
                s += ", stopped early"
            if self.restored_best:
                s += ", best weights restored"
        return s


# ----------------------------------------------------------------------------- progress

def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a display handle can be updated)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Progress:
    """Progress that appears only after ``PROGRESS_AFTER`` seconds.

    In a notebook (a display that is updated) or on a terminal (a ``\\r``-rewritten line) it is
    one line rewritten in place; when stderr is a file or a pipe, where ``\\r`` would pile up,
    it is a plain line at most every ``PLAIN_EVERY`` seconds, and the summary at the end."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last = -math.inf
        self.handle = None
        self.shown = False
        self.kernel = enabled and _in_kernel()
        self.plain = enabled and not self.kernel and not _is_tty(sys.stderr)

    def _write(self, text: str) -> None:
        if self.kernel:
            from IPython.display import display
            if self.handle is None:
                self.handle = display({"text/plain": text}, raw=True, display_id=True)
            else:
                self.handle.update({"text/plain": text}, raw=True)
        else:
            sys.stderr.write("\r" + text.ljust(79))
            sys.stderr.flush()
        self.shown = True

    def update(self, text: str) -> None:
        now = time.perf_counter()
        every = PLAIN_EVERY if self.plain else PROGRESS_EVERY
        if not self.enabled or now - self.start < PROGRESS_AFTER or now - self.last < every:
            return
        self.last = now
        if self.plain:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        else:
            self._write(text)

    def close(self, summary: str | None) -> None:
        """End the line: replace it by ``summary`` (or just end it, on an error)."""
        if not self.enabled:
            return
        if self.plain:
            if summary is not None:
                sys.stderr.write(summary + "\n")
                sys.stderr.flush()
            return
        if summary is None:
            if self.shown and not self.kernel:
                sys.stderr.write("\n")
            return
        if self.kernel and self.handle is not None:
            self._write(summary)
        elif self.kernel:
            print(summary)
        else:
            first, _, rest = summary.partition("\n")               # pad only the line being overwritten
            text = ("\r" + first.ljust(79) if self.shown else first) + ("\n" + rest if rest else "")
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


# ----------------------------------------------------------------------------- fit

def _default_loss_fn(model) -> Callable:
    if not callable(getattr(model, "loss_and_grads", None)):
        raise HyperparameterError("loss_fn: expected a loss_fn(batch) or a model with loss_and_grads, "
                                  f"got model {type(model).__name__} without loss_and_grads")

    def loss_fn(batch):
        if isinstance(batch, list):
            raise ShapeError(f"batch: expected a tuple such as (x, y) or (x, y, mask), passed to "
                             f"model.loss_and_grads(*batch), got a list of {len(batch)}; use tuple(batch)")
        out = model.loss_and_grads(*batch) if isinstance(batch, tuple) else model.loss_and_grads(batch)
        return out[0] if isinstance(out, tuple) else out
    return loss_fn


def _as_number(name: str, value) -> float:
    """A real number returned by a user's function, or an error naming that function."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)) or np.size(value) != 1:
        what = "None (does it return its result?)" if value is None else f"{type(value).__name__} {value!r:.60}"
        raise ShapeError(f"{name}: expected a function returning one number, got {what}")
    return float(np.asarray(value).reshape(()))


def _nonfinite(what: str, value, epoch: int, step: int, gstep: int, lr: float) -> NonFiniteError:
    return NonFiniteError(
        f"{what}: expected a finite value, got {value} at epoch {epoch + 1}, step {step + 1} "
        f"(global step {gstep + 1}, lr={lr:.3g}). Training diverged: try gradient clipping "
        f"(clip_norm=1.0) or a smaller learning rate.")


def fit(model, train_batches, *, optimizer: Optimizer, epochs: int, loss_fn: Callable | None = None,
        clip_norm: float | None = None, schedule: Callable | None = None, val_fn: Callable | None = None,
        early_stopping: EarlyStopping | None = None, val_mode: str | None = None,
        progress: bool = True, log_every: int | None = None) -> History:
    """Train ``model`` with ``optimizer`` and return a ``History``.

    Parameters
    ----------
    model : has ``params``, ``grads`` and (unless ``loss_fn`` is given) ``loss_and_grads``
    train_batches : a function of no arguments returning this epoch's batches (called once
        per epoch, so it can reshuffle), or a list of batches reused every epoch
    optimizer : ``SGD``, ``RMSprop`` or ``Adam``
    epochs : maximum number of passes
    loss_fn : ``loss_fn(batch) -> loss``, doing forward and backward (default: ``model.loss_and_grads``)
    clip_norm : clip the global gradient norm to this value (None: no clipping)
    schedule : ``schedule(step) -> lr`` with the global step counted from 0
    val_fn : ``val_fn() -> float``, evaluated after every epoch
    early_stopping : an ``EarlyStopping`` watching ``val_fn``; at the end the best weights are restored
    val_mode : ``"min"`` (a loss: lower is better) or ``"max"`` (an accuracy); decides what
        ``History.best_epoch`` means. Default: ``early_stopping.mode``, else ``"min"``.
    progress : one updating line for runs longer than ~2 s, and a one-line summary at the end
    log_every : also print a permanent line every this many epochs (None: never)

    Raises ``NonFiniteError`` naming the epoch and step when the loss or the gradient
    norm becomes NaN or infinite.
    """
    if not (isinstance(getattr(model, "params", None), dict) and isinstance(getattr(model, "grads", None), dict)):
        raise HyperparameterError(f"model: expected an object with params and grads dicts, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise HyperparameterError(f"optimizer: expected an rnn_core.optim optimizer, got {type(optimizer).__name__}")
    epochs = check_positive_int("epochs", epochs)
    if clip_norm is not None:
        clip_norm = check_positive("clip_norm", clip_norm)
    if log_every is not None:
        log_every = check_positive_int("log_every", log_every)
    check_option("progress", progress, (False, True))
    if early_stopping is not None and val_fn is None:
        raise HyperparameterError("early_stopping: expected a val_fn to monitor, got val_fn=None")
    if isinstance(train_batches, tuple) and train_batches and all(isinstance(b, np.ndarray) for b in train_batches):
        raise HyperparameterError(
            f"train_batches: expected a list of batches or a function returning an epoch's batches, got a "
            f"tuple of {len(train_batches)} arrays (one batch?); pass [(x, y)] or "
            f"lambda: batches((x, y), batch_size, rng)")
    if callable(train_batches):
        get_batches = train_batches
    elif isinstance(train_batches, (list, tuple)) and len(train_batches) > 0:
        get_batches = lambda: train_batches  # noqa: E731  (the same batches every epoch)
    else:
        raise HyperparameterError("train_batches: expected a function returning an epoch's batches or a "
                                  f"non-empty list of batches, got {type(train_batches).__name__}")
    loss_fn = loss_fn if loss_fn is not None else _default_loss_fn(model)
    if val_mode is None:
        val_mode = early_stopping.mode if early_stopping is not None else "min"
    check_option("val_mode", val_mode, ("min", "max"))
    if early_stopping is not None and early_stopping.mode != val_mode:
        raise HyperparameterError(f"val_mode: expected {early_stopping.mode!r} like early_stopping.mode, "
                                  f"got {val_mode!r}")

    hist = History(mode=val_mode)
    bar = _Progress(progress)
    gstep = 0
    try:
        for epoch in range(epochs):
            losses = []
            for step, batch in enumerate(get_batches()):
                if schedule is not None:
                    optimizer.lr = schedule(gstep)
                try:
                    loss = _as_number("loss_fn", loss_fn(batch))
                except NonFiniteError as e:
                    raise _nonfinite("loss", f"a non-finite intermediate ({e})", epoch, step, gstep,
                                     optimizer.lr) from e
                if not math.isfinite(loss):
                    raise _nonfinite("loss", loss, epoch, step, gstep, optimizer.lr)
                norm = clip_grad_norm(model.grads, clip_norm) if clip_norm else global_norm(model.grads)
                if not math.isfinite(norm):
                    raise _nonfinite("grad_norm", norm, epoch, step, gstep, optimizer.lr)
                optimizer.step(model.params, model.grads)
                hist.loss.append(loss)
                hist.grad_norm.append(norm)
                hist.lr.append(optimizer.lr)
                hist.epoch.append(epoch)
                losses.append(loss)
                gstep += 1
                bar.update(f"epoch {epoch + 1}/{epochs}  step {step + 1}  loss {loss:.4g}  "
                           f"|g| {norm:.3g}  lr {optimizer.lr:.3g}")
            if not losses:
                raise ShapeError(f"train_batches: expected at least one batch per epoch, got none in epoch {epoch + 1}")
            hist.train_loss.append(float(np.mean(losses)))
            line = f"epoch {epoch + 1}/{epochs}  train loss {hist.train_loss[-1]:.4g}"
            stop = False
            if val_fn is not None:
                hist.val.append(_as_number("val_fn", val_fn()))
                line += f"  val {hist.val[-1]:.4g}"
                if early_stopping is not None:
                    stop = early_stopping.step(hist.val[-1], model.params)
            bar.update(line)
            if log_every is not None and (epoch + 1) % log_every == 0:
                print(line)
            if stop:
                hist.stopped_early = True
                break
        if early_stopping is not None and early_stopping.best_params is not None:
            early_stopping.restore(model.params)
            hist.restored_best = True
    except BaseException:
        hist.seconds = time.perf_counter() - bar.start
        bar.close(None)
        raise
    hist.seconds = time.perf_counter() - bar.start
    bar.close(hist.summary() if progress else None)
    return hist
