"""Export the registry to CSV, XLSX or GeoPackage, for a public or an internal audience.

The tables come from :mod:`operators.confidentiality` (never filtered here), with French
column names that the importer recognises, so that an internal export can be corrected and
imported again. Every export carries its source and date (a ``source`` column and a
« lisez-moi » table) and says when rows are fictional (demo data).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata import files
from operators.cells import safe_frame
from operators.confidentiality import (
    AUDIENCES,
    PUBLIC,
    area_totals,
    check_audience,
    confidential_by_departement,
    coverage_totals,
    sites_for,
)
from operators.repository import Registry
from operators.schema import (
    CONFIDENTIALITY,
    OFFER_TYPE_BY_CODE,
    STATUSES,
)

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".gpkg": "gpkg"}
SOURCE_LABEL = "Registre de l'offre des opérateurs membres (déclarations des opérateurs)"
COG_SOURCE = "Communes : INSEE, Code officiel géographique 2025 (Licence Ouverte / Etalab 2.0)"
FICTIONAL_MARK = "oui (FICTIF)"

# Column names of exported site tables (French, recognised by the importer).
SITE_EXPORT_COLUMNS: dict[str, str] = {
    "site_id": "identifiant_registre",
    "source_id": "identifiant",
    "operator_name": "operateur",
    "network": "reseau",
    "operator_siren": "siren",
    "name": "nom",
    "address": "adresse",
    "postcode": "code_postal",
    "commune_code": "code_commune",
    "commune_name": "commune",
    "dep_code": "departement",
    "lon": "longitude",
    "lat": "latitude",
    "geocode_method": "localisation",
    "geocode_score": "score_geocodage",
    "geocode_label": "adresse_geocodee",
    "offer_type": "type_offre",
    "offer_label": "intitule_offre",
    "offer_family": "famille_offre",
    "capacity": "capacite",
    "capacity_unit": "unite_capacite",
    "public": "public_accueilli",
    "publics": "codes_publics",
    "opening_year": "annee_ouverture",
    "status": "statut",
    "confidentiality": "confidentialite",
    "coverage_epci": "epci_couvert",
    "coverage_communes": "communes_couvertes",
    "fictional": "fictif",
    "flags": "signalements",
    "duplicate_of": "doublon_probable_de",
    "source_file": "fichier_source",
    "source_row": "ligne_source_fichier",
    "import_id": "import",
    "created_at": "cree_le",
    "updated_at": "mis_a_jour_le",
    "source": "source",
}


def export_tables(
    sites: pd.DataFrame,
    coverage: pd.DataFrame,
    audience: str = PUBLIC,
    rep_points: pd.DataFrame | None = None,
    extracted: date | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of an export: ``sites``, ``totaux_communes``, ``services_communes``,
    ``confidentiels_departements`` (binned, per département), ``lisez_moi`` (``sites`` is a
    GeoDataFrame of points)."""
    check_audience(audience)
    extracted = extracted or date.today()
    visible = sites_for(sites, audience, rep_points)
    table = visible.copy()
    table["offer_label"] = table["offer_type"].map(
        lambda code: OFFER_TYPE_BY_CODE[code].label if code in OFFER_TYPE_BY_CODE else None
    )
    table["fictional"] = table["fictional"].map(lambda f: FICTIONAL_MARK if f else "non")
    table["source"] = [
        f"{SOURCE_LABEL} : {op} ({net}), mise à jour du {str(when)[:10]}"
        for op, net, when in zip(table["operator_name"], table["network"], table["updated_at"],
                                 strict=True)
    ]
    order = [c for c in SITE_EXPORT_COLUMNS if c in table.columns]
    table = table[[*order, "geometry"]].rename(columns=SITE_EXPORT_COLUMNS)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=visible.crs)

    totals = area_totals(sites, audience)
    totals = _with_commune_names(totals, sites)
    totals["source"] = f"{SOURCE_LABEL}, extrait du {extracted.isoformat()} ; {COG_SOURCE}"
    services = coverage_totals(sites, coverage, audience)
    services["source"] = f"{SOURCE_LABEL}, extrait du {extracted.isoformat()}"
    readme = _readme(sites, table, audience, extracted)
    confidential = confidential_by_departement(sites).rename(columns={
        "dep_code": "departement", "low": "sites_confidentiels_de", "high": "sites_confidentiels_a",
        "capacity": "capacite_arrondie"})
    confidential["source"] = f"{SOURCE_LABEL}, extrait du {extracted.isoformat()}"
    return {
        "sites": table,
        "totaux_communes": totals.rename(columns={"commune_code": "code_commune"}),
        "services_communes": services.rename(columns={"commune_code": "code_commune"}),
        "confidentiels_departements": confidential,
        "lisez_moi": readme,
    }


