"""Overseas insets for national maps: moved for display, true geometry untouched."""

from __future__ import annotations

from geodata import insets


def test_overseas_moved_next_to_metropole(store):
    deps = store.read("departements_grossier")
    moved = insets.with_overseas_insets(deps, "code")
    for inset in insets.INSETS:
        box = moved.loc[moved["code"] == inset.dep_code].geometry.iat[0]
        centre = box.envelope.centroid
        assert abs(centre.x - inset.target_lon) < 0.01 and abs(centre.y - inset.target_lat) < 0.01
        # Each inset stays west of Brittany (no overlap with metropolitan France).
        assert box.bounds[2] < -5.2
    # Metropolitan départements and the original frame are untouched.
    assert moved.set_index("code").loc["59"].geometry.equals(deps.set_index("code").loc["59"].geometry)
    assert deps.set_index("code").loc["974"].geometry.centroid.x > 55
    frames = insets.inset_frames(moved.assign(dep_code=moved["code"]))
    assert len(frames) == 5
    assert not frames.geometry.union_all().intersects(moved[~moved["code"].str.startswith("97")].union_all())
