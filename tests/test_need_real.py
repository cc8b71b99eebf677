"""The need model on the real official files (../shared/data) through the connectors' store.

The datasets are read from the project's store when ``make data`` has built them; otherwise the
needed sources are built by the connectors from ``../shared/data`` into a temporary store (the
reference geography is copied from the project's store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.store import Store
from models.hotspots import contiguity
from models.indicator_matrix import build_matrix
from models.pipeline import STATUS_OK, NeedConfig, NeedIndex

NEEDED = (
    "filosofi_2021_com", "filosofi_2019_com", "comparateur", "census_iris_2021",
    "grille_densite_2025", "qpv2024_communes", "zonage_abc_2024", "tlv_zone_tendue",
)


@pytest.fixture(scope="module")
def need_store(store, shared_data, tmp_path_factory) -> Store:
    from connectors.refresh import store_with_sources

    tmp = store_with_sources(NEEDED, shared_data, tmp_path_factory.mktemp("stock_besoin"), store)
    missing = [d for d in NEEDED if not tmp.exists(d)]
    assert not missing, f"jeux non construits par les connecteurs : {missing}"
    return tmp


@pytest.fixture(scope="module")
def result(need_store):
    matrix = build_matrix(need_store)
    # 999 permutations: the smallest p-value, 1/1000, must survive the FDR over 35,000 tests
    config = NeedConfig(mc_draws=100, hotspot_permutations=999)
    index = NeedIndex(matrix, config)
    return matrix, index, index.run(edges=contiguity(need_store))


@pytest.mark.parametrize("dep", ["59", "23"])
def test_every_commune_of_nord_and_creuse_is_scored(result, communes, dep):
    _, _, res = result
    expected = set(communes.loc[communes["dep_code"] == dep, "code"])
    frame = res.frame[res.frame["dep_code"] == dep]
    assert set(frame["code"]) == expected
    assert (frame["status"] == STATUS_OK).all()
    assert frame["score"].between(0, 100).all() and frame["rank"].notna().all()
    assert frame["need_households"].notna().all()
    assert frame["explanation"].str.startswith("Score ").all()
    assert frame["cluster_label"].ne("").all()


def test_published_poverty_rate_is_shown_exactly(result, need_store):
    _, _, res = result
    stored = need_store.read("filosofi_2021_com").set_index("code")["poverty_rate"].dropna()
    frame = res.frame.set_index("code")
    shown = frame.loc[stored.index]
    np.testing.assert_array_equal(shown["poverty_rate"].to_numpy(), stored.to_numpy())
    assert (shown["poverty_rate_method"] == "publié").all()
    assert not shown["imputed_poverty_rate"].any()
    assert (shown["poverty_rate_low"] == shown["poverty_rate_high"]).all()


def test_published_values_match_the_official_file(result, shared_data):
    """Large communes, unchanged since 2023: the value shown is the one INSEE wrote."""
    _, _, res = result
    raw = pd.read_csv(
        shared_data / "insee" / "filosofi" / "cc_filosofi_2021_COM.csv",
        sep=";", dtype=str, usecols=["CODGEO", "TP6021"],
    ).set_index("CODGEO")["TP6021"]
    frame = res.frame.set_index("code")
    for code in ("59350", "59512", "59599", "23096"):  # Lille, Roubaix, Tourcoing, Guéret
        official = float(raw[code].replace(",", "."))
        assert frame.loc[code, "poverty_rate"] == official


def test_imputed_values_are_flagged_with_intervals(result):
    _, index, res = result
    frame = res.frame
    imputed = frame[frame["imputed_poverty_rate"]]
    assert len(imputed) > 25_000
    assert imputed["poverty_rate"].between(0, 100).all()
    assert (imputed["poverty_rate_low"] <= imputed["poverty_rate"]).all()
    assert (imputed["poverty_rate"] <= imputed["poverty_rate_high"]).all()
    inhabited = imputed[imputed["households"] > 0]
    assert (inhabited["need_households_high"] > inhabited["need_households_low"]).all()
    # validated on the smallest known communes, error reported in points
    mae = index.imputation.mae_small
    assert 0 < mae < 3


def test_unavailable_sources_are_reported_and_the_model_still_runs(result):
    matrix, index, res = result
    select = index.log_entry("select")["result"]
    for indicator, reason in matrix.unavailable.items():
        assert select["indicateurs_indisponibles"][indicator] == reason
    assert (res.frame["status"] == STATUS_OK).mean() > 0.99
    assert set(res.frame["hotspot"]) >= {"HH", "LL", "ns"}
    for citation in res.sources.values():
        assert "Licence Ouverte" in citation
