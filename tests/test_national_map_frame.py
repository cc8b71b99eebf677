"""The national map gives France the frame: the legend goes beside it or in a band under it,
whichever leaves France the larger zoom (ui/mapview.py, ``_LegendFit``; measured in the browser
by tests/test_app_e2e.py::test_national_map_by_commune)."""

from __future__ import annotations

import json
import re

import pytest

from ui import mapview
from ui.geometry import national_view, territory_view


@pytest.fixture(scope="module")
def france(store):
    return national_view("departements")


def _script(fmap) -> str:
    return fmap.get_root().render()


def test_france_is_fitted_with_the_legend_beside_or_under_it(france):
    html = _script(mapview.base_map(france, 600))
    assert "diag-legend-band" in html and "getBoundsZoom" in html
    fitted = re.search(r"L\.latLngBounds\((\[\[.*?\]\])\)", html)
    assert fitted is not None
    (south, west), (north, east) = json.loads(fitted.group(1))
    minx, miny, maxx, maxy = france.bounds
    assert (west, south, east, north) == pytest.approx((minx, miny, maxx, maxy))
    assert west < -7  # the overseas insets, west of Brittany, stay in the frame


def test_other_maps_keep_their_own_fit(france, store):
    # A shared link's zoom, a slide with its own legend band, a territory: no refit.
    assert "diag-legend-band" not in _script(mapview.base_map(france, 600, zoom=(46.0, 2.0, 8)))
    assert "diag-legend-band" not in _script(
        mapview.base_map(france, 600, legend_room=10, legend_below=60))
    communes = store.read_frame("communes", columns=["code", "dep_code"])
    creuse = territory_view(tuple(communes.loc[communes["dep_code"] == "23", "code"]))
    assert "diag-legend-band" not in _script(mapview.base_map(creuse, 600))
