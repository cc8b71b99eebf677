"""Row-level validation of a member file: every row becomes a typed site or a reasoned reject.

A reject names the row and the field (« ligne 7 : champ « capacité » : « douze » n'est pas un
nombre »). What is repaired or assumed is kept in the row's ``flags`` so that nothing is changed
silently. Missing is not zero: an empty capacity stays unknown (NaN), flagged.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import pandas as pd

import settings
from operators import activity, publics
from operators.cells import DEFAULT_MAX_LENGTH, MAX_LENGTH, clean_text, too_long
from operators.columns import ColumnMatch
from operators.communes import (
    CommuneIndex,
    carry_codes,
    normalize_code,
    parse_code_list,
    resolve_commune,
)
from operators.readers import RawTable
from operators.schema import (
    INPUT_FIELD_BY_NAME,
    NETWORKS,
    OFFER_TYPE_BY_CODE,
    UNITS,
    normalize_text,
    not_insertion_reason,
    offer_types_fr,
    parse_confidentiality,
    parse_network,
    parse_offer_type,
    parse_status,
)

_FALSE_WORDS = {"", "non", "no", "false", "faux", "0", "n"}


def label(field_name: str) -> str:
    spec = INPUT_FIELD_BY_NAME.get(field_name)
    return spec.label if spec else field_name


@dataclass
class Defaults:
    """Values given for the whole file (command line options or the app's form)."""

    operator_name: str | None = None
    network: str | None = None
    operator_siren: str | None = None
    fictional: bool = False


@dataclass
class Validated:
    """Valid rows (typed) and rejects (per row position, a list of (field label, message))."""

    rows: pd.DataFrame
    rejects: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def reason_fr(row_label: str, problems: list[tuple[str, str]]) -> str:
    """« ligne 7 : champ « capacité » : … ; champ « type d'offre » : … »."""
    parts = [
        f"champ « {name} » : {message}" if name != "ligne" else message
        for name, message in problems
    ]
    return f"{row_label} : " + " ; ".join(parts)


def validate(
    raw: RawTable, match: ColumnMatch, index: CommuneIndex, defaults: Defaults | None = None,
    carried_codes: dict[str, tuple[str | None, str | None]] | None = None,
) -> Validated:
    """Parse and check every row of ``raw``.

    ``carried_codes`` (code -> (current code, kind of change)) remembers the codes already
    carried onto the COG by earlier blocks of the same file.
    """
    defaults = defaults or Defaults()
    frame = raw.frame
    column_field = {col: name for name, col in match.fields.items()}
    for name, cols in match.multi.items():
        for col in cols:
            column_field[col] = name

    def cells(field_name: str) -> list[str]:
        column = match.fields.get(field_name)
        if column is None:
            return [""] * len(frame)
        return frame[column].tolist()

    # Every code of the file (sites and covered communes), carried onto the COG at once.
    site_codes = cells("commune_code")
    coverage_cells = cells("coverage_communes")
    normalized: list[str] = []
    for text in site_codes:
        code, _ = normalize_code(text, index)
        if code:
            normalized.append(code)
    for text in coverage_cells:
        for part in parse_code_list(text):
            code, _ = normalize_code(part, index)
            if code:
                normalized.append(code)
    carried, kinds = _carry(normalized, index, carried_codes)

    capacity_columns = [
        (column, frame[column].tolist())
        for column in match.multi.get("capacity")
        or ([match.fields["capacity"]] if "capacity" in match.fields else [])
    ]
    # Invisible and bidirectional characters removed from every stored text (operators.cells).
    columns = {name: [clean_text(v) for v in cells(name)] for name in INPUT_FIELD_BY_NAME}
    formulas_missing: dict[int, list[tuple[str, str]]] = {}
    for (pos, column), formula in raw.formulas_without_value.items():
        formulas_missing.setdefault(pos, []).append((column, formula))
    formulas_used: dict[int, list[str]] = {}
    for pos, column in sorted(raw.formula_values):
        formulas_used.setdefault(pos, []).append(column)
    records: list[dict] = []
    rejects: dict[int, list[tuple[str, str]]] = {}
    for position in range(len(frame)):
        row = {name: values[position] for name, values in columns.items()}
        problems: list[tuple[str, str]] = list(raw.row_errors.get(position, []))
        if any(name == "ligne" for name, _ in problems):
            # Cells shifted by a stray separator: the other fields' errors would only be noise.
            rejects[position] = problems
            continue
        flags: list[str] = []
        for name, text in row.items():
            problem = too_long(name, text)
            if problem:
                problems.append((label(name), problem))
                row[name] = text[: MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)]
        for column, formula in formulas_missing.get(position, []):
            problems.append((
                label(column_field[column]) if column in column_field else column,
                f"formule Excel sans valeur calculée ({formula}) : ouvrez et enregistrez le "
                "fichier dans Excel, ou remplacez la formule par sa valeur",
            ))
        for column in formulas_used.get(position, []):
            flags.append(f"valeur calculée par une formule (colonne « {column} »)")
        record = _parse_row(
            row, position, frame, capacity_columns, index, carried, kinds, defaults,
            problems, flags,
        )
        if problems:
            # Keep the first problem per field (a formula cell also fails its number parse).
            seen, unique = set(), []
            for name, message in problems:
                if name not in seen:
                    seen.add(name)
                    unique.append((name, message))
            rejects[position] = unique
            continue
        record["flags"] = flags
        record["row_label"] = raw.row_labels[position]
        record["row_number"] = raw.row_numbers[position]
        records.append(record)
    rows = pd.DataFrame.from_records(records, columns=VALID_COLUMNS)
    return Validated(rows=rows, rejects=rejects)


