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
from pathlib import Path
from typing import BinaryIO

MAX_FILE_BYTES = 60 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_ROWS = 200_000
MAX_LINE_CHARS = 100_000
# Header and title lines tolerated above the data, and a margin for quoted line breaks.
_ROW_MARGIN = 100
_CHUNK = 1024 * 1024
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")


class InputTooLarge(ValueError):
    """A file beyond the bounds (French message naming the bound)."""


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
    else:
        _check_text(stream, name)


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


def _check_xlsx(stream: BinaryIO, name: str) -> None:
    try:
        book = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        return  # not a workbook after all: the reader says what it is
    with book:
        members = book.infolist()
        inflated = sum(m.file_size for m in members)
        if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
            raise InputTooLarge(
                f"Classeur « {name} » : {_mb(inflated)} une fois décompressé (au plus "
                f"{_mb(MAX_XLSX_UNCOMPRESSED_BYTES)}). Enregistrez seulement la feuille des "
                "sites, ou exportez-la en CSV.")
        for member in members:
            if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
                continue
            rows = _count_rows(book, member)
            if rows > MAX_ROWS + _ROW_MARGIN:
                raise _too_many(name, rows)


def _count_rows(book: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """``<row>`` elements of a worksheet, read in chunks (a tag may straddle two)."""
    rows, tail = 0, b""
    with book.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            rows += len(_ROW_TAG.findall(window))
            # The last bytes are read again with the next chunk: a tag cut in two is counted
            # then, one wholly inside them is counted then rather than now.
            cut = max(0, len(window) - 64)
            rows -= len(_ROW_TAG.findall(window[cut:]))
            tail = window[cut:]
    return rows + len(_ROW_TAG.findall(tail))
