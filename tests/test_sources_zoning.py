"""Zonage A/B/C 2024, ZRR 2017, zone tendue list (real files)."""

from __future__ import annotations

import csv

from connectors.builders import get_source
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import zoning


def test_zonage_abc(shared_data):
    path = shared_data / "zonage" / "zonage_abc_juillet_2024.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        raw = {row["CODGEO"]: row for row in csv.DictReader(handle, delimiter=";")}
    parsed = zoning.parse_zonage_abc(path)
    table = parsed.table.set_index("code")
    assert len(table) == len(raw) == 34_935
    assert set(table["zone_abc"]) == set(zoning.ABC_ZONES)
    zone_column = "Zone en vigueur depuis le 5 juillet 2024"
    for code in ["01004", "75056", "2A004", "06088"]:
        assert table.at[code, "zone_abc"] == raw[code][zone_column]
    reclassified = sum(r["Reclassement juillet 2024"] == "Oui" for r in raw.values())
    assert int(table["zone_abc_reclassified"].sum()) == reclassified


def test_zrr_title_lines_and_classes(shared_data):
    path = shared_data / "zonage" / "zrr_2017_cog2021.csv"
    parsed = zoning.parse_zrr(path)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    data = [r for r in rows[6:] if r and r[0]]
    assert len(parsed.table) == len(data) == 34_965
    assert parsed.table["code"].iloc[0] == "01001"
    assert set(parsed.table["zrr"].dropna()) == {"classée", "partiellement classée", "non classée"}
    classified = sum(r[2].startswith("C -") for r in data)
    assert (parsed.table["zrr"] == "classée").sum() == classified


def test_tlv_bom_padded_codes_and_fill(shared_data, store):
    path = shared_data / "context" / "tlv_cities.csv"
    parsed = zoning.parse_tlv(path)
    assert len(parsed.table) == 3_697 and len(parsed.rejects) == 0
    assert "2A008" in set(parsed.table["code"])  # published as "2A008 " (padded)
    reference = Reference.from_store(store)
    carried, _report = carry_commune_table(parsed.table, get_source("tlv_zone_tendue"), reference)
    assert len(carried) == len(reference.current_codes)
    assert carried["zone_tendue"].notna().all()
    in_zone = set(carried.loc[carried["zone_tendue"].astype(bool), "code"])
    assert "2A008" in in_zone and "01001" not in in_zone