def _carry(
    codes: list[str], index: CommuneIndex,
    known: dict[str, tuple[str | None, str | None]] | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Current code and kind of change of each code (each code is carried on its own, so
    codes already carried for the file are not carried again)."""
    if known is None:
        carried, kinds, _ = carry_codes(codes, index)
        return carried, kinds
    unique = set(codes)
    fresh = sorted(unique - known.keys())
    if fresh:
        carried, kinds, _ = carry_codes(fresh, index)
        for code in fresh:
            known[code] = (carried.get(code), kinds.get(code))
    return (
        {c: known[c][0] for c in unique if known[c][0] is not None},
        {c: known[c][1] for c in unique if known[c][1] is not None},
    )


VALID_COLUMNS = [
    "pos", "row_label", "row_number", "operator_name", "network", "operator_siren", "finess_id",
    "source_id",
    "name", "address", "postcode", "commune_code", "commune_pending", "commune_error",
    "commune_name_input", "commune_code_source", "lon_in", "lat_in", "offer_type",
    "offer_family", "area_based", "capacity", "capacity_unit", "public", "opening_year",
    "status", "confidentiality", "confidentiality_given", "coverage_epci",
    "coverage_communes", "fictional", "flags", "publics", *activity.INPUT_COLUMNS,
]


_FINESS = re.compile(r"(\d{2}|2[AB])[0-9A-Z]{7}")


def parse_finess(text: str, commune_code: str | None, problems: list) -> str | None:
    """A FINESS number: 9 characters whose first two are the site's département (« 97 » for
    the overseas départements, 2A / 2B for Corsica). Spaces are ignored (« 23 000 123 4 »)."""
    finess = re.sub(r"\s", "", str(text)).upper()
    if not finess:
        return None
    if not _FINESS.fullmatch(finess):
        problems.append((label("finess_id"), f"« {text} » n'est pas un numéro FINESS (9 "
                         "caractères commençant par le code du département, ex. 230780012)"))
        return None
    if commune_code and finess[:2] != str(commune_code)[:2]:
        problems.append((label("finess_id"), f"« {text} » commence par « {finess[:2]} » mais "
                         f"la commune du site ({commune_code}) est dans le département "
                         f"« {str(commune_code)[:2]} »"))
        return None
    return finess


def _parse_row(row, position, frame, capacity_columns, index, carried, kinds, defaults,
               problems, flags) -> dict:
    operator = row["operator_name"] or (defaults.operator_name or "")
    if not operator:
        problems.append((label("operator_name"), "vide (colonne « opérateur » ou option --operator)"))

    network_text = row["network"] or (defaults.network or "")
    network = parse_network(network_text)
    if network is None:
        flags.append(f"réseau « {network_text} » non reconnu, classé AUTRE")
        network = "AUTRE"

    siren = re.sub(r"\s", "", row["operator_siren"] or (defaults.operator_siren or ""))
    if siren and not (re.fullmatch(r"\d{9}", siren) and _luhn_ok(siren)):
        problems.append((label("operator_siren"), f"« {siren} » n'est pas un SIREN valide"))

    postcode = row["postcode"].replace(" ", "")
    postcode = re.sub(r"[.,]0+$", "", postcode)
    if re.fullmatch(r"\d{4}", postcode):
        flags.append(f"code postal : zéro initial restitué ({postcode} → 0{postcode})")
        postcode = "0" + postcode
    elif postcode and not re.fullmatch(r"\d{5}", postcode):
        problems.append((label("postcode"), f"« {row['postcode']} » n'est pas un code postal"))

    offer_type = parse_offer_type(row["offer_type"])
    if offer_type is None:
        refused = not_insertion_reason(row["offer_type"])
        message = (
            f"« {row['offer_type']} » : {refused}" if refused else (
                "vide" if not row["offer_type"] else f"« {row['offer_type']} » non reconnu"
            ) + f" (types admis : {offer_types_fr()})"
        )
        problems.append((label("offer_type"), message))
        spec = None
    else:
        spec = OFFER_TYPE_BY_CODE[offer_type]

    if spec is not None and spec.area_based:
        row = _epci_in_commune_column(row, index, flags)
    resolution = resolve_commune(
        row["commune_code"], row["commune_name"], postcode, index, carried, kinds
    )
    flags.extend(resolution.flags)
    lon, lat = _parse_coordinates(row, problems)
    can_locate = (lon is not None) or bool(row["address"])
    area_based = bool(spec and spec.area_based)
    if resolution.code is None and area_based and not row["commune_code"] and not row["commune_name"]:
        resolution.error = None  # a service may be described by its area alone
    elif resolution.code is None and not (resolution.pending and can_locate):
        error = resolution.error or "commune introuvable"
        if not area_based and row["commune_name"] and index.epci_by_name(row["commune_name"]):
            error += (f" : « {row['commune_name']} » est un EPCI ; un lieu donne sa commune, "
                      "seul un service peut couvrir un EPCI")
        problems.append((label("commune_code"), error))

    finess = parse_finess(row.get("finess_id") or "", resolution.code, problems)

    capacity, capacity_text, capacity_column = math.nan, "", None
    for column, values in capacity_columns:
        if values[position]:
            capacity_text, capacity_column = values[position], column
            break
    if capacity_text:
        capacity = _parse_number(capacity_text)
        written_unit = None
        if capacity is None:
            capacity, written_unit = _number_with_unit(capacity_text)
            if capacity is not None:
                flags.append(f"capacité « {capacity_text} » lue comme {capacity:g} (unité écrite "
                             "dans la cellule)")
                if not row["capacity_unit"]:
                    row = {**row, "capacity_unit": written_unit}
        if capacity is None:
            problems.append((label("capacity"), f"« {capacity_text} » n'est pas un nombre"))
            capacity = math.nan
        elif capacity < 0 or not float(capacity).is_integer():
            problems.append((
                label("capacity"),
                f"« {capacity_text} » : un nombre entier positif ou nul est attendu",
            ))
            capacity = math.nan
        elif capacity > settings.CAPACITY_MAX:
            problems.append((
                label("capacity"),
                f"« {capacity_text} » : capacité invraisemblable pour un site (plus de "
                f"{settings.CAPACITY_MAX:,} ; vérifiez la cellule)".replace(",", "\u202f"),
            ))
            capacity = math.nan
        elif capacity > settings.CAPACITY_FLAG:
            flags.append(f"capacité {capacity:g} : très élevée pour un site (plus de "
                         f"{settings.CAPACITY_FLAG}), à vérifier")
    else:
        flags.append("capacité non renseignée (inconnue, pas zéro)")

    unit = _parse_unit(row["capacity_unit"]) or _unit_from_column(capacity_column)
    if row["capacity_unit"] and _parse_unit(row["capacity_unit"]) is None:
        problems.append((
            label("capacity_unit"),
            f"« {row['capacity_unit']} » non reconnue (logements, places ou mesures)",
        ))
    if unit is None and spec is not None:
        unit = spec.unit

    year = None
    if row["opening_year"]:
        year = _parse_year(row["opening_year"])
        if year is None:
            problems.append((
                label("opening_year"),
                f"« {row['opening_year']} » n'est pas une année (entre 1850 et "
                f"{dt.date.today().year + 15})",
            ))

    status = parse_status(row["status"])
    if status is None:
        problems.append((label("status"),
                         f"« {row['status']} » non reconnu (ouvert, en projet ou fermé)"))
    confidentiality = parse_confidentiality(row["confidentiality"])
    if confidentiality is None:
        problems.append((
            label("confidentiality"),
            f"« {row['confidentiality']} » non reconnu (public, commune ou confidentiel)",
        ))

    coverage_epci, coverage_communes = "", ""
    if spec is not None and spec.area_based:
        coverage_epci, coverage_communes = _coverage(
            row, index, carried, resolution.code, problems, flags
        )
    elif row["coverage_communes"] or row["coverage_epci"]:
        flags.append("zone couverte ignorée : ce type d'offre est un lieu, pas un service")

    parsed_publics = publics.parse_publics(row["public"])
    flags.extend(publics.flags_for(parsed_publics, row["public"]))
    yearly = activity.parse_activity(row, problems, flags)

    return {
        "pos": position,
        "row_label": None,
        "row_number": None,
        "operator_name": operator,
        "network": network if network in NETWORKS else "AUTRE",
        "operator_siren": siren or None,
        "finess_id": finess,
        "source_id": row["source_id"] or None,
        "name": row["name"] or None,
        "address": row["address"] or None,
        "postcode": postcode or None,
        "commune_code": resolution.code,
        "commune_pending": resolution.code is None,
        "commune_error": resolution.error,
        "commune_name_input": row["commune_name"] or None,
        "commune_code_source": row["commune_code"] or None,
        "lon_in": lon,
        "lat_in": lat,
        "offer_type": offer_type,
        "offer_family": spec.family if spec else None,
        "area_based": bool(spec and spec.area_based),
        "capacity": capacity,
        "capacity_unit": unit,
        "public": row["public"] or None,
        "opening_year": year,
        "status": status,
        "confidentiality": confidentiality,
        # An empty cell (or no column at all) says nothing: a site already stored keeps its
        # level (operators.importer), a new one is public.
        "confidentiality_given": bool(normalize_text(row["confidentiality"])),
        "coverage_epci": coverage_epci or None,
        "coverage_communes": coverage_communes or None,
        "fictional": defaults.fictional or normalize_text(row["fictional"]) not in _FALSE_WORDS,
        "publics": parsed_publics.text,
        **yearly,
    }


def _epci_in_commune_column(row: dict, index: CommuneIndex, flags: list[str]) -> dict:
    """A service whose commune column holds a 9-digit EPCI SIREN, or whose commune name is an
    EPCI's name (« Métropole Européenne de Lille »): that EPCI is its area, flagged."""
    code = re.sub(r"\s", "", row["commune_code"])
    code = re.sub(r"[.,]0+$", "", code)
    name = row["commune_name"]
    named = index.epci_by_name(name) if name and not index.by_name(name) else None
    by_siren = bool(re.fullmatch(r"\d{9}", code)) and bool(index.epci_members(code))
    if not by_siren:
        if named is None or (code and index.is_known(normalize_code(code, index)[0] or "")):
            return row
        code = named
    members = index.epci_members(code)
    epci = re.sub(r"[.,]0+$", "", re.sub(r"\s", "", row["coverage_epci"]))
    how = (f"SIREN d'EPCI « {code} » dans la colonne commune" if by_siren else
           f"commune « {name} » : c'est le nom d'un EPCI ({code})")
    if epci and epci != code:
        flags.append(f"{how} ignoré : la colonne EPCI donne déjà « {epci} »")
    else:
        flags.append(f"{how} : compris comme la zone couverte par le service "
                     f"({len(members)} communes)")
    keep_name = name if named is None or named != code else ""
    return {**row, "commune_code": "", "commune_name": keep_name, "coverage_epci": epci or code}


