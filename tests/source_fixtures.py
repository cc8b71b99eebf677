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
    "finess_equipements": "finess_etalab_cs1100505_equipements_fait_main.csv",
    "finess_ans": "finess_ans_structures_fait_main.json",
    "loyers_appartements": "pred-app-mef-dhup_fait_main.csv",
    "loyers_maisons": "pred-mai-mef-dhup_fait_main.csv",
    "loyers_appartements_t1_t2": "pred-app12-mef-dhup_fait_main.csv",
    "loyers_appartements_t3_plus": "pred-app3-mef-dhup_fait_main.csv",
    "qpv2024_contours": "qp2024_contours_fait_main.geojson",
}
