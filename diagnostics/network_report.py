"""« Bilan réseau »: the totals a network's representative brings to a national board
(FNAP, CGLLS, the USH's social council), for a network, a région or France, as PDF and XLSX.

Contents: places by family of offer and by public, places created in the year (by the year of
opening, and by the dated snapshots when two frame the year), activity indicators of the year,
and « qui fait quoi où » per EPCI (operators and networks present, families and publics,
overlaps, blanks).

Every total goes through ``operators.confidentiality`` (``area_totals``): for the public,
confidential sites are counted but never named, a total under three sites reads « < 3 », and
a capacity is hidden where one or two confidential sites would be deduced by difference.
Activity leaves confidential sites out (``operators.activity``). A figure resting on demo data
says FICTIF.

Command line::

    python -m diagnostics.network_report --reseau FAPIL --territoire reg:32 --annee 2024 \\
        --format pdf,xlsx --out rapports/
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from diagnostics.formatting import fr_number
from models.network_presence import Presence, presence
from operators import activity as act
from operators import confidentiality as conf
from operators import publics as pub
from operators import snapshots as snap
from operators.schema import FAMILIES, NETWORKS, STATUS_OPEN, STATUS_PLANNED

FRANCE = "france"
REGISTRY_SOURCE = "Registre de l'offre des opérateurs membres (déclarations des opérateurs)"
FICTIONAL_NOTE = ("FICTIF : ce bilan repose sur l'offre de démonstration (sites, opérateurs et "
                  "activité inventés) ; aucun chiffre ne décrit un site réel.")


class NetworkReportError(ValueError):
    """The bilan cannot be produced (French message)."""


@dataclass
class ReportTable:
    key: str
    title: str
    frame: pd.DataFrame  # French column names, values ready to write (numbers stay numbers)
    note: str = ""
    in_pdf: bool = True  # long detail tables go to the XLSX only (their summary is in the PDF)


@dataclass
class NetworkReport:
    title: str
    scope: str
    year: int
    audience: str
    extracted: str
    figures: list[tuple[str, str]]
    tables: list[ReportTable]
    notes: list[str] = field(default_factory=list)
    fictional: bool = False

    @property
    def slug(self) -> str:
        text = re.sub(r"[^a-z0-9]+", "_", pub.normalize_text(f"bilan {self.scope} {self.year}"))
        return text.strip("_")


# -- building ----------------------------------------------------------------------------------
def build(
    sites: pd.DataFrame,
    coverage: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    network: str | None = None,
    territory_codes: list[str] | None = None,
    territory_name: str = "France",
    year: int | None = None,
    audience: str = conf.PUBLIC,
    activity: pd.DataFrame | None = None,
    snapshot_changes: tuple[str, str, pd.DataFrame] | None = None,
    epci_names: dict[str, str] | None = None,
    extracted: dt.date | None = None,
) -> NetworkReport:
    """The bilan from data (no I/O): the registry's sites (internal view) and coverage.

    For any audience but ``interne`` the confidential sites (and their coverage rows) are
    removed first: every output is then computed from the public view only.

    Parameters
    ----------
    network
        ``FAPIL``, ``SOLIHA``, ``UNAFO``, ``AUTRE`` or None (every network).
    territory_codes
        Communes of the région (or any territory); None for France.
    snapshot_changes
        ``(first date, second date, snapshots.compare(...))`` framing the year, when available.
    """
    conf.check_audience(audience)
    year = year or dt.date.today().year - 1
    extracted = extracted or dt.date.today()
    if network is not None and network not in NETWORKS:
        raise NetworkReportError(
            f"Réseau « {network} » non reconnu (réseaux : {', '.join(NETWORKS)})."
        )
    frame = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    if audience != conf.INTERNAL:
        # The public bilan is built from the public view alone: no confidential row reaches
        # any table, figure, area list or « en projet » count below (issue #23).
        frame, coverage, _ = conf.split_for_public(frame, coverage)
        if snapshot_changes is not None:
            first, second, changes = snapshot_changes
            snapshot_changes = (first, second, conf.public_supply(changes))
    if territory_codes is not None:
        frame = snap.in_territory(_with_covered(frame, coverage), territory_codes)
    everyone = frame.copy()  # all networks: « qui fait quoi où » shows every member
    if network:
        frame = frame[frame["network"] == network]
    frame = frame.reset_index(drop=True)
    network_label = NETWORKS[network].split(" (")[0] if network else "tous réseaux"
    scope = f"{network_label} — {territory_name}"
    fictional = bool(frame["fictional"].fillna(False).astype(bool).any()) if len(frame) else False
    open_sites = _countable(frame[frame["status"] == STATUS_OPEN])
    tables: list[ReportTable] = []
    tables.append(ReportTable(
        "offre_familles", "Offre ouverte par famille d'offre",
        _by_family(open_sites, audience),
        "Sites ouverts ; un service d'accompagnement compte une fois, quelle que soit sa zone.",
    ))
    tables.append(ReportTable(
        "offre_publics", "Offre ouverte par public accueilli",
        _by_public(open_sites, audience),
        "Un site qui accueille plusieurs publics compte dans chacun : les lignes ne s'additionnent "
        "pas. « Public non renseigné ou à préciser » : texte libre hors du vocabulaire.",
    ))
    created = open_sites[pd.to_numeric(open_sites["opening_year"], errors="coerce") == year]
    tables.append(ReportTable(
        "creations", f"Places créées en {year} (année d'ouverture déclarée)",
        _by_family(created, audience),
        f"Sites ouverts dont l'année d'ouverture est {year}.",
    ))
    notes: list[str] = []
    if snapshot_changes is not None:
        first, second, changes = snapshot_changes
        if network:
            changes = changes[changes["network"] == network]
        tables.append(ReportTable(
            "evolutions", f"Évolutions entre les instantanés du {first} et du {second}",
            _changes_table(changes, audience),
            "Créés, fermés, convertis (changement de type d'offre) et capacités modifiées, d'après "
            "les instantanés datés du registre.",
        ))
    else:
        notes.append(
            f"Évolutions de l'année : pas deux instantanés du registre encadrant {year} ; seules "
            "les années d'ouverture déclarées sont utilisées."
        )
    if activity is not None and len(activity):
        tables.append(ReportTable(
            "activite", f"Activité {year} par famille d'offre",
            _activity_table(frame, activity, audience, year),
            "Moyennes et totaux des sites ayant déclaré une activité"
            + (" ; les sites confidentiels n'y figurent pas, et un groupe de moins de trois "
               "sites déclarants n'est pas publié." if audience == conf.PUBLIC else "."),
        ))
    else:
        notes.append(f"Activité {year} : aucune donnée d'activité déclarée.")
    found = _presence(everyone, coverage, communes, audience, territory_codes, epci_names)
    tables.extend([
        ReportTable("epci", "Qui fait quoi où : EPCI", found.areas,
                    "Adhérents de tous les réseaux présents (site ou service couvrant une "
                    "commune de l'EPCI). « Sans adhérent » : aucun adhérent déclaré, ce qui ne "
                    "dit pas qu'aucune offre n'existe."),
        ReportTable("epci_operateurs", "Opérateurs par EPCI", found.operators, in_pdf=False),
        ReportTable("epci_chevauchements",
                    "Chevauchements : même famille d'offre, mêmes communes, plusieurs opérateurs",
                    found.overlaps),
        ReportTable("epci_blancs", "Blancs : familles, publics et communes sans adhérent déclaré",
                    found.blanks,
                    "Les familles d'offre tiennent lieu de catégories de besoin ; publics ↔ "
                    "familles : lecture indicative (operators/publics.py).", in_pdf=False),
        ReportTable("publics_familles", "Lecture des publics par famille d'offre",
                    pub.mapping_table()),
    ])
    figures = _figures(open_sites, frame, created, audience, year)
    if audience == conf.PUBLIC:
        notes.append(
            "Règles de confidentialité du registre : les sites confidentiels sont comptés sans "
            "être nommés ; un total de moins de 3 sites s'affiche « < 3 » et sa capacité est "
            "masquée, comme celle d'un total qui contient 1 ou 2 sites confidentiels."
        )
    if fictional:
        notes.insert(0, FICTIONAL_NOTE)
    title = f"Bilan réseau {year} — {scope}"
    return NetworkReport(title, scope, year, audience, extracted.isoformat(), figures, tables,
                         notes, fictional)


def _with_covered(frame: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Replace the services' ``coverage_communes`` by the expanded coverage (EPCI included)."""
    if coverage is None or coverage.empty:
        return frame
    covered = coverage.groupby("site_id")["commune_code"].apply(lambda c: ";".join(sorted(c)))
    frame = frame.copy()
    mapped = frame["site_id"].map(covered)
    frame["coverage_communes"] = mapped.where(mapped.notna(), frame["coverage_communes"])
    return frame