def _coverage(row, index: CommuneIndex, carried, commune_code, problems, flags):
    epci = re.sub(r"\s", "", row["coverage_epci"])
    epci = re.sub(r"[.,]0+$", "", epci)
    members: list[str] = []
    if epci:
        members = index.epci_members(epci)
        if not members:
            problems.append((label("coverage_epci"), f"« {epci} » n'est pas un EPCI (SIREN) connu"))
    codes: list[str] = []
    unknown: list[str] = []
    for part in parse_code_list(row["coverage_communes"]):
        code, _ = normalize_code(part, index)
        current = carried.get(code) if code else None
        if current is None:
            unknown.append(part)
        elif current not in codes:
            codes.append(current)
    if unknown:
        problems.append((
            label("coverage_communes"),
            "codes inconnus du COG 2025 : " + ", ".join(f"« {u} »" for u in unknown),
        ))
    if not epci and not codes:
        if commune_code:
            codes = [commune_code]
            flags.append("zone couverte non renseignée : limitée à la commune du site")
        else:
            problems.append((
                label("coverage_communes"),
                "zone couverte absente (liste de communes ou EPCI attendue pour un service)",
            ))
    return epci, ";".join(codes)


def _parse_coordinates(row, problems) -> tuple[float | None, float | None]:
    lon_text, lat_text = row["lon"], row["lat"]
    if not lon_text and not lat_text:
        return None, None
    if not lon_text or not lat_text:
        missing = "lat" if not lat_text else "lon"
        problems.append((label(missing), "absente alors que l'autre coordonnée est donnée"))
        return None, None
    lon, lat = _parse_number(lon_text), _parse_number(lat_text)
    if lon is None:
        problems.append((label("lon"), f"« {lon_text} » n'est pas un nombre"))
    if lat is None:
        problems.append((label("lat"), f"« {lat_text} » n'est pas un nombre"))
    if lon is None or lat is None:
        return None, None
    return lon, lat


