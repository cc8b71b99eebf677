"""Hot spots: queen contiguity from outlines, local Moran with seed and FDR, cached edges."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geodata.store import Manifest, Store
from models.hotspots import build_contiguity, contiguity, local_moran

SIDE = 10


def grid(side: int = SIDE) -> gpd.GeoDataFrame:
    """A side × side grid of unit squares (hand-made communes), code = row * side + col."""
    rows = [
        {"code": f"{r * side + c:05d}", "geometry": box(c, r, c + 1, r + 1)}
        for r in range(side)
        for c in range(side)
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:2154")


def test_queen_contiguity_by_hand():
    edges = build_contiguity(grid(3))
    neighbours = edges.groupby("code")["neighbour"].apply(set)
    assert neighbours["00004"] == {f"{i:05d}" for i in range(9)} - {"00004"}  # centre: 8
    assert neighbours["00000"] == {"00001", "00003", "00004"}  # corner: 3 (queen)
    assert len(edges) == 2 * 20  # 12 edge pairs + 8 corner pairs, both directions


def clustered_values(edges_codes: list[str]) -> pd.Series:
    """High need in the 3 × 3 bottom-left block, low in the 3 × 3 top-right, noise elsewhere."""
    rng = np.random.default_rng(5)
    values = pd.Series(rng.normal(50, 5, len(edges_codes)), index=edges_codes)
    for r in range(SIDE):
        for c in range(SIDE):
            code = f"{r * SIDE + c:05d}"
            if r < 3 and c < 3:
                values[code] = 95 + rng.normal(0, 1)
            if r >= SIDE - 3 and c >= SIDE - 3:
                values[code] = 5 + rng.normal(0, 1)
    return values


def test_local_moran_finds_the_planted_clusters():
    outlines = grid()
    edges = build_contiguity(outlines)
    values = clustered_values(outlines["code"].tolist())
    values["00099"] = np.nan  # a commune without score is left out, class "ns"
    res = local_moran(values, edges, permutations=999, seed=3)
    frame = res.frame
    assert frame.index.equals(values.index)
    assert frame.loc["00000", "hotspot"] == "HH"  # corner of the high block
    assert frame.loc["00011", "hotspot"] == "HH"  # centre of the high block
    assert frame.loc["00088", "hotspot"] == "LL"  # centre of the low block
    assert frame.loc["00099", "hotspot"] == "ns" and np.isnan(frame.loc["00099", "p_value"])
    # FDR: q-values are never below the raw permutation p-values
    known = frame["p_value"].notna()
    assert (frame.loc[known, "q_value"] >= frame.loc[known, "p_value"] - 1e-12).all()
    noise = [f"{r * SIDE + c:05d}" for r in range(4, 6) for c in range(0, 2)]
    assert (frame.loc[noise, "hotspot"] == "ns").all()


def test_seeded_permutations_reproduce_and_isolates_are_ns():
    outlines = grid()
    edges = build_contiguity(outlines)
    values = clustered_values(outlines["code"].tolist())
    values["99999"] = 80.0  # an island: no neighbour
    a = local_moran(values, edges, permutations=199, seed=8)
    b = local_moran(values, edges, permutations=199, seed=8)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.frame.loc["99999", "hotspot"] == "ns"
    assert a.params["sans_voisin"] == 1


def test_contiguity_is_cached_in_the_store(tmp_path):
    store = Store(tmp_path)
    outlines = grid(4)
    store.write("communes_moyen", outlines, Manifest("communes_moyen", "hand-made", "test", "2025"))
    first = contiguity(store)
    assert store.exists("communes_contiguite")
    manifest = store.manifest("communes_contiguite")
    assert manifest.input_sha256 and manifest.rows == len(first)
    built_at = manifest.built_at
    again = contiguity(store)  # fresh: read back, not rebuilt
    assert store.manifest("communes_contiguite").built_at == built_at
    pd.testing.assert_frame_equal(first, again)
    # outlines change -> rebuilt
    store.write("communes_moyen", grid(3), Manifest("communes_moyen", "hand-made", "test", "2025"))
    assert len(contiguity(store)) == 40


@pytest.mark.parametrize("permutations", [99])
def test_all_missing_but_two_is_handled(permutations):
    outlines = grid(3)
    edges = build_contiguity(outlines)
    values = pd.Series(np.nan, index=outlines["code"])
    values[["00000", "00001"]] = [1.0, 2.0]
    res = local_moran(values, edges, permutations=permutations, seed=0)
    assert set(res.frame["hotspot"]) == {"ns"}


@pytest.mark.parametrize("seed", [0, 11])
def test_vectorised_randomisation_gives_esda_p_values(seed):
    """The numpy conditional randomisation draws esda's neighbour sets and folds its p-value
    the same way: same seed, same pseudo p-values as esda's own loop, commune by commune
    (a grid with an island, uneven cardinalities 3 / 5 / 8)."""
    import warnings

    import esda

    from models.hotspots import conditional_p_values, graph_for

    edges = build_contiguity(grid())
    codes = [*sorted(set(edges["code"])), "99999"]  # an island: no edge
    values = clustered_values(codes[:-1])
    values["99999"] = 50.0
    graph = graph_for(pd.Index(codes), edges)
    y = values.reindex(graph.unique_ids).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = esda.Moran_Local(y, graph, permutations=199, seed=seed, n_jobs=1)
        bare = esda.Moran_Local(y, graph, permutations=0)
    p = conditional_p_values(bare.z, bare.w.sparse, bare.Is, permutations=199, seed=seed,
                             block=7)
    island = list(graph.unique_ids).index("99999")
    assert np.isnan(p[island])
    linked = np.arange(len(p)) != island
    np.testing.assert_array_equal(p[linked], reference.p_sim[linked])
    assert p[linked].min() == pytest.approx(1 / 200)  # the planted blocks are extreme
