"""The offer: places by type and commune, from the members' registry and public data.

Sources
-------
* The operators' registry (``operators``): each site has a commune, a type of offer, a
  capacity (dwellings, places or accompaniment measures) and a status (open / planned).
  Accompaniment services (AVDL, FSL, SAVS) cover an area — a list of communes or an EPCI —
  rather than a point: their capacity is spread over the covered communes in proportion to
  their households (population when the households are unknown).
* FINESS (when the ``finess`` dataset is in the store): shelters, résidences sociales and
  pensions de famille run outside the networks (categories 214, 219, 256, 257, 258, 259).
  Categories 442 (CPH) and 443 (CADA) belong to the asylum system: they form their own family
  (``asile``), shown apart and never counted as hébergement or in the insertion offer.
* RPLS (when the ``rpls`` dataset is in the store): social dwellings financed in PLAI, as
  context (not an insertion offer as such).

One capacity unit is taken as one household answered (a place of pension de famille, a
dwelling of résidence sociale or intermédiation locative, an accompaniment measure).

Minimal site columns accepted (names of the registry's ``sites`` table, aliases in brackets):
``site_id``, ``commune_code`` [``code``], ``offer_family`` or ``offer_type``, ``capacity``,
``status``; optional ``coverage_communes`` (list or codes separated by ``,``/``;``),
``coverage_epci``, ``confidentiality``, ``lon``, ``lat``, ``source_row``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from catalogues import datasets
from geodata.store import Store
from operators import schema

# Offer types used by the supply and gap models: the registry's families of offer.
TYPES: dict[str, str] = dict(schema.FAMILIES)
HOUSING_TYPES: tuple[str, ...] = tuple(t for t in TYPES if t != "accompagnement")
AREA_TYPE = "accompagnement"
PLAI_TYPE = "logement_social_plai"
ASYLUM_TYPE = "asile"
ASYLUM_LABEL = "Dispositif national d'asile (CADA, CPH – FINESS)"
TYPE_LABELS: dict[str, str] = {
    **TYPES, PLAI_TYPE: "Logements sociaux PLAI (RPLS)", ASYLUM_TYPE: ASYLUM_LABEL,
}

SOURCE_REGISTRY = "Registre des adhérents (données des opérateurs)"
STATUS_OPEN = schema.STATUS_OPEN
STATUS_PLANNED = schema.STATUS_PLANNED

# FINESS establishment categories → offer type (FINESS, published by the ANS).
FINESS_CATEGORIES: dict[str, str] = {
    "214": "hebergement",  # CHRS
    "219": "hebergement",  # autres centres d'accueil
    "256": "residence_sociale",  # foyers de travailleurs migrants
    "257": "residence_sociale",  # foyers de jeunes travailleurs
    "258": "pension_de_famille",  # maisons relais / pensions de famille
    "259": "residence_sociale",  # autres résidences sociales
    "442": ASYLUM_TYPE,  # centre provisoire d'hébergement (CPH), asylum system
    "443": ASYLUM_TYPE,  # centre d'accueil de demandeurs d'asile (CADA), asylum system
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "commune_code": ("commune_code", "code"),
    "offer": ("offer_family", "offer_type"),
}
_EXTRA_FAMILIES = {"logement_diffus": "diffus", "accompagnement": "accompagnement"}


class SupplyError(ValueError):
    """Unusable supply input (French message naming the field)."""


@dataclass
class SiteCheck:
    """Sites ready for the models, and the rows set aside with their reason."""

    valid: pd.DataFrame
    rejected: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary_fr(self) -> str:
        return f"{len(self.valid)} sites retenus, {len(self.rejected)} écartés."


# -- validation -----------------------------------------------------------------------------
def _pick(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def offer_family(value: object) -> str | None:
    """Offer type of the models (registry family) from a family, registry code or spelling."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return _offer_family_text(str(value).strip())


@lru_cache(maxsize=4096)
def _offer_family_text(text: str) -> str | None:
    if text in TYPES:
        return text
    if text in _EXTRA_FAMILIES:
        return _EXTRA_FAMILIES[text]
    if text in schema.OFFER_TYPE_BY_CODE:
        return schema.OFFER_TYPE_BY_CODE[text].family
    code = schema.parse_offer_type(text)
    return schema.OFFER_TYPE_BY_CODE[code].family if code else None


