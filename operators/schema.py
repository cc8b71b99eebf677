"""The one schema of the members' offer: operators, sites, offer types, confidentiality.

Every file an operator sends is brought onto these fields (see ``SCHEMA.md`` for the French
documentation). Vocabulary values (offer types, statuses, confidentiality levels, networks) are
stored as short codes; each code has a French label and the spellings met in members' files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from unidecode import unidecode


def normalize_text(value: object) -> str:
    """Lower-case ASCII words separated by single spaces (accents, case, punctuation removed)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _normalize(str(value))


@lru_cache(maxsize=65536)
def _normalize(value: str) -> str:
    text = unidecode(value).lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


# -- networks --------------------------------------------------------------------------------
NETWORKS: dict[str, str] = {
    "FAPIL": "FAPIL (Fédération des associations et des acteurs pour la promotion et "
    "l'insertion par le logement)",
    "SOLIHA": "SOLIHA (Solidaires pour l'habitat)",
    "UNAFO": "UNAFO (Union professionnelle du logement accompagné)",
    "AUTRE": "Autre réseau ou aucun",
}
NETWORK_SYNONYMS: dict[str, str] = {
    "fapil": "FAPIL",
    "soliha": "SOLIHA",
    "unafo": "UNAFO",
    "autre": "AUTRE",
    "aucun": "AUTRE",
    "sans": "AUTRE",
    "": "AUTRE",
}


def parse_network(value: object) -> str | None:
    """Network code (``AUTRE`` when empty), None when the name is not a known network."""
    key = normalize_text(value)
    if key in NETWORK_SYNONYMS:
        return NETWORK_SYNONYMS[key]
    for synonym, code in NETWORK_SYNONYMS.items():
        if synonym and key.startswith(synonym + " "):
            return code
    return None


# -- offer types -----------------------------------------------------------------------------
UNIT_DWELLINGS = "logements"
UNIT_PLACES = "places"
UNIT_MEASURES = "mesures"
UNITS: dict[str, list[str]] = {
    UNIT_DWELLINGS: ["logement", "logements", "lgt", "lgts", "log", "appartement", "appartements"],
    UNIT_PLACES: ["place", "places", "lit", "lits", "pl"],
    UNIT_MEASURES: ["mesure", "mesures", "menage", "menages", "accompagnement", "accompagnements"],
}


@dataclass(frozen=True)
class OfferType:
    """One type of offer as the sector names it."""

    code: str
    label: str
    family: str
    unit: str
    synonyms: tuple[str, ...] = ()
    area_based: bool = False  # a service covering communes rather than a place


FAMILIES: dict[str, str] = {
    "pension_de_famille": "Pension de famille / maison relais",
    "residence_sociale": "Résidence sociale (dont FJT, FTM)",
    "intermediation_locative": "Intermédiation locative",
    "diffus": "Logement d'insertion en diffus",
    "hebergement": "Hébergement",
    "accompagnement": "Service d'accompagnement",
}

