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


def _openblas_core() -> str:
    """The OpenBLAS kernel numpy's BLAS runs with (e.g. Haswell, Sandybridge), or why unknown."""
    import ctypes
    import glob
    import os
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            if hasattr(lib, name):
                fn = getattr(lib, name)
                fn.restype = ctypes.c_char_p
                core = fn().decode()
                # OpenBLAS's dynamic build aliases its oldest cores to Prescott and names the first alias
                return "Prescott (reported as Katmai)" if core == "Katmai" else core
    return "unknown (not numpy's bundled OpenBLAS)"


def pytest_report_header(config):
    """Say which BLAS kernel the run uses: gradient checks must pass on every one (issue 10)."""
    import os
    return (f"BLAS: OpenBLAS core {_openblas_core()}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
            f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}")
