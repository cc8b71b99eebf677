"""The national results have one owner (models.results) that reads the store it is given, and
the floors of the project never reach to their right."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import settings
from catalogues import datasets
from geodata.store import Manifest, Store
from models import results


@pytest.fixture(autouse=True)
def _fresh_memory():
    results.clear_memory()
    yield
    results.clear_memory()


def _source(store: Store, dataset: str, rows: int = 2, sha: str = "a") -> None:
    frame = pd.DataFrame({"code": [f"0100{i}" for i in range(1, rows + 1)], "households": 10.0})
    store.write(dataset, frame, Manifest(dataset=dataset, source="essai", producer="essai",
                                         vintage="2021", input_sha256=sha))


def _stored_need(store: Store, marker: float) -> None:
    frame = pd.DataFrame({"code": ["01001", "01002"], "score": [marker, marker]})
    store.write(results.NEED_DATASET, frame, Manifest(
        dataset=results.NEED_DATASET, source=results.NEED_SOURCE, producer="essai", vintage="2021",
        input_sha256=results.inputs_digest(store), builder_version=results.BUILDER_VERSION,
        extra={"log": [{"step": "essai"}], "unavailable": {}, "indicators": [], "sources": {}},
    ))


def test_disk_cache_recomputes_when_the_key_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"value": len(calls)}

    assert results.disk_cached("essai", "a", compute) == {"value": 1}
    assert results.disk_cached("essai", "a", compute) == {"value": 1}  # read back, not recomputed
    assert results.disk_cached("essai", "b", compute) == {"value": 2}
    (tmp_path / "models" / "essai_a.pickle").write_bytes(b"tronque")
    assert results.disk_cached("essai", "a", compute) == {"value": 3}  # unreadable: recomputed


def test_national_need_reads_the_store_it_is_given(tmp_path, monkeypatch):
    store = Store(tmp_path / "stock")
    _source(store, datasets.FILOSOFI_COMMUNES)
    _stored_need(store, 42.0)

    def fail(*_args):
        raise AssertionError("the stored, fresh result must be read, not recomputed")

    monkeypatch.setattr(results, "_run_pipeline", fail)
    need = results.national_need(store)
    assert need.frame["score"].tolist() == [42.0, 42.0]
    assert need.log == [{"step": "essai"}]


def test_a_changed_input_recomputes_into_that_store(tmp_path, monkeypatch):
    store = Store(tmp_path / "stock")
    _source(store, datasets.FILOSOFI_COMMUNES)
    _stored_need(store, 1.0)
    _source(store, datasets.FILOSOFI_COMMUNES, sha="b")  # a rebuilt source: the index is stale
    seen = []

    def run(given, digest):
        seen.append(given.root)
        frame = pd.DataFrame({"code": ["01001", "01002"], "score": [7.0, 7.0]})
        return None, results.NeedResults(frame, [], {}, pd.DataFrame(), {}, digest)

    monkeypatch.setattr(results, "_run_pipeline", run)
    need = results.national_need(store)
    assert seen == [store.root]
    assert need.frame["score"].tolist() == [7.0, 7.0]
    # persisted in the same store, with the digest that makes it fresh next time
    assert store.is_fresh(results.NEED_DATASET, results.inputs_digest(store), results.BUILDER_VERSION)
    assert store.read(results.NEED_DATASET)["score"].tolist() == [7.0, 7.0]


def test_inputs_digest_ignores_build_time_and_derived_datasets(tmp_path):
    store = Store(tmp_path / "stock")
    _source(store, datasets.FILOSOFI_COMMUNES)
    before = results.inputs_digest(store)
    _source(store, datasets.FILOSOFI_COMMUNES)  # same content rebuilt later
    _stored_need(store, 3.0)
    assert results.inputs_digest(store) == before
    _source(store, datasets.CENSUS_IRIS)
    assert results.inputs_digest(store) != before


def test_without_sources_the_reason_is_french(tmp_path):
    with pytest.raises(results.ResultsUnavailable, match="make data"):
        results.national_need(Store(tmp_path / "vide"))


def test_the_index_never_reads_a_store_by_itself():
    from models.pipeline import NeedIndex

    index = NeedIndex.__new__(NeedIndex)
    with pytest.raises(ValueError, match="contiguity"):
        index.run(hotspots=True, edges=None)


# -- floors ---------------------------------------------------------------------------------------
FLOORS = ["catalogues", "geodata", "connectors", "operators", "models", "diagnostics", "ui"]
# What each floor may not import (its right, and for catalogues and geodata every other floor).
FORBIDDEN = {
    "catalogues": set(FLOORS) - {"catalogues"},
    "geodata": set(FLOORS) - {"catalogues", "geodata"},
    "connectors": {"operators", "models", "diagnostics", "ui"},
    "operators": {"models", "diagnostics", "ui"},
    "models": {"connectors", "diagnostics", "ui"},
    "diagnostics": {"connectors", "ui"},
    "ui": set(),
}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, top-level module, inside a try whose handler catches ImportError)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            "ImportError" in ast.unparse(h.type) for h in node.handlers if h.type is not None
        ):
            for inner in node.body:
                for sub in ast.walk(inner):
                    guarded.add(id(sub))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0], id(node) in guarded) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module.split(".")[0], id(node) in guarded))
    return out


def test_no_floor_imports_one_to_its_right_and_no_import_seams():
    wrong = []
    for floor in FLOORS:
        for path in sorted((settings.PROJECT_ROOT / floor).rglob("*.py")):
            for line, module, guarded in _imports(path):
                where = f"{path.relative_to(settings.PROJECT_ROOT)}:{line}"
                if module in FORBIDDEN[floor]:
                    wrong.append(f"{where} importe {module}")
                if guarded and (module in FLOORS or module == "settings"):
                    wrong.append(f"{where} importe {module} sous « except ImportError »")
    assert not wrong, "\n".join(wrong)


def test_benchmarks_live_beside_the_tests():
    stray = [p for floor in FLOORS for p in (settings.PROJECT_ROOT / floor).rglob("bench*.py")]
    assert not stray
