"""Repository hygiene: notebooks are stored without outputs; data files match their recorded digests."""
import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} hold outputs or execution counts; "
                       "run `make clear-outputs` before committing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_have_unique_ids(path):
    """nbformat 4.5 cells carry an id; one without it makes every reader of the notebook (the
    book build, nbval) print a MissingIDFieldWarning, and a future nbformat will refuse it."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    ids = [c.get("id") for c in nb["cells"]]
    missing = [i for i, cid in enumerate(ids) if not cid]
    assert not missing, f"{path.name}: cells {missing} have no id (nbformat.validator.normalize adds them)"
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"file:\s*(\S+)", toc))
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def test_data_files_match_recorded_digests():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    recorded = dict((name, digest) for digest, name in re.findall(r"([0-9a-f]{64})\s+(data/\S+)", readme))
    assert len(recorded) == 5
    for name, digest in recorded.items():
        assert hashlib.sha256((ROOT / name).read_bytes()).hexdigest() == digest, f"{name} changed"


def test_every_subpackage_is_packaged():
    """pyproject.toml lists packages by name: a subpackage missing there (rnn_core/diagrams) works
    in the editable install and is absent from a wheel."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "rnn_core").rglob("__init__.py")}
    assert found == listed, f"pyproject.toml [tool.setuptools] packages: expected {sorted(found)}, got {sorted(listed)}"
