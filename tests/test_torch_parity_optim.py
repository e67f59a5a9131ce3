"""Ten-step trajectories of our optimizers equal torch.optim's in float64 (to 1e-12)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from rnn_core.optim import SGD, Adam, RMSprop, clip_grad_norm  # noqa: E402

CASES = [
    ("sgd", dict(lr=0.1), dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", dict(lr=0.01), dict(lr=0.01)),
    ("rmsprop", dict(lr=0.02, alpha=0.9, eps=1e-6), dict(lr=0.02, alpha=0.9, eps=1e-6)),
    ("adam", dict(lr=0.01), dict(lr=0.01)),
    ("adam", dict(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-7), dict(lr=0.01, betas=(0.8, 0.95), eps=1e-7)),
    ("adam", dict(lr=0.01, weight_decay=0.05), dict(lr=0.01, weight_decay=0.05)),
]
OURS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}
THEIRS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}


def _grads(params, t):
    """A gradient that depends on the parameters (a quadratic bowl plus a drift)."""
    return {k: 2.0 * p + np.cos(p * (t + 1)) for k, p in params.items()}


@pytest.mark.parametrize("name, ours_kw, torch_kw", CASES)
def test_trajectory_matches_torch(name, ours_kw, torch_kw, rng):
    p0 = {"W_x": rng.standard_normal((3, 8)), "W_h": rng.standard_normal((2, 8)), "b": rng.standard_normal(8)}
    ours = {k: v.copy() for k, v in p0.items()}
    theirs = {k: torch.tensor(v.copy(), dtype=torch.float64, requires_grad=True) for k, v in p0.items()}
    opt = OURS[name](**ours_kw)
    topt = getattr(torch.optim, THEIRS[name])(list(theirs.values()), foreach=False, **torch_kw)
    for t in range(10):
        g = _grads(ours, t)
        opt.step(ours, g)
        tg = _grads({k: v.detach().numpy() for k, v in theirs.items()}, t)
        for k, v in theirs.items():
            v.grad = torch.tensor(tg[k], dtype=torch.float64)
        topt.step()
        for k in p0:
            np.testing.assert_allclose(ours[k], theirs[k].detach().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name} {ours_kw} step {t} param {k}")
    moved = max(np.abs(ours[k] - p0[k]).max() for k in p0)
    assert moved > 1e-3  # the trajectories really went somewhere


def test_clip_grad_norm_matches_torch(rng):
    grads = {"a": rng.standard_normal((4, 5)) * 3, "b": rng.standard_normal(7) * 3}
    ts = [torch.tensor(g.copy()) for g in grads.values()]
    for t in ts:
        t.grad = t.clone()
    tnorm = torch.nn.utils.clip_grad_norm_(ts, max_norm=1.0, foreach=False)
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(float(tnorm), rel=1e-14)
    for g, t in zip(grads.values(), ts):
        # torch divides by ||g|| + 1e-6; the relative difference is ~1e-6 / ||g||
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6 / norm * 2)
