"""Section « Offre »: members' sites by type (public view only) and capacity per 1,000
households; commune totals below three sites are published as « < 3 ». Then the public offer
read in FINESS (by family, the asylum system apart), its map, and the members' share of the
offer per family — « non disponible » when FINESS is not in the store."""

from __future__ import annotations

import pandas as pd

from catalogues import datasets
from diagnostics.document import MapSpec, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import MISSING, fr_number, fr_percent
from diagnostics.inputs import ReportInputs
from diagnostics.palettes import MISSING_COLOUR
from diagnostics.public_sites import SMALL_LABEL, PublicSites
from diagnostics.sections.common import by_code, cite, count, has, known_sum, plural, tooltip
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
PUBLIC_FAMILY_COLOURS = {
    "hebergement": "#ff7f00",
    "residence_sociale": "#377eb8",
    "pension_de_famille": "#e41a1c",
    "asile": "#6a3d9a",
}
PUBLIC_COUNT_CLASSES = [("Aucun établissement", "#ffffff"), ("1 établissement", "#fdd0a2"),
                        ("2 à 4 établissements", "#fd8d3c"), ("5 et plus", "#a63603")]
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
        section.add(*public_offer_blocks(inputs, None))
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
            + cite(inputs, datasets.FILOSOFI_COMMUNES, datasets.COMPARATEUR).removeprefix("Source : "),
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
    section.add(*public_offer_blocks(inputs, public))
    return section


def _finess_source(inputs: ReportInputs) -> str:
    offer = inputs.public_offer
    return "Source : " + (offer.source if offer is not None and offer.source else "FINESS (ANS)")


def public_offer_blocks(inputs: ReportInputs, public: PublicSites | None) -> list:
    """The public offer (FINESS) by family, its map, and the members' share of the offer."""
    from models import supply

    blocks: list = [Subtitle("Offre publique (FINESS)")]
    offer = inputs.public_offer
    if offer is None or not offer.available:
        reason = inputs.missing.get(datasets.FINESS, "FINESS absent du stock local")
        blocks.append(Notice(f"Offre publique {supply.NOT_AVAILABLE} ({reason}) : les "
                             "établissements hors réseau ne sont pas comptés, et la part des "
                             "adhérents dans l'offre ne peut pas être calculée."))
        return blocks
    points = offer.points
    table = supply.public_by_family(points)
    rows = [[r["family_label"], count(r["n_establishments"]), count(r["capacity"]),
             count(r["n_capacity_unknown"])] for _, r in table.iterrows()]
    blocks.append(Paragraph(
        "FINESS recense les établissements d'hébergement et de logement accompagné, ceux des "
        "adhérents compris. Les centres d'accueil de demandeurs d'asile (CADA) et les centres "
        "provisoires d'hébergement (CPH) relèvent du dispositif national d'asile : ils sont "
        "montrés à part et ne comptent ni dans l'offre d'insertion ni dans l'écart."
    ))
    if rows:
        blocks.append(Table(
            "Établissements FINESS par famille",
            ["Famille", "Établissements", "Places (capacité installée)",
             "Établissements sans capacité publiée"],
            rows, source=_finess_source(inputs), numeric=[False, True, True, True],
            key="offre_publique",
            data=table.drop(columns=["group", "family"]).rename(columns={
                "family_label": "Famille", "n_establishments": "Établissements",
                "capacity": "Places", "n_capacity_unknown": "Sans capacité publiée"}),
            note="Places : capacité installée de l'extraction des équipements sociaux, "
            "autorisée à défaut ; une capacité non publiée n'est jamais comptée comme zéro.",
        ))
    else:
        blocks.append(Paragraph("Aucun établissement FINESS des familles retenues dans le "
                                "territoire."))
    for note in offer.notes:
        blocks.append(Notice(note))
    blocks.append(_public_map(inputs, points))
    blocks.extend(_share_blocks(inputs, public, table))
    return blocks


