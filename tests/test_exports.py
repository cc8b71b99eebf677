"""Data exports of a real territory (Creuse): XLSX, CSV, GeoPackage, GeoTIFF."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from diagnostics import exports
from tests import report_support as support

SPEC = "dep:23"


@pytest.fixture(scope="module")
def diag(shared_data):
    return support.diagnostic(SPEC)


def _all_cells(workbook) -> str:
    return "\n".join(
        str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
        if cell.value is not None
    )


def test_xlsx_has_one_sheet_per_table_and_a_sources_sheet(diag):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes(diag)))
    names = workbook.sheetnames
    assert names[0] == "Lisez-moi" and names[-1] == "Sources"
    assert {"Communes", "Chiffres clés", "Besoin", "Écarts", "Sites (vue publique)"} <= set(names)
    assert all(len(n) <= 31 for n in names)
    communes = pd.read_excel(io.BytesIO(exports.xlsx_bytes(diag)), sheet_name="Communes",
                             dtype={"Code commune (COG 2025)": str})
    assert len(communes) == len(diag.geo)
    assert communes["Code commune (COG 2025)"].str.fullmatch(r"23\d{3}").all()
    sources = pd.read_excel(io.BytesIO(exports.xlsx_bytes(diag)), sheet_name="Sources")
    assert set(sources["Jeu de données"]) == {s.dataset for s in diag.sources}
    # The hand-made sites are imported as fictional: the sources sheet says FICTIF.
    registry = sources["Jeu de données"].eq("registre")
    assert sources.loc[registry, "Titre"].str.contains("FICTIVE").all() and registry.any()
    compiled = sources["Jeu de données"].eq("cadre_politiques")  # own compilation, cited per row
    assert sources.loc[~registry & ~compiled, "Licence"].str.contains("Licence Ouverte").all()
    assert sources["Millésime"].notna().all()


def test_xlsx_communes_sheet_has_the_gap_class_and_estimated_columns(diag):
    communes = pd.read_excel(io.BytesIO(exports.xlsx_bytes(diag)), sheet_name="Communes")
    headers = [str(c).lower() for c in communes.columns]
    total = [c for c in headers if "classe" in c and "écart" in c and "—" not in c]
    assert total, headers
    assert any(c.startswith("estimé") for c in headers)
    assert set(communes[communes.columns[headers.index(total[0])]].dropna()) <= {
        "très en dessous de la référence", "en dessous de la référence", "dans la référence",
        "au-dessus de la référence", "pas de ménages cibles mesurés", "non calculé"}


def test_xlsx_is_public_and_keeps_names_as_text(diag):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes(diag)))
    text = _all_cells(workbook)
    for word in support.CONFIDENTIAL_WORDS:
        assert word not in text
    assert support.XSS_NAME in text
    sites = workbook["Sites (vue publique)"]
    assert all(cell.data_type != "f" for row in sites.iter_rows() for cell in row)


def test_csv_is_semicolon_utf8_bom_with_decimal_comma_and_secrets_empty(diag, tmp_path):
    paths = exports.write_csv(diag, tmp_path / "creuse.csv")
    raw = paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n", 1)[0].decode("utf-8")
    assert header.count(";") == len(diag.exports["communes"].columns) - 1
    code = "Code commune (COG 2025)"
    income = "Revenu disponible médian 2021 (€/UC)"
    back = pd.read_csv(paths[0], sep=";", decimal=",", encoding="utf-8-sig", dtype={code: str})
    expected = diag.exports["communes"]
    assert back[code].tolist() == expected[code].tolist()
    pd.testing.assert_series_equal(back[income], expected[income].astype(float), check_names=False)
    secret = expected[income].isna()
    assert secret.any() and back.loc[secret.to_numpy(), income].isna().all()  # empty, not 0
    sources = pd.read_csv(paths[1], sep=";", encoding="utf-8-sig")
    assert "Licence" in sources.columns and len(sources) == len(diag.sources)


def test_geopackage_layers(diag, tmp_path):
    import geopandas as gpd
    import pyogrio

    (path,) = exports.write_gpkg(diag, tmp_path / "creuse.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert {"communes", "territoire", "sites", "sources"} <= set(layers)
    communes = gpd.read_file(path, layer="communes")
    assert len(communes) == len(diag.geo) and communes.geometry.notna().all()
    assert "Indice de besoin (0–100)" in communes.columns
    sites = gpd.read_file(path, layer="sites")
    assert set(sites["confidentiality"]) == {"public"}
    text = sites.astype(str).to_string()
    for word in support.CONFIDENTIAL_WORDS:
        assert word not in text


def test_accessibility_geotiff(diag, tmp_path):
    import rasterio

    (path,) = exports.write_geotiff(diag, tmp_path / "creuse.tif")
    with rasterio.open(path) as raster:
        assert raster.crs.to_epsg() == 2154
        assert raster.count >= 2 and raster.res == (1000.0, 1000.0)
        assert "Licence" in raster.tags()["licence"]
        ratio = raster.read(raster.descriptions.index(next(
            d for d in raster.descriptions if d.startswith("Places accessibles"))) + 1, masked=True)
        assert ratio.count() > 100


def test_geotiff_without_gap_model_says_why(diag, tmp_path):
    from dataclasses import replace

    missing = {**diag.missing, "ecart": "donnée non disponible : test"}
    partial = replace(diag, raster_writer=None, missing=missing)
    with pytest.raises(exports.ExportError, match="Raster d'accessibilité indisponible"):
        exports.write_geotiff(partial, tmp_path / "x.tif")


def test_formulas_are_never_exported():
    frame = pd.DataFrame({"Site": ["=HYPERLINK(\"http://x\")", "-12,5", "Normal", "@cmd"]})
    safe = exports._excel_safe(frame)["Site"].tolist()
    assert safe == ["'=HYPERLINK(\"http://x\")", "-12,5", "Normal", "'@cmd"]


def test_sheet_names_are_unique_and_short():
    used: set[str] = set()
    names = [exports.sheet_name("x" * 40, used) for _ in range(3)]
    assert len(set(names)) == 3 and all(len(n) <= 31 for n in names)