_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


def _parse_number(text: str) -> float | None:
    """A number written the French or the English way (``1 234,5``, ``1234.5``)."""
    value = (text or "").strip().replace(" ", "").replace("\u202f", "")
    if not value:
        return None
    if "," in value and "." in value:
        value = value.replace(".", "").replace(",", ".")  # 1.234,5
    else:
        value = value.replace(",", ".")
    if not _NUMBER_RE.match(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


_WITH_UNIT_RE = re.compile(r"^\s*(?P<number>[+-]?\d[\d\s\u202f.,]*?)\s*(?P<unit>[^\d\s].*?)\s*$")


def _number_with_unit(text: str) -> tuple[float | None, str | None]:
    """``12 places`` → ``(12.0, "places")`` when the word is a known unit, else ``(None, None)``."""
    match = _WITH_UNIT_RE.match(text or "")
    if not match or _parse_unit(match["unit"].rstrip(".")) is None:
        return None, None
    number = _parse_number(match["number"])
    return (number, match["unit"].rstrip(".")) if number is not None else (None, None)


def _parse_unit(text: str) -> str | None:
    key = normalize_text(text)
    if not key:
        return None
    for unit, words in UNITS.items():
        if key in words:
            return unit
    return None


def _unit_from_column(column: str | None) -> str | None:
    key = normalize_text(column)
    if not key:
        return None
    for unit, words in UNITS.items():
        if any(word in key.split() for word in words):
            return unit
    return None


def _parse_year(text: str) -> int | None:
    value = text.strip()
    match = re.fullmatch(r"(\d{4})(?:[-/]\d{1,2}(?:[-/]\d{1,2})?)?(?:[T ].*)?", value)
    if not match:
        match = re.fullmatch(r"(?:\d{1,2}[/.-])?\d{1,2}[/.-](\d{4})", value)
    if not match:
        return None
    year = int(match.group(1))
    return year if 1850 <= year <= dt.date.today().year + 15 else None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
