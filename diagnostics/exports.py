"""Data exports of a territory's diagnostic (public audience).

* XLSX: one sheet per table of the report, a « Sources » sheet (producer, vintage, licence,
  address of every dataset) and a « Lisez-moi » sheet (territory, date, audience, conventions);
* CSV: the commune table, ``;``-separated, decimal comma, UTF-8 with a byte-order mark so that
  Excel opens it right; its sources in a sibling ``…_sources.csv``;
* GeoPackage: the communes with every indicator (polygons), the public sites (points), the
  territory outline, and the sources as a table;
* GeoTIFF: the 1 km accessibility raster, when the gap model was computed.

Every table here comes from :class:`~diagnostics.document.Diagnostic`, which holds public data
only (confidential sites are counted, never listed).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

import settings
from diagnostics.document import Diagnostic
from geodata import files
from operators.cells import safe_frame

SHEET_NAMES = {
    "communes": "Communes",
    "chiffres_cles": "Chiffres clés",
    "densite": "Densité",
    "pauvrete": "Pauvreté",
    "communes_principales": "Communes principales",
    "qpv": "QPV",
    "besoin_communes": "Besoin",
    "typologie": "Typologie",
    "offre_types": "Offre par type",
    "sites": "Sites (vue publique)",
    "ecart_communes": "Écarts",
    "ecart_classes": "Classes d'écart",
    "zones_blanches": "Zones blanches",
    "scenarios": "Scénarios",
    "implantation": "Scénario d'implantation",
    "leviers_types": "Leviers par type",
    "ecart_familles": "Écarts par famille",
    "offre_publique": "Offre publique (FINESS)",
    "part_adherents": "Part des adhérents",
    "modele_economique": "Modèle économique",
    "politiques": "Politiques publiques",
    "politiques_synthese": "Politiques (synthèse)",
    "qui_fait_quoi": "Qui fait quoi où",
    "qui_fait_quoi_operateurs": "Qui fait quoi où (opérateurs)",
    "programme_familles": "Programme par famille",
    "programme_operations": "Programme, opérations",
    "leviers": "Leviers par commune",
    "indicateurs": "Indicateurs",
    "imputation": "Imputation",
    "sources": "Sources",
    "donnees_absentes": "Données absentes",
    "briques_besoin": "Briques du besoin",
    "briques_nationales": "Briques, totaux France",
    "otelo": "Comparaison OTELO",
}


class ExportError(RuntimeError):
    """An export cannot be written (French message)."""


def sheet_name(key: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of ``[]:*?/\\``, unique."""
    name = re.sub(r"[\[\]:*?/\\]", " ", SHEET_NAMES.get(key, key))[:31].strip() or "Feuille"
    base, n = name, 2
    while name in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def readme(diag: Diagnostic) -> pd.DataFrame:
    rows = [
        ("Titre", diag.title),
        ("Territoire", diag.spec),
        ("Produit le", diag.generated_on),
        ("Public", "diffusion large : sites confidentiels comptés dans les totaux seulement, "
                   "totaux de moins de trois sites publiés « < 3 »"),
        ("Valeurs manquantes", "cellule vide : donnée secrète (secret statistique) ou non publiée, "
                               "jamais zéro"),
        ("Licence", "données publiques sous Licence Ouverte / Etalab 2.0 : citer le producteur et "
                    "le millésime (feuille « Sources »)"),
    ]
    rows += [(f"Donnée absente : {k}", v) for k, v in diag.missing.items()]
    return pd.DataFrame(rows, columns=["Rubrique", "Contenu"])


def sources_frame(diag: Diagnostic) -> pd.DataFrame:
    return pd.DataFrame([
        {"Jeu de données": s.dataset, "Titre": s.title, "Producteur": s.producer,
         "Millésime": s.vintage, "Licence": s.licence, "Adresse": s.url,
         "Lignes": s.rows, "Construit le": s.built_at}
        for s in diag.sources
    ])


