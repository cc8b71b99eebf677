"""The publics a site receives: a fixed vocabulary (several per site) instead of free text.

Members wrote « public accueilli » as they pleased (« Jeunes 18-25 ans », « Sortants de prison
et femmes victimes de violences », « Ménages modestes »…). :func:`parse_publics` reads such text
into vocabulary codes: every part of the text (split on ``;``, ``,``, ``|``, ``+``, « et »,
line breaks) must be recognised by a usual spelling or a keyword of exactly one or more
publics; a part that names nothing of the vocabulary is kept aside and flagged (never guessed).
The original text stays in the site's ``public`` column; the codes go to ``publics``.

:data:`PUBLIC_FAMILIES` reads the publics against the families of offer (the neutral stand-in
for the need categories): which families usually answer each public. It is an indicative
reading of the sector's vocabulary, not a legal rule; the networks may correct it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from operators.schema import FAMILIES, normalize_text

SEPARATOR = ";"  # between codes in the ``publics`` column


@dataclass(frozen=True)
class Public:
    """One public of the vocabulary."""

    code: str
    label: str
    spellings: tuple[str, ...] = ()  # whole-part spellings (normalised on load)
    keywords: tuple[str, ...] = ()  # regular expressions searched in a normalised part


PUBLICS: tuple[Public, ...] = (
    Public("jeunes", "Jeunes de moins de 30 ans",
           ("jeunes", "jeunes de moins de 30 ans", "moins de 30 ans", "jeunes 16 30 ans",
            "jeunes 18 25 ans", "jeunes travailleurs", "jeunes de 16 a 30 ans", "moins de 26 ans"),
           (r"\bjeunes?\b", r"\bmoins de (25|26|30) ans\b", r"\b(16|18) (a )?(25|30) ans\b",
            r"\betudiants?\b", r"\bapprentis?\b", r"\balternants?\b")),
    Public("sortants_ase", "Sortants de l'aide sociale à l'enfance",
           ("ase", "sortants ase", "sortants de l ase", "jeunes majeurs ase", "sortants d ase",
            "sortants de l aide sociale a l enfance"),
           (r"\base\b", r"\baide sociale a l enfance\b", r"\bjeunes majeurs\b",
            r"\bcontrats? jeunes? majeurs?\b")),
    Public("sortants_prison", "Sortants de prison",
           ("sortants de prison", "sortants de detention", "personnes sous main de justice",
            "ppsmj", "justice"),
           (r"\bprison\b", r"\bdetention\b", r"\bmain de justice\b", r"\bppsmj\b",
            r"\bincarceration\b", r"\bplacement exterieur\b", r"\bspip\b")),
    Public("sante_psychique", "Sortants de psychiatrie / handicap psychique",
           ("sortants de psychiatrie", "handicap psychique", "souffrance psychique",
            "troubles psychiques", "personnes en souffrance psychique"),
           (r"\bpsychiatri", r"\bpsychique", r"\bsante mentale\b")),
    Public("femmes_violences", "Femmes victimes de violences",
           ("femmes victimes de violences", "fvv", "victimes de violences conjugales",
            "femmes victimes de violences conjugales"),
           (r"\bviolences?\b", r"\bfvv\b")),
    Public("familles_monoparentales", "Familles monoparentales",
           ("familles monoparentales", "famille monoparentale", "parents isoles",
            "meres isolees", "femmes seules avec enfants"),
           (r"\bmonoparent", r"\bparents? isoles?\b", r"\bmeres? isolees?\b",
            r"\bseules? avec enfants?\b")),
    Public("personnes_agees", "Personnes âgées isolées",
           ("personnes agees isolees", "personnes agees", "seniors", "retraites isoles"),
           (r"\bpersonnes agees\b", r"\bseniors?\b", r"\bvieillissant", r"\bplus de 60 ans\b")),
    Public("migrants_ages", "Travailleurs migrants âgés",
           ("travailleurs migrants ages", "travailleurs migrants", "chibanis", "ex ftm",
            "residents ftm", "migrants ages"),
           (r"\btravailleurs migrants\b", r"\bmigrants ages\b", r"\bchibanis?\b")),
    Public("gens_du_voyage", "Gens du voyage",
           ("gens du voyage", "voyageurs", "gens du voyage sedentarises"),
           (r"\bgens du voyage\b", r"\bvoyageurs\b", r"\bsedentaris")),
    Public("menages_dalo", "Ménages reconnus DALO",
           ("dalo", "menages dalo", "menages reconnus dalo", "prioritaires dalo",
            "menages prioritaires dalo"),
           (r"\bdalo\b", r"\bdroit au logement opposable\b")),
    Public("asile_refugies", "Demandeurs d'asile / réfugiés",
           ("demandeurs d asile", "refugies", "beneficiaires de la protection internationale",
            "bpi", "demandeurs d asile refugies"),
           (r"\basile\b", r"\brefugies?\b", r"\bprotection internationale\b", r"\bbpi\b")),
    Public("sans_domicile", "Personnes sans domicile",
           ("sans domicile", "personnes sans domicile", "sans abri", "personnes sans abri",
            "sdf", "personnes a la rue", "sans domicile fixe"),
           (r"\bsans (domicile|abri|logement)\b", r"\bsdf\b", r"\ba la rue\b")),
    Public("isoles_exclusion", "Personnes isolées en grande exclusion",
           ("personnes isolees en situation d exclusion", "personnes isolees en grande exclusion",
            "grande exclusion", "isoles en grande precarite"),
           (r"\bexclusion\b", r"\bgrande precarite\b")),
    Public("tout_public", "Tout public",
           ("tout public", "tous publics", "tous public", "public generaliste", "generaliste",
            "mixte", "tous menages"),
           (r"\btous? publics?\b", r"\bgeneraliste\b")),
)
PUBLIC_BY_CODE: dict[str, Public] = {p.code: p for p in PUBLICS}
LABELS: dict[str, str] = {p.code: p.label for p in PUBLICS}

_SPELLINGS: dict[str, str] = {}
for _public in PUBLICS:
    for _spelling in (_public.code.replace("_", " "), _public.label, *_public.spellings):
        _SPELLINGS.setdefault(normalize_text(_spelling), _public.code)
_KEYWORDS: list[tuple[re.Pattern, str]] = [
    (re.compile(pattern), p.code) for p in PUBLICS for pattern in p.keywords
]
_SPLIT = re.compile(r"[;,|+/\n]|\s(?:et|ou)\s", re.IGNORECASE)

# Which families of offer usually answer each public (indicative; see module docstring).
PUBLIC_FAMILIES: dict[str, tuple[str, ...]] = {
    "jeunes": ("residence_sociale", "intermediation_locative", "accompagnement"),
    "sortants_ase": ("residence_sociale", "intermediation_locative", "accompagnement"),
    "sortants_prison": ("hebergement", "intermediation_locative", "accompagnement"),
    "sante_psychique": ("pension_de_famille", "accompagnement"),
    "femmes_violences": ("hebergement", "intermediation_locative"),
    "familles_monoparentales": ("intermediation_locative", "diffus", "hebergement"),
    "personnes_agees": ("pension_de_famille", "residence_sociale"),
    "migrants_ages": ("residence_sociale",),
    "gens_du_voyage": ("diffus", "accompagnement"),
    "menages_dalo": ("intermediation_locative", "diffus", "accompagnement"),
    "asile_refugies": ("hebergement", "intermediation_locative"),
    "sans_domicile": ("hebergement", "pension_de_famille"),
    "isoles_exclusion": ("pension_de_famille", "hebergement"),
    "tout_public": tuple(FAMILIES),
}


@dataclass(frozen=True)
class ParsedPublics:
    """Codes read from a free text, and the parts left unrecognised."""

    codes: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def text(self) -> str | None:
        """The codes as stored (``jeunes;sortants_ase``), None when there is none."""
        return SEPARATOR.join(self.codes) or None


def parse_publics(value: object) -> ParsedPublics:
    """Vocabulary codes in a free text (several publics per text).

    >>> parse_publics("Jeunes 18-25 ans ; femmes victimes de violences").codes
    ('jeunes', 'femmes_violences')
    >>> parse_publics("Ménages modestes").unknown
    ('Ménages modestes',)
    """
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    if not text.strip():
        return ParsedPublics((), ())
    whole = normalize_text(text)
    if whole in _SPELLINGS:
        return ParsedPublics((_SPELLINGS[whole],), ())
    codes: list[str] = []
    unknown: list[str] = []
    for raw_part in _raw_parts(text):
        found = _codes_of(raw_part)
        if found:
            codes.extend(c for c in found if c not in codes)
        else:
            unknown.append(raw_part.strip())
    return ParsedPublics(tuple(codes), tuple(unknown))


def _raw_parts(text: str) -> list[str]:
    """The text cut at separators (original spellings kept for the messages)."""
    return [part.strip() for part in _SPLIT.split(text) if normalize_text(part)]


def _codes_of(part: str) -> list[str]:
    key = normalize_text(part)
    if not key:
        return []
    if key in _SPELLINGS:
        return [_SPELLINGS[key]]
    if key.replace(" ", "_") in PUBLIC_BY_CODE:
        return [key.replace(" ", "_")]
    found: list[str] = []
    for pattern, code in _KEYWORDS:
        if pattern.search(key) and code not in found:
            found.append(code)
    # « jeunes majeurs ASE » names the ASE public, not young people in general.
    if "sortants_ase" in found and "jeunes" in found and "jeunes majeurs" in key:
        found.remove("jeunes")
    return found


def flags_for(parsed: ParsedPublics, text: object) -> list[str]:
    """French flags for the import (what was recognised, what stays to classify)."""
    flags = []
    if parsed.unknown:
        parts = ", ".join(f"« {u} »" for u in parsed.unknown)
        flags.append(
            f"public accueilli : {parts} hors du vocabulaire des publics (gardé en texte, "
            "à préciser : voir SCHEMA.md)"
        )
    if parsed.codes and normalize_text(text) not in _SPELLINGS:
        flags.append(
            "public accueilli lu comme : " + ", ".join(LABELS[c] for c in parsed.codes)
        )
    return flags


def split_codes(value: object) -> list[str]:
    """The codes of a stored ``publics`` cell."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [c for c in str(value).split(SEPARATOR) if c in PUBLIC_BY_CODE]


