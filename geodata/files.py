"""Small file helpers shared by every floor: atomic writes, text sniffing, archive members.

``geodata`` is the lowest floor, so ``connectors``, ``operators``, ``models``, ``diagnostics``
and ``ui`` may all import this module; it imports nothing of the project.

* Atomic writes: a file is written under a temporary name in the target's folder (same file
  system, so ``os.replace`` is atomic) and moved into place only when complete. A crash, an
  exception or ``kill -9`` half-way leaves the previous file untouched.
* Text sniffing: the encoding (UTF-8 with or without BOM, else Windows-1252) and the column
  separator of a delimited text file. The separator sniffer reads a bounded sample and never
  fails on a very long cell (``csv`` refuses cells over 128 KB by default).
* Archive members: the one member of a zip/tar listing whose name matches a pattern.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Literal

log = logging.getLogger(__name__)

# -- atomic writes ----------------------------------------------------------------------------


@contextlib.contextmanager
def temporary_path(folder: Path, stem: str, suffix: str = ".tmp") -> Iterator[Path]:
    """An empty temporary file ``.<stem>.XXXX<suffix>`` in ``folder``, removed on exit if left."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=suffix, dir=folder)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


PRIVATE_MODE = 0o600  # files holding password hashes or confidential sites' data


def install(tmp: Path, target: Path, *, fsync: bool = False, mode: int = 0o644) -> None:
    """Move a complete temporary file onto ``target`` (atomic); readable by all unless
    ``mode`` says otherwise (:data:`PRIVATE_MODE`: the owner only)."""
    if fsync:
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(
    target: Path, *, suffix: str = ".tmp", fsync: bool = False, exists: bool = True,
    mode: int = 0o644,
) -> Iterator[Path]:
    """A temporary path to write ``target`` through; installed only if the block succeeds.

    Parameters
    ----------
    target
        Final file; its folder is created when missing.
    suffix
        End of the temporary name (writers that choose a format by extension need
        ``target.suffix``).
    fsync
        Flush the file to disk before the move (datasets other programs rely on).
    exists
        ``False`` for writers that refuse to overwrite an existing file: the temporary file is
        removed before the path is handed over.
    """
    target = Path(target)
    with temporary_path(target.parent, target.name, suffix) as tmp:
        if not exists:
            tmp.unlink()
        yield tmp
        install(tmp, target, fsync=fsync, mode=mode)


@contextlib.contextmanager
def atomic_writer(
    target: Path, mode: Literal["w", "wb"] = "w", *, encoding: str = "utf-8", fsync: bool = False
) -> Iterator[IO]:
    """An open file whose content replaces ``target`` when the block ends without error."""
    with atomic_path(target, fsync=fsync) as tmp:
        if mode == "wb":
            with open(tmp, "wb") as handle:
                yield handle
        else:
            with open(tmp, "w", encoding=encoding, newline="") as handle:
                yield handle


