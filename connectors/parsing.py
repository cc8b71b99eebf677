"""Shared helpers to read the official CSV / XLSX files as they really are.

The public files differ in small ways that break naive readers: ``;`` or ``,`` separators,
decimal commas, latin-1 or UTF-8 with a byte-order mark, title lines above the header, cells
padded with spaces, thousands separated by spaces, secret cells written ``s`` or left empty,
commune codes whose leading zero was lost by a spreadsheet. Everything here reads cells as
text first and converts explicitly, so that a value is never silently changed:

* a secret or empty cell becomes missing (``NaN``), never zero;
* a cell that is neither a number nor a secret marker becomes missing *and* is listed in a
  :class:`Rejects` report (line, field, value, reason in French);
* a row whose code is invalid is removed from the table and kept in the report.

Columns are found by pattern on a normalised name (no accents, lower case, ``_``), because
producers rename them between editions (``P18_LOG`` → ``P21_LOG``, ``Commune_carencée`` →
``Commune_carencee_2023_2025``). A required column that cannot be found raises
:class:`SchemaError`, whose French message names the missing column, the file, and the
closest column names present (a renamed column).
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from unidecode import unidecode

from geodata import files
from geodata.files import sniff_encoding as sniff_encoding  # re-exported for the sources

# Cells that mean "not published" (secret "s", not available "nd", not significant "ns",
# not applicable "so"): missing, not zero.
SECRET_MARKERS = frozenset({"", "s", "nd", "n.d.", "n.d", "ns", "so", "secret", "nc"})

COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
DEPARTEMENT_CODE = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
IRIS_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})\d{4}$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
LINE_COLUMN = "_line"


class SchemaError(ValueError):
    """A required column is missing from an official file (French message)."""

    def __init__(self, source: str, missing: list[str], found: list[str]) -> None:
        self.source = source
        self.missing = list(missing)
        self.found = list(found)
        hints = []
        normalised = {normalize_name(c): c for c in found}
        for label in missing:
            close = difflib.get_close_matches(
                normalize_name(label), list(normalised), n=2, cutoff=0.6
            )
            if close:
                names = " ou ".join(f"« {normalised[c]} »" for c in close)
                hints.append(f"« {label} » a peut-être été renommée en {names}")
        listed = ", ".join(found[:40]) + (" …" if len(found) > 40 else "")
        message = (
            f"Fichier « {source} » : colonne(s) attendue(s) absente(s) : "
            + ", ".join(f"« {m} »" for m in missing)
            + ". "
            + ("; ".join(hints) + ". " if hints else "")
            + f"Colonnes présentes : {listed}. "
            "Le format de la source a changé : adaptez le connecteur."
        )
        super().__init__(message)


class ParseError(ValueError):
    """An official file cannot be read at all (French message)."""


@dataclass
class Rejects:
    """Cells or rows set aside while parsing, each with its line, field and reason."""

    source: str = ""
    rows: list[tuple[int | None, str, str, str]] = field(default_factory=list)

    def add(self, line: int | None, field_name: str, value: object, reason: str) -> None:
        self.rows.append((line, field_name, "" if value is None else str(value), reason))

    def extend(self, other: Rejects) -> None:
        self.rows.extend(other.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=["ligne", "champ", "valeur", "motif"])
        frame["ligne"] = frame["ligne"].astype("Int64")
        frame.insert(0, "fichier", self.source)
        return frame


@dataclass(frozen=True)
class Col:
    """A column looked for by a regular expression on its normalised name.

    ``pattern`` is matched in full against :func:`normalize_name` of each column; a named
    group ``year`` picks the most recent edition when several columns match (``p18_log``
    and ``p13_log``). ``label`` is the name shown in error messages (e.g. ``"MED<aa>"``).
    """

    pattern: str
    label: str
    required: bool = True


def normalize_name(name: object) -> str:
    """Column name without accents, lower case, runs of non-alphanumerics as ``_``."""
    text = unidecode(str(name)).strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


# -- reading bytes -------------------------------------------------------------------------
def read_source_bytes(path: Path, member: str | None = None) -> tuple[bytes, str]:
    """Bytes of an official file, or of the member of a zip archive matching ``member``.

    Returns ``(bytes, name)`` where ``name`` is the file (or member) name for messages.
    """
    path = Path(path)
    if not path.exists():
        raise ParseError(f"Fichier introuvable : {path}")
    if zipfile.is_zipfile(path) and path.suffix.lower() in {".zip", ".whl"}:
        with zipfile.ZipFile(path) as archive:
            name = pick_member(archive.namelist(), member, path.name)
            return archive.read(name), name
    return path.read_bytes(), path.name


def pick_member(names: list[str], pattern: str | None, archive: str) -> str:
    """The archive member whose base name matches ``pattern`` (case-insensitive)."""
    try:
        return files.pick_member(names, pattern, archive, ignore_case=True)
    except files.MemberError as exc:
        raise ParseError(str(exc)) from None


def sniff_separator(line: str, candidates: str = files.SEPARATORS) -> str:
    """The candidate separator giving the most cells in a header line."""
    sep = files.sniff_separator(line, candidates, default=None)
    if sep is None:
        raise ParseError(f"Séparateur de colonnes introuvable dans la ligne d'en-tête : {line!r}")
    return sep


def find_header_line(lines: list[str], sep: str, pattern: str, limit: int = 60) -> int:
    """Index of the first line having a cell whose normalised text matches ``pattern``."""
    regex = re.compile(pattern)
    for index, line in enumerate(lines[:limit]):
        cells = files.split_line(line, sep)
        if any(regex.fullmatch(normalize_name(cell)) for cell in cells):
            return index
    raise ParseError(f"Ligne d'en-tête introuvable (aucune cellule ne correspond à « {pattern} »).")


def read_csv_text(
    raw: bytes,
    *,
    name: str,
    sep: str | None = None,
    encoding: str | None = None,
    header: str | None = None,
) -> pd.DataFrame:
    """Read a CSV as text cells, stripped, with the file line number of each row.

    Parameters
    ----------
    raw
        File bytes.
    name
        File name, for messages.
    sep, encoding
        Forced separator / encoding; sniffed when omitted.
    header
        Pattern (on normalised names) of a cell of the header line, for files with title
        lines above the header; the first line is the header when omitted.

    Returns
    -------
    DataFrame of strings (empty cells are ``""``) with stripped column names and a
    ``_line`` column (1-based line number in the file). Fully empty rows are dropped.
    """
    encoding = encoding or sniff_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ParseError(f"Fichier « {name} » : encodage {encoding} illisible ({exc}).") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if not lines:
        raise ParseError(f"Fichier « {name} » vide.")
    skip = 0
    if header:
        probe_sep = sep or sniff_separator(
            next((ln for ln in lines[:60] if re.search(r"[;,\t|]", ln)), lines[0])
        )
        skip = find_header_line(lines, probe_sep, header)
    sep = sep or sniff_separator(lines[skip])
    frame = pd.read_csv(
        io.StringIO(text),
        sep=sep,
        dtype=str,
        keep_default_na=False,
        skiprows=skip,
        skip_blank_lines=False,
        engine="c",
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = strip_cells(frame)
    frame[LINE_COLUMN] = np.arange(len(frame)) + skip + 2
    values = frame.drop(columns=LINE_COLUMN)
    empty = (values == "").all(axis=1)
    return frame.loc[~empty].reset_index(drop=True)


def strip_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces (incl. non-breaking) around every text cell."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].fillna("").astype(str).str.strip(" \t\u00a0\u202f\r\n")
    return out


def read_excel_text(path: Path, *, sheet: str, header: str, name: str | None = None) -> pd.DataFrame:
    """Read one sheet of an XLSX file whose header line is found by ``header`` pattern.

    Cells keep their Excel value (ints stay ints); the caller converts. A ``_line`` column
    gives the spreadsheet row number.
    """
    name = name or Path(path).name
    try:
        raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object)
    except ValueError as exc:
        raise ParseError(f"Fichier « {name} » : onglet « {sheet} » illisible ({exc}).") from exc
    regex = re.compile(header)
    header_row = None
    for index in range(min(len(raw), 60)):
        cells = raw.iloc[index].tolist()
        if any(isinstance(c, str) and regex.fullmatch(normalize_name(c)) for c in cells):
            header_row = index
            break
    if header_row is None:
        raise ParseError(
            f"Fichier « {name} », onglet « {sheet} » : ligne d'en-tête introuvable "
            f"(motif « {header} »)."
        )
    columns = [str(c).strip() if pd.notna(c) else f"colonne_{i}" for i, c in
               enumerate(raw.iloc[header_row])]
    frame = raw.iloc[header_row + 1 :].copy()
    frame.columns = columns
    frame[LINE_COLUMN] = np.arange(len(frame)) + header_row + 2
    values = frame.drop(columns=LINE_COLUMN)
    frame = frame.loc[~values.isna().all(axis=1)].reset_index(drop=True)
    return frame


# -- columns -------------------------------------------------------------------------------
def match_columns(
    columns: list[str], spec: Mapping[str, Col], source: str
) -> tuple[dict[str, str], dict[str, int]]:
    """Find each wanted column by pattern.

    Returns
    -------
    (``{target: actual column}``, ``{target: year}`` for patterns with a ``year`` group).
    Optional columns that are absent are left out.

    Raises
    ------
    SchemaError
        Naming every required column that is absent.
    """
    normalised = [(normalize_name(c), c) for c in columns if c != LINE_COLUMN]
    found: dict[str, str] = {}
    years: dict[str, int] = {}
    missing: list[str] = []
    for target, col in spec.items():
        regex = re.compile(col.pattern)
        matches = [(regex.fullmatch(n), c) for n, c in normalised]
        matches = [(m, c) for m, c in matches if m]
        if not matches:
            if col.required:
                missing.append(col.label)
            continue
        if "year" in regex.groupindex:
            match, actual = max(matches, key=lambda mc: _year(mc[0].group("year")))
            years[target] = _year(match.group("year"))
        else:
            actual = matches[0][1]
        found[target] = actual
    if missing:
        raise SchemaError(source, missing, [c for _, c in normalised])
    return found, years


def columns_by_year(columns: list[str], pattern: str) -> dict[int, str]:
    """Every column matching ``pattern`` (with a ``year`` group), keyed by full year."""
    regex = re.compile(pattern)
    out: dict[int, str] = {}
    for column in columns:
        match = regex.fullmatch(normalize_name(column))
        if match:
            out[_year(match.group("year"))] = column
    return dict(sorted(out.items()))


def _year(text: str) -> int:
    value = int(text)
    return value + 2000 if value < 100 else value


# -- values --------------------------------------------------------------------------------
def to_number(
    values: pd.Series,
    *,
    field_name: str,
    rejects: Rejects,
    lines: pd.Series | None = None,
    secret: frozenset[str] = SECRET_MARKERS,
) -> pd.Series:
    """Numbers written the French way (``1 234,5``, ``12,3 %``) as floats.

    Secret markers and empty cells become ``NaN``; any other unreadable cell becomes ``NaN``
    and is added to ``rejects`` (its line, the field and the raw value).
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip()
    is_secret = text.isna() | text.str.lower().isin(secret)
    cleaned = (
        text.str.replace(_SPACES, "", regex=True)
        .str.replace("%", "", regex=False)
        .str.replace("€", "", regex=False)
        .str.replace(",", ".", regex=False)
    )
    numbers = pd.to_numeric(cleaned.where(~is_secret), errors="coerce").astype(float)
    bad = numbers.isna() & ~is_secret
    for index in values.index[bad.to_numpy()]:
        line = int(lines.loc[index]) if lines is not None else None
        rejects.add(line, field_name, values.loc[index], "valeur non numérique, laissée manquante")
    return numbers


