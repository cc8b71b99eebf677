"""Typology: k chosen by silhouette and stability, clusters named from their centroids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.typology import build_typology, name_clusters


def profiles(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Three well-separated hand-made profiles (rural old vacant / urban poor / average)."""
    rng = np.random.default_rng(seed)
    centres = {
        0: {"rurality": 7, "share_65_plus": 40, "vacancy_rate": 15, "poverty_rate": 14},
        1: {"rurality": 1, "share_65_plus": 15, "vacancy_rate": 7, "poverty_rate": 30},
        2: {"rurality": 4, "share_65_plus": 25, "vacancy_rate": 8, "poverty_rate": 12},
    }
    spread = {"rurality": 0.3, "share_65_plus": 2, "vacancy_rate": 1, "poverty_rate": 1.5}
    rows, truth = [], []
    for group, size in ((0, 300), (1, 200), (2, 400)):
        for _ in range(size):
            rows.append({k: v + rng.normal(0, spread[k]) for k, v in centres[group].items()})
            truth.append(group)
    index = pd.Index([f"{i:05d}" for i in range(len(rows))], name="code")
    return pd.DataFrame(rows, index=index), pd.Series(truth, index=index)


def test_k_found_and_clusters_match_the_groups():
    frame, truth = profiles()
    typology = build_typology(frame, k_range=(2, 6), sample_size=600, seed=1)
    assert typology.k == 3
    assert typology.diagnostics.set_index("k").loc[3, "stabilité"] > 0.9
    crosstab = pd.crosstab(typology.labels, truth)
    assert (crosstab.gt(0).sum(axis=1) == 1).all()  # each cluster is one group
    # numbered by size: 0 is the largest group (the average one)
    assert crosstab.loc[0].idxmax() == 2


def test_names_come_from_the_centroids():
    frame, truth = profiles()
    typology = build_typology(frame, k_range=(3, 3), sample_size=900, seed=1)
    by_group = {
        int(truth[typology.labels == c].mode().iat[0]): name for c, name in typology.names.items()
    }
    assert by_group[0].startswith("rural")
    assert "vieillissant" in by_group[0] and "avec vacance" in by_group[0]
    assert by_group[1].startswith("urbain") and "pauvre" in by_group[1]


def test_same_seed_same_typology():
    frame, _ = profiles()
    a = build_typology(frame, k_range=(2, 5), sample_size=500, seed=4)
    b = build_typology(frame, k_range=(2, 5), sample_size=500, seed=4)
    pd.testing.assert_series_equal(a.labels, b.labels)
    assert a.names == b.names


def test_name_clusters_by_hand():
    centroids = pd.DataFrame(
        {"rurality": [1.5, -1.2, 0.1], "share_65_plus": [0.9, -0.2, 0.0], "custom": [0, 0.8, 0.1]}
    )
    names = name_clusters(centroids, {"custom": "Indicateur maison"})
    assert names == {
        0: "rural, vieillissant",
        1: "urbain, Indicateur maison élevé",
        2: "profil proche de la moyenne",
    }
    twins = name_clusters(pd.DataFrame({"rurality": [1.0, 2.0]}))
    assert twins == {0: "rural", 1: "rural (2)"}
