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
PUBLICS = {
    "pension_de_famille": "Personnes isolées en situation d'exclusion",
    "residence_accueil": "Personnes en souffrance psychique",
    "residence_sociale": "Ménages à faibles ressources", "fjt": "Jeunes de 16 à 30 ans",
    "ftm": "Travailleurs migrants âgés", "iml_sous_location": "Ménages sortant d'hébergement",
    "iml_mandat_gestion": "Ménages modestes", "iml": "Ménages modestes",
    "moi": "Familles très modestes", "anah": "Ménages modestes",
    "chrs": "Personnes sans domicile", "chu": "Personnes sans abri",
    "hebergement_autre": "Personnes sans domicile", "avdl": "Ménages prioritaires (DALO)",
    "fsl": "Ménages en difficulté de maintien", "savs": "Adultes en situation de handicap",
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
    return frame


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
        "Public accueilli": PUBLICS[offer],
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