def to_bool(
    values: pd.Series,
    *,
    field_name: str,
    rejects: Rejects,
    lines: pd.Series | None = None,
) -> pd.Series:
    """``oui/non``, ``true/false``, ``1/0``, ``o/n`` as a nullable boolean (empty = missing)."""
    truthy = {"oui", "o", "true", "vrai", "1", "1.0", "x", "yes", "y"}
    falsy = {"non", "n", "false", "faux", "0", "0.0", "no"}
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(truthy).fillna(False).to_numpy()] = True
    out[text.isin(falsy).fillna(False).to_numpy()] = False
    bad = out.isna() & text.notna() & (text != "")
    for index in values.index[bad.to_numpy()]:
        line = int(lines.loc[index]) if lines is not None else None
        rejects.add(line, field_name, values.loc[index], "valeur ni oui ni non, laissée manquante")
    return out


def clean_codes(
    values: pd.Series,
    *,
    kind: str = "commune",
) -> tuple[pd.Series, pd.Series]:
    """Normalise geographic codes as strings; return ``(codes, valid mask)``.

    Leading zeros lost by a spreadsheet are restored (``1001`` → ``01001``, ``1`` → ``01``),
    Corsica's ``2a004`` is upper-cased, Excel's ``1001.0`` loses its ``.0``.
    """
    width, regex = {
        "commune": (5, COMMUNE_CODE),
        "departement": (2, DEPARTEMENT_CODE),
        "iris": (9, IRIS_CODE),
    }[kind]
    text = values.astype("string").str.strip().str.upper().str.replace(r"\.0$", "", regex=True)
    digits = text.str.fullmatch(r"\d+").fillna(False)
    short = digits & (text.str.len() < width)
    text = text.where(~short, text.str.zfill(width))
    valid = text.str.fullmatch(regex.pattern).fillna(False).astype(bool)
    return text.astype(object).where(valid, None), valid


