"""The public establishments (FINESS) as their own map layer in the app."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui import mapview


def _public() -> pd.DataFrame:
    return pd.DataFrame({
        "finess_id": ["1", "2"], "name": ["CHRS A", "CADA B"], "family": ["hebergement", "asile"],
        "category_label": ["CHRS", "CADA"], "capacity": [40.0, np.nan],
        "lon": [2.35, 2.36], "lat": [48.93, 48.94],
    })


def test_layer_is_offered_and_has_its_own_legend():
    assert mapview.LAYER_PUBLIC in mapview.LAYERS
    legend = "".join(mapview.overlay_legend(mapview.Overlays(public=_public()), {}))
    assert "Hébergement (CHRS, autres centres d&#x27;accueil) (FINESS)" in legend
    assert "Dispositif national d&#x27;asile" in legend  # the asylum system shown apart


def test_markers_say_capacity_or_that_it_is_not_published():
    import folium

    from diagnostics.webmap import PointMarkers

    fmap = folium.Map()
    group = folium.FeatureGroup(name="test").add_to(fmap)
    mapview._add_public(group, _public())
    (markers,) = [c for c in group._children.values() if isinstance(c, PointMarkers)]
    tips = [point[3] for point in markers.points]
    assert "40 places" in tips[0] and "capacité non publiée" in tips[1]
    assert markers.cluster and markers.icon_size == [12, 12]
    assert "markerClusterGroup" in fmap.get_root().render()


def test_layer_not_available_without_finess(tmp_path, monkeypatch):
    from geodata.store import Store
    from ui import data

    monkeypatch.setattr(data, "store", lambda: Store(tmp_path))
    monkeypatch.setattr(data, "store_key", lambda: f"vide-{tmp_path}")
    points, notes = mapview.public_points(["93066"])
    assert points is None and "non disponible" in notes[0]
