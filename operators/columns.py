"""Flexible matching of a member file's column names onto the schema's fields.

Names are compared after :func:`schema.normalize_text` (accents, case and punctuation removed),
against the spellings met in members' files ("Code INSEE", "Nb logements", "Nombre de places"…).
An explicit mapping chosen by the user (in the app or with ``--colonne``) always wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from operators.schema import (
    INPUT_FIELD_BY_NAME,
    REJECT_REASON_COLUMN,
    REJECT_ROW_COLUMN,
    normalize_text,
)

# Spellings per field, already normalized or not (they are normalized below).
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "operator_name": (
        "operateur", "organisme", "gestionnaire", "organisme gestionnaire", "association",
        "structure gestionnaire", "nom operateur", "nom de l operateur", "nom gestionnaire",
        "porteur", "operator", "operator name", "adherent", "nom adherent",
    ),
    "finess_id": (
        "finess", "numero finess", "n finess", "no finess", "num finess", "finess et",
        "numero finess et", "finess etablissement", "numero finess etablissement", "nofinesset",
    ),
    "network": ("reseau", "federation", "reseau d appartenance", "network", "union"),
    "operator_siren": ("siren", "siren operateur", "n siren", "numero siren", "siren gestionnaire"),
    "source_id": (
        "identifiant", "id", "id site", "identifiant site", "code site", "reference",
        "ref", "ref site", "numero site", "n site", "site id", "id interne", "source id",
    ),
    "name": (
        "nom", "nom du site", "nom site", "site", "nom de la structure", "structure",
        "nom de l etablissement", "etablissement", "denomination", "libelle", "nom du dispositif",
        "dispositif", "name", "nom de la residence", "residence", "raison sociale",
    ),
    "address": (
        "adresse", "adresse postale", "adresse du site", "voie", "adresse 1", "adresse1",
        "rue", "numero et voie", "address", "adresse complete", "ligne adresse",
    ),
    "postcode": ("code postal", "cp", "cp commune", "code postale", "postcode", "zip"),
    "commune_code": (
        "code insee", "insee", "code commune", "code commune insee", "code insee commune",
        "codgeo", "code geo", "code geographique", "depcom", "com", "citycode", "code cog",
        "commune code", "n insee", "code officiel commune", "code officiel geographique",
        "insee com", "code insee de la commune",
    ),
    "commune_name": (
        "commune", "ville", "nom commune", "nom de la commune", "libelle commune", "localite",
        "city", "libgeo", "commune du site", "lib com",
    ),
    "lon": ("longitude", "lon", "long", "lng", "x", "coord x", "coordonnee x", "x wgs84", "xlong"),
    "lat": ("latitude", "lat", "y", "coord y", "coordonnee y", "y wgs84", "ylat"),
    "offer_type": (
        "type", "type d offre", "type offre", "type de structure", "type de dispositif",
        "categorie", "nature", "nature de l offre", "type de logement", "offre", "produit",
        "type d hebergement", "offer type", "catégorie d offre", "type de service",
    ),
    "capacity": (
        "capacite", "nb logements", "nombre de logements", "nb de logements", "logements",
        "nombre de places", "nb places", "nb de places", "places", "capacite totale",
        "capacite en places", "capacite en logements", "nb lgts", "nb lits", "nombre de lits",
        "lits", "capacity", "nombre de mesures", "nb mesures", "mesures", "volume",
    ),
    "capacity_unit": ("unite", "unite de capacite", "unite capacite", "capacity unit"),
    "public": (
        "public", "public accueilli", "publics", "public cible", "publics accueillis",
        "public vise", "type de public", "population accueillie",
    ),
    "opening_year": (
        "annee d ouverture", "annee ouverture", "ouverture", "date d ouverture",
        "date ouverture", "annee de mise en service", "mise en service", "annee",
        "opening year",
    ),
    "status": ("statut", "etat", "situation", "status", "statut du site"),
    "confidentiality": (
        "confidentialite", "confidentiel", "niveau de confidentialite", "site confidentiel",
        "diffusion", "adresse confidentielle", "confidential",
    ),
    "coverage_communes": (
        "communes couvertes", "communes d intervention", "territoire d intervention",
        "zone d intervention", "perimetre", "communes", "couverture", "codes communes couvertes",
        "liste des communes",
    ),
    "coverage_epci": ("epci", "epci couvert", "siren epci", "code epci", "epci d intervention"),
    "fictional": ("fictif", "donnees fictives", "fictional"),
    "activity_year": (
        "annee d activite", "annee de l activite", "annee de reference", "exercice",
        "annee des donnees d activite", "activite annee", "annee activite",
    ),
    "occupancy_rate": (
        "taux d occupation", "taux occupation", "occupation", "taux d occupation en",
        "taux d occupation annuel",
    ),
    "households_entered": (
        "menages entres", "entrees", "nombre d entrees", "nb entrees", "menages accueillis",
        "nombre de menages entres", "nouveaux menages",
    ),
    "households_left": (
        "menages sortis", "sorties", "nombre de sorties", "nb sorties",
        "nombre de menages sortis",
    ),
    "exits_to_housing": (
        "sorties vers le logement ordinaire", "sorties vers un logement ordinaire",
        "sorties logement ordinaire", "sorties vers le logement", "sorties vers logement",
        "sorties en logement", "sorties vers le logement autonome", "acces au logement",
    ),
    "average_stay_months": (
        "duree moyenne de sejour", "duree moyenne de sejour mois", "duree de sejour",
        "duree moyenne de sejour en mois", "dms", "duree moyenne d occupation",
    ),
    "waiting_list": (
        "liste d attente", "menages en attente", "nb en attente", "demandes en attente",
        "file d attente",
    ),
}
# Columns that the importer writes itself into a rejected-rows file: skipped on re-import.
IGNORED_COLUMNS = {normalize_text(REJECT_REASON_COLUMN), normalize_text(REJECT_ROW_COLUMN)}

_LOOKUP: dict[str, str] = {}
for _field, _names in COLUMN_SYNONYMS.items():
    for _name in (_field, *_names):
        _LOOKUP.setdefault(normalize_text(_name), _field)


MULTI_COLUMN_FIELDS = {"capacity"}


class ColumnMappingError(ValueError):
    """A mapping the user gave names an unknown column or field (French message)."""


@dataclass
class ColumnMatch:
    """Which source column feeds which field."""

    fields: dict[str, str] = field(default_factory=dict)  # field -> source column
    unmatched: list[str] = field(default_factory=list)  # source columns left aside
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # field -> columns competing
    # Fields read from several columns, the first non-empty cell winning ("Nb logements" and
    # "Nombre de places" in the same file: each row fills one).
    multi: dict[str, list[str]] = field(default_factory=dict)

    def source_of(self, field_name: str) -> str | None:
        return self.fields.get(field_name)

    def describe_fr(self) -> str:
        parts = [
            f"« {col} » → {INPUT_FIELD_BY_NAME[f].label}"
            for f, first in self.fields.items()
            for col in self.multi.get(f, [first])
        ]
        text = "Colonnes reconnues : " + (", ".join(parts) or "aucune")
        if self.unmatched:
            text += ". Colonnes ignorées : " + ", ".join(f"« {c} »" for c in self.unmatched)
        for name, cols in self.ambiguous.items():
            label = INPUT_FIELD_BY_NAME[name].label
            text += (
                f". Plusieurs colonnes pour « {label} » ("
                + ", ".join(f"« {c} »" for c in cols)
                + f") : « {cols[0]} » retenue"
            )
        return text


def field_for_column(column: str) -> str | None:
    """The schema field a column name stands for, or None."""
    key = normalize_text(column)
    if key in _LOOKUP:
        return _LOOKUP[key]
    # "Nb logements (au 31/12)", "Capacité totale en places 2024": a known name followed by
    # a qualifier. The longest known prefix wins; short names ("x", "id") never match this way.
    prefixes = [k for k in _LOOKUP if len(k) >= 5 and key.startswith(k + " ")]
    if prefixes:
        return _LOOKUP[max(prefixes, key=len)]
    return None


def match_columns(columns: list[str], explicit: dict[str, str] | None = None) -> ColumnMatch:
    """Match source columns to fields.

    Parameters
    ----------
    columns
        Column names as read from the file.
    explicit
        ``{source column: field name}`` chosen by the user; a field name may also be given by
        its French label ("code commune"). These win over the automatic matching.
    """
    match = ColumnMatch()
    taken: set[str] = set()
    for source, target in (explicit or {}).items():
        if source not in columns:
            raise ColumnMappingError(
                f"Correspondance de colonnes : la colonne « {source} » n'existe pas dans le "
                f"fichier (colonnes lues : {', '.join(columns)})."
            )
        name = _field_name(target)
        match.fields[name] = source
        taken.add(source)
    candidates: dict[str, list[str]] = {}
    for column in columns:
        if column in taken or normalize_text(column) in IGNORED_COLUMNS:
            continue
        name = field_for_column(column)
        if name is None or name in match.fields:
            if name is None and normalize_text(column):
                match.unmatched.append(column)
            continue
        candidates.setdefault(name, []).append(column)
    for name, cols in candidates.items():
        match.fields[name] = cols[0]
        if name in MULTI_COLUMN_FIELDS:
            match.multi[name] = cols
        elif len(cols) > 1:
            match.ambiguous[name] = cols
            match.unmatched.extend(cols[1:])
    return match


def _field_name(target: str) -> str:
    if target in INPUT_FIELD_BY_NAME:
        return target
    key = normalize_text(target)
    for spec in INPUT_FIELD_BY_NAME.values():
        if normalize_text(spec.label) == key:
            return spec.name
    if key in _LOOKUP:
        return _LOOKUP[key]
    known = ", ".join(spec.label for spec in INPUT_FIELD_BY_NAME.values())
    raise ColumnMappingError(
        f"Correspondance de colonnes : champ « {target} » inconnu (champs possibles : {known})."
    )


def header_score(cells: list[object]) -> int:
    """How many fields the cells of a row name (to find the header row).

    Distinct fields are counted: a header names each field once, while a data row whose tick
    columns all hold « x » (also a spelling of the longitude column) would otherwise outscore it.
    """
    return len({field_for_column(str(cell)) for cell in cells if cell is not None} - {None})
