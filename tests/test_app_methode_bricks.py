"""The Méthode page holds the need brick by brick, the OTELO comparison, what the figures cannot
see, the national totals of each brick, and the « territoires comparables » reference (default)."""

from __future__ import annotations

from tests.test_app_pages import CREUSE, need_ready, run_app  # noqa: F401 (fixture)


def test_methode_page_holds_bricks_and_otelo(need_ready):  # noqa: F811
    at = run_app({"territoire": CREUSE}, "methode")
    headers = [h.value for h in at.header]
    assert "Briques du besoin et méthode de l'État (OTELO)" in headers
    frames = [d.value for d in at.dataframe]
    otelo = next(f for f in frames if "Brique OTELO" in f.columns)
    assert {"B11", "B13", "B14", "B21"} <= set(otelo["Brique OTELO"])
    bricks = next(f for f in frames if "Équivalent OTELO" in f.columns)
    assert bricks["Brique"].str.startswith("Propriétaires occupants pauvres").any()
    national = next(f for f in frames if "France (bas – haut)" in f.columns)
    assert national["Brique"].str.startswith("Locataires").any()
    text = " ".join(m.value for m in at.markdown)
    assert "logement collectif" in text
    radio = at.radio(key="w_reference_method")
    assert radio.value.startswith("territoires comparables")