def _textual(series: pd.Series) -> bool:
    """Object or string columns (pandas 3 stores text as its own string type)."""
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells Excel can hold: lists as text; formulas never (``operators.cells``)."""
    return safe_frame(frame)


def workbook_bytes(sheets: list[tuple[str, pd.DataFrame]], title: str, max_width: int = 60) -> bytes:
    """An XLSX of ``(name, frame)`` sheets: formula prefixes neutralised, bold frozen header,
    columns sized to their content, French title and language."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    buffer = io.BytesIO()
    with files.writer_errors_as_os_errors(), pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets:
            _excel_safe(frame).to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for i, column in enumerate(frame.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
                sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8),
                                                                          max_width)
        writer.book.properties.title = title
        writer.book.properties.language = "fr-FR"
    return buffer.getvalue()


def xlsx_bytes(diag: Diagnostic) -> bytes:
    """The workbook: « Lisez-moi », one sheet per table, « Sources »."""
    used: set[str] = set()
    sheets = [("Lisez-moi", readme(diag))]
    sheets += [(sheet_name(k, used), f) for k, f in diag.exports.items() if k != "sources"]
    sheets.append((sheet_name("sources", used), sources_frame(diag)))
    return workbook_bytes(sheets, diag.title)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``;``-separated, decimal comma, UTF-8 with BOM (Excel in French opens it right)."""
    text = _excel_safe(frame).to_csv(sep=";", decimal=",", index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def write_csv(diag: Diagnostic, path: Path) -> list[Path]:
    """The commune table at ``path`` and its sources beside it (``…_sources.csv``)."""
    path = Path(path)
    sources = path.with_name(f"{path.stem}_sources.csv")
    _atomic_bytes(path, csv_bytes(diag.exports["communes"]))
    _atomic_bytes(sources, csv_bytes(sources_frame(diag)))
    return [path, sources]


def write_xlsx(diag: Diagnostic, path: Path) -> list[Path]:
    _atomic_bytes(Path(path), xlsx_bytes(diag))
    return [Path(path)]


def _gpkg_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Column types a GeoPackage holds (lists and mixed objects as text)."""
    out = frame.copy()
    for column in out.columns:
        if column == "geometry":
            continue
        if _textual(out[column]):
            out[column] = out[column].map(
                lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else
                (", ".join(map(str, v)) if isinstance(v, list | tuple | set) else str(v))
            )
        elif str(out[column].dtype) in ("boolean", "Int64", "Float64"):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def write_gpkg(diag: Diagnostic, path: Path) -> list[Path]:
    """GeoPackage layers: communes (polygons, all indicators), sites (public points),
    territoire (outline), sources (table)."""
    import pyogrio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(path, suffix=path.suffix, exists=False) as tmp:
        communes = diag.exports["communes"]
        code_column = communes.columns[0]
        geo = diag.geo[["code", "geometry"]].rename(columns={"code": code_column})
        layer = gpd.GeoDataFrame(communes.merge(geo, on=code_column, how="left"),
                                 geometry="geometry", crs=settings.CRS_DISPLAY)
        pyogrio.write_dataframe(_gpkg_columns(layer), tmp, layer="communes", driver="GPKG",
                                promote_to_multi=True)
        outline = gpd.GeoDataFrame({"territoire": [diag.spec], "titre": [diag.title]},
                                   geometry=[diag.geo.geometry.union_all()], crs=settings.CRS_DISPLAY)
        pyogrio.write_dataframe(outline, tmp, layer="territoire", driver="GPKG", append=True,
                                promote_to_multi=True)
        points = diag.sites_points
        if points is not None and len(points):
            sites = gpd.GeoDataFrame(
                _gpkg_columns(points.drop(columns=["geometry"], errors="ignore")),
                geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs=settings.CRS_DISPLAY,
            )
            pyogrio.write_dataframe(sites, tmp, layer="sites", driver="GPKG", append=True)
        pyogrio.write_dataframe(_gpkg_columns(sources_frame(diag)), tmp, layer="sources",
                                driver="GPKG", append=True)
    return [path]


def write_geotiff(diag: Diagnostic, path: Path) -> list[Path]:
    """The accessibility raster (1 km), or a French error when the gap model is absent."""
    if diag.raster_writer is None:
        reason = diag.missing.get("ecart", "le modèle d'écart n'a pas été calculé")
        raise ExportError(f"Raster d'accessibilité indisponible : {reason}.")
    return [Path(diag.raster_writer(Path(path)))]


def _atomic_bytes(path: Path, data: bytes) -> None:
    files.atomic_write_bytes(path, data)


WRITERS = {"xlsx": write_xlsx, "csv": write_csv, "gpkg": write_gpkg, "tif": write_geotiff}
