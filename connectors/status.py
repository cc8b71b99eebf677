"""State of every source in the local store: what is there, from where, and how old it is.

Used by ``python -m connectors list`` and by the app (« Méthode » page), so that a user sees at
once which sources are missing and when a stored table comes from an old copy because the
official site could not be reached.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from catalogues.sources import load_sources
from connectors.builders import source_ids
from geodata.store import Store

COLUMNS = [
    "source", "titre", "producteur", "millésime", "licence", "lignes", "obtenu", "construit le",
    "état", "adresse",
]


def _age_days(iso: str | None, now: datetime) -> float | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (now - moment).total_seconds() / 86400


def freshness_note(extra: dict, now: datetime | None = None) -> str:
    """« à jour » or a French sentence saying the copy is old and why."""
    now = now or datetime.now(UTC)
    if extra.get("stale"):
        age = extra.get("age_days")
        if age is None:
            age = _age_days(extra.get("retrieved_at"), now)
        days = f"{age:.0f} jour(s)" if age is not None else "âge inconnu"
        note = extra.get("stale_note") or "site officiel injoignable lors de la dernière mise à jour"
        return f"copie ancienne ({days}) : {note}"
    return "à jour"


def source_status(store: Store | None = None, now: datetime | None = None) -> pd.DataFrame:
    """One row per registered source, in French, for display."""
    store = store or Store()
    catalogue = load_sources()
    now = now or datetime.now(UTC)
    rows = []
    for source_id in source_ids():
        entry = catalogue.get(source_id)
        manifest = store.manifest(source_id)
        if manifest is None:
            state = "absente du stock" + (
                "" if entry is None or entry.available_offline
                else " (téléchargement en ligne nécessaire)"
            )
            rows.append({
                "source": source_id,
                "titre": entry.title if entry else source_id,
                "producteur": entry.producer if entry else "",
                "millésime": entry.vintage if entry else "",
                "licence": entry.licence if entry else "",
                "lignes": None,
                "obtenu": "",
                "construit le": "",
                "état": state,
                "adresse": entry.address if entry else "",
            })
            continue
        extra = manifest.extra or {}
        transport = manifest.transport or ""
        obtained = (
            "dossier local" if transport.startswith("local:")
            else "paquet PyPI" if transport.startswith("package:")
            else "téléchargement" if transport else ""
        )
        rows.append({
            "source": source_id,
            "titre": manifest.source,
            "producteur": manifest.producer,
            "millésime": manifest.vintage,
            "licence": manifest.licence,
            "lignes": manifest.rows,
            "obtenu": obtained,
            "construit le": manifest.built_at[:10],
            "état": freshness_note(extra, now),
            "adresse": manifest.url,
        })
    return pd.DataFrame(rows, columns=COLUMNS)