@lru_cache(maxsize=256)
def _status(text: str) -> str | None:
    return schema.parse_status(text)


def parse_codes(value: object) -> tuple[str, ...]:
    """Commune codes of a coverage cell: a list, or codes separated by ``,``, ``;``, ``|``."""
    if value is None:
        return ()
    if isinstance(value, float) and np.isnan(value):
        return ()
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        items = [str(v).strip() for v in value]
    else:
        items = re.split(r"[,;|\s]+", str(value).strip())
    return tuple(dict.fromkeys(i.zfill(5) if i.isdigit() else i.upper() for i in items if i))


def check_sites(
    sites: pd.DataFrame,
    current_codes: Iterable[str] | None = None,
    epci_members: Mapping[str, Iterable[str]] | None = None,
) -> SiteCheck:
    """Validate sites for the models; every row is kept or set aside with a French reason.

    Parameters
    ----------
    sites
        Registry rows (see the module docstring for the columns).
    current_codes
        Current commune codes (COG 2025); unknown codes are rejected. None: not checked.
    epci_members
        ``{epci_code: commune codes}`` to expand ``coverage_epci`` of area services.

    Returns
    -------
    :class:`SiteCheck` whose ``valid`` frame has ``site_id, code, offer_type, capacity,
    status, area, covered, confidentiality`` and whose ``rejected`` frame has the original
    columns plus ``ligne`` and ``motif``.
    """
    code_col = _pick(sites, _ALIASES["commune_code"])
    offer_col = _pick(sites, _ALIASES["offer"])
    missing = [
        label
        for label, col in (
            ("code commune (commune_code)", code_col),
            ("type d'offre (offer_family ou offer_type)", offer_col),
            ("capacité (capacity)", "capacity" if "capacity" in sites.columns else None),
            ("identifiant (site_id)", "site_id" if "site_id" in sites.columns else None),
        )
        if col is None
    ]
    if missing:
        raise SupplyError("Sites : colonne(s) obligatoire(s) absente(s) : " + ", ".join(missing))
    current = set(map(str, current_codes)) if current_codes is not None else None
    epci_members = {str(k): tuple(map(str, v)) for k, v in (epci_members or {}).items()}

    rows, rejected = [], []
    frame = sites.reset_index(drop=True)
    if "coverage_communes" not in frame.columns:
        frame["coverage_communes"] = None
    capacities = pd.to_numeric(frame["capacity"], errors="coerce").to_numpy(dtype=float)
    for position, record in enumerate(frame.to_dict("records")):
        line = record.get("source_row")
        line = int(line) if line is not None and pd.notna(line) else position + 1
        site_id = str(record.get("site_id") or "").strip()
        where = f"ligne {line}" + (f" (site {site_id})" if site_id else "")
        reasons: list[str] = []
        if not site_id:
            reasons.append("champ « identifiant » vide")
        offer = offer_family(record.get(offer_col))
        if offer is None:
            reasons.append(f"champ « type d'offre » : « {record.get(offer_col)} » non reconnu")
        covered = parse_codes(record.get("coverage_communes"))
        epci = str(record.get("coverage_epci") or "").strip()
        if epci and epci.lower() not in {"nan", "none"}:
            if epci in epci_members:
                covered = tuple(dict.fromkeys((*covered, *epci_members[epci])))
            else:
                reasons.append(f"champ « EPCI couvert » : {epci} inconnu")
        code = str(record.get(code_col) or "").strip().upper()
        if code.isdigit():
            code = code.zfill(5)
        if not code or code in {"NAN", "NONE"}:
            code = ""
            if offer != AREA_TYPE or not covered:
                reasons.append("champ « code commune » vide")
        elif current is not None and code not in current:
            reasons.append(f"champ « code commune » : {code} n'est pas une commune du COG 2025")
        capacity = capacities[position]
        if np.isnan(capacity):
            reasons.append("champ « capacité » vide ou non numérique (une capacité absente "
                           "n'est pas zéro)")
        elif capacity < 0:
            reasons.append(f"champ « capacité » négatif ({capacity:g})")
        status_raw = record.get("status")
        status = _status(str(status_raw) if pd.notna(status_raw) else "")
        if status is None:
            reasons.append(f"champ « statut » : « {status_raw} » non reconnu (ouvert / en projet / fermé)")
        if current is not None and covered:
            unknown = [c for c in covered if c not in current]
            if unknown:
                reasons.append(
                    "champ « communes couvertes » : code(s) inconnu(s) " + ", ".join(unknown[:5])
                )
        if reasons:
            rejected.append({**record, "ligne": line, "motif": f"{where} : " + " ; ".join(reasons)})
            continue
        rows.append(
            {
                "site_id": site_id,
                "code": code,
                "offer_type": offer,
                "capacity": float(capacity),
                "status": status,
                "area": bool(covered) and offer == AREA_TYPE,
                "covered": covered if offer == AREA_TYPE else (),
                "confidentiality": record.get("confidentiality", schema.CONF_PUBLIC),
            }
        )
    columns = ["site_id", "code", "offer_type", "capacity", "status", "area", "covered",
               "confidentiality"]
    valid = pd.DataFrame(rows, columns=columns)
    duplicated = valid["site_id"].duplicated(keep="first")
    notes = []
    if duplicated.any():
        for record in valid[duplicated].to_dict("records"):
            rejected.append(
                {**record, "ligne": None,
                 "motif": f"site {record['site_id']} : identifiant en double, ligne ignorée"}
            )
        valid = valid[~duplicated].reset_index(drop=True)
    if ((valid["offer_type"] != AREA_TYPE) & valid["covered"].map(bool)).any():
        notes.append("Des communes couvertes sont indiquées pour des sites qui ne sont pas des "
                     "services d'accompagnement : elles sont ignorées.")
    return SiteCheck(valid=valid, rejected=pd.DataFrame(rejected), notes=notes)


