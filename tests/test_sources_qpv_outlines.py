"""QPV 2024 outlines (hand-made GeoJSON with the published properties), plain and zipped."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from connectors.parsing import SchemaError
from connectors.refresh import Reference, recode
from connectors.sources import qpv_outlines

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "qp2024_contours_fait_main.geojson"


def test_outlines_codes_and_repair():
    parsed = qpv_outlines.parse(FIXTURE)
    table = parsed.table.set_index("qpv_code")
    assert len(table) == 4 and str(parsed.table.crs) == "EPSG:4326"
    assert table.at["QN09301M", "code"] == "93066"
    assert table.at["QN02A01M", "code"] == "2A004"
    assert parsed.table.geometry.is_valid.all()
    assert parsed.notes["contours_repares"] == 1  # the bow tie
    assert len(parsed.rejects) == 0


def test_zip_member_as_published(tmp_path):
    archive = tmp_path / "qpv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("GEOJSON/readme.txt", "leurre")
        handle.write(FIXTURE, "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson")
    assert len(qpv_outlines.parse(archive).table) == 4


def test_recode_pierrefitte(store):
    table, unmatched, recoded = recode(qpv_outlines.parse(FIXTURE).table,
                                       Reference.from_store(store))
    assert table.set_index("qpv_code").at["QN09305M", "code"] == "93066"
    assert recoded == 1 and len(unmatched) == 0


def test_missing_property(tmp_path):
    path = tmp_path / "qp.geojson"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace('"insee_com"', '"com"'),
                    encoding="utf-8")
    with pytest.raises(SchemaError, match="insee_com"):
        qpv_outlines.parse(path)
