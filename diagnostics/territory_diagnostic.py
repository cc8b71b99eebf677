"""Assemble a territory's whole diagnostic (sections and export tables) from its inputs.

``build_diagnostic(gather("dep:59"))`` returns a :class:`~diagnostics.document.Diagnostic`
that every renderer (PDF, HTML, DOCX) and every export (XLSX, CSV, GeoPackage) reads. Only
public-audience data reach it: the sites go through :mod:`diagnostics.public_sites` first.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from diagnostics.document import Diagnostic, Section
from diagnostics.inputs import ReportInputs
from diagnostics.labels import french_columns
from diagnostics.levers import commune_types
from diagnostics.public_sites import PublicSites, public_view
from diagnostics.sections.gap import gap_section
from diagnostics.sections.levers import lever_communes, levers_section
from diagnostics.sections.method import method_section
from diagnostics.sections.need import need_section
from diagnostics.sections.offer import offer_section
from diagnostics.sections.portrait import portrait_section
from diagnostics.sections.synthesis import synthesis_section
from operators import schema

AUDIENCE_PUBLIC = "public"

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]

NEED_EXPORT = ["status", "score", "rank", "rank_median", "rank_p05", "rank_p95", "top_decile_robust",
               "need_households", "need_households_low", "need_households_high",
               "poverty_rate_method", "imputed_poverty_rate", "explanation", "cluster_label", "hotspot"]
GAP_EXPORT = ["places_in_reach", "places_allocated", "gap_households", "gap_households_low",
              "gap_households_high", "gap_per_1000", "coverage_share", "gap_class", "class_certain"]


def french_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def commune_table(inputs: ReportInputs, public: PublicSites | None) -> pd.DataFrame:
    """One row per commune with every indicator, need, gap and public site counts (raw names)."""
    frame = pd.DataFrame(inputs.communes.drop(columns="geometry"))
    frame = frame.drop(columns=["metric_crs", "x_metric", "y_metric", "rep_lon", "rep_lat"],
                       errors="ignore")
    frame["commune_type"] = commune_types(frame)
    if inputs.need is not None:
        need = inputs.need.frame
        keep = ["code", *[c for c in NEED_EXPORT if c in need.columns and c not in frame.columns]]
        keep += [c for c in need.columns if c.startswith("contrib_")]
        frame = frame.merge(need[keep], on="code", how="left")
    if inputs.gap is not None:
        gap = inputs.gap.frame
        keep = ["code", *[c for c in GAP_EXPORT if c in gap.columns and c not in frame.columns]]
        frame = frame.merge(gap[keep], on="code", how="left")
    if public is not None:
        totals = public.commune_totals.set_index("code")["n_sites_text"] if len(public.commune_totals) else {}
        frame["sites_open_text"] = frame["code"].map(totals).fillna("0")
    return frame


def public_sites_table(public: PublicSites | None) -> pd.DataFrame:
    """Sites as a public audience may list them (address and point only at the public level)."""
    if public is None or public.listed.empty:
        return pd.DataFrame()
    listed = public.listed
    column = lambda name: listed[name] if name in listed.columns else pd.Series(None, index=listed.index)  # noqa: E731
    return pd.DataFrame({
        "Site": column("name"),
        "Opérateur": column("operator_name"),
        "Réseau": column("network"),
        "Code commune": column("commune_code"),
        "Commune": column("commune_name"),
        "Type d'offre": column("offer_type_label"),
        "Famille d'offre": column("offer_family_label"),
        "Capacité": column("capacity"),
        "Unité": column("capacity_unit"),
        "Statut": column("status").map(lambda s: schema.STATUSES.get(s, s)),
        "Localisation": column("confidentiality").map(
            {schema.CONF_PUBLIC: "adresse publique", schema.CONF_COMMUNE: "commune seulement"}),
        "Adresse": column("address"),
        "Longitude": column("lon"),
        "Latitude": column("lat"),
        "Données fictives": column("fictional").map({True: "oui", False: "non"}),
    })


def build_diagnostic(
    inputs: ReportInputs, audience: str = AUDIENCE_PUBLIC, today: date | None = None
) -> Diagnostic:
    """The whole report of ``inputs.territory`` (public audience)."""
    if audience != AUDIENCE_PUBLIC:
        raise ValueError("Seuls les rapports pour un public large sont produits (audience « public »).")
    public = public_view(inputs.sites, inputs.coverage, inputs.codes, inputs.confidential)
    portrait, totals = portrait_section(inputs)
    need = need_section(inputs)
    offer = offer_section(inputs, public)
    gaps = gap_section(inputs)
    levers, lever_list = levers_section(inputs, public.by_commune if public is not None else None)
    method = method_section(inputs)
    named = {"portrait": portrait, "besoins": need, "offre": offer, "ecarts": gaps}
    synthesis = synthesis_section(inputs, totals, named, lever_list, public)
    sections: list[Section] = [synthesis, portrait, need, offer, gaps, levers, method]

    exports: dict[str, pd.DataFrame] = {
        "communes": french_columns(commune_table(inputs, public)),
    }
    for section in sections:
        for table in section.tables():
            if table.key and table.data is not None and table.key not in exports:
                exports[table.key] = french_columns(table.data)
    sites = public_sites_table(public)
    if len(sites):
        exports["sites"] = sites
    lever_rows = lever_communes(lever_list)
    if len(lever_rows):
        exports["leviers"] = french_columns(lever_rows.rename(columns={"lever": "Levier"}))
    if inputs.gap is not None and "zones_blanches" in inputs.gap.tables:
        zones = inputs.gap.tables["zones_blanches"]
        exports["zones_blanches"] = zones.assign(
            codes=zones["codes"].map(lambda c: ", ".join(c) if isinstance(c, list | tuple) else c)
        )
    exports["donnees_absentes"] = pd.DataFrame(
        {"Donnée": list(inputs.missing), "Motif": list(inputs.missing.values())}
    )
    territory = inputs.territory
    today = today or date.today()
    return Diagnostic(
        spec=territory.spec,
        title=f"Diagnostic territorial du logement d'insertion — {territory.name}",
        subtitle=f"{len(territory.codes)} communes · rapport du {french_date(today)}",
        generated_on=french_date(today),
        audience=audience,
        sections=sections,
        geo=inputs.communes[["code", "name", "geometry", "metric_crs"]].copy(),
        context=inputs.context,
        sources=inputs.sources,
        missing=dict(inputs.missing),
        exports=exports,
        sites_points=public.points if public is not None else None,
        raster_writer=inputs.raster_writer,
        slug=territory.slug or "territoire",
    )
