"""Bounds on an operator's file, checked before it is read.

An upload is refused, with a French message, before any parsing when it is larger than
:data:`MAX_FILE_BYTES`, when an XLSX workbook would inflate beyond
:data:`MAX_XLSX_UNCOMPRESSED_BYTES` (a « zip bomb » of 8 MB inflating to 329 MB took 4.9 GB of
memory), when it holds more than :data:`MAX_ROWS` rows, or when a CSV line is longer than
:data:`MAX_LINE_CHARS`. These checks read the file in bounded chunks: their own memory does
not grow with the file. Per-field lengths are checked row by row on import
(``operators.cells.MAX_LENGTH``).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_FILE_BYTES = 60 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 200_000
MAX_LINE_CHARS = 100_000
# Header and title lines tolerated above the data, and a margin for quoted line breaks.
_ROW_MARGIN = 100
_CHUNK = 1024 * 1024
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")


# One cell of a workbook: bytes of text between two XML tags (a cell of MAX_LINE_CHARS
# characters, each escaped as at most 6 bytes, « &amp; »). A 310 KB workbook held one cell of
# 300 MB: it is refused while the archive is scanned, before openpyxl reads anything.
MAX_XLSX_CELL_BYTES = MAX_LINE_CHARS * 6
_OPENING = np.frombuffer(b"{[", dtype=np.uint8)
_CLOSING = np.frombuffer(b"}]", dtype=np.uint8)
_LONG_TEXT = re.compile(rb"[^<]{%d,}" % (MAX_XLSX_CELL_BYTES + 1))
# A GeoJSON document: its own bounds, not the CSV line's (a one-line document is normal).
MAX_JSON_BYTES = 40 * 1024 * 1024
MAX_JSON_DEPTH = 64


class InputTooLarge(ValueError):
    """A file beyond the bounds (French message naming the bound)."""


class MalformedInput(InputTooLarge):
    """A file whose container itself is damaged or hostile (French message naming the
    problem): a broken or lying archive, XML entity declarations, nesting too deep."""


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:.0f} Mo".replace(".", ",")


def check_path(path: Path | str, name: str | None = None) -> None:
    """Refuse a file on disk larger than :data:`MAX_FILE_BYTES` before reading it."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputTooLarge(
            f"Fichier « {name or path.name} » trop volumineux : {_mb(size)} (au plus "
            f"{_mb(MAX_FILE_BYTES)}). Découpez-le en plusieurs fichiers.")


def check_input(data: bytes, name: str) -> None:
    """Refuse ``data`` beyond the bounds; return silently when it may be read."""
    check_stream(io.BytesIO(data), name)


def check_stream(stream: BinaryIO, name: str) -> None:
    """Refuse the file read from ``stream`` (binary, seekable) beyond the bounds.

    The file is read in chunks of :data:`_CHUNK` bytes: a file on disk is checked without
    being loaded whole.
    """
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_FILE_BYTES:
        raise InputTooLarge(
            f"Fichier « {name} » trop volumineux : {_mb(size)} (au plus "
            f"{_mb(MAX_FILE_BYTES)}). Découpez-le en plusieurs fichiers.")
    magic = stream.read(4)
    stream.seek(0)
    if magic == b"PK\x03\x04":
        _check_xlsx(stream, name)
    elif _looks_like_json(stream, name):
        _check_json(stream, name)
    else:
        _check_text(stream, name)


def _looks_like_json(stream: BinaryIO, name: str) -> bool:
    start = stream.read(64)
    stream.seek(0)
    text = start.removeprefix(b"\xef\xbb\xbf").lstrip()
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):  # read as CSV whatever it starts with
        return False
    return suffix in (".geojson", ".json") or text[:1] == b"{"  # as readers.detect_format