OFFER_TYPES: tuple[OfferType, ...] = (
    OfferType(
        "pension_de_famille", "Pension de famille / maison relais", "pension_de_famille",
        UNIT_PLACES,
        ("pension de famille", "maison relais", "pf", "pension famille", "maisons relais",
         "pension de famille maison relais"),
    ),
    OfferType(
        "residence_accueil", "Résidence accueil", "pension_de_famille", UNIT_PLACES,
        ("residence accueil",),
    ),
    OfferType(
        "residence_sociale", "Résidence sociale", "residence_sociale", UNIT_DWELLINGS,
        ("residence sociale", "rs", "residence sociale generaliste"),
    ),
    OfferType(
        "fjt", "Foyer de jeunes travailleurs (FJT)", "residence_sociale", UNIT_DWELLINGS,
        ("fjt", "foyer de jeunes travailleurs", "residence sociale fjt", "rs fjt",
         "residence habitat jeunes", "habitat jeunes"),
    ),
    OfferType(
        "ftm", "Foyer de travailleurs migrants (FTM)", "residence_sociale", UNIT_DWELLINGS,
        ("ftm", "foyer de travailleurs migrants", "residence sociale ftm", "rs ftm",
         "residence sociale ex ftm", "rs ex ftm"),
    ),
    OfferType(
        "iml_sous_location", "Intermédiation locative – sous-location", "intermediation_locative",
        UNIT_DWELLINGS,
        ("sous location", "iml sous location", "intermediation locative sous location",
         "location sous location", "bail glissant", "sous location bail glissant"),
    ),
    OfferType(
        "iml_mandat_gestion", "Intermédiation locative – mandat de gestion",
        "intermediation_locative", UNIT_DWELLINGS,
        ("mandat de gestion", "iml mandat de gestion", "intermediation locative mandat de gestion",
         "gestion locative adaptee", "gla", "mandat", "ais", "agence immobiliere sociale"),
    ),
    OfferType(
        "iml", "Intermédiation locative (sans précision)", "intermediation_locative",
        UNIT_DWELLINGS, ("iml", "intermediation locative", "solibail", "louer solidaire"),
    ),
    OfferType(
        "moi", "Maîtrise d'ouvrage d'insertion (MOI)", "diffus", UNIT_DWELLINGS,
        ("moi", "maitrise d ouvrage d insertion", "logement d insertion moi", "diffus moi",
         "logement d insertion en diffus moi", "logement d insertion", "diffus",
         "logement d insertion en diffus"),
    ),
    OfferType(
        "anah", "Logement conventionné Anah", "diffus", UNIT_DWELLINGS,
        ("anah", "conventionne anah", "logement conventionne anah", "diffus anah",
         "conventionnement anah", "logement conventionne", "loc avantages loc2",
         "loc avantages loc 2", "loc avantages loc3", "loc avantages loc 3", "loc2", "loc 2",
         "loc3", "loc 3"),
    ),
    OfferType(
        "chrs", "Centre d'hébergement et de réinsertion sociale (CHRS)", "hebergement",
        UNIT_PLACES, ("chrs", "centre d hebergement et de reinsertion sociale"),
    ),
    OfferType(
        "chu", "Centre d'hébergement d'urgence (CHU)", "hebergement", UNIT_PLACES,
        ("chu", "hebergement d urgence", "centre d hebergement d urgence", "urgence"),
    ),
    OfferType(
        "hebergement_autre", "Autre hébergement (stabilisation, ALT…)", "hebergement",
        UNIT_PLACES,
        ("hebergement", "autre hebergement", "hebergement autre", "alt", "stabilisation",
         "hebergement de stabilisation", "hebergement d insertion", "logement temporaire"),
    ),
    OfferType(
        "avdl", "Accompagnement vers et dans le logement (AVDL)", "accompagnement",
        UNIT_MEASURES,
        ("avdl", "accompagnement vers et dans le logement", "accompagnement avdl"),
        area_based=True,
    ),
    OfferType(
        "fsl", "Accompagnement social lié au logement (FSL / ASLL)", "accompagnement",
        UNIT_MEASURES,
        ("fsl", "asll", "fsl asll", "accompagnement fsl", "accompagnement social lie au logement"),
        area_based=True,
    ),
    OfferType(
        "savs", "Service d'accompagnement à la vie sociale (SAVS)", "accompagnement",
        UNIT_MEASURES,
        ("savs", "service d accompagnement a la vie sociale"),
        area_based=True,
    ),
)
OFFER_TYPE_BY_CODE: dict[str, OfferType] = {t.code: t for t in OFFER_TYPES}
_OFFER_SYNONYMS: dict[str, str] = {}
for _type in OFFER_TYPES:
    for _synonym in (_type.code.replace("_", " "), normalize_text(_type.label), *_type.synonyms):
        _OFFER_SYNONYMS.setdefault(normalize_text(_synonym), _type.code)


# Spellings that are not an insertion offer, with the reason given to the user (checked before
# the synonyms: « Loc'Avantages Loc1 » must not fall on « Loc'Avantages »).
NOT_INSERTION_OFFER: dict[str, str] = {
    "loc avantages": "Loc'Avantages sans niveau : précisez Loc2 ou Loc3 en intermédiation "
    "locative (Loc1, loyer intermédiaire, n'est pas une offre d'insertion)",
    "loc avantages loc1": "Loc'Avantages Loc1 est un loyer intermédiaire, pas une offre "
    "d'insertion (seuls Loc2 et Loc3 en intermédiation locative en relèvent)",
    "loc avantages loc 1": "Loc'Avantages Loc1 est un loyer intermédiaire, pas une offre "
    "d'insertion (seuls Loc2 et Loc3 en intermédiation locative en relèvent)",
    "loc1": "Loc1 (Loc'Avantages) est un loyer intermédiaire, pas une offre d'insertion",
    "loc 1": "Loc1 (Loc'Avantages) est un loyer intermédiaire, pas une offre d'insertion",
    "louer abordable": "« Louer abordable » a été remplacé par Loc'Avantages en 2022 : "
    "précisez Loc2 ou Loc3 en intermédiation locative",
}


def not_insertion_reason(value: object) -> str | None:
    """Why a spelling is refused as an insertion offer (Loc1…), or None."""
    return NOT_INSERTION_OFFER.get(normalize_text(value))


