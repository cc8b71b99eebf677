"""Assemble a territory's whole diagnostic (sections and export tables) from its inputs.

``build_diagnostic(gather("dep:59"))`` returns a :class:`~diagnostics.document.Diagnostic`
that every renderer (PDF, HTML, DOCX) and every export (XLSX, CSV, GeoPackage) reads. Only
public-audience data reach it: the sites go through :mod:`diagnostics.public_sites` first.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

import pandas as pd

from diagnostics.document import Diagnostic, Section
from diagnostics.inputs import ReportInputs, SourceRef
from diagnostics.labels import french_columns
from diagnostics.levers import commune_types
from diagnostics.public_sites import PublicSites, public_view
from diagnostics.sections.common import offer_fictional
from diagnostics.sections.economics import economics_section
from diagnostics.sections.gap import gap_section
from diagnostics.sections.levers import lever_communes, levers_section
from diagnostics.sections.method import method_section
from diagnostics.sections.need import need_section
from diagnostics.sections.offer import offer_section
from diagnostics.sections.policies import policies_section
from diagnostics.sections.portrait import portrait_section
from diagnostics.sections.presence import presence_section
from diagnostics.sections.programme import programme_section
from diagnostics.sections.synthesis import synthesis_section
from operators import schema

AUDIENCE_PUBLIC = "public"

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]

NEED_EXPORT = ["status", "score", "rank", "rank_median", "rank_p05", "rank_p95", "top_decile_robust",
               "need_households", "need_households_low", "need_households_high",
               "poverty_rate_method", "imputed_poverty_rate", "explanation", "cluster_label", "hotspot"]
GAP_FAMILIES = ("pension_de_famille", "residence_sociale", "intermediation_locative", "diffus",
                "hebergement", "accompagnement")
GAP_EXPORT = ["reference_class", "reference_class_certain", "allocated_total", "expected_total",
              "missing_total", "surplus_total",
              *[f"{key}_{family}" for family in GAP_FAMILIES
                for key in ("target", "target_low", "target_high", "rate", "reference",
                            "missing", "class")]]


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
        flags = [frame[c].fillna(False).astype(bool) for c in ("imputed_poverty_rate",
                                                               "imputed_households")
                 if c in frame.columns]
        if flags:
            estimated = flags[0] if len(flags) == 1 else flags[0] | flags[1]
            frame["estimated"] = estimated.map({True: "oui", False: "non"})
    if inputs.gap is not None:
        gap = inputs.gap.frame
        keep = ["code", *[c for c in GAP_EXPORT if c in gap.columns and c not in frame.columns]]
        frame = frame.merge(gap[keep], on="code", how="left")
        if offer_fictional(inputs):
            frame["offer_fictional"] = "oui (FICTIF)"
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


def map_geo(inputs: ReportInputs):
    """The communes as the maps draw them (outline, name, population for the labels)."""
    return inputs.communes[[c for c in ("code", "name", "geometry", "metric_crs", "population")
                            if c in inputs.communes.columns]].copy()


@dataclass
class GapFreeSections:
    """The sections that read nothing of the territory's gap (portrait, policies, need, offer,
    who does what), built from inputs whose gap is not known yet: while it is computed in a
    child (:func:`diagnostics.inputs.gather`'s ``while_waiting``), then taken by
    :func:`build_diagnostic` when the inputs are the same apart from the gap."""

    inputs: ReportInputs | None  # None while sent from a child (the parent has them)
    public: PublicSites | None
    portrait: Section
    totals: dict[str, float]
    policies: Section
    policy_rows: pd.DataFrame
    need: Section
    offer: Section
    presence: Section
    presence_tables: dict[str, pd.DataFrame]

    def maps(self) -> list:
        return [*self.portrait.maps(), *self.policies.maps(), *self.need.maps(),
                *self.offer.maps()]

    def built_from(self, inputs: ReportInputs) -> bool:
        """True when ``inputs`` are those these sections were built from, the gap apart (the
        same objects, and the same missing inputs but the gap's own)."""
        def others(missing: dict) -> dict:
            return {key: value for key, value in missing.items() if key != "ecart"}

        return (self.inputs is not None and all(getattr(self.inputs, name) is getattr(inputs, name)
                    for name in _GAP_FREE_FIELDS)
                and others(self.inputs.missing) == others(inputs.missing))


_GAP_FREE_FIELDS = tuple(f.name for f in fields(ReportInputs)
                         if f.name not in ("gap", "raster_writer", "missing"))


def gap_free_sections(inputs: ReportInputs) -> GapFreeSections:
    """Build the sections of :class:`GapFreeSections` from ``inputs`` without their gap (so
    that they are the same whether the gap is known yet or not)."""
    unknown = replace(inputs, gap=None, raster_writer=None)
    public = public_view(unknown.sites, unknown.coverage, unknown.codes, unknown.confidential)
    portrait, totals = portrait_section(unknown)
    policies, policy_rows = policies_section(unknown)
    presence, presence_tables = presence_section(unknown)
    return GapFreeSections(inputs=inputs, public=public, portrait=portrait, totals=totals,
                           policies=policies, policy_rows=policy_rows,
                           need=need_section(unknown), offer=offer_section(unknown, public),
                           presence=presence, presence_tables=presence_tables)


def gap_maps(inputs: ReportInputs) -> list:
    """The maps that read the territory's gap (section « Écarts »), drawn as soon as it is
    known while the sections are built (:mod:`diagnostics.background_maps`)."""
    return gap_section(inputs).maps()


def build_diagnostic(
    inputs: ReportInputs, audience: str = AUDIENCE_PUBLIC, today: date | None = None,
    operations: list[dict] | None = None, early: GapFreeSections | None = None,
) -> Diagnostic:
    """The whole report of ``inputs.territory`` (public audience); ``operations`` are the saved
    operations of « Montage d'opération » (section « Modèle économique » when there are some);
    ``early``: the sections built while the gap was computed (:func:`gap_free_sections`), taken
    when built from these inputs."""
    if audience != AUDIENCE_PUBLIC:
        raise ValueError("Seuls les rapports pour un public large sont produits (audience « public »).")
    if early is None or not early.built_from(inputs):
        early = gap_free_sections(inputs)
    public, portrait, totals = early.public, early.portrait, early.totals
    need, offer = early.need, early.offer
    gaps = gap_section(inputs)
    levers, lever_list = levers_section(inputs, public.by_commune if public is not None else None)
    method = method_section(inputs)
    named = {"portrait": portrait, "besoins": need, "offre": offer, "ecarts": gaps}
    synthesis = synthesis_section(inputs, totals, named, lever_list, public)
    sections: list[Section] = [synthesis, portrait, need, offer, gaps, levers, method]
    policies, policy_rows = early.policies, early.policy_rows
    sections.insert(sections.index(portrait) + 1, policies)
    who, who_tables = early.presence, early.presence_tables
    sections.insert(sections.index(offer) + 1, who)
    programme = programme_section(inputs)
    if programme is not None:
        sections.insert(sections.index(levers) + 1, programme)
    inside = set(inputs.territory.codes)
    economics = economics_section([op for op in operations or [] if op.get("code") in inside])
    if economics is not None:
        sections.insert(sections.index(levers) + 1, economics)

    exports: dict[str, pd.DataFrame] = {
        "communes": french_columns(commune_table(inputs, public)),
    }
    for section in sections:
        for table in section.tables():
            if table.key and table.data is not None and table.key not in exports:
                exports[table.key] = french_columns(table.data)
    exports["politiques"] = policy_rows
    exports.update(who_tables)
    sites = public_sites_table(public)
    if len(sites):
        exports["sites"] = sites
    lever_rows = lever_communes(lever_list)
    if len(lever_rows):
        exports["leviers"] = french_columns(lever_rows.rename(columns={"lever": "Levier"}))
    zone_table = next((k for k in ("zones_blanches_cibles", "zones_blanches")
                       if inputs.gap is not None and k in inputs.gap.tables), None)
    if zone_table is not None:
        zones = inputs.gap.tables[zone_table]
        exports["zones_blanches"] = zones.assign(
            codes=zones["codes"].map(lambda c: ", ".join(c) if isinstance(c, list | tuple) else c)
        )
    exports["donnees_absentes"] = pd.DataFrame(
        {"Donnée": list(inputs.missing), "Motif": list(inputs.missing.values())}
    )
    sources = list(inputs.sources)
    if offer_fictional(inputs):
        sources.append(SourceRef(
            dataset="registre", title="Registre des adhérents — offre FICTIVE (données de "
            "démonstration) : les places, écarts et zones blanches sont FICTIFS",
            producer="Démonstration du projet", vintage="FICTIF", licence="sans objet"))
    if inputs.gap is not None and "menages_cibles" in inputs.gap.tables:
        sources.append(SourceRef(
            dataset="menages_cibles", title="Ménages cibles par famille d'offre (personnes "
            "pauvres converties en ménages ; paramètres et provenance : page « Méthode » de "
            "l'application)", producer="Calcul du projet d'après INSEE",
            vintage="Filosofi 2021, recensement 2018", licence="Licence Ouverte / Etalab 2.0"))
    territory = inputs.territory
    today = today or date.today()
    return Diagnostic(
        spec=territory.spec,
        title=f"Diagnostic territorial du logement d'insertion — {territory.name}",
        subtitle=f"{len(territory.codes)} communes · rapport du {french_date(today)}",
        generated_on=french_date(today),
        audience=audience,
        sections=sections,
        geo=map_geo(inputs),
        context=inputs.context,
        sources=sources,
        missing=dict(inputs.missing),
        exports=exports,
        sites_points=public.points if public is not None else None,
        raster_writer=inputs.raster_writer,
        slug=territory.slug or "territoire",
        fictional=offer_fictional(inputs),
    )
