"""The demo offer: a deterministic file of FICTIONAL sites over real communes.

Three networks (FAPIL, SOLIHA, UNAFO), fictional operators and site names, over real communes of
Nord (59), Creuse (23), Ardèche (07) and Seine-Saint-Denis (93); every offer type, services
covering an EPCI or a list of communes, and a few confidential sites. The file name carries
FICTIF, every row says so in its ``fictif`` column, and the import marks the sites as fictional
so that the app and the exports show it.

The file is generated from a fixed seed and the store's communes, and kept in the repository
(:data:`DEMO_FILE`); ``python -m operators demo --regenerer`` writes it again.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geodata.store import Store

DEMO_FILE = Path(__file__).resolve().parent / "demo_offre_FICTIF.csv"
SEED = 20250101
DEPARTEMENTS = ("59", "23", "07", "93")
FICTIONAL_MARK = "oui – données FICTIVES de démonstration"


@dataclass(frozen=True)
class DemoOperator:
    name: str
    network: str
    departements: tuple[str, ...]
    types: tuple[str, ...]
    sites: int


OPERATORS: tuple[DemoOperator, ...] = (
    DemoOperator("Association Fictive Toit Partagé", "FAPIL", ("59", "93"),
                 ("pension_de_famille", "iml_sous_location", "iml_mandat_gestion", "moi", "chrs",
                  "avdl"), 26),
    DemoOperator("Habitat Fictif des Boutières", "FAPIL", ("07",),
                 ("pension_de_famille", "moi", "iml_sous_location", "fsl", "hebergement_autre"), 14),
    DemoOperator("SOLIHA Fictif Flandre-Hainaut", "SOLIHA", ("59",),
                 ("anah", "iml_mandat_gestion", "moi", "avdl", "fsl", "pension_de_famille"), 22),
    DemoOperator("SOLIHA Fictif Creuse", "SOLIHA", ("23",),
                 ("anah", "moi", "iml_mandat_gestion", "fsl", "savs", "residence_accueil"), 16),
    DemoOperator("SOLIHA Fictif Ardèche", "SOLIHA", ("07",),
                 ("anah", "iml", "moi", "avdl", "pension_de_famille"), 14),
    DemoOperator("Résidences Fictives de la Plaine", "UNAFO", ("93",),
                 ("residence_sociale", "fjt", "ftm", "pension_de_famille", "chu", "chrs"), 20),
    DemoOperator("Foyers Fictifs du Nord", "UNAFO", ("59", "23"),
                 ("residence_sociale", "fjt", "ftm", "residence_accueil", "chu", "savs"), 18),
)

CAPACITY = {  # (unit, low, high)
    "pension_de_famille": ("places", 12, 30), "residence_accueil": ("places", 12, 25),
    "residence_sociale": ("logements", 30, 120), "fjt": ("logements", 40, 150),
    "ftm": ("logements", 80, 260), "iml_sous_location": ("logements", 3, 40),
    "iml_mandat_gestion": ("logements", 5, 60), "iml": ("logements", 3, 30),
    "moi": ("logements", 1, 12), "anah": ("logements", 1, 20), "chrs": ("places", 20, 80),
    "chu": ("places", 10, 60), "hebergement_autre": ("places", 5, 30),
    "avdl": ("mesures", 20, 150), "fsl": ("mesures", 30, 200), "savs": ("mesures", 15, 60),
}
LABELS = {
    "pension_de_famille": "Pension de famille", "residence_accueil": "Résidence accueil",
    "residence_sociale": "Résidence sociale", "fjt": "Résidence sociale FJT",
    "ftm": "Résidence sociale FTM", "iml_sous_location": "IML sous-location",
    "iml_mandat_gestion": "IML mandat de gestion", "iml": "Intermédiation locative",
    "moi": "Maîtrise d'ouvrage d'insertion", "anah": "Logement conventionné Anah",
    "chrs": "CHRS", "chu": "CHU", "hebergement_autre": "Hébergement de stabilisation",
    "avdl": "AVDL", "fsl": "FSL / ASLL", "savs": "SAVS",
}
NAMES = (
    "Les Tilleuls", "Les Érables", "Le Grand Chêne", "Les Glycines", "La Source", "Le Phare",
    "Les Hirondelles", "Le Moulin", "Les Coquelicots", "La Passerelle", "L'Escale", "Le Cèdre",
    "Les Mésanges", "La Roseraie", "Le Trait d'Union", "Les Saules", "La Boussole", "L'Étoile",
    "Les Lavandes", "Le Fil d'Ariane", "Les Peupliers", "La Clairière", "Le Relais", "L'Olivier",
)
DIFFUSE = {"iml_sous_location", "iml_mandat_gestion", "iml", "moi", "anah"}
SERVICES = {"avdl", "fsl", "savs"}
COLUMNS = [
    "Identifiant", "Opérateur", "Réseau", "Nom du site", "Adresse", "Code INSEE", "Commune",
    "Type d'offre", "Capacité", "Unité", "Public accueilli", "Année d'ouverture", "Statut",
    "Confidentialité", "Longitude", "Latitude", "Communes couvertes", "EPCI couvert", "Fictif",
]
ACTIVITY_YEAR = 2024
ACTIVITY_COLUMNS = [
    "Année d'activité", "Taux d'occupation (%)", "Ménages entrés", "Ménages sortis",
    "Sorties vers un logement ordinaire", "Durée moyenne de séjour (mois)", "Liste d'attente",
]
# Publics per offer type (vocabulary of operators/publics.py), written as members write them.
DEMO_PUBLICS: dict[str, tuple[str, ...]] = {
    "pension_de_famille": ("Personnes isolées en grande exclusion", "Personnes sans domicile",
                           "Personnes âgées isolées", "Handicap psychique"),
    "residence_accueil": ("Handicap psychique",),
    "residence_sociale": ("Tous publics", "Jeunes de moins de 30 ans", "Familles monoparentales",
                          "Réfugiés", "Sortants de l'ASE"),
    "fjt": ("Jeunes 16-30 ans", "Sortants de l'ASE"),
    "ftm": ("Travailleurs migrants âgés", "Personnes âgées isolées"),
    "iml_sous_location": ("Familles monoparentales", "Ménages reconnus DALO",
                          "Femmes victimes de violences", "Sortants de prison", "Réfugiés"),
    "iml_mandat_gestion": ("Ménages reconnus DALO", "Tous publics", "Familles monoparentales"),
    "iml": ("Ménages reconnus DALO", "Demandeurs d'asile / réfugiés", "Tous publics"),
    "moi": ("Familles monoparentales", "Gens du voyage", "Ménages reconnus DALO"),
    "anah": ("Tous publics", "Personnes âgées isolées"),
    "chrs": ("Personnes sans domicile", "Sortants de prison", "Jeunes 18-25 ans"),
    "chu": ("Personnes sans abri", "Demandeurs d'asile", "Familles monoparentales"),
    "hebergement_autre": ("Personnes sans domicile", "PPSMJ", "Jeunes 18-25 ans"),
    "avdl": ("Ménages reconnus DALO",),
    "fsl": ("Tous publics",),
    "savs": ("Handicap psychique",),
}
# Old free text that names no public of the vocabulary: kept on a few rows, flagged at import.
AMBIGUOUS_PUBLICS = ("Ménages modestes", "Adultes en situation de handicap", "Public mixte accompagné")
TURNOVER = {"pension_de_famille": 0.15, "residence_sociale": 0.35, "intermediation_locative": 0.3,
            "diffus": 0.1, "hebergement": 0.9, "accompagnement": 0.7}


def demo_frame(store: Store | None = None, seed: int = SEED, scale: float = 1.0) -> pd.DataFrame:
    """The demo rows (deterministic for a seed and a store).

    ``scale`` multiplies the number of sites per operator (the import benchmark uses it).
    """
    store = store or Store()
    communes = store.read(
        "communes", columns=["code", "name", "dep_code", "epci_code", "population", "geometry"]
    )
    communes = communes[communes["dep_code"].isin(DEPARTEMENTS)].sort_values("code")
    communes = communes.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for op_index, operator in enumerate(OPERATORS):
        pool = communes[communes["dep_code"].isin(operator.departements)].reset_index(drop=True)
        weight = np.sqrt(pool["population"].fillna(0).to_numpy(dtype=float) + 1.0)
        weight /= weight.sum()
        count = max(len(operator.types), round(operator.sites * scale))
        # Every type of the operator at least once, then a random mix.
        types = list(operator.types) + list(rng.choice(operator.types, count - len(operator.types)))
        for number, offer in enumerate(types, start=1):
            commune = pool.iloc[int(rng.choice(len(pool), p=weight))]
            rows.append(_row(rng, operator, op_index, number, offer, commune, pool))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return _with_publics_and_activity(frame)


def _with_publics_and_activity(frame: pd.DataFrame) -> pd.DataFrame:
    """Publics (one to three per site) and a year of activity for most open sites.

    Drawn from a generator of their own per row (seeded by the row's identifier), so that the
    sites themselves stay what they were before these columns existed.
    """
    from operators.schema import OFFER_TYPE_BY_CODE, parse_offer_type

    frame = frame.copy()
    publics, activity = [], []
    for row in frame.to_dict("records"):
        rng = np.random.default_rng([SEED, zlib.crc32(row["Identifiant"].encode())])
        offer = parse_offer_type(row["Type d'offre"])
        family = OFFER_TYPE_BY_CODE[offer].family
        choices = DEMO_PUBLICS[offer]
        if row["Confidentialité"] == "confidentiel":
            text = "Femmes victimes de violences"
        elif rng.random() < 0.07:
            text = AMBIGUOUS_PUBLICS[int(rng.integers(len(AMBIGUOUS_PUBLICS)))]
        else:
            count = int(rng.integers(1, min(3, len(choices)) + 1))
            picked = rng.choice(len(choices), size=count, replace=False)
            joiner = (" ; ", ", ", " et ")[int(rng.integers(3))]
            text = joiner.join(choices[i] for i in sorted(picked))
        publics.append(text)
        activity.append(_activity(rng, row, family))
    frame["Public accueilli"] = publics
    return pd.concat([frame, pd.DataFrame(activity, columns=ACTIVITY_COLUMNS)], axis=1)


def _activity(rng, row: dict, family: str) -> dict:
    empty = dict.fromkeys(ACTIVITY_COLUMNS, "")
    if row["Statut"] != "ouvert" or rng.random() < 0.2:
        return empty  # activity is optional: a fifth of the open sites report none
    capacity = float(row["Capacité"]) if row["Capacité"] else 20.0
    turnover = TURNOVER[family] * rng.uniform(0.6, 1.4)
    left = max(0, round(capacity * turnover))
    entered = max(0, round(left * rng.uniform(0.8, 1.2)))
    exits = round(left * rng.uniform(0.2, 0.7))
    values = {
        "Année d'activité": str(ACTIVITY_YEAR),
        "Ménages entrés": str(entered),
        "Ménages sortis": str(left),
        "Sorties vers un logement ordinaire": str(exits),
        "Taux d'occupation (%)": "",
        "Durée moyenne de séjour (mois)": "",
        "Liste d'attente": "",
    }
    if family != "accompagnement":
        values["Taux d'occupation (%)"] = f"{rng.uniform(72, 99):.1f}".replace(".", ",")
        stay = 12 / max(turnover, 0.05)
        values["Durée moyenne de séjour (mois)"] = f"{min(stay, 120):.0f}"
        values["Liste d'attente"] = str(int(rng.integers(0, 40)))
    return values


def _row(rng, operator, op_index, number, offer, commune, pool) -> dict:
    unit, low, high = CAPACITY[offer]
    name = f"{LABELS[offer]} {NAMES[int(rng.integers(len(NAMES)))]}"
    planned = rng.random() < 0.08
    year = int(rng.integers(2026, 2029)) if planned else int(rng.integers(1975, 2025))
    confidentiality = ""
    if offer in DIFFUSE:
        confidentiality = "commune"
    elif offer in ("chrs", "chu") and rng.random() < 0.45:
        confidentiality = "confidentiel"
        name = f"Hébergement spécialisé {NAMES[int(rng.integers(len(NAMES)))]}"
    lon = lat = ""
    covered = epci = ""
    if offer in SERVICES:
        if rng.random() < 0.5 and isinstance(commune["epci_code"], str):
            epci = commune["epci_code"]
        else:
            others = pool.iloc[rng.choice(len(pool), size=int(rng.integers(2, 7)), replace=False)]
            covered = ", ".join(sorted({commune["code"], *others["code"]}))
    elif rng.random() < 0.75:
        x, y = _point_in(commune.geometry, rng)
        lon, lat = f"{x:.6f}", f"{y:.6f}"
    capacity = "" if rng.random() < 0.05 else str(int(rng.integers(low, high + 1)))
    return {
        "Identifiant": f"DEMO-{operator.network}-{op_index + 1}-{number:03d}",
        "Opérateur": operator.name,
        "Réseau": operator.network,
        "Nom du site": name,
        "Adresse": "",
        "Code INSEE": commune["code"],
        "Commune": commune["name"],
        "Type d'offre": LABELS[offer],
        "Capacité": capacity,
        "Unité": unit,
        "Public accueilli": "",  # filled by _with_publics_and_activity
        "Année d'ouverture": str(year),
        "Statut": "en projet" if planned else "ouvert",
        "Confidentialité": confidentiality,
        "Longitude": lon,
        "Latitude": lat,
        "Communes couvertes": covered,
        "EPCI couvert": epci,
        "Fictif": FICTIONAL_MARK,
    }


def _point_in(geometry, rng) -> tuple[float, float]:
    """A random point inside a commune (rejection sampling in its bounds)."""
    minx, miny, maxx, maxy = geometry.bounds
    prepared = shapely.prepared.prep(geometry)
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(shapely.Point(x, y)):
            return x, y
    point = geometry.representative_point()
    return point.x, point.y


def demo_csv(frame: pd.DataFrame) -> bytes:
    """The demo file's bytes: ``;``-separated UTF-8 with BOM (as Excel writes it)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=";", index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8-sig")


def write_demo_file(path: Path = DEMO_FILE, store: Store | None = None) -> Path:
    path.write_bytes(demo_csv(demo_frame(store)))
    return path


def load_demo(registry, actor, rejects_dir: Path | None = None):
    """Import the fictional demo offer into ``registry``: administrators only (it writes
    sites of several invented operators)."""
    from operators.accounts import require_admin
    from operators.importer import import_file

    require_admin(actor, "Chargement de l'offre de démonstration")
    return import_file(DEMO_FILE, registry, fictional=True, geocoder=None, actor=actor,
                       rejects_dir=rejects_dir)
