"""The public view of a territory's sites, for the reports and exports.

Every rule comes from the registry's module :mod:`operators.confidentiality` (the app,
the reports and the exports all call it; none filters sites by itself):

* a confidential site never appears as a point, an address or a name, and never enters a total
  over the territory: it is only published binned, per département, for territories made of
  whole départements or régions (:attr:`PublicSites.confidential`);
* a site located at the commune level is named with its commune, without address or point;
* a total of fewer than three sites is published « < 3 », its capacity withheld.

This module only arranges those public frames for the report: labels of offer types and
families, open versus planned sites, territory totals per family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from operators import confidentiality as conf
from operators import schema

SMALL_LABEL = conf.SMALL_LABEL
SMALL_COUNT = conf.SMALL_COUNT
CAPACITY_COLUMNS = list(conf.CAPACITY_COLUMNS.values())


@dataclass
class PublicSites:
    """The public view of a territory's sites.

    Attributes
    ----------
    points
        Sites a public map may draw (public level, with coordinates).
    listed
        Sites a public list may name (public and commune levels; no address at commune level).
    by_commune
        ``code, offer_family, n_sites, n_sites_text, capacity, capacity_text`` of open sites
        (counts below three shown « < 3 », capacity withheld as the registry's rules say).
    by_family
        The same totals over the whole territory, per family of offer.
    commune_totals
        ``code, n_sites, n_sites_text …``: open sites per commune, all families together.
    confidential
        The binned figure of the confidential sites of whole départements or régions
        (``operators.confidentiality.ConfidentialFigure``), None for any other territory.
    fictional
        True when some sites are demonstration data.
    planned
        Territory totals of planned sites, per family.
    """

    points: pd.DataFrame
    listed: pd.DataFrame
    by_commune: pd.DataFrame
    by_family: pd.DataFrame
    commune_totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    confidential: object = None
    fictional: bool = False
    planned: pd.DataFrame = field(default_factory=pd.DataFrame)


def _family(frame: pd.DataFrame) -> pd.Series:
    family = frame.get("offer_family", pd.Series(None, index=frame.index))
    by_type = frame.get("offer_type", pd.Series(None, index=frame.index)).map(
        lambda t: schema.OFFER_TYPE_BY_CODE[t].family if t in schema.OFFER_TYPE_BY_CODE else None
    )
    return family.where(family.isin(list(schema.FAMILIES)), by_type)


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["offer_family"] = _family(out)
    out["offer_family_label"] = out["offer_family"].map(schema.FAMILIES).fillna("Type inconnu")
    out["offer_type_label"] = out.get("offer_type", pd.Series(None, index=out.index)).map(
        lambda t: schema.OFFER_TYPE_BY_CODE[t].label if t in schema.OFFER_TYPE_BY_CODE else "Type inconnu"
    )
    return out


def _capacity(totals: pd.DataFrame) -> pd.Series:
    """Total capacity of a public total (one unit = one household), missing when withheld."""
    present = [c for c in CAPACITY_COLUMNS if c in totals.columns]
    if not present:
        return pd.Series(np.nan, index=totals.index)
    return totals[present].sum(axis=1, min_count=1)


CAPACITY_IN_LIST = "total non publié sous 3 sites (voir la liste des sites)"


def _shape(totals: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    from diagnostics.formatting import fr_number

    out = totals.rename(columns=keys).copy()
    out["n_sites_text"] = out["sites"].astype(str)
    small = out["n_sites_text"].eq(SMALL_LABEL)
    out["n_sites"] = pd.to_numeric(out["sites_n"], errors="coerce").astype(float)
    # For maps and classes: a hidden count is between 1 and 2.
    out.loc[small, "n_sites"] = 1.5
    out["capacity"] = _capacity(out)
    # A total of fewer than three sites is not published (« < 3 »); each public site's own
    # capacity is in the list of sites (as in the app), which the text points to. Otherwise a
    # missing total is a capacity the operators did not give.
    out["capacity_text"] = [
        CAPACITY_IN_LIST if hidden else ("non renseignée" if pd.isna(c) else fr_number(c))
        for c, hidden in zip(out["capacity"], small, strict=True)
    ]
    return out[[*keys.values(), "n_sites", "n_sites_text", "capacity", "capacity_text"]]


def _territory_totals(sites: pd.DataFrame) -> pd.DataFrame:
    frame = sites.assign(_territory="territoire")
    totals = conf.area_totals(frame, conf.PUBLIC, by="_territory", groups=["offer_family"])
    return _shape(totals.drop(columns="_territory"), {"offer_family": "offer_family"})


def _service_totals(sites: pd.DataFrame, coverage: pd.DataFrame | None, codes: set[str]) -> pd.DataFrame:
    """Accompaniment services covering the territory: count only (capacity spans the area)."""
    services = sites[sites["geocode_method"].eq(schema.GEO_AREA)]
    if services.empty:
        return pd.DataFrame()
    covering = set(services["site_id"])
    if coverage is not None and len(coverage):
        inside = coverage[coverage["commune_code"].astype(str).isin(codes)]
        covering &= set(inside["site_id"]) | set(
            services.loc[services["commune_code"].astype(str).isin(codes), "site_id"])
    n = len(covering)
    text = SMALL_LABEL if n < SMALL_COUNT else str(n)
    chosen = services[services["site_id"].isin(covering)]
    capacity = float(pd.to_numeric(chosen["capacity"], errors="coerce").sum(min_count=1))
    hidden = n < SMALL_COUNT
    from diagnostics.formatting import fr_number

    return pd.DataFrame([{
        "offer_family": "accompagnement",
        "n_sites": 1.5 if n < SMALL_COUNT else float(n),
        "n_sites_text": text,
        "capacity": np.nan if hidden else capacity,
        "capacity_text": (CAPACITY_IN_LIST if hidden else
                          "non renseignée" if np.isnan(capacity) else fr_number(capacity)),
    }])


def public_view(
    sites: pd.DataFrame | None,
    coverage: pd.DataFrame | None = None,
    codes: list[str] | None = None,
    confidential=None,
) -> PublicSites | None:
    """The public view of the registry sites of a territory (None without sites).

    Confidential sites, should any be given, are left out of every figure; ``confidential`` is
    the binned figure of whole départements (``inputs.confidential``), passed through.
    """
    if sites is None:
        return None
    frame = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    if "confidentiality" in frame.columns:
        frame = conf.public_supply(frame)
    frame = with_labels(frame)
    for column, default in (("status", schema.STATUS_OPEN), ("geocode_method", ""),
                            ("confidentiality", schema.CONF_PUBLIC), ("capacity_unit", None)):
        if column not in frame.columns:
            frame[column] = default
    frame["status"] = frame["status"].fillna(schema.STATUS_OPEN)
    codes_set = set(codes) if codes is not None else set(frame["commune_code"].astype(str))
    visible = with_labels(conf.sites_for(frame, conf.PUBLIC))
    points = with_labels(conf.map_points(frame, conf.PUBLIC))
    listed = visible.drop(columns="geometry", errors="ignore")
    open_sites = frame[frame["status"].eq(schema.STATUS_OPEN)]
    planned = frame[frame["status"].eq(schema.STATUS_PLANNED)]
    by_commune = _shape(
        conf.area_totals(open_sites, conf.PUBLIC, by="commune_code", groups=["offer_family"]),
        {"commune_code": "code", "offer_family": "offer_family"},
    )
    by_commune = by_commune[by_commune["code"].astype(str).isin(codes_set)]
    commune_totals = _shape(conf.area_totals(open_sites, conf.PUBLIC, by="commune_code"),
                            {"commune_code": "code"})
    commune_totals = commune_totals[commune_totals["code"].astype(str).isin(codes_set)]
    by_family = pd.concat(
        [_territory_totals(open_sites), _service_totals(open_sites, coverage, codes_set)],
        ignore_index=True,
    )
    by_family["offer_family_label"] = by_family["offer_family"].map(schema.FAMILIES).fillna("Type inconnu")
    fictional = frame.get("fictional", pd.Series(False, index=frame.index)).fillna(False).astype(bool)
    return PublicSites(
        points=pd.DataFrame(points.drop(columns="geometry", errors="ignore")).reset_index(drop=True),
        listed=listed.reset_index(drop=True),
        by_commune=by_commune.reset_index(drop=True),
        by_family=by_family,
        commune_totals=commune_totals.reset_index(drop=True),
        confidential=confidential,
        fictional=bool(fictional.any()),
        planned=_territory_totals(planned) if len(planned) else pd.DataFrame(),
    )
