"""Checks a parsed source must pass before it replaces the stored dataset.

A truncated or partial file parses without error: a Filosofi commune file cut at 60 % still has
its header and 21,000 good rows. Before writing, each build is compared with

* the previous build of the same source (its manifest): the rows read may not drop by more
  than the catalogue's ``row_tolerance`` (5 % by default), and a commune table may not lose
  any commune of the previous build (still in the current COG), compared per département;
* the catalogue's expectations: ``min_rows`` rows read at least, and ``min_commune_coverage``,
  the share of the current communes present in a commune table.

A failed check raises :class:`SourceCheckError` (French message, every reason): the refresh
then keeps the previous dataset and reports the source as failed. A legitimately smaller file
(a producer that removed rows) is accepted with ``accept_fewer_rows``; the catalogue's
minimums still apply. The complete last line of a CSV is checked earlier, on the file itself
(:func:`connectors.transport.check_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from geodata.store import Manifest


class SourceCheckError(ValueError):
    """A parsed source does not meet its expectations (French message, previous data kept)."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


@dataclass(frozen=True)
class Expectations:
    """What a build must meet (from the catalogue entry)."""

    min_rows: int | None = None
    min_commune_coverage: float | None = None
    row_tolerance: float = 0.05

    @classmethod
    def of(cls, entry: Any) -> Expectations:
        return cls(
            min_rows=getattr(entry, "min_rows", None),
            min_commune_coverage=getattr(entry, "min_commune_coverage", None),
            row_tolerance=getattr(entry, "row_tolerance", 0.05),
        )


def previous_rows_read(manifest: Manifest | None) -> int | None:
    """Rows read from the file at the previous build (before carrying onto the COG)."""
    if manifest is None:
        return None
    carry = (manifest.extra or {}).get("carry") or {}
    rows = carry.get("rows_in", manifest.rows)
    return int(rows) if rows is not None else None


def coverage(codes: pd.Series, current_codes: pd.Series) -> float:
    """Share of the current communes present among ``codes``."""
    current = set(current_codes.astype(str))
    if not current:
        return 1.0
    return len(current & set(codes.dropna().astype(str))) / len(current)


def departement_of(code: str) -> str:
    """Département of a commune code (``97x`` overseas, ``2A``/``2B`` Corsica)."""
    code = str(code)
    return code[:3] if code.startswith("97") else code[:2]


def lost_communes(previous_codes: pd.Series | None, codes: pd.Series,
                  current_codes: pd.Series) -> dict[str, int]:
    """Communes of the previous build missing from this one, per département.

    Only communes still in the current COG count (a commune merged since is not « lost »).
    Returns ``{département: communes lost}`` for the départements that lost some.
    """
    if previous_codes is None:
        return {}
    current = set(current_codes.astype(str))
    before = set(previous_codes.dropna().astype(str)) & current
    lost = before - set(codes.dropna().astype(str))
    out: dict[str, int] = {}
    for code in lost:
        dep = departement_of(code)
        out[dep] = out.get(dep, 0) + 1
    return dict(sorted(out.items()))


def check_build(
    source_id: str,
    rows_read: int,
    expectations: Expectations,
    previous: Manifest | None = None,
    commune_share: float | None = None,
    *,
    accept_fewer_rows: bool = False,
    lost: dict[str, int] | None = None,
) -> None:
    """Raise :class:`SourceCheckError` when the build misses an expectation.

    Parameters
    ----------
    rows_read
        Rows parsed from the file (before carrying onto the current COG).
    previous
        Manifest of the stored dataset, if any.
    commune_share
        Share of the current communes present (commune tables only; ``None`` skips the check).
    lost
        Communes of the previous build missing from this one, per département
        (:func:`lost_communes`): any loss refuses the build unless ``accept_fewer_rows`` —
        a file cut at a line end loses whole départements while staying within the row
        tolerance and the coverage (issue #23).
    """
    reasons: list[str] = []
    before = previous_rows_read(previous)
    if before and not accept_fewer_rows:
        drop = 1 - rows_read / before
        if drop > expectations.row_tolerance:
            reasons.append(
                f"{_n(rows_read)} lignes lues, soit {_pct(drop)} de moins que la construction "
                f"précédente ({_n(before)} lignes ; baisse tolérée "
                f"{_pct(expectations.row_tolerance)})"
            )
    if lost and not accept_fewer_rows:
        listed = ", ".join(f"{dep} ({_n(n)})" for dep, n in list(lost.items())[:12])
        more = "…" if len(lost) > 12 else ""
        reasons.append(
            f"{_n(sum(lost.values()))} commune(s) de la construction précédente absente(s), par "
            f"département : {listed}{more}"
        )
    if expectations.min_rows is not None and rows_read < expectations.min_rows:
        reasons.append(
            f"{_n(rows_read)} lignes lues, moins que les {_n(expectations.min_rows)} attendues "
            "(catalogue, « min_rows »)"
        )
    wanted = expectations.min_commune_coverage
    if wanted is not None and commune_share is not None and commune_share < wanted:
        reasons.append(
            f"{_pct(commune_share, 1)} des communes actuelles présentes, {_pct(wanted)} attendus "
            "(catalogue, « min_commune_coverage »)"
        )
    if not reasons:
        return
    kept = (
        f"le jeu de données précédent (construit le {previous.built_at[:10]}) est conservé"
        if previous is not None else "aucun jeu de données n'est écrit"
    )
    raise SourceCheckError(
        f"Source {source_id} : fichier refusé, {kept}. Motif(s) : {' ; '.join(reasons)}. "
        "Vérifiez le fichier (téléchargement interrompu, copie tronquée, mauvais fichier) ; "
        "s'il est juste et plus court que le précédent, relancez avec "
        "« python -m connectors refresh --source "
        f"{source_id} --accept-fewer-rows ».",
        reasons,
    )


def _pct(share: float, digits: int = 0) -> str:
    return f"{share * 100:.{digits}f} %".replace(".", ",")


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")
