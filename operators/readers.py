"""Read a member file (CSV, XLSX, GeoJSON) into a table of text cells with source row numbers.

Every cell is kept as text (``""`` when empty) so that nothing is interpreted before validation:
a commune code stays ``"01001"`` or, when Excel ate its zero, ``"1001"`` — the validation repairs
it and says so. Each row remembers where it came from (``ligne 12`` as Excel or a text editor
shows it, ``entité 3`` in a GeoJSON), so that every message can name it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import math
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree
from xml.parsers import expat

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
    # data rows of the whole file when ``frame`` holds only some of them (a streamed file)
    total_rows: int | None = None

    def __len__(self) -> int:
        return len(self.frame) if self.total_rows is None else self.total_rows

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
        n = len(self)
        if self.file_format == "geojson":
            parts.append(f"{n} entité" if n == 1 else f"{n} entités")
        else:
            parts.append(f"{n} ligne de données" if n == 1 else f"{n} lignes de données")
        if self.empty_rows:
            empty = len(self.empty_rows)
            parts.append(f"{empty} ligne vide ignorée" if empty == 1
                         else f"{empty} lignes vides ignorées")
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


Opener = Callable[[], BinaryIO]
DEFAULT_BLOCK_ROWS = 5_000
_CHUNK = 1024 * 1024


@dataclass
class TableStream:
    """A member file read block by block.

    ``head`` holds what is known once the header is found (columns in an empty frame, format,
    encoding, separator, sheet, header row); ``blocks`` yields :class:`RawTable` blocks of at
    most ``block_rows`` data rows, whose positions (``row_errors``, formulas) are relative to
    the block and whose ``row_numbers`` and ``row_labels`` are the file's. Once ``blocks`` is
    exhausted, ``head.empty_rows`` lists the empty rows and ``head.total_rows`` counts the data
    rows of the whole file.
    """

    head: RawTable
    blocks: Iterator[RawTable]
    closer: Callable[[], None] | None = None

    def close(self) -> None:
        """Release the file (also when its blocks were not all read)."""
        close = getattr(self.blocks, "close", None)
        if close is not None:
            close()
        if self.closer is not None:
            self.closer()


def opener_for(source: Path | str | bytes) -> Opener:
    """A function opening ``source`` (a path or bytes) afresh as a binary stream."""
    if isinstance(source, bytes):
        return lambda: io.BytesIO(source)
    path = Path(source)
    return lambda: open(path, "rb")


def read_table(
    source: Path | str | bytes,
    name: str | None = None,
    sheet: str | None = None,
    known_columns: frozenset[str] = frozenset(),
) -> RawTable:
    """Read a CSV, XLSX or GeoJSON file (path or bytes) into a :class:`RawTable`.

    ``known_columns`` (the columns of an explicit mapping) help find the header row. The whole
    file is read at once (a preview); :func:`open_table` reads it block by block.
    """
    stream = open_table(source, name, sheet, known_columns, block_rows=None)
    try:
        blocks = list(stream.blocks)
    finally:
        stream.close()
    head = stream.head
    if not blocks:
        return replace(head, total_rows=None)
    (block,) = blocks
    return replace(
        block, encoding=head.encoding, delimiter=head.delimiter, sheet=head.sheet,
        file_format=head.file_format, header_row=head.header_row, empty_rows=head.empty_rows,
        forced_columns=head.forced_columns,
    )


def open_table(
    source: Path | str | bytes,
    name: str | None = None,
    sheet: str | None = None,
    known_columns: frozenset[str] = frozenset(),
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
) -> TableStream:
    """Open a CSV, XLSX or GeoJSON file (path or bytes) to be read in blocks of ``block_rows``
    data rows (``None``: one block). The header is found at once; a file that cannot be read
    as a table raises :class:`ReadError` here or, for a fault further down, while the blocks
    are read.

    CSV and XLSX are read row by row (the file is never held whole in memory); a GeoJSON
    document is parsed whole, then handed out in blocks.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "fichier")
    opener = opener_for(source)
    try:
        with opener() as handle:
            head = handle.read(_CHUNK)
            blank = not head.strip()
            while blank and (more := handle.read(_CHUNK)):
                blank = not more.strip()
    except OSError as error:
        raise ReadError(f"Fichier « {name} » illisible : {error}") from error
    if blank:
        raise ReadError(f"Fichier « {name} » vide.")
    kind = detect_format(name, head)
    if kind == "xlsx":
        return stream_xlsx(opener, name, sheet, known_columns, block_rows)
    if kind == "geojson":
        with opener() as handle:
            table = read_geojson(handle.read(), name)
        return _split(table, block_rows)
    return stream_csv(opener, name, known_columns, block_rows)