def _public_map(inputs: ReportInputs, points: pd.DataFrame) -> MapSpec:
    from models import supply

    c = inputs.communes
    n = c["code"].map(points.groupby("code").size()).fillna(0.0)
    colours = pd.Series(PUBLIC_COUNT_CLASSES[0][1], index=c.index, dtype=object)
    colours[n.eq(1)] = PUBLIC_COUNT_CLASSES[1][1]
    colours[(n >= 2) & (n <= 4)] = PUBLIC_COUNT_CLASSES[2][1]
    colours[n >= 5] = PUBLIC_COUNT_CLASSES[3][1]
    located = points[points["lon"].notna() & points["lat"].notna()].copy()
    if len(located):
        located["label"] = (located["name"].fillna("Établissement").astype(str) + " — "
                            + located["family_label"].astype(str)
                            + located["capacity"].map(
                                lambda v: f" ({fr_number(v)} places)" if pd.notna(v) else ""))
        located["colour"] = located["family"].map(PUBLIC_FAMILY_COLOURS).fillna("#333333")
    present = [f for f in PUBLIC_FAMILY_COLOURS if len(located) and f in set(located["family"])]
    return MapSpec(
        key="offre_publique",
        title="Établissements publics (FINESS)",
        legend_title="Établissements FINESS par commune",
        colours=by_code(c, colours),
        legend=PUBLIC_COUNT_CLASSES,
        source=_finess_source(inputs),
        tooltip=tooltip(c, "établissements FINESS", n.map(lambda v: fr_number(v))),
        points=located[["lon", "lat", "label", "colour"]] if len(located) else None,
        points_legend=[(supply.PUBLIC_FAMILIES[f], PUBLIC_FAMILY_COLOURS[f]) for f in present],
        note="Établissements sans coordonnées : comptés dans leur commune, sans point.",
    )


def _share_blocks(inputs: ReportInputs, public: PublicSites | None, table: pd.DataFrame) -> list:
    from models import supply

    if public is None:
        return [Notice("Part des adhérents dans l'offre : non calculable sans le registre des "
                       "adhérents.")]
    by_family = public.by_family
    members = pd.DataFrame({
        "group": "territoire",
        "family": by_family.get("offer_family", pd.Series(dtype=str)),
        "n_sites": pd.to_numeric(by_family.get("n_sites", pd.Series(dtype=float)), errors="coerce"),
        "capacity": pd.to_numeric(by_family.get("capacity", pd.Series(dtype=float)),
                                  errors="coerce"),
    })
    share = supply.members_share(members, table, public_available=True)
    share = share[share["family"].isin(supply.INSERTION_PUBLIC_FAMILIES)
                  | (share["members_sites"] > 0)]
    fictif = " (FICTIF)" if public.fictional else ""
    rows = [[r["family_label"], count(r["members_capacity"]) if r["members_sites"] >= 3
             or r["members_sites"] == 0 else SMALL_LABEL + " sites",
             count(r["finess_capacity"]),
             (fr_percent(r["share"]) + fictif) if pd.notna(r["share"]) else r["status"]]
            for _, r in share.iterrows()]
    return [Table(
        "Part des adhérents dans l'offre, par famille" + fictif,
        ["Famille", "Capacité des adhérents", "Places FINESS (total)", "Part des adhérents"],
        rows,
        source=f"{REGISTRY_SOURCE} ; {_finess_source(inputs).removeprefix('Source : ')}",
        numeric=[False, True, True, True], key="part_adherents",
        data=share.drop(columns=["group"]),
        note="FINESS compte aussi les établissements des adhérents : il sert de total pour "
        "l'hébergement, les résidences sociales et les pensions de famille. L'intermédiation "
        "locative, le diffus et l'accompagnement n'y figurent pas : leur part n'est pas "
        "calculable. Le dispositif d'asile n'est jamais dans le total.",
    )]
