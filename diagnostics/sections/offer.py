"""Section « Offre »: members' sites by type (public view only) and capacity per 1,000
households; commune totals below three sites are published as « < 3 »."""

from __future__ import annotations

import pandas as pd

from diagnostics.document import MapSpec, Notice, Paragraph, Section, Table
from diagnostics.formatting import MISSING, fr_number
from diagnostics.inputs import ReportInputs
from diagnostics.public_sites import SMALL_LABEL, PublicSites
from diagnostics.sections.common import by_code, cite, count, has, known_sum, plural, tooltip
from diagnostics.webmap import MISSING_COLOUR
from operators import schema

SITE_COUNT_CLASSES = [("Aucun site", "#ffffff"), (f"{SMALL_LABEL} sites", "#c6dbef"),
                      ("3 à 5 sites", "#6baed6"), ("6 sites et plus", "#08519c")]
FAMILY_COLOURS = {
    "pension_de_famille": "#e41a1c",
    "residence_sociale": "#377eb8",
    "intermediation_locative": "#4daf4a",
    "diffus": "#984ea3",
    "hebergement": "#ff7f00",
    "accompagnement": "#a65628",
}
MAX_LISTED = 30  # sites named in the PDF; all of them in the spreadsheet export
REGISTRY_SOURCE = "Source : registre des adhérents (déclarations des opérateurs), vue publique"


def households_of(inputs: ReportInputs) -> tuple[float, str]:
    """Households of the territory: fiscal households (Filosofi 2021), census where secret."""
    c = inputs.communes
    if has(c, "households_fiscal"):
        fiscal = pd.to_numeric(c["households_fiscal"], errors="coerce")
        if "census_households" in c.columns:
            census = pd.to_numeric(c["census_households"], errors="coerce")
            filled = fiscal.fillna(census)
            secret = int(fiscal.isna().sum())
            label = "ménages fiscaux 2021" + (
                f" (ménages du recensement 2018 pour {plural(secret, 'commune')} au nombre secret)"
                if secret else ""
            )
            return known_sum(filled), label
        return known_sum(fiscal), "ménages fiscaux 2021 (communes où le nombre est publié)"
    if has(c, "census_households"):
        return known_sum(c["census_households"]), "ménages du recensement 2018"
    return float("nan"), ""


def commune_site_counts(communes: pd.DataFrame, public: PublicSites) -> pd.Series:
    """Open sites per commune as published (1.5 stands for « < 3 »), 0 where none."""
    totals = public.commune_totals
    if totals.empty:
        return pd.Series(0.0, index=communes.index)
    return communes["code"].map(totals.set_index("code")["n_sites"]).fillna(0.0)


def site_count_colours(communes: pd.DataFrame, public: PublicSites) -> pd.Series:
    n = commune_site_counts(communes, public)
    colours = pd.Series(MISSING_COLOUR, index=communes.index, dtype=object)
    colours[n.eq(0)] = SITE_COUNT_CLASSES[0][1]
    colours[(n > 0) & (n < 3)] = SITE_COUNT_CLASSES[1][1]
    colours[(n >= 3) & (n <= 5)] = SITE_COUNT_CLASSES[2][1]
    colours[n >= 6] = SITE_COUNT_CLASSES[3][1]
    return colours


def site_count_text(n: float) -> str:
    if n == 0:
        return "aucun site"
    return f"{SMALL_LABEL} sites" if n < 3 else f"{fr_number(n)} sites"


