"""Read a member file (CSV, XLSX, GeoJSON) into a table of text cells with source row numbers.

Every cell is kept as text (``""`` when empty) so that nothing is interpreted before validation:
a commune code stays ``"01001"`` or, when Excel ate its zero, ``"1001"`` — the validation repairs
it and says so. Each row remembers where it came from (``ligne 12`` as Excel or a text editor
shows it, ``entité 3`` in a GeoJSON), so that every message can name it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geodata import files
from operators.columns import header_score

FORMATS = ("csv", "xlsx", "geojson")
_HEADER_SEARCH_ROWS = 15


class ReadError(ValueError):
    """The file cannot be read as a table (French message naming the file)."""


@dataclass
class RawTable:
    """A member file as text cells, one row per non-empty source row."""

    frame: pd.DataFrame
    row_numbers: list[int]
    row_labels: list[str]
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int = 1
    empty_rows: list[int] = field(default_factory=list)
    # (row position, column) -> formula text, for formula cells without a computed value
    formulas_without_value: dict[tuple[int, str], str] = field(default_factory=dict)
    # (row position, column) of formula cells whose computed value was used
    formula_values: set[tuple[int, str]] = field(default_factory=set)
    # row position -> [(column, message)] problems found while reading (bad geometry, extra cells)
    row_errors: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    # field -> column imposed by the format (GeoJSON geometry)
    forced_columns: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def describe_fr(self) -> str:
        parts = [f"format {self.file_format.upper()}"]
        if self.encoding:
            parts.append(f"encodage {self.encoding}")
        if self.delimiter:
            shown = "tabulation" if self.delimiter == "\t" else f"« {self.delimiter} »"
            parts.append(f"séparateur {shown}")
        if self.sheet:
            parts.append(f"feuille « {self.sheet} »")
        if self.file_format != "geojson":
            parts.append(f"en-tête en ligne {self.header_row}")
        unit = "entités" if self.file_format == "geojson" else "lignes de données"
        parts.append(f"{len(self.frame)} {unit}")
        if self.empty_rows:
            parts.append(f"{len(self.empty_rows)} lignes vides ignorées")
        return ", ".join(parts)


def detect_format(name: str, data: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".geojson", ".json"):
        return "geojson"
    if data[:2] == b"PK":
        return "xlsx"
    if data.lstrip()[:1] == b"{":
        return "geojson"
    if suffix in (".xls", ".ods"):
        raise ReadError(
            f"Fichier « {name} » : le format {suffix} n'est pas pris en charge. "
            "Enregistrez-le en .xlsx ou en .csv."
        )
    return "csv"


def read_table(
    source: Path | str | bytes,
    name: str | None = None,
    sheet: str | None = None,
    known_columns: frozenset[str] = frozenset(),
) -> RawTable:
    """Read a CSV, XLSX or GeoJSON file (path or bytes) into a :class:`RawTable`.

    ``known_columns`` (the columns of an explicit mapping) help find the header row.
    """
    if isinstance(source, bytes):
        data = source
        name = name or "fichier"
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ReadError(f"Fichier « {name} » illisible : {error}") from error
    if not data.strip():
        raise ReadError(f"Fichier « {name} » vide.")
    kind = detect_format(name, data)
    if kind == "xlsx":
        return read_xlsx(data, name, sheet, known_columns)
    if kind == "geojson":
        return read_geojson(data, name)
    return read_csv(data, name, known_columns)


# -- CSV -------------------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else Windows latin-1."""
    text, encoding = files.decode(data)
    return text, files.ENCODING_LABELS[encoding]


def read_csv(data: bytes, name: str, known: frozenset[str] = frozenset()) -> RawTable:
    text, encoding = decode_text(data)
    delimiter = files.sniff_separator(text) or ";"
    files.allow_long_cells()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for row in reader:
            records.append((previous_end + 1, [_clean(cell) for cell in row]))
            previous_end = reader.line_num
    except csv.Error as error:
        raise ReadError(
            f"Fichier « {name} », ligne {reader.line_num} : CSV mal formé ({error})."
        ) from error
    table = _table_from_records(records, name, "ligne", known=known)
    table.file_format = "csv"
    table.encoding = encoding
    table.delimiter = delimiter
    return table


