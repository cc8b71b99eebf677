"""Dated snapshots of the registry, and the comparison of a territory's offer between two dates.

A snapshot copies, at a date, the fields of every site that describe the offer (operator,
commune, type and family of offer, capacity, publics, status, confidentiality, communes
covered) into ``snapshot_sites``. One snapshot per date (taking it again replaces it); one per
year — at the 31st of December, say — or on demand.

:func:`compare` tells, site by site, what changed between two snapshots:

* ``créé``: open at the second date, absent or not yet open at the first;
* ``fermé``: open at the first date, closed or absent at the second;
* ``converti``: open at both dates with another type of offer (same site), or a site closed and
  another opened by the same operator in the same commune under the same name;
* ``capacité modifiée``: same site and type, another capacity;
* ``nouveau projet``: a planned site that was not there.

The comparison is internal data; :func:`summary` gives the public totals through
``operators.confidentiality.area_totals`` (counts under three « < 3 », capacity hidden when
one or two confidential sites are in a total).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from operators.accounts import Account, fresh_actor, require_admin
from operators.registry_api import RegistryLike, now_iso
from operators.schema import (
    FAMILIES,
    STATUS_CLOSED,
    STATUS_OPEN,
    STATUS_PLANNED,
    normalize_text,
)

SNAPSHOTS = "snapshots"
SNAPSHOT_SITES = "snapshot_sites"
SITE_FIELDS: tuple[str, ...] = (
    "site_id", "operator_id", "operator_name", "network", "source_id", "name", "commune_code",
    "dep_code", "offer_type", "offer_family", "capacity", "capacity_unit", "publics", "status",
    "confidentiality", "coverage_epci", "coverage_communes", "opening_year", "fictional",
)
CREATED = "créé"
CLOSED = "fermé"
CONVERTED = "converti"
RESIZED = "capacité modifiée"
PLANNED = "nouveau projet"
KINDS = (CREATED, CLOSED, CONVERTED, RESIZED, PLANNED)


class SnapshotError(ValueError):
    """No snapshot answers the request (French message)."""


def define_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """``snapshots`` (one row per date) and ``snapshot_sites`` (the sites at that date)."""
    snapshots = sa.Table(
        SNAPSHOTS, metadata,
        sa.Column("snapshot_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("snapshot_date", sa.Text, nullable=False, unique=True),
        sa.Column("taken_at", sa.Text),
        sa.Column("taken_by", sa.Text),
        sa.Column("label", sa.Text),
        sa.Column("site_count", sa.Integer),
    )
    columns = []
    for name in SITE_FIELDS:
        if name == "site_id":
            columns.append(sa.Column(name, sa.Text, primary_key=True))
        elif name == "capacity":
            columns.append(sa.Column(name, sa.Float))
        elif name == "opening_year":
            columns.append(sa.Column(name, sa.Integer))
        elif name == "fictional":
            columns.append(sa.Column(name, sa.Boolean))
        else:
            columns.append(sa.Column(name, sa.Text))
    sites = sa.Table(
        SNAPSHOT_SITES, metadata,
        sa.Column("snapshot_id", sa.Integer, primary_key=True),
        *columns,
    )
    return {SNAPSHOTS: snapshots, SNAPSHOT_SITES: sites}


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    snapshot_date: str
    site_count: int


def _iso(day: dt.date | str | None) -> str:
    if day is None:
        return dt.date.today().isoformat()
    if isinstance(day, dt.date):
        return day.isoformat()
    try:
        return dt.date.fromisoformat(str(day).strip()).isoformat()
    except ValueError as error:
        raise SnapshotError(
            f"Date « {day} » illisible : écrivez-la AAAA-MM-JJ (par exemple 2025-12-31)."
        ) from error


def take_snapshot(
    registry: RegistryLike, actor: Account | None, day: dt.date | str | None = None, label: str = "",
) -> SnapshotInfo:
    """Copy the registry's sites as they are now under the date ``day`` (today by default).

    A snapshot is a write (it replaces one of the same date): administrators only, checked here
    whatever the caller (app or command line); the snapshot records who took it.
    """
    require_admin(actor, "Instantané daté du registre")
    user = actor.journal_name() if actor is not None else ""
    date_text = _iso(day)
    sites = pd.DataFrame(registry.sites(include_closed=True)).drop(columns="geometry",
                                                                    errors="ignore")
    coverage = registry.coverage()
    covered = coverage.groupby("site_id")["commune_code"].apply(lambda c: ";".join(sorted(c)))
    sites["coverage_communes"] = sites["site_id"].map(covered).where(
        sites["site_id"].isin(covered.index), sites["coverage_communes"]
    )
    table, site_table = registry.tables[SNAPSHOTS], registry.tables[SNAPSHOT_SITES]
    with registry.write_transaction() as conn:
        # Checked again on the account as stored now (deactivated or demoted meanwhile).
        require_admin(fresh_actor(conn, registry.tables["accounts"], actor),
                      "Instantané daté du registre")
        old = conn.execute(
            sa.select(table.c.snapshot_id).where(table.c.snapshot_date == date_text)
        ).scalar()
        if old is not None:
            conn.execute(site_table.delete().where(site_table.c.snapshot_id == old))
            conn.execute(table.delete().where(table.c.snapshot_id == old))
        snapshot_id = int(conn.execute(
            table.insert().values(
                snapshot_date=date_text, taken_at=now_iso(), taken_by=user or None,
                label=label or None, site_count=len(sites),
            ).returning(table.c.snapshot_id)
        ).scalar_one())
        records = [
            {"snapshot_id": snapshot_id, **{k: _plain(k, r.get(k)) for k in SITE_FIELDS}}
            for r in sites.to_dict("records")
        ]
        if records:
            conn.execute(site_table.insert(), records)
    return SnapshotInfo(snapshot_id, date_text, len(sites))


def _plain(name: str, value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if name == "opening_year":
        return int(value)
    if name == "capacity":
        return float(value)
    if name == "fictional":
        return bool(value)
    return value


def list_snapshots(registry: RegistryLike) -> pd.DataFrame:
    table = registry.tables[SNAPSHOTS]
    with registry.engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.snapshot_date)).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def sites_at(registry: RegistryLike, day: dt.date | str) -> tuple[str, pd.DataFrame]:
    """The latest snapshot taken at or before ``day``: its date and its sites."""
    date_text = _iso(day)
    table, site_table = registry.tables[SNAPSHOTS], registry.tables[SNAPSHOT_SITES]
    with registry.engine.connect() as conn:
        found = conn.execute(
            sa.select(table.c.snapshot_id, table.c.snapshot_date)
            .where(table.c.snapshot_date <= date_text)
            .order_by(table.c.snapshot_date.desc()).limit(1)
        ).first()
        if found is None:
            dates = [r[0] for r in conn.execute(
                sa.select(table.c.snapshot_date).order_by(table.c.snapshot_date))]
            known = ", ".join(dates) if dates else "aucun"
            raise SnapshotError(
                f"Aucun instantané du registre au {date_text} ou avant (instantanés : {known}). "
                "Prenez-en un : python -m operators instantane --date AAAA-MM-JJ."
            )
        rows = conn.execute(
            sa.select(*[site_table.c[c] for c in SITE_FIELDS])
            .where(site_table.c.snapshot_id == found[0])
        ).mappings().all()
    frame = pd.DataFrame(rows, columns=list(SITE_FIELDS))
    frame["capacity"] = pd.to_numeric(frame["capacity"], errors="coerce").astype(float)
    return found[1], frame


# -- comparison ----------------------------------------------------------------------------------
def in_territory(sites: pd.DataFrame, codes: list[str] | set[str] | None) -> pd.DataFrame:
    """Sites located in, or (services) covering one of, the communes ``codes``."""
    if codes is None:
        return sites
    wanted = set(codes)
    located = sites["commune_code"].isin(wanted)
    covering = sites["coverage_communes"].map(
        lambda text: bool(wanted.intersection(str(text).split(";"))) if isinstance(text, str)
        else False
    )
    return sites[located | covering].reset_index(drop=True)


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """One row per site that changed between two snapshots' sites (see the module docstring).

    Returns
    -------
    ``site_id, change, operator_name, network, commune_code, dep_code, offer_family_before,
    offer_family, offer_type_before, offer_type, capacity_before, capacity, capacity_unit,
    places_delta, confidentiality, name``; ``offer_family``/``capacity`` are the values after the
    change (before it for a closed site).
    """
    a = {r["site_id"]: r for r in before.to_dict("records")}
    b = {r["site_id"]: r for r in after.to_dict("records")}
    rows: list[dict] = []
    for sid, new in b.items():
        old = a.get(sid)
        if new["status"] == STATUS_OPEN:
            if old is None or old["status"] != STATUS_OPEN:
                rows.append(_change(sid, CREATED, None, new))
            elif old["offer_type"] != new["offer_type"]:
                rows.append(_change(sid, CONVERTED, old, new))
            elif not _same_capacity(old["capacity"], new["capacity"]):
                rows.append(_change(sid, RESIZED, old, new))
        elif new["status"] == STATUS_PLANNED and old is None:
            rows.append(_change(sid, PLANNED, None, new))
        elif old is not None and old["status"] == STATUS_OPEN:  # closed (or back to a project)
            rows.append(_change(sid, CLOSED, old, None))
    for sid, old in a.items():
        if sid not in b and old["status"] == STATUS_OPEN:
            rows.append(_change(sid, CLOSED, old, None))
    changes = pd.DataFrame(rows, columns=_CHANGE_COLUMNS)
    return _pair_conversions(changes)


_CHANGE_COLUMNS = [
    "site_id", "change", "operator_name", "network", "commune_code", "dep_code",
    "offer_family_before", "offer_family", "offer_type_before", "offer_type",
    "capacity_before", "capacity", "capacity_unit", "places_delta", "confidentiality", "name",
    "coverage_communes", "_match_key",
]


def _same_capacity(x, y) -> bool:
    x_missing, y_missing = pd.isna(x), pd.isna(y)
    if x_missing or y_missing:
        return x_missing and y_missing
    return float(x) == float(y)


def _change(sid, kind, old, new) -> dict:
    ref = new if new is not None else old
    cap_before = np.nan if old is None else old["capacity"]
    cap_after = np.nan if new is None else new["capacity"]
    if kind in (CREATED, PLANNED):
        delta = cap_after
    elif kind == CLOSED:
        delta = -cap_before if pd.notna(cap_before) else np.nan
    elif kind == RESIZED:
        delta = cap_after - cap_before if pd.notna(cap_before) and pd.notna(cap_after) else np.nan
    else:  # converted: the places change family, their number may change too
        delta = cap_after - cap_before if pd.notna(cap_before) and pd.notna(cap_after) else np.nan
    return {
        "site_id": sid,
        "change": kind,
        "operator_name": ref["operator_name"],
        "network": ref["network"],
        "commune_code": ref["commune_code"],
        "dep_code": ref["dep_code"],
        "offer_family_before": None if old is None else old["offer_family"],
        "offer_family": ref["offer_family"],
        "offer_type_before": None if old is None else old["offer_type"],
        "offer_type": ref["offer_type"],
        "capacity_before": cap_before,
        "capacity": ref["capacity"],
        "capacity_unit": ref["capacity_unit"],
        "places_delta": delta,
        "confidentiality": ref["confidentiality"],
        "name": ref["name"],
        "coverage_communes": ref["coverage_communes"],
        "_match_key": (ref["operator_id"], ref["commune_code"], normalize_text(ref["name"])),
    }


def _pair_conversions(changes: pd.DataFrame) -> pd.DataFrame:
    """A site closed and one opened by the same operator, commune and name: one conversion
    (a change of family gives a new identifier when the operator has none of its own)."""
    if changes.empty:
        return changes.drop(columns="_match_key")
    closed = changes[changes["change"] == CLOSED]
    created = changes[changes["change"] == CREATED]
    drop: set[int] = set()
    extra: list[dict] = []
    for index, row in closed.iterrows():
        partners = created[(created["_match_key"] == row["_match_key"])
                           & ~created.index.isin(list(drop))]
        if partners.empty:
            continue
        partner = partners.iloc[0]
        drop.update({index, partners.index[0]})
        merged = partner.to_dict()
        merged.update(
            change=CONVERTED, offer_family_before=row["offer_family"],
            offer_type_before=row["offer_type"], capacity_before=row["capacity"],
            places_delta=(partner["capacity"] - row["capacity"]
                          if pd.notna(partner["capacity"]) and pd.notna(row["capacity"])
                          else np.nan),
        )
        extra.append(merged)
    out = pd.concat([changes.drop(index=list(drop)), pd.DataFrame(extra, columns=changes.columns)],
                    ignore_index=True)
    order = {kind: i for i, kind in enumerate(KINDS)}
    out = out.sort_values(["change", "site_id"], key=lambda s: s.map(order) if s.name == "change"
                          else s).reset_index(drop=True)
    return out.drop(columns="_match_key")


def compare_dates(
    registry: RegistryLike, first: dt.date | str, second: dt.date | str,
    codes: list[str] | set[str] | None = None, audience: str = "public",
) -> tuple[str, str, pd.DataFrame]:
    """Compare the snapshots at (or just before) two dates, for the communes ``codes``.

    For any ``audience`` but ``"interne"`` each snapshot is reduced to its public view first
    (confidential sites removed): no change of a confidential site — created, closed, paired
    into a conversion, or simply present — can make the comparison of a commune differ from
    what it would be without that site (issue #23).
    """
    if _iso(first) > _iso(second):
        first, second = second, first
    date_a, before = sites_at(registry, first)
    date_b, after = sites_at(registry, second)
    if date_a == date_b:
        raise SnapshotError(
            f"Les deux dates renvoient au même instantané (du {date_a}) : prenez un instantané "
            "entre les deux dates, ou choisissez d'autres dates."
        )
    return date_a, date_b, compare_for(before, after, codes, audience)


def compare_for(
    before: pd.DataFrame, after: pd.DataFrame, codes: list[str] | set[str] | None = None,
    audience: str = "public",
) -> pd.DataFrame:
    """:func:`compare` of two snapshots' sites for the communes ``codes``, as ``audience``
    may know it: for the public, both snapshots are reduced to their public view before
    anything is compared or paired."""
    from operators.confidentiality import INTERNAL, check_audience, public_supply

    check_audience(audience)
    if audience != INTERNAL:
        before, after = public_supply(before), public_supply(after)
    return compare(in_territory(before, codes), in_territory(after, codes))


def summary(changes: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Sites and places per change and family (before the change for a conversion, the
    family reached is in « vers »), by the registry's confidentiality rules."""
    from operators.confidentiality import area_totals

    frame = changes.copy()
    frame["geocode_method"] = "snapshot"  # every change counts (services too)
    # Places concerned: opened, closed, converted (after the change), or added/removed.
    frame["capacity"] = np.select(
        [frame["change"] == CLOSED, frame["change"] == RESIZED],
        [frame["capacity_before"], frame["places_delta"]], frame["capacity"],
    ).astype(float)
    frame["famille"] = frame["offer_family"].map(FAMILIES).fillna("famille inconnue")
    frame["depuis"] = frame["offer_family_before"].map(FAMILIES).where(
        frame["change"] == CONVERTED, "")
    totals = area_totals(frame, audience, by="change", groups=["depuis", "famille"])
    return totals


# Status words for the record (a closed site stays in the registry as « fermé »).
STATUS_WORDS = {STATUS_OPEN: "ouvert", STATUS_PLANNED: "en projet", STATUS_CLOSED: "fermé"}
