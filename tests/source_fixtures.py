"""Hand-made stand-ins for the sources that are not available offline (shared by tests)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
HAND_MADE = {
    "lovac_com": "lovac_communes_fait_main.csv",
    "rnic": "rnic_fait_main.csv",
    "rpls": "rpls_communes_fait_main.xlsx",
    "sru": "sru_2025_fait_main.csv",
    "finess": "finess_etalab_cs1100507_fait_main.csv",
    "qpv2024_contours": "qp2024_contours_fait_main.geojson",
}
