"""The source registry, the refresh pipeline (obtain → parse → carry → store) and the CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from catalogues.sources import load_sources
from connectors import __main__ as cli
from connectors.builders import SOURCES, UnknownSource, get_source, source_ids
from connectors.refresh import (
    STATUS_BUILT,
    STATUS_FRESH,
    STATUS_UNAVAILABLE,
    RefreshResult,
    exit_code,
    refresh,
    summary_table,
)
from geodata.store import Store
from tests.bench_connectors import bench_refresh
from tests.source_fixtures import FIXTURES, HAND_MADE

BRIEF_IDS = {
    "filosofi_2019_com", "filosofi_2020_com", "filosofi_2021_com", "filosofi_2021_iris",
    "comparateur", "census_iris_2021", "grille_densite_2025", "qpv2024_communes",
    "anct_programmes", "anct_ruralite", "anct_centralite", "anct_montagne", "zonage_abc_2024",
    "zrr_2017", "tlv_zone_tendue", "lovac_dep", "lovac_com", "rnic", "rpls", "sru", "finess",
    "qpv2024_contours", "ort",
    # Public offer and rents (issue « l'offre publique et les leviers »).
    "finess_equipements", "finess_ans", "loyers_appartements", "loyers_maisons",
    "loyers_appartements_t1_t2", "loyers_appartements_t3_plus",
}


def source_folder(root: Path, shared: Path, skip: set[str] = frozenset()) -> Path:
    """A local folder laid out as the catalogue says: shared files linked, hand-made copied."""
    for source_id, entry in load_sources().items():
        if source_id in skip or source_id not in SOURCES:
            continue
        target = root / entry.local_path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source_id in HAND_MADE:
            shutil.copy(FIXTURES / HAND_MADE[source_id], target)
        elif (shared / entry.local_path).exists():
            target.symlink_to(shared / entry.local_path)
    return root


def test_registry_holds_exactly_the_catalogue_ids():
    assert set(source_ids()) == BRIEF_IDS
    catalogue = load_sources()
    assert set(catalogue) >= BRIEF_IDS
    with pytest.raises(UnknownSource, match=r"inconnue.*filosofi_2021_com"):
        get_source("filosofi_2022")


@pytest.fixture(scope="module")
def built(shared_data, store, tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    folder = source_folder(root, shared_data, skip={"zrr_2017"})
    target = Store(tmp_path_factory.mktemp("stock"))
    wanted = ["filosofi_2021_com", "tlv_zone_tendue", "anct_programmes", "lovac_dep", "lovac_com",
              "rnic", "rpls", "sru", "finess", "qpv2024_contours", "zrr_2017"]
    results = refresh(wanted, folder, store=target, reference_store=store, progress=False)
    return folder, target, {r.source: r for r in results}


def test_available_sources_build_and_missing_one_is_reported(built):
    _, _, results = built
    assert results["zrr_2017"].status == STATUS_UNAVAILABLE
    assert "absent du dossier local" in results["zrr_2017"].reason
    for source_id, result in results.items():
        if source_id != "zrr_2017":
            assert result.status == STATUS_BUILT, (source_id, result.reason)
    assert results["filosofi_2021_com"].merged > 0
    assert results["anct_programmes"].unmatched > 0
    assert results["rnic"].rejected == 3


def test_manifest_names_source_vintage_licence_transport(built):
    folder, store, _ = built
    entry = load_sources()["filosofi_2021_com"]
    manifest = store.manifest("filosofi_2021_com")
    assert manifest.source == entry.title and manifest.vintage == entry.vintage
    assert manifest.producer == "INSEE" and manifest.licence == "Licence Ouverte / Etalab 2.0"
    assert manifest.transport == f"local:{folder}"
    assert manifest.url.startswith("https://www.insee.fr/")
    assert re.fullmatch(r"[0-9a-f]{64}", manifest.input_sha256)
    extra = manifest.extra
    assert extra["stale"] is False and extra["carry"]["merged"] > 0
    assert extra["carry"]["merged_communes"] > 0 and "fusionnées" in extra["carry"]["summary"]
    assert extra["approximate_on_merge"]["weights"]["median_income"] == "households"
    assert extra["columns"]["median_income"] == "MED21"
    table = store.read("filosofi_2021_com")
    assert table["code"].is_unique and "cog_merged" in table.columns


def test_unmatched_and_rejects_are_stored_not_dropped(built):
    _, store, _ = built
    unmatched = store.read("anct_programmes_unmatched")
    assert "97501" in set(unmatched["code"]) and unmatched["motif"].notna().all()
    rejects = store.read("rnic_rejects")
    assert "ABCDE" in set(rejects["valeur"])
    assert not store.exists("filosofi_2021_com_rejects")  # nothing rejected, no side table


def test_points_and_outlines_are_recoded_not_merged(built):
    _, store, _ = built
    points = store.read("finess")
    assert points.crs.to_epsg() == 4326
    lyon = points.set_index("finess_id").loc["690000012"]
    assert lyon["code"] == "69123" and lyon["code_source"] == "69388"
    outlines = store.read("qpv2024_contours")
    assert (outlines["code"] == "93066").sum() == 2  # Saint-Denis and former Pierrefitte


def test_second_refresh_skips_unchanged_sources(built, store):
    folder, target, first = built
    again = refresh(["filosofi_2021_com", "rnic"], folder, store=target, reference_store=store,
                    progress=False)
    assert [r.status for r in again] == [STATUS_FRESH, STATUS_FRESH]
    assert again[0].rows == first["filosofi_2021_com"].rows
    assert again[0].merged == first["filosofi_2021_com"].merged
    forced = refresh(["rnic"], folder, store=target, reference_store=store, force=True,
                     progress=False)
    assert forced[0].status == STATUS_BUILT


def test_summary_and_exit_code(built):
    _, _, results = built
    text = summary_table(list(results.values()))
    assert text.splitlines()[0].split() == [
        "source", "transport", "lignes", "recodées", "fusionnées", "non", "reconnues", "rejets",
        "statut",
    ]
    assert "indisponible" in text and "dossier local" in text
    assert exit_code(list(results.values())) == 0
    failed = [RefreshResult("rnic", STATUS_UNAVAILABLE, reason="x")]
    assert exit_code(failed) == 1


@pytest.fixture
def cli_store(tmp_path, store, monkeypatch):
    """An empty data folder holding links to the reference geography."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("communes", "departements", "cog_passage"):
        (data / f"{name}.parquet").symlink_to(store.path(name))
    monkeypatch.setenv("DIAG_DATA_DIR", str(data))
    monkeypatch.delenv("DIAG_SOURCE_DIR", raising=False)
    return data


def test_cli_list_and_refresh(cli_store, built, capsys):
    folder = built[0]
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "filosofi_2021_com" in out and "non construit" in out and "hors ligne" in out
    code = cli.main(["refresh", "--source", "tlv_zone_tendue", "--from-dir", str(folder),
                     "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "construit" in out
    assert cli.main(["list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("tlv_zone_tendue"))
    assert "34 875" in row


def test_cli_all_unavailable_and_unknown(cli_store, tmp_path, capsys):
    empty = tmp_path / "vide"
    empty.mkdir()
    assert cli.main(["refresh", "--source", "rnic", "--from-dir", str(empty), "--quiet"]) == 1
    assert "indisponible" in capsys.readouterr().out
    assert cli.main(["refresh", "--source", "inconnue", "--quiet"]) == 2
    assert "inconnue" in capsys.readouterr().err


def test_bench_lines(tmp_path):
    lines = bench_refresh(tmp_path)  # an empty folder: only the PyPI package source builds
    assert re.fullmatch(r"bench connectors_refresh_all_s \d+\.\d+ s", lines[0])
    assert re.fullmatch(r"bench connectors_refresh_peak_mb \d+ MB", lines[1])
