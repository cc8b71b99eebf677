"""Optional yearly activity of a site: occupancy, households in and out, exits to housing,
length of stay, waiting list.

A member file may carry these columns beside the sites (« Taux d'occupation », « Ménages
entrés »…); they are checked with the same per-row French reasons as the rest of the row (a
wrong value rejects the row, naming the field). They are stored one row per site and year in the
``site_activity`` table, so that next year's file adds a year instead of overwriting.

Activity is never shown for a confidential site: :func:`activity_for` drops those sites for a
public audience, and :func:`indicators` aggregates only what the audience may see (for the
public, a total over fewer than three sites is not given).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import sqlalchemy as sa

from operators.registry_api import RegistryLike
from operators.schema import CONF_CONFIDENTIAL, INPUT_FIELD_BY_NAME

# Value fields (the year is ``activity_year``), in display order.
VALUE_FIELDS: tuple[str, ...] = (
    "occupancy_rate", "households_entered", "households_left", "exits_to_housing",
    "average_stay_months", "waiting_list",
)
INPUT_COLUMNS: tuple[str, ...] = ("activity_year", *VALUE_FIELDS)
INTEGER_FIELDS = {"households_entered", "households_left", "exits_to_housing", "waiting_list"}
MAX_STAY_MONTHS = 600  # 50 years: beyond, a typing error (days or a year typed in)
TABLE = "site_activity"
SMALL_COUNT = 3

LABELS: dict[str, str] = {name: INPUT_FIELD_BY_NAME[name].label for name in INPUT_COLUMNS}


def define_table(metadata: sa.MetaData) -> sa.Table:
    """``site_activity``: one row per site and year (created with the registry's tables)."""
    return sa.Table(
        TABLE, metadata,
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("activity_year", sa.Integer, primary_key=True),
        sa.Column("occupancy_rate", sa.Float),
        sa.Column("households_entered", sa.Integer),
        sa.Column("households_left", sa.Integer),
        sa.Column("exits_to_housing", sa.Integer),
        sa.Column("average_stay_months", sa.Float),
        sa.Column("waiting_list", sa.Integer),
        sa.Column("import_id", sa.Integer),
        sa.Column("updated_at", sa.Text),
    )


# -- parsing (one row of a member file) ----------------------------------------------------------
def parse_activity(
    row: dict[str, str], problems: list[tuple[str, str]], flags: list[str],
    today: dt.date | None = None,
) -> dict[str, object]:
    """Typed activity values of a row (NaN/None when absent); problems named per field."""
    from operators.validation import _parse_number, _parse_year

    out: dict[str, object] = {name: None for name in INPUT_COLUMNS}
    given = [name for name in VALUE_FIELDS if str(row.get(name) or "").strip()]
    for name in given:
        text = str(row[name]).strip()
        number = _parse_number(text.replace("%", "").replace("mois", ""))
        if number is None:
            problems.append((LABELS[name], f"« {text} » n'est pas un nombre"))
            continue
        if number < 0:
            problems.append((LABELS[name], f"« {text} » : une valeur positive ou nulle est attendue"))
            continue
        if name in INTEGER_FIELDS and not float(number).is_integer():
            problems.append((LABELS[name], f"« {text} » : un nombre entier de ménages est attendu"))
            continue
        if name == "occupancy_rate":
            if "%" not in text and 0 < number <= 1 and not float(number).is_integer():
                flags.append(f"taux d'occupation « {text} » lu comme {number * 100:.1f} %".replace(
                    ".", ","))
                number *= 100
            if number > 100:
                problems.append((LABELS[name], f"« {text} » : un taux entre 0 et 100 % est attendu"))
                continue
        if name == "average_stay_months" and number > MAX_STAY_MONTHS:
            problems.append((
                LABELS[name], f"« {text} » : durée en mois invraisemblable (plus de "
                f"{MAX_STAY_MONTHS} mois)",
            ))
            continue
        out[name] = int(number) if name in INTEGER_FIELDS else float(number)
    left, exits = out["households_left"], out["exits_to_housing"]
    if left is not None and exits is not None and exits > left:
        problems.append((
            LABELS["exits_to_housing"],
            f"{exits} sorties vers le logement ordinaire pour {left} ménages sortis : les sorties "
            "vers le logement font partie des ménages sortis",
        ))
    year_text = str(row.get("activity_year") or "").strip()
    if year_text:
        year = _parse_year(year_text)
        today = today or dt.date.today()
        if year is None or year > today.year:
            problems.append((
                LABELS["activity_year"],
                f"« {year_text} » n'est pas une année d'activité passée ou en cours",
            ))
        else:
            out["activity_year"] = year
    elif given:
        year = (today or dt.date.today()).year - 1
        out["activity_year"] = year
        flags.append(f"année d'activité non renseignée : {year} supposée")
    return out


def batch_frame(sites: pd.DataFrame) -> pd.DataFrame:
    """The activity rows of a prepared import (sites with at least one value)."""
    columns = ["site_id", *INPUT_COLUMNS]
    if sites.empty or "activity_year" not in sites:
        return pd.DataFrame(columns=columns)
    frame = sites[[c for c in columns if c in sites]].copy()
    has_value = frame[list(VALUE_FIELDS)].notna().any(axis=1)
    return frame[has_value & frame["activity_year"].notna()].reset_index(drop=True)


def write(conn: sa.Connection, table: sa.Table, activity: pd.DataFrame, import_id: int,
          stamp: str) -> int:
    """Replace the (site, year) rows the file brings; other years are kept."""
    if activity is None or activity.empty:
        return 0
    records = []
    for record in activity.to_dict("records"):
        clean = {k: _plain(record.get(k)) for k in ("site_id", *INPUT_COLUMNS)}
        clean["activity_year"] = int(clean["activity_year"])
        for name in INTEGER_FIELDS:
            if clean[name] is not None:
                clean[name] = int(clean[name])
        clean.update(import_id=import_id, updated_at=stamp)
        records.append(clean)
    # One statement executed for many parameter sets (not one statement per row).
    conn.execute(
        table.delete().where(
            (table.c.site_id == sa.bindparam("b_site_id"))
            & (table.c.activity_year == sa.bindparam("b_activity_year"))
        ),
        [{"b_site_id": r["site_id"], "b_activity_year": r["activity_year"]} for r in records],
    )
    conn.execute(table.insert(), records)
    return len(records)


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def read(registry: RegistryLike) -> pd.DataFrame:
    """Every activity row (internal view: confidential sites included)."""
    table = registry.tables[TABLE]
    with registry.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table).order_by(table.c.site_id, table.c.activity_year)
        ).mappings().all()
    frame = pd.DataFrame(rows, columns=[c.name for c in table.columns])
    for name in ("occupancy_rate", "average_stay_months"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in (*INTEGER_FIELDS, "activity_year"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    return frame


# -- what an audience sees ------------------------------------------------------------------------
def activity_for(sites: pd.DataFrame, activity: pd.DataFrame, audience: str,
                 extra: list[str] | None = None) -> pd.DataFrame:
    """Activity rows joined to their sites (and the sites' ``extra`` columns); for the public,
    never a confidential site's."""
    from operators.confidentiality import PUBLIC, check_audience

    check_audience(audience)
    keep = ["site_id", "operator_name", "network", "offer_family", "offer_type", "capacity",
            "capacity_unit", "confidentiality", "commune_code", "dep_code", "fictional",
            *(extra or [])]
    frame = activity.merge(pd.DataFrame(sites)[[c for c in keep if c in sites]], on="site_id",
                           how="inner")
    if audience == PUBLIC:
        frame = frame[frame["confidentiality"] != CONF_CONFIDENTIAL]
    return frame.reset_index(drop=True)


def indicators(
    sites: pd.DataFrame, activity: pd.DataFrame, audience: str, year: int,
    by: str | None = None,
) -> pd.DataFrame:
    """Activity indicators of a year (per ``by`` group, e.g. ``offer_family``).

    Occupancy is the mean of the sites' rates weighted by their capacity (unweighted where
    capacities are unknown); the length of stay is weighted by households left; exits to
    ordinary housing are a share of households left by the sites that gave both. For the
    public, confidential sites are left out and a group of fewer than three reporting sites
    is not given (``sites_declarants`` reads « < 3 »).
    """
    from operators.confidentiality import PUBLIC

    frame = activity_for(sites, activity, audience, [by] if by else None)
    frame = frame[frame["activity_year"] == year]
    keys = [by] if by else []
    columns = [*keys, "sites_declarants_n", "sites_declarants", "taux_occupation",
               "menages_entres", "menages_sortis", "sorties_logement_ordinaire",
               "part_sorties_logement", "duree_moyenne_sejour_mois", "liste_attente"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    groups = frame.groupby(keys) if keys else [((), frame)]
    rows = []
    for key, group in groups:
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        rows.append({**row, **_aggregate(group)})
    out = pd.DataFrame(rows)
    out["sites_declarants"] = out["sites_declarants_n"].astype(str)
    if audience == PUBLIC:
        small = out["sites_declarants_n"] < SMALL_COUNT
        for column in columns[len(keys) + 2:]:
            out[column] = out[column].where(~small)
        out.loc[small, "sites_declarants"] = "< 3"
        out["sites_declarants_n"] = out["sites_declarants_n"].where(~small)
    return out[columns]


def _aggregate(group: pd.DataFrame) -> dict[str, float]:
    def total(name: str) -> float:
        return float(group[name].sum(min_count=1)) if group[name].notna().any() else np.nan

    rate = group["occupancy_rate"].astype(float)
    capacity = pd.to_numeric(group["capacity"], errors="coerce")
    known = rate.notna()
    if known.any() and capacity[known].notna().all() and capacity[known].sum() > 0:
        occupancy = float(np.average(rate[known], weights=capacity[known]))
    else:
        occupancy = float(rate[known].mean()) if known.any() else np.nan
    stay = group["average_stay_months"].astype(float)
    left = pd.to_numeric(group["households_left"], errors="coerce")
    both = stay.notna() & left.notna() & (left > 0)
    if both.any():
        length = float(np.average(stay[both], weights=left[both]))
    else:
        length = float(stay.mean()) if stay.notna().any() else np.nan
    exits = pd.to_numeric(group["exits_to_housing"], errors="coerce")
    paired = exits.notna() & left.notna() & (left > 0)
    share = float(100 * exits[paired].sum() / left[paired].sum()) if paired.any() else np.nan
    return {
        "sites_declarants_n": int(group["site_id"].nunique()),
        "taux_occupation": occupancy,
        "menages_entres": total("households_entered"),
        "menages_sortis": total("households_left"),
        "sorties_logement_ordinaire": total("exits_to_housing"),
        "part_sorties_logement": share,
        "duree_moyenne_sejour_mois": length,
        "liste_attente": total("waiting_list"),
    }


INDICATOR_LABELS: dict[str, str] = {
    "sites_declarants": "Sites ayant déclaré une activité",
    "taux_occupation": "Taux d'occupation moyen (%, pondéré par la capacité)",
    "menages_entres": "Ménages entrés",
    "menages_sortis": "Ménages sortis",
    "sorties_logement_ordinaire": "Sorties vers le logement ordinaire",
    "part_sorties_logement": "Part des sorties vers le logement ordinaire (%)",
    "duree_moyenne_sejour_mois": "Durée moyenne de séjour (mois, pondérée par les sorties)",
    "liste_attente": "Ménages en liste d'attente",
}