# -- XLSX ------------------------------------------------------------------------------------
def read_xlsx(
    data: bytes, name: str, sheet: str | None = None, known: frozenset[str] = frozenset()
) -> RawTable:
    """Read the sheet whose header is best recognised (or ``sheet``).

    The workbook is opened twice: once for the values Excel computed (``data_only``), once for
    the formulas, so that a formula whose value was never computed (a file written by a program
    rather than saved by Excel) is reported instead of read as an empty cell.
    """
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ReadError(
            f"Fichier « {name} » : ce n'est pas un classeur Excel .xlsx (le contenu n'est pas "
            "une archive xlsx). Ouvrez-le dans Excel ou LibreOffice et enregistrez-le au format "
            ".xlsx ou .csv."
        )
    try:
        values_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError,
            TypeError) as error:
        raise ReadError(f"Fichier « {name} » : classeur Excel illisible ({error}).") from error
    try:
        names = values_book.sheetnames
        if sheet is not None and sheet not in names:
            raise ReadError(
                f"Fichier « {name} » : pas de feuille « {sheet} » (feuilles : {', '.join(names)})."
            )
        best: tuple[int, RawTable] | None = None
        for sheet_name in [sheet] if sheet else names:
            records, formulas = _sheet_records(values_book[sheet_name], formula_book[sheet_name])
            try:
                table = _table_from_records(records, name, "ligne", formulas, known)
            except ReadError:
                continue
            table.file_format = "xlsx"
            table.sheet = sheet_name
            columns = list(table.frame.columns)
            score = header_score(columns) + sum(1 for c in columns if c in known)
            if best is None or score > best[0]:
                best = (score, table)
        if best is None:
            raise ReadError(
                f"Fichier « {name} » : aucune feuille n'a d'en-tête reconnaissable "
                "(code commune, type d'offre, capacité…)."
            )
        return best[1]
    finally:
        values_book.close()
        formula_book.close()


def _sheet_records(values_sheet, formula_sheet):
    records: list[tuple[int, list[str]]] = []
    formulas: dict[tuple[int, int], tuple[str, bool]] = {}
    value_rows = values_sheet.iter_rows()
    formula_rows = formula_sheet.iter_rows()
    for values, formula_cells in zip(value_rows, formula_rows, strict=False):
        row_number = next((c.row for c in values if getattr(c, "row", None)), None)
        if row_number is None:
            row_number = (records[-1][0] + 1) if records else 1
        cells: list[str] = []
        for index, (cell, fcell) in enumerate(zip(values, formula_cells, strict=False)):
            text = _cell_text(cell.value)
            if getattr(fcell, "data_type", None) == "f":
                formulas[(row_number, index)] = (str(fcell.value), cell.value is not None)
            cells.append(text)
        records.append((row_number, cells))
    return records, formulas


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _clean(str(value))


# -- GeoJSON ---------------------------------------------------------------------------------
def read_geojson(data: bytes, name: str) -> RawTable:
    text, _ = decode_text(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(
            f"Fichier « {name} » : GeoJSON invalide (ligne {error.lineno}, colonne {error.colno} : "
            f"{error.msg})."
        ) from error
    if isinstance(document, dict) and document.get("type") == "Feature":
        features = [document]
    elif isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or []
    else:
        raise ReadError(f"Fichier « {name} » : ni FeatureCollection ni Feature GeoJSON.")
    if not isinstance(features, list):
        raise ReadError(
            f"Fichier « {name} » : « features » doit être une liste d'entités GeoJSON "
            f"(reçu : {type(features).__name__})."
        )
    crs = _declared_crs(document, name)
    rows: list[dict[str, str]] = []
    errors: dict[int, list[tuple[str, str]]] = {}
    points: list[tuple[float, float] | None] = []
    for position, feature in enumerate(features):
        properties, geometry, problems = _feature_parts(feature)
        rows.append({str(k): _geojson_value(v) for k, v in properties.items()})
        point, problem = _feature_point(geometry)
        if problem:
            problems.append(("géométrie", problem))
        if problems:
            errors[position] = problems
        points.append(point)
    if crs not in (None, 4326):
        points = _to_wgs84(points, crs)
    frame = pd.DataFrame(rows, dtype=object).fillna("")
    columns = list(frame.columns)
    frame["_geometrie_lon"] = [repr(p[0]) if p else "" for p in points]
    frame["_geometrie_lat"] = [repr(p[1]) if p else "" for p in points]
    frame = frame.astype(str)
    has_points = any(points)
    table = RawTable(
        frame=frame,
        row_numbers=list(range(1, len(frame) + 1)),
        row_labels=[f"entité {i}" for i in range(1, len(frame) + 1)],
        file_format="geojson",
        encoding="UTF-8",
        row_errors=errors,
        forced_columns={"lon": "_geometrie_lon", "lat": "_geometrie_lat"} if has_points else {},
    )
    if not has_points:
        table.frame = frame[columns]
    return table


def _feature_parts(feature: object) -> tuple[dict, object, list[tuple[str, str]]]:
    """``(properties, geometry, problems)`` of one entity, whatever shape it came in."""
    if not isinstance(feature, dict):
        shown = json.dumps(feature, ensure_ascii=False)[:60]
        return {}, None, [("ligne", f"entité GeoJSON illisible : un objet {{...}} est attendu, "
                                     f"reçu {type(feature).__name__} ({shown})")]
    problems: list[tuple[str, str]] = []
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        shown = str(properties)[:60]
        problems.append(("properties", "« properties » doit être un objet {\"champ\": valeur}, "
                                       f"reçu {type(properties).__name__} (« {shown} »)"))
        properties = {}
    return properties, feature.get("geometry"), problems


def _declared_crs(document: dict, name: str = "fichier") -> int | None:
    crs = document.get("crs")
    properties = crs.get("properties") if isinstance(crs, dict) else None
    label = str((properties or {}).get("name") or "") if isinstance(properties, dict) else ""
    if not label or "CRS84" in label.upper():
        return None
    digits = label.rsplit(":", 1)[-1]
    if not digits.isdigit():
        raise ReadError(
            f"Fichier « {name} » : système de coordonnées « {label} » non reconnu. Indiquez un "
            "code EPSG (par exemple « EPSG:2154 » pour le Lambert-93) ou exportez en WGS84."
        )
    epsg = int(digits)
    if epsg != 4326:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_epsg(epsg)
        except CRSError as error:
            raise ReadError(
                f"Fichier « {name} » : système de coordonnées EPSG:{epsg} inconnu. Exportez le "
                "fichier en WGS84 (EPSG:4326) ou en Lambert-93 (EPSG:2154)."
            ) from error
    return epsg


def _to_wgs84(points, epsg: int):
    from pyproj import Transformer

    transformer = Transformer.from_crs(epsg, 4326, always_xy=True)
    out = []
    for point in points:
        out.append(transformer.transform(*point) if point else None)
    return out


def _feature_point(geometry) -> tuple[tuple[float, float] | None, str | None]:
    if not geometry:
        return None, None
    if not isinstance(geometry, dict):
        shown = str(geometry)[:60]
        return None, (f"géométrie illisible : un objet GeoJSON {{\"type\": \"Point\", "
                      f"\"coordinates\": [lon, lat]}} est attendu, reçu « {shown} »")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list | tuple):
        return None, f"coordonnées du point illisibles ({coordinates!r} : une liste [lon, lat] attendue)"
    if kind == "MultiPoint" and isinstance(coordinates, list) and len(coordinates) == 1:
        kind, coordinates = "Point", coordinates[0]
    if kind != "Point":
        return None, f"géométrie de type {kind} non prise en charge (un point par site attendu)"
    try:
        lon, lat = float(coordinates[0]), float(coordinates[1])
    except (TypeError, ValueError, IndexError):
        return None, f"coordonnées du point illisibles ({coordinates!r})"
    return (lon, lat), None