def atomic_write_bytes(target: Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``target`` atomically; return ``target``."""
    with atomic_writer(target, "wb", fsync=fsync) as handle:
        handle.write(data)
    return Path(target)


def atomic_write_text(target: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically; return ``target``."""
    return atomic_write_bytes(target, text.encode(encoding))


def atomic_write_with(target: Path, write: Callable[[Path], object], **options: object) -> Path:
    """Call ``write(tmp_path)`` then install the temporary file on ``target``."""
    with atomic_path(target, **options) as tmp:  # type: ignore[arg-type]
        write(tmp)
    return Path(target)


_OS_ERRORS_FR = {
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.ENOSPC: "disque plein",
    errno.EFBIG: "fichier trop grand pour le disque ou le quota",
    errno.EDQUOT: "quota de disque dépassé",
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EEXIST: "le fichier existe déjà",
}


@contextlib.contextmanager
def writer_errors_as_os_errors(target: Path | str | None = None) -> Iterator[None]:
    """Turn the errors a file writer raises when the disk fills up into :class:`OSError`.

    openpyxl writes each worksheet to a temporary file through lxml, whose full disk is a
    ``SerialisationError('IO_ENOSPC')``, not an ``OSError``: callers that say an
    ``OSError`` in French (:func:`os_error_fr`) would otherwise let it through as a traceback.
    """
    try:
        yield
    except OSError:
        raise
    except Exception as error:
        text = str(error)
        if "IO_" not in text and type(error).__name__ != "SerialisationError":
            raise
        name = text.split("IO_", 1)[-1].split()[0].strip(":,.") if "IO_" in text else "EIO"
        number = getattr(errno, name, errno.EIO)
        _release_quietly(error)
        raise OSError(number, os.strerror(number), str(target) if target else None) from None


def _release_quietly(error: BaseException) -> None:
    """Free the writer's frames now: its half-written streams, closed by the garbage
    collector, raise the same disk error again, which Python would print as « Exception
    ignored in … » with a traceback on stderr; those are silenced while they close."""
    import gc
    import traceback

    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if type(unraisable.exc_value).__name__ != "SerialisationError":
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        traceback.clear_frames(error.__traceback__)
        error.__traceback__ = None
        gc.collect()
    finally:
        sys.unraisablehook = previous


def os_error_fr(error: OSError) -> str:
    """« fichier inaccessible : <file> (<reason in French>) » for an ``OSError``."""
    reason = _OS_ERRORS_FR.get(error.errno or -1, error.strerror or str(error))
    where = f" : {error.filename}" if error.filename else ""
    return f"fichier inaccessible{where} ({reason})"


# -- text sniffing ----------------------------------------------------------------------------
SEPARATORS = ";,\t|"
#: Bytes read to sniff a separator: enough for the header and a few dozen lines.
SNIFF_BYTES = 256 * 1024
_MULTIBYTE_TAIL = 3


def sniff_encoding(raw: bytes) -> str:
    """``utf-8-sig`` with a BOM, ``utf-8`` when it decodes, else ``cp1252`` (Windows latin-1).

    ``raw`` may be a prefix of the file: a probe cut inside a multi-byte character is still
    UTF-8. Bytes that Windows-1252 leaves undefined (0x81, 0x8D…) give ``latin-1``.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(raw) - _MULTIBYTE_TAIL:
            return "utf-8"
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8"


ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 avec BOM",
    "utf-8": "UTF-8",
    "cp1252": "latin-1 (Windows-1252)",
    "latin-1": "latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16 (avec BOM)",
    "utf-32": "UTF-32 (avec BOM)",
}


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text of ``raw`` (BOM removed) and the encoding used.

    ``encoding`` is tried first when given; then the sniffed one; ``latin-1`` decodes anything.
    """
    for candidate in (encoding, sniff_encoding(raw), "latin-1"):
        if not candidate:
            continue
        try:
            text = raw.decode(candidate)
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data" or exc.start < len(raw) - _MULTIBYTE_TAIL:
                continue
            text = raw[: exc.start].decode(candidate)  # a prefix cut inside a character
        except LookupError:
            continue
        return text.removeprefix("\ufeff"), candidate
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def allow_long_cells() -> None:
    """Let ``csv`` read cells of any size (the default limit is 128 KB per cell)."""
    limit = sys.maxsize
    while True:
        try:
            if csv.field_size_limit() < limit:
                csv.field_size_limit(limit)
            return
        except OverflowError:  # C long is 32 bits on some platforms
            limit //= 2


def _most_frequent(line: str, candidates: str) -> str | None:
    """The candidate that occurs most often in one line, ``None`` if none does."""
    counts = {sep: line.count(sep) for sep in candidates}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else None


def split_line(line: str, sep: str | None = None) -> list[str]:
    """Cells of one line, ``sep`` sniffed on the line when omitted (one cell if none)."""
    sep = sep or sniff_separator(line, default=None)
    if sep is None:
        return [line]
    allow_long_cells()
    return next(csv.reader([line], delimiter=sep), [])


def sniff_separator(
    text: str, candidates: str = SEPARATORS, *, default: str | None = ";"
) -> str | None:
    """The separator giving the most columns, consistently, over the first lines of ``text``.

    ``csv.Sniffer`` is easily fooled by decimal commas inside a ``;`` file; counting the columns
    each candidate gives, and asking most lines to agree, is not. Only a bounded sample is read
    (:data:`SNIFF_BYTES`), cells of any length are accepted, and a sample that ``csv`` cannot
    split (an unterminated quote) falls back to counting the candidates on the first line.
    ``default`` is returned when no candidate splits anything. On a single line (a header),
    this is the candidate giving the most cells.
    """
    sample = text[:SNIFF_BYTES]
    lines = [line for line in sample.splitlines() if line.strip()][:30]
    if len(text) > SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut
    allow_long_cells()
    best, best_columns = None, 0
    for sep in candidates:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=sep)]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        agreeing = sum(1 for count in counts if count == mode) / len(counts)
        if mode > 1 and agreeing >= 0.6 and mode > best_columns:
            best, best_columns = sep, mode
    if best is None and lines:
        best = _most_frequent(lines[0], candidates)
    return best or default


# -- archive members ---------------------------------------------------------------------------
class MemberError(ValueError):
    """No member, or several, of an archive match the pattern (French message)."""


def pick_member(
    names: list[str],
    pattern: str | re.Pattern[str] | None,
    archive: str,
    *,
    ignore_case: bool = False,
    several: Literal["error", "first"] = "error",
) -> str:
    """The member of ``names`` whose path or base name matches ``pattern`` (regex search).

    Folders (names ending in ``/``) are skipped. When several members match, a data file is
    preferred over its description (``meta…``); if several still match, ``several="first"``
    takes the first in sorted order and ``"error"`` raises.

    Raises
    ------
    MemberError
        No matching member, or an ambiguous match with ``several="error"``.
    """
    files = [n for n in names if not n.endswith("/")]
    regex: re.Pattern[str] | None
    if pattern is None or pattern == "":
        regex = None
    elif isinstance(pattern, re.Pattern):
        regex = pattern
    else:
        regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    candidates = sorted(
        n for n in files if regex is None or regex.search(n) or regex.search(_base(n))
    )
    shown = regex.pattern if regex is not None else "*"
    if not candidates:
        listed = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise MemberError(
            f"L'archive « {archive} » ne contient pas de fichier correspondant à « {shown} » "
            f"(contenu : {listed or 'vide'})."
        )
    if len(candidates) > 1:
        data = [n for n in candidates if not _base(n).lower().startswith("meta")]
        candidates = data or candidates
    if len(candidates) == 1:
        return candidates[0]
    if several == "first":
        log.warning("%s : plusieurs fichiers correspondent (%s), %s retenu",
                    archive, ", ".join(candidates), candidates[0])
        return candidates[0]
    raise MemberError(
        f"L'archive « {archive} » contient plusieurs fichiers correspondant à « {shown} » : "
        f"{', '.join(candidates)}."
    )


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]
