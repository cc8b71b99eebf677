"""The need pipeline on a hand-made (seeded, synthetic) matrix of 400 communes on a grid.

Fait main : the communes, codes and values are synthetic; only the mechanics are tested here
(the real-data checks are in test_need_real.py).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models import weights as wts
from models.indicator_matrix import IndicatorMatrix, IndicatorSpec
from models.pipeline import (
    STATUS_INSUFFICIENT,
    STATUS_OK,
    NeedConfig,
    NeedIndex,
)

SIDE = 20


def spec(indicator, label, unit, direction, **kw) -> IndicatorSpec:
    return IndicatorSpec(indicator, label, unit, direction, source="fait_main", vintage="2025",
                         **kw)


def synthetic_matrix(seed: int = 0) -> IndicatorMatrix:
    rng = np.random.default_rng(seed)
    n = SIDE * SIDE
    codes = pd.Index([f"{i:05d}" for i in range(n)], name="code")
    row = np.arange(n) // SIDE
    households = np.exp(rng.uniform(3, 9, n)).round()
    income = rng.normal(22000, 3000, n) - 150 * row  # poorer to the north
    unemployment = rng.uniform(4, 16, n) + 0.2 * row
    poverty = np.clip(60 - 0.002 * income + 0.3 * unemployment + rng.normal(0, 1, n), 2, 60)
    published = households >= np.quantile(households, 0.6)
    values = pd.DataFrame(
        {
            "poverty_rate": np.where(published, poverty.round(), np.nan),
            "poor_households": np.where(published, households * poverty.round() / 100, np.nan),
            "median_income": income,
            "unemployment_rate": unemployment,
            "vacancy_rate": rng.uniform(3, 15, n),
            "qpv_presence": np.where(rng.random(n) < 0.05, 1.0, np.nan),
            "rurality": rng.integers(1, 8, n).astype(float),
            "d1_income": np.where(rng.random(n) < 0.1, income * 0.5, np.nan),
            "households_ctx": households,
        },
        index=codes,
    )
    # two communes with (almost) nothing known
    values.iloc[5, [0, 1, 2, 3, 4]] = np.nan
    values.iloc[6, :5] = np.nan
    specs = {
        "poverty_rate": spec("poverty_rate", "Taux de pauvreté", "%", 1),
        "poor_households": spec("poor_households", "Ménages pauvres", "ménages", 1,
                                derived_from=("households", "poverty_rate")),
        "median_income": spec("median_income", "Niveau de vie médian", "€", -1),
        "unemployment_rate": spec("unemployment_rate", "Taux de chômage", "%", 1),
        "vacancy_rate": spec("vacancy_rate", "Taux de vacance", "%", -1),
        "qpv_presence": spec("qpv_presence", "Présence d'un QPV", "0/1", 1),
        "rurality": spec("rurality", "Ruralité", "niveau", 1),
        "d1_income": spec("d1_income", "1er décile", "€", -1),
        "households_ctx": spec("households_ctx", "Ménages", "ménages", 0),
    }
    context = pd.DataFrame(
        {
            "name": [f"Commune fictive {i}" for i in range(n)],
            "dep_code": np.where(row < SIDE // 2, "98", "99"),
            "households": households,
            "households_source": "Filosofi",
        },
        index=codes,
    )
    return IndicatorMatrix(values, specs, context, unavailable={"copro": "absent (test)"})


def grid_edges() -> pd.DataFrame:
    rows = []
    for r in range(SIDE):
        for c in range(SIDE):
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (dr or dc) and 0 <= rr < SIDE and 0 <= cc < SIDE:
                        rows.append((f"{r * SIDE + c:05d}", f"{rr * SIDE + cc:05d}"))
    return pd.DataFrame(rows, columns=["code", "neighbour"])


PRESETS = {
    "test": wts.Preset("test", "fait main", {
        "poverty_rate": 3, "poor_households": 1, "median_income": 1, "unemployment_rate": 1,
        "vacancy_rate": 1, "qpv_presence": 1, "rurality": 1, "copro": 2,
    }),
    "pauvreté seule": wts.Preset("pauvreté seule", "fait main", {"poverty_rate": 1}),
}


def config(**kw) -> NeedConfig:
    base = {"weights": "test", "mc_draws": 200, "hotspot_permutations": 199, "seed": 1,
            "typology_k": (2, 4)}
    return NeedConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def result():
    index = NeedIndex(synthetic_matrix(), config(), PRESETS)
    return index, index.run(edges=grid_edges())


CONTRACT = [
    "code", "score", "rank", "need_households", "need_households_low", "need_households_high",
    "status", "imputed_poverty_rate", "imputed_households", "explanation", "rank_median",
    "rank_p05", "rank_p95", "top_decile_robust", "cluster", "cluster_label", "hotspot",
    "rank_volume", "coverage", "missing_indicators",
]


def test_output_contract(result):
    _, res = result
    frame = res.frame
    assert set(CONTRACT) <= set(frame.columns)
    assert frame["code"].is_unique and frame["code"].map(type).eq(str).all()
    assert any(c.startswith("contrib_") for c in frame.columns)
    scored = frame[frame["status"] == STATUS_OK]
    assert scored["score"].between(0, 100).all()
    assert sorted(scored["rank"].astype(int)) == list(range(1, len(scored) + 1))
    assert set(frame["hotspot"]) <= {"HH", "LL", "HL", "LH", "ns"}
    assert (scored["cluster"] >= 0).all() and scored["cluster_label"].ne("").all()
    assert [e["step"] for e in res.log] == [
        "configuration", "select", "impute", "treat", "normalise", "weight", "aggregate",
        "volume", "explain", "sensitivity", "typology", "hotspots",
    ]
    assert all(isinstance(e["parameters"], dict) for e in res.log)
    json.dumps(res.log, ensure_ascii=False)  # the log can be saved beside the results
    assert res.sources["poverty_rate"].startswith("Source : fait_main (2025)")


def test_too_little_data_is_never_silently_ranked(result):
    _, res = result
    frame = res.frame.set_index("code")
    for code in ("00005", "00006"):
        assert frame.loc[code, "status"] == STATUS_INSUFFICIENT
        assert np.isnan(frame.loc[code, "score"]) and np.isnan(frame.loc[code, "rank"])
        assert frame.loc[code, "explanation"].startswith("Données insuffisantes")
        assert "Niveau de vie médian" in frame.loc[code, "missing_indicators"]
    assert (frame["status"] == STATUS_INSUFFICIENT).sum() == 2


def test_published_rate_kept_and_volume_carries_the_interval(result):
    index, res = result
    frame = res.frame.set_index("code")
    published = index.matrix.values["poverty_rate"].dropna()
    pd.testing.assert_series_equal(
        frame.loc[published.index, "poverty_rate"], published, check_names=False
    )
    assert not frame.loc[published.index, "imputed_poverty_rate"].any()
    imputed = frame["imputed_poverty_rate"]
    assert imputed.sum() > 100
    need = frame[["need_households_low", "need_households", "need_households_high"]].dropna()
    assert (need.iloc[:, 0] <= need.iloc[:, 1]).all() and (need.iloc[:, 1] <= need.iloc[:, 2]).all()
    known = frame.loc[published.index]
    assert (known["need_households_low"] == known["need_households_high"]).all()
    np.testing.assert_allclose(
        frame["need_households"], frame["households"] * frame["poverty_rate"] / 100
    )


def test_contributions_sum_to_the_score(result):
    _, res = result
    frame = res.frame
    scored = frame[frame["status"] == STATUS_OK]
    contrib = scored.filter(like="contrib_")
    np.testing.assert_allclose(contrib.sum(axis=1, min_count=1), scored["score"], atol=1e-9)
    assert "contrib_copro" not in frame.columns  # unavailable: its weight was set aside


def test_selection_and_rules_are_logged(result):
    index, _ = result
    select = index.log_entry("select")["result"]
    assert "d1_income" in select["indicateurs_écartés"]  # 10 % coverage, no rule
    assert select["indicateurs_contexte"] == ["households_ctx"]
    impute = index.log_entry("impute")["result"]
    assert impute["qpv_presence"]["valeurs_complétées"] > 0
    assert "validation_croisée" in impute["poverty_rate"]
    weight = index.log_entry("weight")["result"]
    assert weight["indicateurs_indisponibles"] == ["copro"]
    assert weight["part_du_poids_indisponible"] == pytest.approx(2 / 11, abs=1e-4)


def test_sensitivity_intervals_contain_the_base_rank(result):
    index, res = result
    frame = res.frame[res.frame["status"] == STATUS_OK]
    assert (frame["rank_p05"] <= frame["rank_median"]).all()
    assert (frame["rank_median"] <= frame["rank_p95"]).all()
    share = index.log_entry("sensitivity")["result"]["rang_de_base_dans_l_intervalle"]
    assert share >= 0.95


def test_rescore_and_rebuild_from_the_log():
    index = NeedIndex(synthetic_matrix(), config(), PRESETS).prepare()
    base = index.score()
    other = index.score("pauvreté seule")
    assert not base["rank"].equals(other["rank"])
    custom = index.score({"poverty_rate": 1})
    pd.testing.assert_frame_equal(other, custom)
    # the configuration in the log rebuilds the same scores
    rebuilt = NeedIndex(synthetic_matrix(), NeedConfig.from_log(index.log), PRESETS)
    pd.testing.assert_frame_equal(rebuilt.score(), base)


@pytest.mark.parametrize("method", ["minmax", "zscore", "percentile", "distance"])
@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
def test_every_method_scores_on_0_100(method, aggregation):
    index = NeedIndex(synthetic_matrix(), config(), PRESETS)
    frame = index.score(normalisation=method, aggregation=aggregation)
    scored = frame[frame["status"] == STATUS_OK]
    assert scored["score"].between(0, 100).all() and len(scored) == SIDE * SIDE - 2
    contrib = index.contributions().loc[scored.index]
    np.testing.assert_allclose(contrib.sum(axis=1), scored["score"], atol=1e-8)


def test_weight_errors_are_french_and_name_the_indicator():
    index = NeedIndex(synthetic_matrix(), config(), PRESETS)
    with pytest.raises(wts.WeightsError, match="inconnu"):
        index.score("n'existe pas")
    with pytest.raises(wts.WeightsError, match="« loyer »"):
        index.score({"poverty_rate": 1, "loyer": 2})
    with pytest.raises(wts.WeightsError, match="« poverty_rate » doit être positif"):
        index.score({"poverty_rate": -1})
    with pytest.raises(wts.WeightsError, match="aucun indicateur pondéré"):
        index.score({"poverty_rate": 0})


def test_same_seed_same_result():
    a = NeedIndex(synthetic_matrix(), config(), PRESETS).run(edges=grid_edges())
    b = NeedIndex(synthetic_matrix(), config(), PRESETS).run(edges=grid_edges())
    pd.testing.assert_frame_equal(a.frame, b.frame)


def test_territory_sensitivity_ranks_within_the_territory():
    index = NeedIndex(synthetic_matrix(), config(), PRESETS)
    codes = [f"{i:05d}" for i in range(SIDE * 5)]  # the 5 first rows, incl. 2 unscored
    frame = index.territory_sensitivity(codes, draws=100)
    assert len(frame) == SIDE * 5 - 2
    assert sorted(frame["rank"]) == list(range(1, len(frame) + 1))
    assert (frame["rank_p05"] <= frame["rank_p95"]).all()
    national = index.score()
    order = national.loc[frame.index, "score"].sort_values(ascending=False).index
    assert list(frame.loc[order, "rank"]) == list(range(1, len(frame) + 1))