def parse_offer_type(value: object) -> str | None:
    """Offer type code from a sector spelling ("Maison relais", "IML - sous-location"…)."""
    key = normalize_text(value)
    if not key or key in NOT_INSERTION_OFFER:
        return None
    if key in _OFFER_SYNONYMS:
        return _OFFER_SYNONYMS[key]
    # "Pension de famille « Les Tilleuls »": the longest known synonym the text starts with.
    starts = [s for s in _OFFER_SYNONYMS if len(s) > 3 and key.startswith(s + " ")]
    if starts:
        return _OFFER_SYNONYMS[max(starts, key=len)]
    return None


def offer_types_fr() -> str:
    """The accepted types, for error messages."""
    return ", ".join(t.label for t in OFFER_TYPES)


# -- status and confidentiality --------------------------------------------------------------
STATUS_OPEN = "ouvert"
STATUS_PLANNED = "en_projet"
STATUS_CLOSED = "ferme"  # kept in the registry so that snapshots can count the places closed
STATUSES: dict[str, str] = {STATUS_OPEN: "Ouvert", STATUS_PLANNED: "En projet",
                            STATUS_CLOSED: "Fermé"}
_STATUS_SYNONYMS = {
    "ouvert": STATUS_OPEN, "ouverte": STATUS_OPEN, "open": STATUS_OPEN, "en service": STATUS_OPEN,
    "en fonctionnement": STATUS_OPEN, "existant": STATUS_OPEN, "actif": STATUS_OPEN,
    "oui": STATUS_OPEN, "en activite": STATUS_OPEN,
    "en projet": STATUS_PLANNED, "projet": STATUS_PLANNED, "planned": STATUS_PLANNED,
    "prevu": STATUS_PLANNED, "prevue": STATUS_PLANNED, "en construction": STATUS_PLANNED,
    "en travaux": STATUS_PLANNED, "a venir": STATUS_PLANNED, "programme": STATUS_PLANNED,
    "ferme": STATUS_CLOSED, "fermee": STATUS_CLOSED, "closed": STATUS_CLOSED,
    "cesse": STATUS_CLOSED, "fin d activite": STATUS_CLOSED, "ferme definitivement": STATUS_CLOSED,
}


def parse_status(value: object) -> str | None:
    key = normalize_text(value)
    return STATUS_OPEN if not key else _STATUS_SYNONYMS.get(key)


CONF_PUBLIC = "public"
CONF_COMMUNE = "commune"
CONF_CONFIDENTIAL = "confidentiel"
CONFIDENTIALITY: dict[str, str] = {
    CONF_PUBLIC: "Public : nom, adresse et point visibles",
    CONF_COMMUNE: "Localisation à la commune : nom et commune visibles, ni adresse ni point précis",
    CONF_CONFIDENTIAL: "Confidentiel : compté seulement dans les totaux communaux (« < 3 » sous 3 sites)",
}
_CONF_SYNONYMS = {
    "public": CONF_PUBLIC, "publique": CONF_PUBLIC, "non": CONF_PUBLIC,
    "aucune": CONF_PUBLIC, "visible": CONF_PUBLIC, "diffusable": CONF_PUBLIC,
    "commune": CONF_COMMUNE, "a la commune": CONF_COMMUNE, "localisation commune": CONF_COMMUNE,
    "restreint": CONF_COMMUNE, "adresse masquee": CONF_COMMUNE,
    "confidentiel": CONF_CONFIDENTIAL, "confidentielle": CONF_CONFIDENTIAL, "oui": CONF_CONFIDENTIAL,
    "secret": CONF_CONFIDENTIAL, "true": CONF_CONFIDENTIAL,
    "vrai": CONF_CONFIDENTIAL, "x": CONF_CONFIDENTIAL, "non diffusable": CONF_CONFIDENTIAL,
    "false": CONF_PUBLIC, "faux": CONF_PUBLIC,
}


def parse_confidentiality(value: object) -> str | None:
    """Level code; an empty cell means public (the operator said nothing to hide)."""
    key = normalize_text(value)
    return CONF_PUBLIC if not key else _CONF_SYNONYMS.get(key)


# -- geocoding methods -----------------------------------------------------------------------
GEO_GIVEN = "fournies"
GEO_SWAPPED = "fournies_inversees"
GEO_LAMBERT93 = "fournies_lambert93"
GEO_BAN = "ban"
GEO_CACHE = "ban_cache"
GEO_COMMUNE = "point_commune"
GEO_AREA = "zone"
GEO_METHODS: dict[str, str] = {
    GEO_GIVEN: "coordonnées fournies, dans la commune déclarée",
    GEO_SWAPPED: "coordonnées fournies avec latitude et longitude inversées, corrigées",
    GEO_LAMBERT93: "coordonnées fournies en Lambert-93, converties en WGS84",
    GEO_BAN: "adresse géocodée par la Base Adresse Nationale",
    GEO_CACHE: "adresse géocodée par la Base Adresse Nationale (cache local)",
    GEO_COMMUNE: "point représentatif de la commune (localisation approximative)",
    GEO_AREA: "service couvrant une zone : pas de point",
}

