"""The members' sites as the app shows them: read from the operators' registry, filtered by
the confidentiality rules before any display.

Confidential sites are removed as soon as the registry is read
(``operators.confidentiality.split_for_public``): every page, the gap model and its rasters
work on the other sites only, and the confidential ones are known to the app only as
per-département bins, shown for territories made of whole départements or régions. What the
pages show goes through :func:`public`: totals under three sites read « < 3 ». Demonstration
sites are fictional and labelled FICTIF wherever shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from geodata.codes import is_among

FICTIONAL_LABEL = "FICTIF"
NOT_AVAILABLE = "Le registre des opérateurs n'est pas disponible"


@dataclass
class RegistrySites:
    """The registry's sites that may enter public figures (confidential ones removed), the area
    coverage of those services, and the per-département figures of the confidential sites."""

    sites: pd.DataFrame
    coverage: pd.DataFrame
    description: str
    fingerprint: str
    confidential: pd.DataFrame


@st.cache_resource(show_spinner=False)
def _registry(url: str):
    from operators.repository import Registry

    return Registry(url)


def registry_url() -> str:
    from operators.repository import default_url

    return default_url()


def registry():
    """The registry (one connection pool per database), or None when it cannot be opened."""
    try:
        return _registry(registry_url())
    except Exception:  # no registry module or database: the pages say so
        return None


def fingerprint() -> str:
    """Changes after every import (re-read at most every few seconds)."""
    try:
        return _fingerprint(registry_url())
    except Exception as exc:  # no registry module
        return f"absent:{exc}"


@st.cache_data(ttl=3, show_spinner=False)
def _fingerprint(url: str) -> str:
    reg = registry()
    if reg is None:
        return "absent"
    try:
        log = reg.import_log()
        last = str(log.iloc[-1].to_dict()) if len(log) else ""
        return f"{reg.count_sites()}|{len(log)}|{last}"
    except Exception as exc:  # an unreadable registry is reported by the pages
        return f"erreur:{exc}"


@st.cache_resource(show_spinner=False, max_entries=2)
def _sites(key: str) -> RegistrySites | str:
    reg = registry()
    if reg is None:
        return f"{NOT_AVAILABLE} : module ou base absents."
    try:
        sites = pd.DataFrame(reg.sites())
        coverage = reg.coverage()
    except Exception as exc:  # the pages still work without the registry
        return f"{NOT_AVAILABLE} : {exc}"
    if "geometry" in sites.columns:
        sites = sites.drop(columns="geometry")
    from operators.confidentiality import split_for_public

    sites, coverage, by_departement = split_for_public(sites, coverage)
    return RegistrySites(sites, coverage, reg.describe_fr(), key, by_departement)


def registry_sites() -> RegistrySites | None:
    found = _sites(fingerprint())
    return found if isinstance(found, RegistrySites) else None


def unavailable_reason() -> str:
    found = _sites(fingerprint())
    return found if isinstance(found, str) else ""


def in_territory(sites: pd.DataFrame, coverage: pd.DataFrame | None, codes) -> pd.DataFrame:
    """Sites located in the communes ``codes``, or area services covering one of them."""
    wanted = pd.Index(np.asarray(list(codes), dtype=object))
    inside = is_among(sites["commune_code"].astype(str), wanted)
    if coverage is not None and len(coverage):
        covering = coverage.loc[is_among(coverage["commune_code"].astype(str), wanted), "site_id"]
        inside = inside | is_among(sites["site_id"], covering)
    return sites[inside].reset_index(drop=True)


@dataclass
class PublicSites:
    """What the public may see of some sites."""

    points: pd.DataFrame  # sites drawn on the map (public columns, lon/lat)
    listed: pd.DataFrame  # sites that may be named (not confidential)
    totals: pd.DataFrame  # per commune: sites (« < 3 »), capacities (hidden when small)
    fictional: bool
    confidential: object = None  # ConfidentialFigure for whole départements/régions, else None


def confidential_figure(registry: RegistrySites, spec: str | None):
    """The published figure of the confidential sites of a territory, or None (a territory that
    is not made of whole départements or régions never shows any)."""
    if not spec:
        return None
    from operators import confidentiality as conf
    from ui import state

    try:
        territory = state.resolve(spec)
    except Exception:  # an unreadable territory shows nothing about confidential sites
        return None
    if not conf.is_fixed_level(territory.parts):
        return None
    from ui import data

    communes = data.communes_table()
    deps = communes.loc[is_among(communes["code"], territory.codes), "dep_code"].dropna().unique()
    return conf.confidential_for_territory(registry.confidential, territory.parts, deps)


def public(sites: pd.DataFrame | None, confidential=None) -> PublicSites | None:
    """The public view of ``sites`` by the registry's confidentiality rules (confidential sites,
    should any be given, are left out)."""
    if sites is None:
        return None
    from operators import confidentiality as conf
    from ui import data

    rep = data.communes_table()[["code", "rep_lon", "rep_lat"]]
    sites = conf.public_supply(sites)
    listed = pd.DataFrame(conf.sites_for(sites, conf.PUBLIC, rep)).drop(columns="geometry",
                                                                       errors="ignore")
    points = listed[listed["lon"].notna() & listed["lat"].notna()].reset_index(drop=True)
    totals = conf.area_totals(sites, conf.PUBLIC) if len(sites) else pd.DataFrame()
    labels = offer_type_labels()
    for frame in (points, listed):
        frame["offer_type_label"] = frame["offer_type"].map(labels).fillna(frame["offer_type"])
    fictional = bool(pd.Series(sites.get("fictional", False)).fillna(False).astype(bool).any())
    return PublicSites(points, listed.reset_index(drop=True), totals, fictional, confidential)


def map_points(registry: RegistrySites, view_key: str, codes,
               publics: list[str]) -> pd.DataFrame | None:
    """The points a map may draw of the public sites of ``codes`` (the map's view ``view_key``),
    filtered by ``publics``; computed once per version of the registry and view."""
    return _map_points(registry.fingerprint, view_key, tuple(publics or ()), registry, codes)


@st.cache_data(show_spinner=False, max_entries=64)
def _map_points(fingerprint: str, view_key: str, publics: tuple[str, ...], _registry, _codes):
    inside = in_territory(_registry.sites, _registry.coverage, _codes)
    view = public(filter_publics(inside, list(publics)))
    return None if view is None else view.points


def count_text(n: int) -> str:
    """A public count of sites: « < 3 » under three (a small total could single out a
    site), else the number."""
    from diagnostics.formatting import fr_number

    return "< 3" if 0 < n < 3 else fr_number(n)


def commune_total(view: PublicSites, code: str) -> str:
    """The public total of sites located in a commune (confidential ones never counted, « < 3 »
    under three)."""
    totals = view.totals
    if totals is None or totals.empty or "commune_code" not in totals:
        return "0"
    row = totals[totals["commune_code"].astype(str) == code]
    return str(row["sites"].iat[0]) if len(row) else "0"


def offer_type_labels() -> dict[str, str]:
    from operators import schema

    return {code: t.label for code, t in schema.OFFER_TYPE_BY_CODE.items()}


def offer_labels() -> dict[str, str]:
    """French label of each offer family (the gap model's types)."""
    from operators import schema

    return dict(schema.FAMILIES)


def publics_labels() -> dict[str, str]:
    """Code → French label of the publics vocabulary (``operators.publics``)."""
    from operators import publics

    return dict(publics.LABELS)


def filter_publics(sites: pd.DataFrame, chosen: list[str] | None) -> pd.DataFrame:
    """Sites receiving at least one of the ``chosen`` publics (all sites when none chosen)."""
    if not chosen or sites is None or "publics" not in sites:
        return sites
    from operators import publics

    return sites[publics.has_any(sites["publics"], chosen)].reset_index(drop=True)


def publics_text(cell) -> str:
    """The labels of a stored ``publics`` cell (« — » when none is known)."""
    from operators import publics

    labels = [publics.LABELS[c] for c in publics.split_codes(cell)]
    return ", ".join(labels) or "—"