def has_any(series: pd.Series, wanted: list[str] | set[str]) -> pd.Series:
    """Which sites receive at least one of the ``wanted`` publics (the map and table filter)."""
    chosen = set(wanted)
    return series.map(lambda cell: bool(chosen.intersection(split_codes(cell)))).astype(bool)


def explode(sites: pd.DataFrame, column: str = "public_code") -> pd.DataFrame:
    """One row per (site, public); a site without a known public gets « non renseigné »."""
    frame = pd.DataFrame(sites).copy()
    frame[column] = [split_codes(cell) or [UNKNOWN] for cell in frame.get("publics", [])]
    return frame.explode(column).reset_index(drop=True)


UNKNOWN = "non_renseigne"
LABELS_WITH_UNKNOWN: dict[str, str] = {**LABELS, UNKNOWN: "Public non renseigné ou à préciser"}


def families_for(codes: list[str]) -> set[str]:
    """Families of offer answering at least one of the publics."""
    return {family for code in codes for family in PUBLIC_FAMILIES.get(code, ())}


def mapping_table() -> pd.DataFrame:
    """The publics ↔ families reading, as a French table (app, reports, SCHEMA.md)."""
    rows = []
    for public in PUBLICS:
        rows.append({
            "Public": public.label,
            "Code": public.code,
            "Familles d'offre qui y répondent (lecture indicative)": ", ".join(
                FAMILIES[f] for f in PUBLIC_FAMILIES[public.code]
            ),
        })
    return pd.DataFrame(rows)