def attach_coverage(sites: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Put the registry's coverage table (``site_id, commune_code``) on the sites as lists.

    ``operators.repository.Repository.coverage()`` gives the communes each area service
    covers (EPCI already expanded); the sites' own ``coverage_communes`` cell is kept when the
    table has no row for the site.
    """
    lists = coverage.groupby(coverage["site_id"].astype(str))["commune_code"].agg(
        lambda s: tuple(dict.fromkeys(s.astype(str)))
    )
    out = sites.copy()
    from_table = out["site_id"].astype(str).map(lists)
    own = out["coverage_communes"] if "coverage_communes" in out.columns else None
    out["coverage_communes"] = [
        table if isinstance(table, tuple) else (own.iloc[i] if own is not None else None)
        for i, table in enumerate(from_table)
    ]
    return out


# -- capacity by commune --------------------------------------------------------------------
def point_supply(valid: pd.DataFrame, statuses: Iterable[str] = (STATUS_OPEN,)) -> pd.DataFrame:
    """Places located in a commune: ``code, offer_type, capacity, n_sites`` (long)."""
    chosen = valid[valid["status"].isin(list(statuses)) & ~valid["area"]]
    out = chosen.groupby(["code", "offer_type"], as_index=False).agg(
        capacity=("capacity", "sum"), n_sites=("site_id", "size")
    )
    out["source"] = SOURCE_REGISTRY
    return out


def area_services(valid: pd.DataFrame, statuses: Iterable[str] = (STATUS_OPEN,)) -> pd.DataFrame:
    """Accompaniment services covering a list of communes: one row per service."""
    chosen = valid[valid["status"].isin(list(statuses)) & valid["area"]]
    return chosen[["site_id", "code", "offer_type", "capacity", "covered"]].reset_index(drop=True)


def spread_services(services: pd.DataFrame, weights: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Spread each service's capacity over its covered communes in proportion to ``weights``.

    A service whose covered communes all lack a weight is spread evenly (noted). Returns the
    long table ``code, offer_type, capacity, n_sites`` and French notes.
    """
    weights = weights.copy()
    weights.index = weights.index.astype(str)
    notes: list[str] = []
    parts = []
    for record in services.to_dict("records"):
        covered = list(record["covered"])
        w = pd.to_numeric(weights.reindex(covered), errors="coerce")
        if w.isna().any() or w.sum() <= 0:
            notes.append(
                f"Service {record['site_id']} : poids inconnus pour "
                f"{int(w.isna().sum())} commune(s) couverte(s) ; capacité répartie à parts égales."
            )
            w = pd.Series(1.0, index=covered)
        share = w / w.sum()
        parts.append(
            pd.DataFrame(
                {
                    "code": covered,
                    "offer_type": record["offer_type"],
                    "capacity": record["capacity"] * share.to_numpy(),
                    "n_sites": 1,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["code", "offer_type", "capacity", "n_sites", "source"]), notes
    out = pd.concat(parts, ignore_index=True)
    out = out.groupby(["code", "offer_type"], as_index=False).agg(
        capacity=("capacity", "sum"), n_sites=("n_sites", "sum")
    )
    out["source"] = SOURCE_REGISTRY + " (services répartis sur les communes couvertes)"
    return out, notes


# -- public data ----------------------------------------------------------------------------
@dataclass
class PublicSupply:
    """Public offer read from the store, with the sources used and what is missing."""

    table: pd.DataFrame  # code, offer_type, capacity (NaN = unknown), n_sites, source
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _manifest_label(store: Store, dataset: str, default: str) -> str:
    manifest = store.manifest(dataset)
    if manifest is None:
        return default
    return f"{manifest.source or default}, {manifest.producer}, {manifest.vintage} ({manifest.licence})"


def finess_with_capacity(finess: pd.DataFrame, equipments: pd.DataFrame) -> pd.DataFrame:
    """The FINESS extract with a ``capacity`` column from the « équipements sociaux » extract
    (installed places, else authorised ones; missing when neither is published)."""
    if "finess_id" not in finess.columns or "finess_id" not in equipments.columns or (
            _pick(finess, ("capacity", "capacite", "places")) is not None):
        return finess
    caps = equipments.drop_duplicates("finess_id").set_index("finess_id")
    installed = finess["finess_id"].map(caps.get("capacity_installed", pd.Series(dtype=float)))
    authorised = finess["finess_id"].map(caps.get("capacity_authorised", pd.Series(dtype=float)))
    return finess.assign(capacity=installed.where(installed.notna(), authorised))


def registry_finess_ids(sites: pd.DataFrame | None) -> set[str]:
    """FINESS numbers carried by the members' sites (the optional « numéro FINESS »)."""
    if sites is None or "finess_id" not in sites.columns:
        return set()
    values = sites["finess_id"].dropna().astype(str).str.replace(r"\s", "", regex=True)
    return {v.upper() for v in values if v}


def finess_supply(
    finess: pd.DataFrame, source: str = "FINESS", counted_elsewhere: set[str] | None = None
) -> pd.DataFrame:
    """Establishments of the insertion categories per commune and offer type.

    The Etalab FINESS extract carries no capacity: ``capacity`` is then missing (unknown, not
    zero) and only ``n_sites`` is filled. Establishments whose FINESS number is in
    ``counted_elsewhere`` (members' sites carrying their number) are left out, so that a
    place is counted once; how many is in ``attrs["counted_once"]``.
    """
    category = _pick(finess, ("category", "categorie", "category_code", "categetab"))
    code = _pick(finess, ("code", "commune_code", "code_commune"))
    if category is None or code is None:
        raise SupplyError("FINESS : colonnes « catégorie » et « code commune » attendues.")
    capacity = _pick(finess, ("capacity", "capacite", "places"))
    finess = finess[finess[code].notna()]
    number = _pick(finess, ("finess_id", "nofinesset", "finess"))
    dropped = 0
    if counted_elsewhere and number is not None:
        ids = finess[number].astype(str).str.replace(r"\s", "", regex=True).str.upper()
        keep = ~ids.isin(counted_elsewhere)
        dropped = int((~keep).sum())
        finess = finess[keep]
    frame = pd.DataFrame(
        {
            "code": finess[code].astype(str),
            "offer_type": finess[category].astype(str).str.strip().map(FINESS_CATEGORIES),
            "capacity": pd.to_numeric(finess[capacity], errors="coerce") if capacity else np.nan,
        }
    ).dropna(subset=["offer_type"])
    out = frame.groupby(["code", "offer_type"], as_index=False).agg(
        capacity=("capacity", lambda s: s.sum(min_count=len(s))), n_sites=("code", "size")
    )
    out["source"] = source
    out.attrs["counted_once"] = dropped
    return out


def rpls_supply(rpls: pd.DataFrame, source: str = "RPLS") -> pd.DataFrame:
    """PLAI social dwellings per commune (context offer type ``logement_social_plai``)."""
    code = _pick(rpls, ("code", "commune_code"))
    plai = "social_dwellings_plai" if "social_dwellings_plai" in rpls.columns else next(
        (c for c in rpls.columns if "plai" in c.lower() and "share" not in c.lower()), None
    )
    if code is None or plai is None:
        raise SupplyError("RPLS : colonnes « code » et « logements PLAI » attendues.")
    return pd.DataFrame(
        {
            "code": rpls[code].astype(str),
            "offer_type": PLAI_TYPE,
            "capacity": pd.to_numeric(rpls[plai], errors="coerce"),
            "n_sites": np.nan,
            "source": source,
        }
    )


def public_supply(
    store: Store | None = None, counted_elsewhere: set[str] | None = None
) -> PublicSupply:
    """FINESS and RPLS offer when their datasets are in the store (absent offline: noted).

    ``counted_elsewhere``: FINESS numbers of members' sites (:func:`registry_finess_ids`),
    left out of the public offer so that each place is counted once."""
    store = store or Store()
    parts, sources, notes = [], [], []
    if store.exists(datasets.FINESS):
        label = _manifest_label(store, datasets.FINESS, "FINESS")
        finess = store.read(datasets.FINESS)
        if store.exists(datasets.FINESS_EQUIPMENTS):
            finess = finess_with_capacity(finess, store.read(datasets.FINESS_EQUIPMENTS))
        table = finess_supply(finess, label, counted_elsewhere)
        parts.append(table)
        sources.append(label)
        if table.attrs.get("counted_once"):
            notes.append(f"FINESS : {table.attrs['counted_once']} établissement(s) porté(s) par "
                         "un site d'adhérent (numéro FINESS) compté(s) une fois, avec l'offre "
                         "des adhérents.")
        if table["capacity"].isna().any():
            notes.append("FINESS : capacités non publiées dans l'extrait ; établissements comptés, "
                         "places non comptées dans l'écart.")
    else:
        notes.append("FINESS absent du stock local : offre publique d'hébergement non comptée.")
    if store.exists(datasets.RPLS):
        label = _manifest_label(store, datasets.RPLS, "RPLS")
        parts.append(rpls_supply(store.read(datasets.RPLS), label))
        sources.append(label)
    else:
        notes.append("RPLS absent du stock local : logements PLAI non indiqués.")
    columns = ["code", "offer_type", "capacity", "n_sites", "source"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return PublicSupply(table=table[columns], sources=sources, notes=notes)


def households_from_store(store: Store | None = None) -> tuple[pd.Series, str]:
    """Households per commune: Filosofi 2021, else the comparateur (census) where missing."""
    store = store or Store()
    series: pd.Series | None = None
    labels = []
    for dataset in (datasets.FILOSOFI_COMMUNES, datasets.COMPARATEUR):
        if not store.exists(dataset):
            continue
        frame = store.read(dataset)
        if "households" not in frame.columns:
            continue
        values = pd.Series(
            pd.to_numeric(frame["households"], errors="coerce").to_numpy(),
            index=frame["code"].astype(str),
        )
        series = values if series is None else series.combine_first(values)
        labels.append(_manifest_label(store, dataset, dataset))
    if series is None:
        return pd.Series(dtype=float, name="households"), "ménages : aucune source dans le stock"
    return series.rename("households"), " ; ".join(labels)


# -- tables ---------------------------------------------------------------------------------
def supply_by_commune(
    parts: Iterable[pd.DataFrame],
    codes: Iterable[str],
    types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Wide table: one row per commune, ``capacity_<type>``, ``n_sites_<type>``, totals.

    Missing capacities (FINESS without places) stay missing in the type column; the total
    ``capacity_total`` sums the housing types whose capacity is known (``capacity_unknown_sites``
    counts establishments whose places are unknown).
    """
    types = list(types or TYPES)
    long = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else None
    index = pd.Index(list(map(str, codes)), name="code")
    out = pd.DataFrame(index=index)
    if long is None or long.empty:
        long = pd.DataFrame(columns=["code", "offer_type", "capacity", "n_sites"])
    long = long.assign(code=long["code"].astype(str))
    unknown_sites = long[long["capacity"].isna()].groupby("code")["n_sites"].sum()
    for offer in types:
        rows = long[long["offer_type"] == offer]
        out[f"capacity_{offer}"] = (
            rows.groupby("code")["capacity"].sum(min_count=1).reindex(index).fillna(0.0)
        )
        out[f"n_sites_{offer}"] = (
            rows.groupby("code")["n_sites"].sum(min_count=1).reindex(index).fillna(0.0)
        )
    housing = [f"capacity_{t}" for t in types if t in HOUSING_TYPES]
    out["capacity_housing"] = out[housing].sum(axis=1)
    out["capacity_total"] = out[[f"capacity_{t}" for t in types if t in TYPES]].sum(axis=1)
    out["capacity_unknown_sites"] = unknown_sites.reindex(index).fillna(0.0)
    return out


def supply_rates(
    table: pd.DataFrame,
    households: pd.Series,
    need_households: pd.Series | None = None,
    by: pd.Series | None = None,
) -> pd.DataFrame:
    """Supply per 1,000 households and per 100 households in need, by commune or territory.

    Parameters
    ----------
    table
        From :func:`supply_by_commune` (indexed by code).
    households, need_households
        Indexed by code. A missing denominator gives a missing rate (never 0, never inf).
    by
        Optional grouping (e.g. ``dep_code`` indexed by code): rates of the summed figures.
    """
    capacity_cols = [c for c in table.columns if c.startswith("capacity_") and
                     c != "capacity_unknown_sites"]
    frame = table[capacity_cols].copy()
    frame["households"] = _by_code(households, frame.index)
    frame["need_households"] = (
        _by_code(need_households, frame.index) if need_households is not None else np.nan
    )
    if by is not None:
        groups = _by_code(by, frame.index)
        # A territory with one commune of unknown denominator has an unknown total.
        incomplete = frame[["households", "need_households"]].isna().groupby(groups).any()
        frame = frame.groupby(groups).sum(min_count=1)
        frame[["households", "need_households"]] = frame[
            ["households", "need_households"]
        ].where(~incomplete)
    out = pd.DataFrame(index=frame.index)
    for column in capacity_cols:
        name = column.removeprefix("capacity_")
        out[f"per_1000_households_{name}"] = _safe_rate(frame[column], frame["households"], 1000)
        out[f"per_100_need_{name}"] = _safe_rate(frame[column], frame["need_households"], 100)
    out["households"] = frame["households"]
    out["need_households"] = frame["need_households"]
    return out


def _by_code(values: pd.Series, index: pd.Index) -> pd.Series:
    series = values.copy()
    series.index = series.index.astype(str)
    return series.reindex(index)


def _safe_rate(numerator: pd.Series, denominator: pd.Series, scale: float) -> pd.Series:
    denominator = pd.to_numeric(denominator, errors="coerce")
    positive = denominator > 0
    rate = numerator.astype(float) / denominator.where(positive) * scale
    return rate.where(positive)


# -- public establishments (FINESS) --------------------------------------------------------------
# Families of the public offer read in FINESS, in display order; the asylum system last, apart.
PUBLIC_FAMILIES: dict[str, str] = {
    "hebergement": "Hébergement (CHRS, autres centres d'accueil)",
    "residence_sociale": "Résidences sociales (dont FJT, FTM)",
    "pension_de_famille": "Pensions de famille – maisons relais",
    ASYLUM_TYPE: ASYLUM_LABEL,
}
INSERTION_PUBLIC_FAMILIES = tuple(f for f in PUBLIC_FAMILIES if f != ASYLUM_TYPE)
NOT_AVAILABLE = "non disponible"


@dataclass
class PublicEstablishments:
    """FINESS establishments with their family and capacity, or why there are none.

    ``points`` has ``finess_id, name, category, category_label, family, family_label, code,
    capacity, capacity_basis, geolocated, lon, lat`` (capacity missing = not published, never
    zero); ``available`` is False when FINESS is not in the store (then « non disponible »).
    """

    points: pd.DataFrame
    available: bool
    source: str = ""
    notes: list[str] = field(default_factory=list)


def establishments_from(
    finess: pd.DataFrame, equipments: pd.DataFrame | None = None
) -> pd.DataFrame:
    """FINESS points of the kept categories, with family and capacity.

    The capacity is the installed capacity of the « équipements sociaux » extract, joined on
    the FINESS number; the authorised capacity where no installed one is published
    (``capacity_basis`` says which); missing when neither is.
    """
    category = _pick(finess, ("category", "categorie", "categetab"))
    code = _pick(finess, ("code", "commune_code"))
    if category is None or code is None:
        raise SupplyError("FINESS : colonnes « catégorie » et « code commune » attendues.")
    frame = pd.DataFrame(finess).copy()
    frame["category"] = frame[category].astype(str).str.strip()
    frame["code"] = frame[code].astype("string").astype(object)
    frame["family"] = frame["category"].map(FINESS_CATEGORIES)
    frame = frame[frame["family"].notna()].copy()
    frame["family_label"] = frame["family"].map(PUBLIC_FAMILIES)
    if "geometry" in frame.columns:
        geometry = gpd_points(frame["geometry"])
        frame["lon"], frame["lat"] = geometry
    for column in ("lon", "lat"):
        if column not in frame.columns:
            frame[column] = np.nan
    frame["capacity"] = np.nan
    frame["capacity_basis"] = None
    if equipments is not None and len(equipments) and "finess_id" in frame.columns:
        caps = equipments.drop_duplicates("finess_id").set_index("finess_id")
        installed = frame["finess_id"].map(caps.get("capacity_installed", pd.Series(dtype=float)))
        authorised = frame["finess_id"].map(caps.get("capacity_authorised", pd.Series(dtype=float)))
        frame["capacity"] = installed.where(installed.notna(), authorised)
        frame["capacity_basis"] = np.where(
            installed.notna(), "installée", np.where(authorised.notna(), "autorisée", None)
        )
    keep = ["finess_id", "name", "category", "category_label", "family", "family_label", "code",
            "capacity", "capacity_basis", "geolocated", "lon", "lat"]
    for column in keep:
        if column not in frame.columns:
            frame[column] = None
    return frame[keep].reset_index(drop=True)


def gpd_points(geometry: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of point geometries (NaN where missing)."""
    lon = np.array([g.x if g is not None and not g.is_empty else np.nan for g in geometry])
    lat = np.array([g.y if g is not None and not g.is_empty else np.nan for g in geometry])
    return lon, lat


def public_establishments(store: Store | None = None) -> PublicEstablishments:
    """FINESS establishments from the store: the Etalab extract, else the ANS feed; capacities
    from the « équipements sociaux » extract when present. « Non disponible » otherwise."""
    store = store or Store()
    columns = ["finess_id", "name", "category", "category_label", "family", "family_label",
               "code", "capacity", "capacity_basis", "geolocated", "lon", "lat"]
    dataset = next((d for d in (datasets.FINESS, "finess_ans") if store.exists(d)), None)
    if dataset is None:
        return PublicEstablishments(
            points=pd.DataFrame(columns=columns), available=False,
            notes=["Offre publique (FINESS) non disponible : ni l'extraction FINESS ni le flux "
                   "de l'ANS ne sont dans le stock local."],
        )
    label = _manifest_label(store, dataset, "FINESS")
    notes: list[str] = []
    equipments = None
    if store.exists("finess_equipements"):
        equipments = pd.DataFrame(store.read("finess_equipements"))
        label += " ; capacités : " + _manifest_label(store, "finess_equipements",
                                                       "FINESS, équipements sociaux")
    else:
        notes.append("Capacités FINESS non disponibles (extraction des équipements sociaux "
                     "absente du stock) : établissements comptés, places inconnues.")
    points = establishments_from(pd.DataFrame(store.read(dataset)), equipments)
    unknown = int(points["capacity"].isna().sum())
    if equipments is not None and unknown:
        notes.append(f"{unknown} établissement(s) FINESS sans capacité publiée : places inconnues, "
                     "jamais comptées comme zéro.")
    return PublicEstablishments(points=points, available=True, source=label, notes=notes)


def public_by_family(points: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """Establishments and places per family (and per ``by`` group, e.g. ``dep_code`` indexed by
    commune code): ``group, family, family_label, n_establishments, capacity,
    n_capacity_unknown``. ``capacity`` sums the known places; it is missing when none is known."""
    frame = points.copy()
    frame["group"] = "territoire" if by is None else frame["code"].astype(str).map(
        _by_code(by, pd.Index(frame["code"].astype(str).unique())))
    frame["unknown"] = frame["capacity"].isna()
    out = frame.groupby(["group", "family"], as_index=False).agg(
        n_establishments=("family", "size"),
        capacity=("capacity", lambda s: s.sum(min_count=1)),
        n_capacity_unknown=("unknown", "sum"),
    )
    out["family_label"] = out["family"].map(PUBLIC_FAMILIES)
    order = {f: i for i, f in enumerate(PUBLIC_FAMILIES)}
    out = out.sort_values(["group", "family"], key=lambda s: s.map(order) if s.name == "family"
                          else s).reset_index(drop=True)
    return out[["group", "family", "family_label", "n_establishments", "capacity",
                "n_capacity_unknown"]]


def members_share(
    members: pd.DataFrame, public: pd.DataFrame, public_available: bool = True
) -> pd.DataFrame:
    """Members' share of the offer per territory and family.

    Parameters
    ----------
    members
        ``group, family, n_sites, capacity`` of the members' open sites (registry; a capacity
        withheld for confidentiality is missing).
    public
        :func:`public_by_family` output for the same groups.
    public_available
        False when FINESS is not in the store: every share is « non disponible ».

    Returns
    -------
    ``group, family, family_label, members_sites, members_capacity, finess_establishments,
    finess_capacity, share, status``. For the families FINESS records (hébergement, résidences
    sociales, pensions de famille) the members' establishments are in FINESS too: FINESS is the
    total and ``share = members / FINESS`` (in percent). A share is missing, with its
    ``status``, when FINESS is absent, when a FINESS capacity or the members' capacity is
    unknown, or for the families FINESS does not record (intermédiation locative, diffus,
    accompagnement: only the members' offer is known). The asylum system is never in the
    total. A share above 100 % is kept and flagged: the two sources do not count alike.
    """
    families = [*INSERTION_PUBLIC_FAMILIES,
                *(f for f in TYPES if f not in INSERTION_PUBLIC_FAMILIES)]
    groups = sorted(set(members.get("group", pd.Series(dtype=str)).astype(str))
                    | set(public.get("group", pd.Series(dtype=str)).astype(str)))
    index = pd.MultiIndex.from_product([groups, families], names=["group", "family"])
    m = (members.assign(group=members["group"].astype(str))
         .groupby(["group", "family"])[["n_sites", "capacity"]]
         .agg({"n_sites": "sum", "capacity": lambda s: s.sum(min_count=len(s))})
         .reindex(index)) if len(members) else pd.DataFrame(
             index=index, columns=["n_sites", "capacity"], dtype=float)
    p = (public.assign(group=public["group"].astype(str))
         .set_index(["group", "family"])[["n_establishments", "capacity", "n_capacity_unknown"]]
         .reindex(index)) if len(public) else pd.DataFrame(
             index=index, columns=["n_establishments", "capacity", "n_capacity_unknown"],
             dtype=float)
    out = pd.DataFrame(index=index)
    out["members_sites"] = m["n_sites"].fillna(0).astype(float)
    out["members_capacity"] = m["capacity"].astype(float)
    out["finess_establishments"] = p["n_establishments"].fillna(0).astype(float)
    out["finess_capacity"] = p["capacity"].astype(float)
    share = pd.Series(np.nan, index=index)
    status = pd.Series("", index=index, dtype=object)
    recorded = out.index.get_level_values("family").isin(INSERTION_PUBLIC_FAMILIES)
    unknown_public = p["n_capacity_unknown"].fillna(0).to_numpy() > 0
    for i in range(len(index)):
        if not recorded[i]:
            status.iloc[i] = "famille absente de FINESS : part non calculable"
        elif not public_available:
            status.iloc[i] = NOT_AVAILABLE + " (FINESS absent du stock)"
        elif unknown_public[i]:
            status.iloc[i] = "capacité FINESS inconnue pour une partie des établissements"
        elif pd.isna(out["members_capacity"].iloc[i]) and out["members_sites"].iloc[i] > 0:
            status.iloc[i] = "capacité des adhérents non publiée (moins de 3 sites ou confidentiel)"
        elif not out["finess_capacity"].iloc[i] > 0:
            status.iloc[i] = "aucune place recensée dans FINESS"
        else:
            members_capacity = out["members_capacity"].iloc[i]
            members_capacity = 0.0 if pd.isna(members_capacity) else members_capacity
            share.iloc[i] = 100 * members_capacity / out["finess_capacity"].iloc[i]
            status.iloc[i] = ("au-delà de FINESS : les deux sources ne comptent pas de la même "
                              "façon" if share.iloc[i] > 100 else "calculée")
    out["share"] = share
    out["status"] = status
    out = out.reset_index()
    out["family_label"] = out["family"].map({**TYPES, **PUBLIC_FAMILIES})
    return out[["group", "family", "family_label", "members_sites", "members_capacity",
                "finess_establishments", "finess_capacity", "share", "status"]]
