"""Shared fixtures: every test is seeded, nothing touches global np.random state."""
import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's name, so each test is reproducible on its own."""
    seed = sum(map(ord, request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def _no_global_random_state():
    """Fail a test that draws from the legacy global np.random state."""
    before = np.random.get_state()[1].copy()
    yield
    after = np.random.get_state()[1]
    assert np.array_equal(before, after), "test (or rnn_core) used the global np.random state"
