"""RNIC, registre national d'immatriculation des copropriétés (ANAH), per commune.

The national CSV (≈ 440 MB, one row per registered co-ownership, updated daily) is streamed
in chunks, only the needed columns read, and aggregated per commune on the fly so that memory
stays flat. Columns used (published names): ``numero_immatriculation``,
``code_officiel_commune``, ``nombre_total_lots``, ``nombre_lots_habitation``,
``periode_construction`` (``AVANT_1949``, ``DE_1949_A_1960``, ``DE_1961_A_1974``,
``DE_1975_A_1993`` … ``A_COMPTER_DE_2011``, ``NON_CONNUE``), ``copro_aidee`` (oui / non),
``code_qp_2024`` (empty outside a quartier prioritaire).

Counts are kept so that shares can be recomputed exactly after the COG carry: the share built
before 1949 / 1975 is over the co-ownerships whose period is known; the shares in QPV and
aided are over all co-ownerships.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.parsing import (
    LINE_COLUMN,
    Col,
    ParseError,
    Rejects,
    iter_csv_chunks,
    keep_valid_codes,
    match_columns,
    read_header,
    to_bool,
    to_number,
)
from connectors.sources.base import CarrySpec, Parsed

COLUMNS: dict[str, Col] = {
    "id": Col(r"numero_(?:d_)?immatriculation", "numero_immatriculation"),
    "code": Col(r"code_officiel_commune", "code_officiel_commune"),
    "lots": Col(r"nombre_total_(?:de_)?lots", "nombre_total_lots"),
    "dwelling_lots": Col(r"nombre_(?:de_)?lots_(?:a_usage_d_)?habitation", "nombre_lots_habitation"),
    "period": Col(r"periode_(?:de_)?construction", "periode_construction"),
    "aided": Col(r"copro_aidee", "copro_aidee"),
    "qpv": Col(r"code_qp_2024", "code_qp_2024"),
}
COUNTS = (
    "copro_count", "copro_lots", "copro_dwelling_lots", "copro_period_known",
    "copro_before_1949", "copro_before_1975", "copro_in_qpv", "copro_aided",
)
CARRY = CarrySpec(counts=COUNTS)

_BEFORE = re.compile(r"^AVANT_(\d{4})$")
_RANGE = re.compile(r"^DE_(\d{4})_A_(\d{4})$")
_FROM = re.compile(r"^A_COMPTER_(?:DE_)?(\d{4})$")


def period_end(values: pd.Series) -> pd.Series:
    """Last year of a construction period (``AVANT_1949`` → 1948, ``DE_1961_A_1974`` → 1974,
    ``A_COMPTER_DE_2011`` → 9999); missing when unknown or unreadable."""
    text = values.fillna("").astype(str).str.strip().str.upper()
    out = pd.Series(np.nan, index=values.index)
    before = text.str.extract(_BEFORE)[0]
    out = out.where(before.isna(), pd.to_numeric(before) - 1)
    ranged = text.str.extract(_RANGE)[1]
    out = out.where(ranged.isna(), pd.to_numeric(ranged))
    after = text.str.extract(_FROM)[0]
    out = out.where(after.isna(), 9999.0)
    return out


def aggregate_chunk(chunk: pd.DataFrame, rejects: Rejects, name: str) -> pd.DataFrame:
    """Per-commune counts of one chunk of co-ownership rows (renamed columns)."""
    chunk = keep_valid_codes(chunk, "code", field_name="code_officiel_commune", rejects=rejects)
    lines = chunk[LINE_COLUMN]
    lots = to_number(chunk["lots"], field_name="nombre_total_lots", rejects=rejects, lines=lines)
    dwelling = to_number(
        chunk["dwelling_lots"], field_name="nombre_lots_habitation", rejects=rejects, lines=lines
    )
    end = period_end(chunk["period"])
    unknown = chunk["period"].str.upper().isin(["", "NON_CONNUE", "INCONNUE", "NON CONNUE"])
    for index in chunk.index[(end.isna() & ~unknown).to_numpy()]:
        rejects.add(int(lines.loc[index]), "periode_construction", chunk.at[index, "period"],
                    "période de construction illisible, comptée comme inconnue")
    aided = to_bool(chunk["aided"], field_name="copro_aidee", rejects=rejects, lines=lines)
    frame = pd.DataFrame(
        {
            "code": chunk["code"],
            "copro_count": 1.0,
            "copro_lots": lots,
            "copro_dwelling_lots": dwelling,
            "copro_period_known": end.notna().astype(float),
            "copro_before_1949": (end < 1949).astype(float),
            "copro_before_1975": (end < 1975).astype(float),
            "copro_in_qpv": (chunk["qpv"].str.strip() != "").astype(float),
            "copro_aided": aided.fillna(False).astype(float),
        }
    )
    grouped = frame.groupby("code")
    sums = grouped[list(COUNTS)].sum()
    # A missing lot count in one co-ownership makes the commune's total missing.
    incomplete = frame[["copro_lots", "copro_dwelling_lots"]].isna().groupby(frame["code"]).any()
    sums[["copro_lots", "copro_dwelling_lots"]] = sums[
        ["copro_lots", "copro_dwelling_lots"]
    ].mask(incomplete)
    return sums


def parse(path: Path, chunksize: int = 200_000) -> Parsed:
    """Stream the national RNIC CSV and aggregate it per commune."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        raise ParseError(f"Fichier « {path.name} » : le RNIC est attendu en CSV non compressé.")
    name = path.name
    header, sep, encoding = read_header(path)
    found, _ = match_columns(header, COLUMNS, name)
    rename = {actual: target for target, actual in found.items()}
    rejects = Rejects(name)
    parts: list[pd.DataFrame] = []
    rows = 0
    for chunk in iter_csv_chunks(
        path, usecols=list(found.values()), sep=sep, encoding=encoding, chunksize=chunksize
    ):
        rows += len(chunk)
        parts.append(aggregate_chunk(chunk.rename(columns=rename), rejects, name))
    if not parts:
        raise ParseError(f"Fichier « {name} » : aucune copropriété lue.")
    combined = pd.concat(parts)
    # Sum the chunk totals, keeping a commune missing when any chunk had it missing.
    table = combined.groupby(level=0).sum(min_count=1)
    missing = combined.isna().groupby(level=0).any()
    table = table.mask(missing).reset_index().rename(columns={"index": "code"})
    return Parsed(
        table=table,
        rejects=rejects,
        columns={
            "copro_count": found["id"], "copro_lots": found["lots"],
            "copro_dwelling_lots": found["dwelling_lots"],
            "copro_period_known": found["period"], "copro_before_1949": found["period"],
            "copro_before_1975": found["period"], "copro_in_qpv": found["qpv"],
            "copro_aided": found["aided"],
        },
        notes={"coproprietes_lues": rows, "encodage": encoding, "separateur": sep},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Shares in percent, from the carried counts."""
    out = table.copy()
    known = out["copro_period_known"].where(out["copro_period_known"] > 0)
    count = out["copro_count"].where(out["copro_count"] > 0)
    out["copro_share_before_1949"] = 100 * out["copro_before_1949"] / known
    out["copro_share_before_1975"] = 100 * out["copro_before_1975"] / known
    out["copro_share_qpv"] = 100 * out["copro_in_qpv"] / count
    out["copro_share_aided"] = 100 * out["copro_aided"] / count
    return out