def _countable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every site counts once in a bilan (services included: not by covered commune)."""
    out = frame.copy()
    out["geocode_method"] = "bilan"
    out["famille"] = out["offer_family"].map(FAMILIES).fillna("famille inconnue")
    out["tous"] = "Total"
    return out


_TOTAL_COLUMNS = {
    "sites": "Sites", "capacite_logements": "Logements", "capacite_places": "Places",
    "capacite_mesures": "Mesures d'accompagnement",
    "capacite_incomplete": "Capacité incomplète (sites sans capacité)",
}


def _totals(frame: pd.DataFrame, audience: str, by: str, label: str) -> pd.DataFrame:
    columns = [label, *_TOTAL_COLUMNS.values()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    totals = conf.area_totals(frame, audience, by=by)
    totals = totals.rename(columns={by: label, **_TOTAL_COLUMNS}).drop(columns="sites_n")
    totals["Capacité incomplète (sites sans capacité)"] = totals[
        "Capacité incomplète (sites sans capacité)"].map({True: "oui", False: "non"})
    return totals[columns]


def _by_family(frame: pd.DataFrame, audience: str) -> pd.DataFrame:
    table = _totals(frame, audience, "famille", "Famille d'offre")
    order = {label: i for i, label in enumerate(FAMILIES.values())}
    table = table.sort_values("Famille d'offre", key=lambda s: s.map(order)).reset_index(drop=True)
    total = _totals(frame, audience, "tous", "Famille d'offre")
    return pd.concat([table, total], ignore_index=True)


def _by_public(frame: pd.DataFrame, audience: str) -> pd.DataFrame:
    exploded = pub.explode(frame)
    exploded["public"] = exploded["public_code"].map(pub.LABELS_WITH_UNKNOWN)
    table = _totals(exploded, audience, "public", "Public accueilli")
    order = {label: i for i, label in enumerate(pub.LABELS_WITH_UNKNOWN.values())}
    return table.sort_values("Public accueilli", key=lambda s: s.map(order)).reset_index(drop=True)


def _changes_table(changes: pd.DataFrame, audience: str) -> pd.DataFrame:
    columns = ["Évolution", "Depuis (conversion)", "Famille d'offre", "Sites", "Logements",
               "Places", "Mesures d'accompagnement"]
    if changes.empty:
        return pd.DataFrame(columns=columns)
    totals = snap.summary(changes, audience)
    totals = totals.rename(columns={"change": "Évolution", "depuis": "Depuis (conversion)",
                                    "famille": "Famille d'offre", **_TOTAL_COLUMNS})
    return totals[columns]


def _activity_table(frame, activity, audience, year) -> pd.DataFrame:
    sites = frame.copy()
    sites["famille"] = sites["offer_family"].map(FAMILIES)
    by_family = act.indicators(sites, activity, audience, year, by="famille")
    sites["tous"] = "Total"
    total = act.indicators(sites, activity, audience, year, by="tous").rename(
        columns={"tous": "famille"})
    table = pd.concat([by_family, total], ignore_index=True).drop(columns="sites_declarants_n")
    for column in ("taux_occupation", "part_sorties_logement", "duree_moyenne_sejour_mois"):
        table[column] = pd.to_numeric(table[column], errors="coerce").round(1)
    return table.rename(columns={"famille": "Famille d'offre", **act.INDICATOR_LABELS})


def _presence(sites, coverage, communes, audience, codes, epci_names) -> Presence:
    chosen = communes if codes is None else communes[communes["code"].isin(set(codes))]
    areas = None if codes is None else sorted(chosen["epci_code"].dropna().unique())
    return presence(sites, coverage, communes, "epci", audience, epci_names or {}, areas)


def _figures(open_sites, frame, created, audience, year) -> list[tuple[str, str]]:
    total = conf.area_totals(open_sites, audience, by="tous")
    figures = [("Sites ouverts", _cell(total, "sites", "0"))]
    for column, label in (("capacite_places", "Places"), ("capacite_logements", "Logements"),
                          ("capacite_mesures", "Mesures d'accompagnement")):
        figures.append((f"{label} (sites ouverts)", _cell(total, column)))
    created_total = conf.area_totals(created, audience, by="tous")
    figures.append((f"Sites ouverts en {year}", _cell(created_total, "sites", "0")))
    planned = int((frame["status"] == STATUS_PLANNED).sum())
    figures.append(("Sites en projet", conf.SMALL_LABEL if audience == conf.PUBLIC
                    and 0 < planned < conf.SMALL_COUNT else fr_number(planned)))
    named = frame if audience == conf.INTERNAL else frame[frame["confidentiality"]
                                                          != "confidentiel"]
    figures.append(("Opérateurs nommés", fr_number(named["operator_name"].nunique())))
    return figures


def _cell(totals: pd.DataFrame, column: str, empty: str = "—") -> str:
    """A total as shown: hidden by the confidentiality rules is said so, unknown is « — »."""
    if totals.empty:
        return empty
    value = totals[column].iat[0]
    if isinstance(value, str):
        return value
    if pd.notna(value):
        return fr_number(value)
    hidden = column.startswith("capacite") and pd.isna(totals["capacite_incomplete"].iat[0])
    return "masqué (confidentialité)" if hidden else "—"


# -- rendering ----------------------------------------------------------------------------------
def xlsx_bytes(report: NetworkReport) -> bytes:
    """« Lisez-moi », « Chiffres clés », then one sheet per table."""
    from diagnostics.exports import workbook_bytes

    readme = pd.DataFrame({"Rubrique": ["Titre", "Périmètre", "Année", "Public visé",
                                        "Extrait le", "Source", *(["Avertissement"] * len(
                                            report.notes))],
                           "Valeur": [report.title, report.scope, str(report.year),
                                      conf.AUDIENCES[report.audience], report.extracted,
                                      REGISTRY_SOURCE, *report.notes]})
    figures = pd.DataFrame(report.figures, columns=["Chiffre clé", "Valeur"])
    sheets = [("Lisez-moi", readme), ("Chiffres clés", figures)]
    used = {"Lisez-moi", "Chiffres clés"}
    for table in report.tables:
        name = re.sub(r"[\[\]:*?/\\]", " ", _SHEETS.get(table.key, table.key))[:31]
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        sheets.append((name, table.frame))
    return workbook_bytes(sheets, report.title, max_width=70)


_SHEETS = {
    "offre_familles": "Offre par famille", "offre_publics": "Offre par public",
    "creations": "Créations de l'année", "evolutions": "Évolutions (instantanés)",
    "activite": "Activité", "epci": "Qui fait quoi où (EPCI)",
    "epci_operateurs": "Opérateurs par EPCI", "epci_chevauchements": "Chevauchements",
    "epci_blancs": "Blancs", "publics_familles": "Publics et familles",
}



def html(report: NetworkReport) -> str:
    from diagnostics.report import environment

    tables = [
        {"title": t.title, "note": t.note, "columns": list(t.frame.columns),
         "rows": [[_text(v) for v in row] for row in t.frame.itertuples(index=False, name=None)]}
        for t in report.tables if t.in_pdf
    ]
    # Constant text (no user input) inside a CSS string: no quote, no markup.
    footer = re.sub(r"[\"<>\\]", "", f"{REGISTRY_SOURCE}, extrait du {report.extracted}")
    footer = footer.replace("'", "’")
    return environment().get_template("network_report.html.j2").render(
        r=report, tables=tables, audience=conf.AUDIENCES[report.audience],
        source=f"{REGISTRY_SOURCE}, extrait du {report.extracted}", footer=footer,
    )


def _text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return fr_number(value, 1) if isinstance(value, float) and not float(value).is_integer() \
            else fr_number(value)
    return str(value)


def pdf_bytes(report: NetworkReport) -> bytes:
    """The bilan as PDF (WeasyPrint; no network request: data URIs only)."""
    import weasyprint

    from diagnostics.report import data_only_fetcher

    return weasyprint.HTML(string=html(report), url_fetcher=data_only_fetcher()).write_pdf()


# -- from the registry and the store ----------------------------------------------------------
def territory_of(spec: str, store) -> tuple[list[str] | None, str]:
    """Communes and name of « france », « reg:32 », « dep:59 »…"""
    if pub.normalize_text(spec) in (FRANCE, "fr", "national"):
        return None, "France"
    from diagnostics.inputs import load_territory
    from geodata.territory import TerritoryError

    try:
        territory = load_territory(spec, store)
    except TerritoryError as error:
        raise NetworkReportError(str(error)) from error
    return territory.codes, territory.name


def from_registry(
    registry, store, *, network: str | None, territory: str = FRANCE, year: int | None = None,
    audience: str = conf.PUBLIC,
) -> NetworkReport:
    """The bilan of the registry's current content (and its snapshots, when they frame the
    year)."""
    year = year or dt.date.today().year - 1
    codes, name = territory_of(territory, store)
    communes = store.read("communes", columns=["code", "name", "epci_code", "dep_code"])
    epci = store.read("epci", columns=["code", "name"])
    sites = pd.DataFrame(registry.sites()).drop(columns="geometry", errors="ignore")
    coverage = registry.coverage()
    changes = None
    try:
        changes = snap.compare_dates(registry, f"{year - 1}-12-31", f"{year}-12-31", codes,
                                     audience=audience)
    except snap.SnapshotError:
        changes = None
    return build(
        sites, coverage, communes, network=network, territory_codes=codes, territory_name=name,
        year=year, audience=audience, activity=act.read(registry), snapshot_changes=changes,
        epci_names=dict(zip(epci["code"], epci["name"], strict=False)),
    )


def write(report: NetworkReport, folder: Path, formats: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in formats:
        data = pdf_bytes(report) if kind == "pdf" else xlsx_bytes(report)
        path = folder / f"{report.slug}.{kind}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        paths.append(path)
    return paths


def registry_location(value: str | None) -> str | None:
    """The registry's URL from ``--base``: a database URL, or the path of an existing
    GeoPackage file (a report never creates a registry)."""
    if not value or "://" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise NetworkReportError(f"Registre introuvable : le fichier « {value} » n'existe pas "
                                 "(indiquez un fichier registre.gpkg ou une adresse de base).")
    return f"sqlite:///{path.resolve()}"


def require_internal(registry, login: str | None) -> None:
    """Refuse the internal bilan (confidential sites named) to anyone but an administrator
    whose password was checked: no account given, the local installation, a wrong password,
    or any other role is refused (issue #23)."""
    from operators.accounts import AccessDenied, require_admin
    from operators.cli_auth import cli_actor

    if not login:
        raise AccessDenied(
            "Bilan interne (sites confidentiels détaillés) : réservé aux administrateurs ; "
            "donnez votre compte (--compte LOGIN, mot de passe REGISTRE_MOT_DE_PASSE).")
    require_admin(cli_actor(login, registry, allow_installation=False),
                  "Bilan interne (sites confidentiels détaillés)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diagnostics.network_report",
        description="Bilan réseau (PDF et XLSX) pour un réseau, une région ou la France",
    )
    parser.add_argument("--reseau", help="FAPIL, SOLIHA, UNAFO ou AUTRE (tous par défaut)")
    parser.add_argument("--territoire", default=FRANCE, help="france (défaut), reg:32, dep:59…")
    parser.add_argument("--annee", type=int, help="année du bilan (par défaut l'année passée)")
    parser.add_argument("--format", default="pdf,xlsx", help="pdf, xlsx ou pdf,xlsx")
    parser.add_argument("--out", type=Path, default=Path("rapports"))
    parser.add_argument("--interne", action="store_true",
                        help="usage interne au réseau (sites confidentiels détaillés) : "
                        "compte administrateur exigé (--compte)")
    parser.add_argument("--compte", default=os.environ.get("REGISTRE_COMPTE"),
                        help="identifiant du compte (mot de passe : REGISTRE_MOT_DE_PASSE, "
                        "sinon demandé)")
    parser.add_argument("--base", help="fichier registre.gpkg ou URL du registre (par défaut "
                        "DATABASE_URL ou data/)")
    args = parser.parse_args(argv)
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in ("pdf", "xlsx")]
    from geodata.store import Store
    from operators.accounts import AccessDenied
    from operators.repository import Registry, RegistryError
    from operators.schema import parse_network

    try:
        if unknown or not formats:
            raise NetworkReportError(f"Format(s) inconnu(s) : {', '.join(unknown)} (pdf, xlsx).")

        network = None
        if args.reseau:
            network = parse_network(args.reseau)
            if network is None:
                raise NetworkReportError(
                    f"Réseau « {args.reseau} » non reconnu (réseaux : {', '.join(NETWORKS)}).")
        registry = Registry(registry_location(args.base))
        try:
            if args.interne:
                require_internal(registry, args.compte)
            report = from_registry(
                registry, Store(), network=network, territory=args.territoire, year=args.annee,
                audience=conf.INTERNAL if args.interne else conf.PUBLIC,
            )
        finally:
            registry.dispose()
        for path in write(report, args.out, formats):
            print(f"bilan réseau écrit : {path}")
    except (NetworkReportError, RegistryError, OSError, ValueError, AccessDenied) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as error:  # a file that is not a registry, a refused server
        print(f"Erreur : registre illisible ({type(error).__name__}) : vérifiez le fichier ou "
              "l'adresse donnés par --base.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