def keep_valid_codes(
    frame: pd.DataFrame,
    column: str,
    *,
    field_name: str,
    rejects: Rejects,
    kind: str = "commune",
) -> pd.DataFrame:
    """Normalise ``frame[column]`` and move rows with an invalid code to ``rejects``."""
    codes, valid = clean_codes(frame[column], kind=kind)
    lines = frame[LINE_COLUMN] if LINE_COLUMN in frame.columns else None
    for index in frame.index[~valid.to_numpy()]:
        line = int(lines.loc[index]) if lines is not None else None
        rejects.add(
            line, field_name, frame.at[index, column], f"code {kind} invalide, ligne écartée"
        )
    out = frame.loc[valid.to_numpy()].copy()
    out[column] = codes[valid.to_numpy()].astype(str)
    return out


def report_duplicates(
    frame: pd.DataFrame, column: str, *, field_name: str, rejects: Rejects
) -> pd.DataFrame:
    """Keep the first row of each code; later duplicates go to ``rejects``."""
    duplicated = frame[column].duplicated(keep="first")
    lines = frame[LINE_COLUMN] if LINE_COLUMN in frame.columns else None
    for index in frame.index[duplicated.to_numpy()]:
        line = int(lines.loc[index]) if lines is not None else None
        rejects.add(line, field_name, frame.at[index, column], "code en double, ligne écartée")
    return frame.loc[~duplicated.to_numpy()].copy()