def offer_section(inputs: ReportInputs, public: PublicSites | None) -> Section:
    section = Section("offre", "Offre des adhérents")
    if public is None:
        reason = inputs.missing.get("registre", "donnée non disponible : registre des opérateurs absent")
        section.add(Notice(reason[:1].upper() + reason[1:] + "."))
        return section
    if public.fictional:
        section.add(Notice(
            "Une partie des sites du registre sont des données fictives de démonstration : les "
            "chiffres d'offre de ce rapport ne décrivent pas la réalité du territoire."
        ))
    households, households_label = households_of(inputs)
    by_family = public.by_family
    n_total = int(by_family["n_sites"].sum()) if len(by_family) else 0
    section.add(Paragraph(
        f"Le registre des adhérents compte {plural(n_total, 'site')} non confidentiel(s) ouvert(s) "
        "dans le territoire ou couvrant l'une de ses communes. Les totaux de moins de trois "
        "sites sont publiés « < 3 », sans capacité. "
        + (f"Sites confidentiels des départements du territoire (nombre par tranche de cinq, "
           f"capacité arrondie à la dizaine) : {public.confidential.sites_text()}, capacité "
           f"{public.confidential.capacity_text()}."
           if public.confidential is not None else
           "Les sites confidentiels ne sont comptés qu'à l'échelle d'un département ou d'une "
           "région entière, jamais dans ceux d'un territoire plus fin.")
    ))
    rows, data = [], []
    for _, r in by_family.sort_values("n_sites", ascending=False).iterrows():
        per_1000 = (
            fr_number(1000 * r["capacity"] / households, 2)
            if pd.notna(r["capacity"]) and households and households > 0 else MISSING
        )
        rows.append([r["offer_family_label"], r["n_sites_text"], r["capacity_text"], per_1000])
        data.append({"Type d'offre": r["offer_family_label"], "Sites": r["n_sites_text"],
                     "Capacité": r["capacity"],
                     "Capacité pour 1 000 ménages": float(per_1000.replace("\u202f", "").replace(",", "."))
                     if per_1000 != MISSING else None})
    if rows:
        section.add(Table(
            "Sites ouverts et capacité par type d'offre",
            ["Type d'offre", "Sites", "Capacité (places, logements ou mesures)",
             "Capacité pour 1 000 ménages"],
            rows,
            source=f"{REGISTRY_SOURCE} ; ménages : {households_label}, "
            + cite(inputs, "filosofi_2021_com", "comparateur").removeprefix("Source : "),
            numeric=[False, True, True, True],
            key="offre_types",
            data=pd.DataFrame(data),
            note="Services d'accompagnement : capacité totale des services couvrant au moins une "
            "commune du territoire.",
        ))
    else:
        section.add(Paragraph("Aucun site ouvert du registre n'est situé dans le territoire."))
    if len(public.planned):
        planned = public.planned
        section.add(Paragraph(
            "Projets déclarés : " + ", ".join(
                f"{schema.FAMILIES.get(f, 'type inconnu')} ({t} site(s), capacité {c})"
                for f, t, c in zip(planned["offer_family"], planned["n_sites_text"],
                                   planned["capacity_text"], strict=True)
            ) + "."
        ))
    c = inputs.communes
    n = commune_site_counts(c, public)
    points = public.points.copy()
    if len(points):
        points["label"] = points["name"].fillna("Site sans nom").astype(str) + " — " + points[
            "offer_type_label"].astype(str) + " (" + points["operator_name"].fillna("").astype(str) + ")"
        points["colour"] = points["offer_family"].map(FAMILY_COLOURS).fillna("#333333")
    present = [f for f in FAMILY_COLOURS if len(points) and f in set(points["offer_family"])]
    section.add(MapSpec(
        key="offre",
        title="Sites des adhérents (vue publique)",
        legend_title="Sites ouverts par commune",
        colours=by_code(c, site_count_colours(c, public)),
        legend=SITE_COUNT_CLASSES,
        source=REGISTRY_SOURCE,
        tooltip=tooltip(c, "sites ouverts", n.map(site_count_text)),
        points=points if len(points) else None,
        points_legend=[(schema.FAMILIES[f], FAMILY_COLOURS[f]) for f in present],
        note="Points : sites publics seulement ; les sites localisés à la commune "
        "n'apparaissent que dans les totaux communaux, les sites confidentiels nulle part.",
    ))
    if len(public.listed):
        listed = public.listed.sort_values(["commune_name", "name"], na_position="last").head(MAX_LISTED)
        rows = [[str(r.get("name") or "Site sans nom"), str(r.get("operator_name") or MISSING),
                 f"{r.get('commune_name') or MISSING} ({r.get('commune_code') or ''})",
                 str(r.get("offer_type_label") or MISSING), count(r.get("capacity")),
                 schema.STATUSES.get(r.get("status"), str(r.get("status") or ""))]
                for _, r in listed.iterrows()]
        section.add(Table(
            "Sites nommés (niveaux public et commune)",
            ["Site", "Opérateur", "Commune (siège)", "Type", "Capacité", "Statut"], rows,
            source=REGISTRY_SOURCE, numeric=[False, False, False, False, True, False],
            key="sites", widths=[25, 17, 19, 19, 9, 11],
            note=(f"{len(public.listed) - MAX_LISTED} autres sites dans l'export tableur."
                  if len(public.listed) > MAX_LISTED else ""),
        ))
    for notice in (inputs.missing.get("finess"),):
        if notice:
            section.add(Notice(notice[:1].upper() + notice[1:] + " : l'offre publique "
                               "d'hébergement hors réseau n'est pas comptée."))
    return section