def export_registry(
    registry: Registry,
    path: Path | str,
    audience: str = PUBLIC,
    rep_points: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the registry to ``path`` (``.csv``, ``.xlsx`` or ``.gpkg``); return the files.

    CSV gives the sites in ``path`` and the commune totals beside it
    (``<nom>_totaux_communes.csv``); XLSX and GeoPackage hold every table.
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"Export : extension « {path.suffix} » non prise en charge (.csv, .xlsx ou .gpkg)."
        )
    tables = export_tables(registry.sites(), registry.coverage(), audience, rep_points)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        totals_path = path.with_name(f"{path.stem}_totaux_communes.csv")
        _atomic(path, lambda tmp: _csv(tables["sites"], tmp))
        _atomic(totals_path, lambda tmp: _csv(tables["totaux_communes"], tmp))
        return [path, totals_path]
    if kind == "xlsx":
        _atomic(path, lambda tmp: _xlsx(tables, tmp))
        return [path]
    _atomic(path, lambda tmp: _gpkg(tables, tmp))
    return [path]


def _csv(frame: pd.DataFrame, target: Path) -> None:
    safe_frame(pd.DataFrame(frame).drop(columns="geometry", errors="ignore")).to_csv(
        target, sep=";", index=False, encoding="utf-8-sig"
    )


def _xlsx(tables: dict[str, pd.DataFrame], target: Path) -> None:
    # The workbook is made in memory, then written as plain bytes: a full disk is then an
    # OSError said in French, not an error of the XML writer half-way through (issue #23).
    buffer = io.BytesIO()
    with files.writer_errors_as_os_errors(target), \
            pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name in ("lisez_moi", "sites", "totaux_communes", "services_communes",
                     "confidentiels_departements"):
            frame = safe_frame(pd.DataFrame(tables[name]).drop(columns="geometry", errors="ignore"))
            frame.to_excel(writer, sheet_name=name.replace("_", "-"), index=False)
    target.write_bytes(buffer.getvalue())


def _gpkg(tables: dict[str, pd.DataFrame], target: Path) -> None:
    import pyogrio

    sites = tables["sites"]
    pyogrio.write_dataframe(sites, target, layer="sites", driver="GPKG")
    for name in ("totaux_communes", "services_communes", "confidentiels_departements",
                 "lisez_moi"):
        frame = pd.DataFrame(tables[name])
        if frame.empty:
            continue
        pyogrio.write_dataframe(frame, target, layer=name, driver="GPKG", append=False)


def _atomic(path: Path, write) -> None:
    # The writers create the file themselves and choose its format by extension.
    files.atomic_write_with(path, write, suffix=path.suffix, exists=False)


def _with_commune_names(totals: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    names = (
        pd.DataFrame(sites)[["commune_code", "commune_name", "dep_code"]]
        .dropna(subset=["commune_code"]).drop_duplicates("commune_code").set_index("commune_code")
    )
    out = totals.copy()
    out.insert(1, "commune", out["commune_code"].map(names["commune_name"]))
    out.insert(2, "departement", out["commune_code"].map(names["dep_code"]))
    return out


def _readme(sites: pd.DataFrame, table: pd.DataFrame, audience: str, extracted: date):
    fictional = int(pd.Series(sites["fictional"]).fillna(False).astype(bool).sum())
    lines = [
        ("Source", SOURCE_LABEL),
        ("Géographie", COG_SOURCE),
        ("Extrait du", extracted.isoformat()),
        ("Public visé", AUDIENCES[audience]),
        ("Sites exportés", str(len(table))),
    ]
    if audience == PUBLIC:
        lines.append((
            "Confidentialité",
            "Les sites confidentiels n'apparaissent ni comme point, ni par leur adresse, ni par "
            "leur nom, ni dans les totaux communaux : ils ne sont comptés que par département "
            "(table « confidentiels-departements » : nombre par tranche de cinq, capacité "
            "arrondie à la dizaine au-delà de cinq sites). Dans les totaux communaux, tout total "
            "inférieur à 3 sites est affiché « < 3 ». Les sites localisés à la commune n'ont pas "
            "d'adresse.",
        ))
    if fictional:
        lines.append((
            "Données fictives",
            f"{fictional} sites du registre sont FICTIFS (données de démonstration, colonne "
            "« fictif »).",
        ))
    lines.append(("Niveaux de confidentialité", " ; ".join(
        f"{k} : {v}" for k, v in CONFIDENTIALITY.items()
    )))
    lines.append(("Statuts", " ; ".join(f"{k} : {v}" for k, v in STATUSES.items())))
    return pd.DataFrame(lines, columns=["rubrique", "contenu"])