def iter_csv_chunks(
    path: Path,
    *,
    usecols: list[str],
    sep: str,
    encoding: str,
    chunksize: int = 200_000,
) -> Iterator[pd.DataFrame]:
    """Stream a large CSV as text chunks (only ``usecols``), each with its ``_line``."""
    start = 2
    reader = pd.read_csv(
        path,
        sep=sep,
        encoding=encoding,
        dtype=str,
        keep_default_na=False,
        usecols=usecols,
        chunksize=chunksize,
        engine="c",
    )
    with reader:
        for chunk in reader:
            chunk = strip_cells(chunk)
            chunk[LINE_COLUMN] = np.arange(len(chunk)) + start
            start += len(chunk)
            yield chunk


def read_header(path: Path, nbytes: int = 1 << 16) -> tuple[list[str], str, str]:
    """Column names, separator and encoding of a (possibly huge) CSV from its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(nbytes)
    encoding = sniff_encoding(head)
    # A multi-byte character may be cut at the end of the probe: decode leniently.
    text = head.decode(encoding, errors="ignore")
    first = text.splitlines()[0] if text else ""
    if not first:
        raise ParseError(f"Fichier « {Path(path).name} » vide.")
    sep = sniff_separator(first)
    columns = [c.strip() for c in files.split_line(first, sep)]
    return columns, sep, encoding


def find_sheet(path: Path | Any, pattern: str, name: str | None = None) -> str:
    """Name of the first sheet of a workbook whose normalised name matches ``pattern``.

    ``path`` may be a file-like object (a workbook read from an archive): ``name`` then names
    it in messages.
    """
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    regex = re.compile(pattern)
    for sheet in names:
        if regex.fullmatch(normalize_name(sheet)):
            return sheet
    raise SchemaError(name or Path(path).name, [f"onglet « {pattern} »"], names)