def _geojson_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ";".join(_geojson_value(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clean(str(value))


# -- shared ----------------------------------------------------------------------------------
def _clean(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").strip()


def _table_from_records(
    records: list[tuple[int, list[str]]],
    name: str,
    unit: str,
    formulas: dict[tuple[int, int], tuple[str, bool]] | None = None,
    known: frozenset[str] = frozenset(),
) -> RawTable:
    """Find the header among the first rows, then keep every later non-empty row."""
    candidates = [(i, r) for i, r in enumerate(records) if any(c for c in r[1])]
    if not candidates:
        raise ReadError(f"Fichier « {name} » : aucune ligne de données.")
    scored = [
        (header_score(cells) + sum(1 for c in cells if c in known), i)
        for i, (_, cells) in candidates[:_HEADER_SEARCH_ROWS]
    ]
    best_score = max(score for score, _ in scored)
    # No row looks like a header: take the first one, so that the columns can be shown and
    # mapped by hand (the importer then says which fields it could not find).
    header_index = next(i for score, i in scored if score == best_score) if best_score >= 2 else (
        candidates[0][0]
    )
    header_row, header_cells = records[header_index]
    columns = _unique_columns(header_cells)
    width = len(columns)
    rows, numbers, empty = [], [], []
    errors: dict[int, list[tuple[str, str]]] = {}
    formula_missing: dict[tuple[int, str], str] = {}
    formula_used: set[tuple[int, str]] = set()
    for row_number, cells in records[header_index + 1 :]:
        if not any(cells):
            empty.append(row_number)
            continue
        position = len(rows)
        extra = [c for c in cells[width:] if c]
        if extra:
            errors[position] = [(
                "ligne",
                f"{width + len(extra)} valeurs pour {width} colonnes (un séparateur dans une "
                "valeur non entourée de guillemets ?)",
            )]
        cells = (cells + [""] * width)[:width]
        rows.append(cells)
        numbers.append(row_number)
        for index, column in enumerate(columns):
            info = (formulas or {}).get((row_number, index))
            if info is None:
                continue
            formula, has_value = info
            if has_value:
                formula_used.add((position, column))
            else:
                formula_missing[(position, column)] = formula
    frame = pd.DataFrame(rows, columns=columns, dtype=object).astype(str)
    return RawTable(
        frame=frame,
        row_numbers=numbers,
        row_labels=[f"{unit} {n}" for n in numbers],
        file_format="",
        header_row=header_row,
        empty_rows=empty,
        formulas_without_value=formula_missing,
        formula_values=formula_used,
        row_errors=errors,
    )


def _unique_columns(cells: list[str]) -> list[str]:
    # Trailing empty header cells (a sheet's used range reaching further right) are dropped.
    while cells and not cells[-1]:
        cells = cells[:-1]
    seen: dict[str, int] = {}
    out = []
    for index, cell in enumerate(cells, start=1):
        label = cell or f"colonne_{index}"
        if label in seen:
            seen[label] += 1
            label = f"{label} ({seen[label]})"
        else:
            seen[label] = 1
        out.append(label)
    return out
