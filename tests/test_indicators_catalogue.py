"""The indicator catalogue: valid, complete, and every indicator is a real stored column."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
import yaml

from catalogues.indicators import (
    INDICATORS_PATH,
    IndicatorError,
    indicator,
    indicators_of_source,
    load_indicators,
    parse_indicators,
)
from catalogues.sources import load_sources
from connectors.builders import SOURCES, source_ids
from connectors.refresh import refresh
from geodata.store import Store
from tests.source_fixtures import FIXTURES, HAND_MADE


@pytest.fixture(scope="module")
def every_source_built(shared_data, store, tmp_path_factory):
    """All sources built into a temporary store (shared files + hand-made stand-ins)."""
    folder = tmp_path_factory.mktemp("sources")
    for source_id, entry in load_sources().items():
        if source_id not in SOURCES:
            continue
        target = folder / entry.local_path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source_id in HAND_MADE:
            shutil.copy(FIXTURES / HAND_MADE[source_id], target)
        elif (shared_data / entry.local_path).exists():
            target.symlink_to(shared_data / entry.local_path)
    target_store = Store(tmp_path_factory.mktemp("stock"))
    results = refresh(None, folder, store=target_store, reference_store=store, progress=False)
    failed = {r.source: r.reason for r in results if not r.ok}
    assert not failed
    return target_store


def test_every_indicator_is_a_stored_column(every_source_built):
    for item in load_indicators().values():
        for source, column in [(item.source, item.column),
                               *((a.source, a.column) for a in item.alternatives)]:
            columns = pq.read_schema(every_source_built.path(source)).names
            assert column in columns, f"{item.id} : colonne {column} absente de {source}"


def test_catalogue_is_complete_and_well_formed():
    catalogue = load_indicators()
    assert len(catalogue) >= 60
    # Every source feeds at least one indicator (as preferred source or as an alternative).
    referenced = {i.source for i in catalogue.values()} | {
        a.source for i in catalogue.values() for a in i.alternatives
    }
    assert referenced == set(source_ids())
    for item in catalogue.values():
        assert item.direction in (-1, 0, 1)
        assert item.label.strip() and item.definition.endswith(".")
        assert item.licence.startswith("Licence Ouverte")
        assert item.citation().startswith("Source : ")
    # The brief's indicators are there, with the sense of need the diagnostic relies on.
    assert indicator("poverty_rate").direction == 1
    assert indicator("median_income").direction == -1
    assert indicator("households").direction == 0
    assert indicator("density_7_label").column == "density_7_label"
    assert {i.id for i in indicators_of_source("rnic")} >= {"copro_share_before_1949",
                                                             "copro_share_qpv"}


def test_lookup_error_suggests_close_ids():
    with pytest.raises(IndicatorError, match="Vouliez-vous dire : poverty_rate"):
        indicator("povrety_rate")


@pytest.fixture
def raw_catalogue():
    return yaml.safe_load(INDICATORS_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["indicators"]["poverty_rate"].pop("unit"), "« unit » est absente"),
        (lambda d: d["indicators"]["poverty_rate"].update(direction=2), "attendu -1, 0 ou 1"),
        (lambda d: d["indicators"]["poverty_rate"].update(source="filosofi_2030"),
         "source « filosofi_2030 » inconnue"),
        (lambda d: d["indicators"]["poverty_rate"].update(column="median_income"),
         "désignent la même colonne"),
        (lambda d: d["indicators"].update({"Taux": d["indicators"]["poverty_rate"]}),
         "snake_case"),
        (lambda d: d["indicators"]["poverty_rate"].update(colour="rouge"), "inconnue"),
        (lambda d: d.pop("indicators"), "« indicators »"),
    ],
)
def test_invalid_catalogue_gives_a_french_error(raw_catalogue, edit, message):
    edit(raw_catalogue)
    with pytest.raises(IndicatorError, match=message):
        parse_indicators(raw_catalogue)
