"""``python -m operators instantane`` and ``python -m operators comparer`` (French output)."""

from __future__ import annotations

import argparse

import pandas as pd

from operators import snapshots as snap
from operators.confidentiality import INTERNAL, PUBLIC
from operators.repository import Registry


def territory_codes(spec: str | None) -> tuple[list[str] | None, str]:
    """Communes and name of a territory specification (France when None)."""
    if not spec:
        return None, "France"
    from geodata.store import Store
    from geodata.territory import parse_territory

    store = Store()
    territory = parse_territory(
        spec,
        store.read("communes", columns=["code", "name", "dep_code", "reg_code", "epci_code"]),
        departements=store.read("departements", columns=["code", "name"]),
        regions=store.read("regions", columns=["code", "name"]),
        epci=store.read("epci", columns=["code", "name"]),
    )
    return territory.codes, territory.name


def describe_changes(first: str, second: str, changes: pd.DataFrame, audience: str,
                     name: str) -> list[str]:
    """Lines of the comparison: totals per change and family (confidentiality rules)."""
    lines = [f"Offre de {name} : instantané du {first} → instantané du {second}"]
    if changes.empty:
        lines.append("aucune évolution")
        return lines
    totals = snap.summary(changes, audience)
    for row in totals.to_dict("records"):
        signed = row["change"] == snap.RESIZED
        capacity = ", ".join(
            f"{label} {int(row[column]):+d}" if signed else f"{label} {int(row[column])}"
            for column, label in (("capacite_logements", "logements"),
                                  ("capacite_places", "places"),
                                  ("capacite_mesures", "mesures"))
            if pd.notna(row[column])
        ) or "capacité masquée ou inconnue"
        origin = f" (depuis {row['depuis']})" if row["depuis"] else ""
        lines.append(f"{row['change']} : {row['famille']}{origin} — sites : {row['sites']} ; "
                     f"{capacity}")
    if audience == INTERNAL:
        for row in changes.to_dict("records"):
            lines.append(f"  {row['change']} : {row['name'] or row['site_id']} "
                         f"({row['operator_name']}, {row['commune_code'] or 'zone'})")
    return lines


def run_snapshot_command(args: argparse.Namespace, registry: Registry, actor=None) -> None:
    if args.command == "instantane":
        info = snap.take_snapshot(registry, actor, args.date, label=args.libelle)
        print(f"instantané du {info.snapshot_date} : {info.site_count} sites "
              f"({registry.describe_fr()})")
        return
    codes, name = territory_codes(args.territoire)
    audience = INTERNAL if args.interne else PUBLIC
    first, second, changes = snap.compare_dates(registry, args.date1, args.date2, codes,
                                                audience=audience)
    for line in describe_changes(first, second, changes, audience, name):
        print(line)