GEO_SHORT: dict[str, str] = {
    GEO_GIVEN: "coordonnées fournies",
    GEO_SWAPPED: "coordonnées inversées corrigées",
    GEO_LAMBERT93: "coordonnées Lambert-93 converties",
    GEO_BAN: "géocodées BAN",
    GEO_CACHE: "géocodées BAN (cache)",
    GEO_COMMUNE: "au point de la commune",
    GEO_AREA: "services couvrant une zone",
}


# -- the site record -------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One field of the schema, with its French label (used in messages and exports)."""

    name: str
    label: str
    kind: str = "text"  # text, int, float, code, list
    required: bool = False
    description: str = ""
    synonyms: tuple[str, ...] = field(default=())


# Fields a member file can carry (matched by ``columns.match_columns``).
INPUT_FIELDS: tuple[Field, ...] = (
    Field("operator_name", "opérateur", required=True,
          description="Nom de l'organisme gestionnaire (ou option --operator)"),
    Field("network", "réseau", description="FAPIL, SOLIHA, UNAFO ou autre"),
    Field("operator_siren", "SIREN", "code", description="SIREN de l'opérateur (9 chiffres)"),
    Field("source_id", "identifiant", description="Identifiant du site chez l'opérateur"),
    Field("name", "nom du site"),
    Field("address", "adresse"),
    Field("postcode", "code postal", "code"),
    Field("commune_code", "code commune", "code",
          description="Code INSEE (COG) de la commune, ex. 01001, 2A004"),
    Field("commune_name", "commune"),
    Field("lon", "longitude", "float"),
    Field("lat", "latitude", "float"),
    Field("offer_type", "type d'offre", required=True),
    Field("capacity", "capacité", "float"),
    Field("capacity_unit", "unité de capacité"),
    Field("public", "public accueilli"),
    Field("opening_year", "année d'ouverture", "int"),
    Field("status", "statut"),
    Field("confidentiality", "confidentialité"),
    Field("coverage_communes", "communes couvertes", "list",
          description="Codes INSEE séparés par des virgules ou points-virgules"),
    Field("coverage_epci", "EPCI couvert", "code", description="SIREN de l'EPCI couvert"),
    Field("fictional", "fictif"),
    Field("finess_id", "numéro FINESS", "code",
          description="Numéro FINESS de l'établissement (9 caractères, commençant par le code "
                      "du département), facultatif : le site n'est alors compté qu'une fois "
                      "avec l'offre publique FINESS"),
    # Optional yearly activity (operators/activity.py): all empty means no activity reported.
    Field("activity_year", "année d'activité", "int",
          description="Année des données d'activité (sinon l'année précédente, signalée)"),
    Field("occupancy_rate", "taux d'occupation", "float", description="En %, de 0 à 100"),
    Field("households_entered", "ménages entrés", "int"),
    Field("households_left", "ménages sortis", "int"),
    Field("exits_to_housing", "sorties vers le logement ordinaire", "int",
          description="Ménages sortis vers un logement ordinaire (au plus les ménages sortis)"),
    Field("average_stay_months", "durée moyenne de séjour (mois)", "float"),
    Field("waiting_list", "liste d'attente", "int", description="Ménages en attente au 31/12"),
)
INPUT_FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in INPUT_FIELDS}

# Columns of a stored site (the repository's ``sites`` table, in this order).
SITE_COLUMNS: tuple[str, ...] = (
    "site_id", "operator_id", "operator_name", "network", "operator_siren", "source_id",
    "name", "address", "postcode", "commune_code", "commune_name", "dep_code",
    "commune_code_source", "lon", "lat", "geocode_method", "geocode_score", "geocode_label",
    "offer_type", "offer_family", "capacity", "capacity_unit", "public", "opening_year", "status",
    "confidentiality", "coverage_epci", "coverage_communes", "fictional", "flags",
    "duplicate_of", "publics", "finess_id", "source_file", "source_sha256", "source_row", "import_id",
    "created_at", "updated_at",
)

# Columns a public audience may see for a non-confidential site.
PUBLIC_SITE_COLUMNS: tuple[str, ...] = (
    "site_id", "operator_name", "network", "name", "address", "postcode", "commune_code",
    "commune_name", "dep_code", "lon", "lat", "geocode_method", "offer_type", "offer_family",
    "capacity", "capacity_unit", "public", "opening_year", "status", "confidentiality",
    "coverage_epci", "coverage_communes", "fictional", "updated_at", "publics",
)

# Columns an operator's file may carry that the importer itself writes (rejected-rows files).
REJECT_REASON_COLUMN = "motif_rejet"
REJECT_ROW_COLUMN = "ligne_source"
