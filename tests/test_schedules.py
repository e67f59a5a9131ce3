"""Learning-rate schedules: exact values, vectorised steps, errors."""
import numpy as np
import pytest

from rnn_core.errors import HyperparameterError
from rnn_core.schedules import cosine_with_warmup, exponential_decay, inverse_time_decay, step_decay


def test_inverse_time_decay_matches_article_rule():
    # the article: initial_lr / (1 + decay_rate * epoch)
    for epoch in range(5):
        assert inverse_time_decay(epoch, 0.1, 0.1) == pytest.approx(0.1 / (1 + 0.1 * epoch), rel=1e-15)
    assert inverse_time_decay(250, 1.0, 0.5, decay_steps=100) == 1.0 / 2.0   # epoch 2
    assert inverse_time_decay(99, 1.0, 0.5, decay_steps=100) == 1.0


def test_step_decay():
    assert step_decay(0, 0.1, 0.5, 10) == 0.1
    assert step_decay(9, 0.1, 0.5, 10) == 0.1
    assert step_decay(10, 0.1, 0.5, 10) == 0.05
    assert step_decay(35, 0.1, 0.5, 10) == pytest.approx(0.0125, rel=1e-15)


def test_exponential_decay():
    assert exponential_decay(0, 2.0, 0.9) == 2.0
    assert exponential_decay(3, 2.0, 0.9) == pytest.approx(2.0 * 0.729, rel=1e-15)


def test_cosine_with_warmup_values():
    lr0, N, W = 1.0, 110, 10
    assert cosine_with_warmup(0, lr0, N, W) == pytest.approx(0.1)
    assert cosine_with_warmup(4, lr0, N, W) == pytest.approx(0.5)
    assert cosine_with_warmup(9, lr0, N, W) == pytest.approx(1.0)
    assert cosine_with_warmup(10, lr0, N, W) == 1.0                       # top of the cosine
    assert cosine_with_warmup(60, lr0, N, W) == pytest.approx(0.5)        # halfway
    assert cosine_with_warmup(110, lr0, N, W) == pytest.approx(0.0, abs=1e-16)
    assert cosine_with_warmup(500, 1.0, N, W, lr_min=0.1) == pytest.approx(0.1)
    assert cosine_with_warmup(60, 1.0, N, W, lr_min=0.2) == pytest.approx(0.6)
    assert cosine_with_warmup(0, 1.0, 10, 0) == 1.0                       # no warm-up


def test_vectorised_equals_scalar():
    steps = np.arange(0, 130)
    for fn, kw in [(inverse_time_decay, dict(lr0=0.3, decay_rate=0.2, decay_steps=7)),
                   (step_decay, dict(lr0=0.3, drop=0.7, every=11)),
                   (exponential_decay, dict(lr0=0.3, gamma=0.97)),
                   (cosine_with_warmup, dict(lr0=0.3, total_steps=100, warmup_steps=20, lr_min=0.01))]:
        vec = fn(steps, **kw)
        assert isinstance(vec, np.ndarray) and vec.shape == steps.shape
        scal = [fn(int(s), **kw) for s in steps]
        assert all(isinstance(x, float) for x in scal)
        np.testing.assert_allclose(vec, scal, rtol=1e-15)
        assert np.all(vec > 0)


def test_errors():
    with pytest.raises(HyperparameterError, match="step"):
        step_decay(-1, 0.1, 0.5, 10)
    with pytest.raises(HyperparameterError, match="step"):
        step_decay(1.5, 0.1, 0.5, 10)
    with pytest.raises(HyperparameterError, match="lr0: expected a finite number > 0, got 0"):
        exponential_decay(1, 0, 0.9)
    with pytest.raises(HyperparameterError, match="gamma"):
        exponential_decay(1, 0.1, 1.5)
    with pytest.raises(HyperparameterError, match="drop"):
        step_decay(1, 0.1, 0.0, 10)
    with pytest.raises(HyperparameterError, match="every"):
        step_decay(1, 0.1, 0.5, 0)
    with pytest.raises(HyperparameterError, match="decay_rate"):
        inverse_time_decay(1, 0.1, -0.1)
    with pytest.raises(HyperparameterError, match="decay_steps"):
        inverse_time_decay(1, 0.1, 0.1, decay_steps=0)
    with pytest.raises(HyperparameterError, match="total_steps"):
        cosine_with_warmup(1, 0.1, 0, 0)
    with pytest.raises(HyperparameterError, match=r"warmup_steps: expected an int in \[0, total_steps=10\), got 10"):
        cosine_with_warmup(1, 0.1, 10, 10)
    with pytest.raises(HyperparameterError, match="lr_min"):
        cosine_with_warmup(1, 0.1, 10, 2, lr_min=0.5)
