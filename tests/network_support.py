"""Shared set-up of the network tests: the FICTIF demo offer of the Nord in a registry, with two
dated snapshots framing 2024 and a hand-made follow-up import between them (one site closed,
one converted, one enlarged, one created)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from operators import snapshots as snap
from operators.demo import DEMO_FILE
from operators.importer import import_file
from operators.repository import Registry
from operators.schema import parse_offer_type
from tests.account_support import ADMIN


def nord_codes(store) -> list[str]:
    communes = store.read("communes", columns=["code", "dep_code"])
    return communes.loc[communes["dep_code"] == "59", "code"].tolist()


def follow_up_rows(demo: pd.DataFrame, nord: set[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows of a second file and the change each must show (by Identifiant)."""
    rows = demo[demo["Code INSEE"].isin(nord) & (demo["Statut"] == "ouvert")
                & (demo["Confidentialité"] != "confidentiel")]
    types = rows["Type d'offre"].map(parse_offer_type)
    ftm = rows[types == "ftm"].iloc[0].copy()
    ftm["Type d'offre"] = "Résidence sociale"
    closed = rows[types == "pension_de_famille"].iloc[0].copy()
    closed["Statut"] = "fermé"
    grown = rows[(types == "moi") & (rows["Capacité"] != "")].iloc[0].copy()
    grown["Capacité"] = str(int(grown["Capacité"]) + 5)
    created = closed.copy()
    created["Identifiant"] = "DEMO-SUIVI-NOUVEAU-001"
    created["Nom du site"] = "Pension de famille Nouvelle (FICTIVE)"
    created["Statut"] = "ouvert"
    created["Année d'ouverture"] = "2024"
    frame = pd.DataFrame([ftm, closed, grown, created])
    expected = {ftm["Identifiant"]: snap.CONVERTED, closed["Identifiant"]: snap.CLOSED,
                grown["Identifiant"]: snap.RESIZED, created["Identifiant"]: snap.CREATED}
    return frame, expected


@pytest.fixture(scope="session")
def demo_with_snapshots(store, tmp_path_factory):
    """Registry: demo imported, snapshot 2023-12-31, follow-up file, snapshot 2024-12-31.

    Returns the registry and the expected change per site_id.
    """
    folder = tmp_path_factory.mktemp("reseau")
    registry = Registry(folder / "registre.gpkg")
    import_file(DEMO_FILE, registry, geocoder=None, fictional=True, rejects_dir=folder,
                actor=ADMIN)
    snap.take_snapshot(registry, ADMIN, "2023-12-31")
    demo = pd.read_csv(DEMO_FILE, sep=";", dtype=str, encoding="utf-8-sig").fillna("")
    rows, expected = follow_up_rows(demo, set(nord_codes(store)))
    path: Path = folder / "suivi_2024_FICTIF_fait_main.csv"
    rows.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    result = import_file(path, registry, geocoder=None, fictional=True, rejects_dir=folder,
                         actor=ADMIN)
    assert result.rejected == 0, result.outcomes["detail"].tolist()
    snap.take_snapshot(registry, ADMIN, "2024-12-31")
    sites = pd.DataFrame(registry.sites(include_closed=True))
    by_source = dict(zip(sites["source_id"], sites["site_id"], strict=True))
    yield registry, {by_source[k]: v for k, v in expected.items()}
    registry.dispose()