# -- CSV -------------------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), else Windows latin-1."""
    text, encoding = files.decode(data)
    return text, files.ENCODING_LABELS[encoding]


NUL_MESSAGE = (
    "Encodage non reconnu : le fichier contient des octets nuls, comme un texte UTF-16 sans "
    "marque d'ordre des octets (BOM) ou un fichier binaire. Enregistrez-le en CSV UTF-8 "
    "(Excel : « CSV UTF-8 (délimité par des virgules) »)."
)


def stream_encoding(opener: Opener, name: str = "fichier") -> tuple[str, str]:
    """``(codec, errors)`` decoding the whole file, found in one pass by chunks.

    The same choice as :func:`geodata.files.decode` on the whole file: UTF-8 with a BOM, UTF-8,
    Windows-1252, else latin-1 (which decodes anything); a file cut inside its last character
    is still UTF-8 (that character is dropped).
    """
    with opener() as handle:
        start = handle.read(_CHUNK)
    wide = files.sniff_encoding(start[:4])
    if wide in ("utf-16", "utf-32"):
        candidates = [wide]
    elif b"\x00" in start:
        raise ReadError(f"Fichier « {name} » : {NUL_MESSAGE}")
    else:
        candidates = ["utf-8-sig"] if start.startswith(codecs.BOM_UTF8) else ["utf-8", "cp1252"]
    for codec in candidates:
        decoder = codecs.getincrementaldecoder(codec)()
        try:
            with opener() as handle:
                while chunk := handle.read(_CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            if codec != "cp1252" and error.reason == "unexpected end of data":
                return codec, "ignore"  # only the last, cut character is undecodable
            continue
        return codec, "strict"
    return "latin-1", "strict"


def stream_csv(
    opener: Opener, name: str, known: frozenset[str] = frozenset(),
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
) -> TableStream:
    codec, errors = stream_encoding(opener, name)
    with opener() as handle:
        sample = io.TextIOWrapper(handle, encoding=codec, errors=errors, newline="").read(
            files.SNIFF_BYTES + 1)
    delimiter = files.sniff_separator(sample) or ";"
    files.allow_long_cells()

    def records() -> Iterator[tuple[int, list[str], None]]:
        with opener() as handle:
            text = io.TextIOWrapper(handle, encoding=codec, errors=errors, newline="")
            reader = csv.reader(text, delimiter=delimiter)
            previous_end = 0
            try:
                for row in reader:
                    yield previous_end + 1, [_clean(cell) for cell in row], None
                    previous_end = reader.line_num
            except csv.Error as error:
                raise ReadError(
                    f"Fichier « {name} », ligne {reader.line_num} : CSV mal formé ({error})."
                ) from error

    stream = _stream_records(records(), name, "ligne", known, block_rows)
    stream.head.file_format = "csv"
    stream.head.encoding = files.ENCODING_LABELS[codec]
    stream.head.delimiter = delimiter
    return stream


# -- XLSX ------------------------------------------------------------------------------------
def stream_xlsx(
    opener: Opener, name: str, sheet: str | None = None, known: frozenset[str] = frozenset(),
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
) -> TableStream:
    """Stream the sheet whose header is best recognised (or ``sheet``).

    The workbook is opened twice, read-only: once for the values Excel computed
    (``data_only``), once for the formulas, so that a formula whose value was never computed
    (a file written by a program rather than saved by Excel) is reported instead of read as an
    empty cell. Each sheet's header is found among its first rows; the chosen sheet is then
    read again from its top, row by row.
    """
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with opener() as handle:
        if not zipfile.is_zipfile(handle):
            raise ReadError(
                f"Fichier « {name} » : ce n'est pas un classeur Excel .xlsx (le contenu n'est "
                "pas une archive xlsx). Ouvrez-le dans Excel ou LibreOffice et enregistrez-le "
                "au format .xlsx ou .csv."
            )
    handles = [opener(), opener()]
    try:
        values_book = openpyxl.load_workbook(handles[0], read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(handles[1], read_only=True, data_only=False)
    except (InvalidFileException, *XLSX_ERRORS) as error:
        for handle in handles:
            handle.close()
        raise xlsx_error(name, error) from error

    def close() -> None:
        values_book.close()
        formula_book.close()
        for handle in handles:
            handle.close()

    try:
        names = values_book.sheetnames
        if sheet is not None and sheet not in names:
            raise ReadError(
                f"Fichier « {name} » : pas de feuille « {sheet} » (feuilles : {', '.join(names)})."
            )
        best: tuple[int, str] | None = None
        for sheet_name in [sheet] if sheet else names:
            rows = _sheet_records(values_book[sheet_name], formula_book[sheet_name], name)
            try:
                _, header_cells, _ = _find_header(rows, name, known)
            except DamagedWorkbook:
                raise
            except ReadError:
                continue
            finally:
                rows.close()
            columns = _unique_columns(header_cells)
            score = header_score(columns) + sum(1 for c in columns if c in known)
            if best is None or score > best[0]:
                best = (score, sheet_name)
        if best is None:
            raise ReadError(
                f"Fichier « {name} » : aucune feuille n'a d'en-tête reconnaissable "
                "(code commune, type d'offre, capacité…)."
            )
    except BaseException:
        close()
        raise
    chosen = best[1]
    stream = _stream_records(
        _sheet_records(values_book[chosen], formula_book[chosen], name), name, "ligne", known,
        block_rows, on_close=close,
    )
    stream.head.file_format = "xlsx"
    stream.head.sheet = chosen
    return stream


# What reading a damaged workbook raises (openpyxl reads its parts lazily, while the rows are
# read): each is said in French by :func:`xlsx_error`, never shown raw.
XLSX_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError, TypeError,
    IndexError, AttributeError, ElementTree.ParseError, expat.ExpatError, RecursionError,
    NotImplementedError, RuntimeError,
)


class DamagedWorkbook(ReadError):
    """A workbook whose archive or XML is damaged (French message)."""


def xlsx_error(name: str, error: BaseException) -> ReadError:
    """A French :class:`ReadError` naming what is wrong with a workbook."""
    detail = " ".join(str(error).split())[:160]
    if isinstance(error, ElementTree.ParseError | expat.ExpatError):
        what = "son XML interne est mal formé"
        if "amplification" in detail or "entit" in detail.lower():
            what = "son XML déclare des entités refusées (risque d'expansion)"
    elif isinstance(error, zipfile.BadZipFile | zlib.error | EOFError):
        what = "l'archive xlsx est abîmée, tronquée ou falsifiée"
    elif isinstance(error, KeyError):
        what = "une partie du classeur manque"
    elif isinstance(error, RecursionError):
        what = "sa structure est imbriquée trop profondément"
    else:
        what = "le classeur est illisible"
    return DamagedWorkbook(
        f"Fichier « {name} » : classeur Excel illisible, {what} ({type(error).__name__} : "
        f"{detail}). Ouvrez-le dans Excel ou LibreOffice et enregistrez-le à nouveau en .xlsx, "
        "ou exportez-le en CSV.")


def _sheet_records(values_sheet, formula_sheet, name: str = "fichier") -> Iterator[
        tuple[int, list[str], dict[int, tuple[str, bool]] | None]]:
    """``(row number, cell texts, {cell index: (formula, has a computed value)})`` per row;
    a fault of the workbook met while reading is a French :class:`ReadError`."""
    try:
        yield from _sheet_rows(values_sheet, formula_sheet)
    except ReadError:
        raise
    except XLSX_ERRORS as error:
        raise xlsx_error(name, error) from error


def _sheet_rows(values_sheet, formula_sheet) -> Iterator[
        tuple[int, list[str], dict[int, tuple[str, bool]] | None]]:
    previous = 0
    value_rows = values_sheet.iter_rows()
    formula_rows = formula_sheet.iter_rows()
    for values, formula_cells in zip(value_rows, formula_rows, strict=False):
        row_number = next((c.row for c in values if getattr(c, "row", None)), None)
        if row_number is None:
            row_number = previous + 1
        previous = row_number
        cells: list[str] = []
        formulas: dict[int, tuple[str, bool]] = {}
        for index, (cell, fcell) in enumerate(zip(values, formula_cells, strict=False)):
            cells.append(_cell_text(cell.value))
            if getattr(fcell, "data_type", None) == "f":
                formulas[index] = (str(fcell.value), cell.value is not None)
        yield row_number, cells, formulas or None


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
    if b"\x00" in data[:_CHUNK] and files.sniff_encoding(data[:4]) not in ("utf-16", "utf-32"):
        raise ReadError(f"Fichier « {name} » : {NUL_MESSAGE}")
    text, _ = decode_text(data)
    try:
        document = json.loads(text)
    except RecursionError as error:
        raise ReadError(
            f"Fichier « {name} » : GeoJSON imbriqué trop profondément pour être lu (un GeoJSON "
            "de points compte moins de dix niveaux)."
        ) from error
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


Record = tuple[int, list[str], dict[int, tuple[str, bool]] | None]


def _find_header(
    records: Iterator[Record], name: str, known: frozenset[str] = frozenset()
) -> tuple[int, list[str], Iterator[Record]]:
    """``(header row, header cells, the records after it)``: the header is the best scored of
    the first :data:`_HEADER_SEARCH_ROWS` non-empty rows (only those are read ahead)."""
    ahead: list[Record] = []
    candidates: list[int] = []
    for record in records:
        ahead.append(record)
        if any(c for c in record[1]):
            candidates.append(len(ahead) - 1)
            if len(candidates) >= _HEADER_SEARCH_ROWS:
                break
    if not candidates:
        raise ReadError(f"Fichier « {name} » : aucune ligne de données.")
    scored = [
        (header_score(ahead[i][1]) + sum(1 for c in ahead[i][1] if c in known), i)
        for i in candidates
    ]
    best_score = max(score for score, _ in scored)
    # No row looks like a header: take the first one, so that the columns can be shown and
    # mapped by hand (the importer then says which fields it could not find).
    header_index = next(i for score, i in scored if score == best_score) if best_score >= 2 else (
        candidates[0]
    )
    header_row, header_cells, _ = ahead[header_index]
    return header_row, header_cells, itertools.chain(ahead[header_index + 1:], records)


def _stream_records(
    records: Iterator[Record],
    name: str,
    unit: str,
    known: frozenset[str] = frozenset(),
    block_rows: int | None = DEFAULT_BLOCK_ROWS,
    on_close: Callable[[], None] | None = None,
) -> TableStream:
    """Find the header, then hand every later non-empty row out in blocks."""
    try:
        header_row, header_cells, rest = _find_header(records, name, known)
    except BaseException:
        records.close()
        if on_close:
            on_close()
        raise
    columns = _unique_columns(header_cells)
    head = RawTable(
        frame=pd.DataFrame(columns=columns, dtype=object), row_numbers=[], row_labels=[],
        file_format="", header_row=header_row, total_rows=0,
    )

    closed = False

    def closer() -> None:
        nonlocal closed
        if not closed:
            closed = True
            records.close()
            if on_close:
                on_close()

    def blocks() -> Iterator[RawTable]:
        try:
            yield from _blocks(rest, columns, unit, block_rows, head)
        finally:
            closer()

    return TableStream(head=head, blocks=blocks(), closer=closer)


def _blocks(
    records: Iterator[Record], columns: list[str], unit: str, block_rows: int | None,
    head: RawTable,
) -> Iterator[RawTable]:
    width = len(columns)
    limit = block_rows or sys.maxsize
    block = _Block()
    for row_number, cells, formulas in records:
        if not any(cells):
            head.empty_rows.append(row_number)
            continue
        position = len(block.rows)
        extra = [c for c in cells[width:] if c]
        if extra:
            block.errors[position] = [(
                "ligne",
                f"{width + len(extra)} valeurs pour {width} colonnes (un séparateur dans une "
                "valeur non entourée de guillemets ?)",
            )]
        block.rows.append((cells + [""] * width)[:width])
        block.numbers.append(row_number)
        for index, (formula, has_value) in (formulas or {}).items():
            if index >= width:
                continue
            if has_value:
                block.formula_used.add((position, columns[index]))
            else:
                block.formula_missing[(position, columns[index])] = formula
        if len(block.rows) >= limit:
            head.total_rows = (head.total_rows or 0) + len(block.rows)
            yield block.table(columns, unit)
            block = _Block()
    if block.rows or block_rows is None:
        head.total_rows = (head.total_rows or 0) + len(block.rows)
        yield block.table(columns, unit)


@dataclass
class _Block:
    rows: list[list[str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    errors: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    formula_missing: dict[tuple[int, str], str] = field(default_factory=dict)
    formula_used: set[tuple[int, str]] = field(default_factory=set)

    def table(self, columns: list[str], unit: str) -> RawTable:
        frame = pd.DataFrame(self.rows, columns=columns, dtype=object).astype(str)
        return RawTable(
            frame=frame,
            row_numbers=self.numbers,
            row_labels=[f"{unit} {n}" for n in self.numbers],
            file_format="",
            formulas_without_value=self.formula_missing,
            formula_values=self.formula_used,
            row_errors=self.errors,
        )


def _split(table: RawTable, block_rows: int | None) -> TableStream:
    """A table already read whole (GeoJSON), handed out in blocks."""
    head = replace(table, frame=table.frame.iloc[:0], row_numbers=[], row_labels=[],
                   row_errors={}, formulas_without_value={}, formula_values=set(),
                   total_rows=len(table))
    size = block_rows or max(len(table), 1)

    def blocks() -> Iterator[RawTable]:
        for start in range(0, max(len(table), 1), size):
            stop = start + size
            if start and start >= len(table):
                break
            yield replace(
                table,
                frame=table.frame.iloc[start:stop].reset_index(drop=True),
                row_numbers=table.row_numbers[start:stop],
                row_labels=table.row_labels[start:stop],
                row_errors={p - start: e for p, e in table.row_errors.items()
                            if start <= p < stop},
            )

    return TableStream(head=head, blocks=blocks())


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