def _check_json(stream: BinaryIO, name: str) -> None:
    """Bound a JSON document's size, nesting depth and number of features, chunk by chunk
    (strings skipped, escapes honoured): a deep document never reaches the parser."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_JSON_BYTES:
        raise InputTooLarge(
            f"Fichier GeoJSON « {name} » trop volumineux : {_mb(size)} (au plus "
            f"{_mb(MAX_JSON_BYTES)}). Découpez-le, ou exportez les sites en CSV.")
    depth, features, tail = 0, 0, b""
    feature_tag = re.compile(rb'"type"\s*:\s*"Feature"')
    while chunk := stream.read(_CHUNK):
        window = tail + chunk
        features += len(feature_tag.findall(window)) - len(feature_tag.findall(tail))
        tail = window[-32:]
        # Brackets counted with numpy, strings not told apart: a bracket inside a text can
        # only make the depth look larger (a refusal) or smaller — then the reader's own
        # RecursionError guard answers (operators.readers.read_geojson).
        codes = np.frombuffer(chunk, dtype=np.uint8)
        steps = (np.isin(codes, _OPENING).astype(np.int32)
                 - np.isin(codes, _CLOSING).astype(np.int32))
        levels = depth + np.cumsum(steps)
        if len(levels) and int(levels.max()) > MAX_JSON_DEPTH:
            raise MalformedInput(
                f"Fichier GeoJSON « {name} » : structure imbriquée sur plus de "
                f"{MAX_JSON_DEPTH} niveaux (un GeoJSON de points en compte moins de "
                "dix) ; le fichier n'est pas lu.")
        depth = int(levels[-1]) if len(levels) else depth
        if features > MAX_ROWS + _ROW_MARGIN:
            raise _too_many(name, features)


def _too_many(name: str, rows: int) -> InputTooLarge:
    return InputTooLarge(
        f"Fichier « {name} » : plus de {MAX_ROWS:,} lignes ({rows:,} au moins). Découpez-le "
        "en plusieurs fichiers.".replace(",", "\u202f"))


def _check_text(stream: BinaryIO, name: str) -> None:
    """Count the lines and bound the longest one, chunk by chunk.

    Only the current line is carried from one chunk to the next, and it is refused as soon as
    it is longer than any line may be: memory stays that of a chunk and one line.
    """
    lines, line = 1, b""
    while chunk := stream.read(_CHUNK):
        pieces = (line + chunk).split(b"\n")
        for piece in pieces[:-1]:
            _check_line(piece, lines, name)
            lines += 1
            if lines > MAX_ROWS + _ROW_MARGIN:
                raise _too_many(name, lines - 1)
        line = pieces[-1]
        if len(line) > MAX_LINE_CHARS * 4:
            _check_line(line, lines, name)
    _check_line(line, lines, name)


def _check_line(line: bytes, number: int, name: str) -> None:
    # A UTF-8 character is 1 to 4 bytes: bytes bound characters.
    if len(line) > MAX_LINE_CHARS * 4 or (
        len(line) > MAX_LINE_CHARS and len(line.decode("utf-8", "replace")) > MAX_LINE_CHARS
    ):
        raise InputTooLarge(
            f"Fichier « {name} », ligne {number} : plus de {MAX_LINE_CHARS:,} caractères "
            "(une cellule démesurée ?).".replace(",", "\u202f"))


def _too_inflated(name: str, inflated: int) -> InputTooLarge:
    return InputTooLarge(
        f"Classeur « {name} » : {_mb(inflated)} une fois décompressé (au plus "
        f"{_mb(MAX_XLSX_UNCOMPRESSED_BYTES)}). Enregistrez seulement la feuille des "
        "sites, ou exportez-la en CSV.")


def _check_xlsx(stream: BinaryIO, name: str) -> None:
    """Scan the workbook's archive before anything parses it.

    Every member is inflated in chunks and its real size counted (an archive may declare
    sizes it does not hold); worksheets' rows are counted; in worksheets and shared strings
    the longest text between two tags is bounded (:data:`MAX_XLSX_CELL_BYTES`); an XML
    document declaring a DTD or entities (« billion laughs ») is refused.
    """
    try:
        book = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        return  # not a workbook after all: the reader says what it is
    with book:
        members = book.infolist()
        declared = sum(m.file_size for m in members)
        if declared > MAX_XLSX_UNCOMPRESSED_BYTES:
            raise _too_inflated(name, declared)
        inflated = 0
        for member in members:
            try:
                inflated = _scan_member(book, member, name, inflated)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                    RuntimeError) as error:
                raise MalformedInput(
                    f"Classeur « {name} » : archive xlsx abîmée ou falsifiée (partie "
                    f"« {member.filename} » : {error}). Ouvrez-le dans Excel ou LibreOffice et "
                    "enregistrez-le à nouveau, ou exportez-le en CSV.") from error


def _scan_member(book: zipfile.ZipFile, member: zipfile.ZipInfo, name: str,
                 inflated: int) -> int:
    part = member.filename
    xml = part.endswith(".xml") or part.endswith(".rels")
    sheet = part.startswith("xl/worksheets/") and part.endswith(".xml")
    cells = sheet or part == "xl/sharedStrings.xml"
    rows, tail, run = 0, b"", 0
    with book.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            inflated += len(chunk)
            if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
                raise _too_inflated(name, inflated)
            window = tail + chunk
            if xml and (b"<!DOCTYPE" in window or b"<!ENTITY" in window):
                raise MalformedInput(
                    f"Classeur « {name} » : la partie « {part} » déclare des entités XML "
                    "(DOCTYPE/ENTITY), ce qu'Excel ne fait jamais ; refusé (risque d'expansion "
                    "d'entités). Enregistrez le classeur à nouveau depuis Excel ou LibreOffice.")
            if cells:
                # ``run``: bytes since the last « < », carried from chunk to chunk.
                first = chunk.find(b"<")
                if first < 0:
                    run += len(chunk)
                elif run + first > MAX_XLSX_CELL_BYTES or _LONG_TEXT.search(chunk):
                    run = MAX_XLSX_CELL_BYTES + 1
                else:
                    run = len(chunk) - chunk.rfind(b"<") - 1
                if run > MAX_XLSX_CELL_BYTES:
                    raise InputTooLarge(
                        f"Classeur « {name} » : une cellule de plus de {MAX_LINE_CHARS:,} "
                        "caractères (une cellule démesurée ?) ; refusé avant lecture."
                        .replace(",", "\u202f"))
            if sheet:
                rows += len(_ROW_TAG.findall(window))
                # The last bytes are read again with the next chunk: a tag cut in two is
                # counted then, one wholly inside them is counted then rather than now.
                cut = max(0, len(window) - 64)
                rows -= len(_ROW_TAG.findall(window[cut:]))
                if rows > MAX_ROWS + _ROW_MARGIN:
                    raise _too_many(name, rows)
            tail = window[-64:]
    if sheet:
        rows += len(_ROW_TAG.findall(tail))
        if rows > MAX_ROWS + _ROW_MARGIN:
            raise _too_many(name, rows)
    return inflated
