"""Section « Écarts »: the gap map, zones blanches, the communes where the gap is largest and
the scenarios, from the gap model (``models.gap``)."""

from __future__ import annotations

import pandas as pd

from diagnostics.classes import categorical_classes
from diagnostics.document import MapSpec, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import MISSING, fr_number, fr_signed
from diagnostics.inputs import ReportInputs
from diagnostics.sections import bricks
from diagnostics.sections.common import (
    FICTIF,
    by_code,
    count,
    count_interval,
    estimated_flags,
    fictif,
    has,
    names_list,
    offer_fictional,
    plural,
    tooltip,
)
from models import gap_reference as gr

CLASS_COLOURS = dict(gr.CLASS_COLOURS)
TYPE_LABELS = {
    "pension_de_famille": "pension de famille",
    "residence_sociale": "résidence sociale",
    "intermediation_locative": "intermédiation locative",
    "diffus": "logement d'insertion en diffus",
    "hebergement": "hébergement",
    "accompagnement": "accompagnement",
}


def gap_frame(inputs: ReportInputs) -> pd.DataFrame | None:
    if inputs.gap is None or not has(inputs.gap.frame, "reference_class"):
        return None
    frame = inputs.gap.frame.drop(columns=["name", "dep_code", "score"], errors="ignore")
    base = pd.DataFrame(inputs.communes[["code", "name", "population"]])
    return base.merge(frame, on="code", how="left")


def gap_source(inputs: ReportInputs) -> str:
    meta = inputs.gap.meta if inputs.gap is not None else {}
    method = meta.get("method_fr", "méthode à deux étapes à aire flottante")
    text = (f"Source : modèle d'écart du projet ({method}) sur les ménages cibles estimés et "
            "l'offre déclarée")
    if meta.get("offer_fictional"):
        text += " — offre FICTIVE (données de démonstration)"
    return text


def interval(value, low, high, decimals: int = 0) -> str:
    if pd.isna(value):
        return MISSING
    text = fr_signed(value, decimals) if value < 0 else fr_number(value, decimals)
    if pd.notna(low) and pd.notna(high) and (round(low) != round(value) or round(high) != round(value)):
        text += f" [{fr_number(low, decimals)} – {fr_number(high, decimals)}]"
    return text


def family_table(inputs: ReportInputs, frame: pd.DataFrame) -> Table:
    """Per family of offer: target households, places, reference, missing places, surplus."""
    meta = inputs.gap.meta if inputs.gap is not None else {}
    notes = meta.get("reference_notes", {})
    unavailable = meta.get("reference_unavailable", {})
    rows, data = [], []
    for family, label in TYPE_LABELS.items():
        if f"target_{family}" not in frame.columns:
            if family in unavailable:
                rows.append([label, "non disponible", "—", "—", "—", "—"])
            continue
        target = frame[f"target_{family}"].sum(min_count=1)
        low = frame[f"target_{family}_low"].sum(min_count=1)
        high = frame[f"target_{family}_high"].sum(min_count=1)
        allocated = frame[f"allocated_{family}"].sum(min_count=1)
        missing = frame[f"missing_{family}"].sum(min_count=1)
        surplus = frame[f"surplus_{family}"].sum(min_count=1)
        reference = frame[f"reference_{family}"].median()
        rows.append([
            label, count_interval(target, low, high), fictif(inputs, fr_number(allocated, 0)),
            fr_number(reference, 1), fictif(inputs, count(missing)),
            fictif(inputs, count(surplus)),
        ])
        data.append({"famille": label, "menages_cibles": target, "menages_cibles_bas": low,
                     "menages_cibles_haut": high, "places_allouees": allocated,
                     "reference_pour_1000": reference, "places_manquantes": missing,
                     "places_excedentaires": surplus, "reference": notes.get(family, "")})
    note = ("Places allouées : places à portée réparties entre les communes qui y accèdent, pour "
            "les ménages cibles de la famille. Référence : places pour 1 000 ménages cibles — "
            + " ; ".join(f"{TYPE_LABELS.get(f, f)} : {n}" for f, n in notes.items()) + ".")
    if unavailable:
        note += " Non disponible : " + " ; ".join(
            f"{TYPE_LABELS.get(f, f)} ({r})" for f, r in unavailable.items()) + "."
    return Table(
        "Places manquantes pour atteindre la référence, par famille d'offre",
        ["Famille d'offre", "Ménages cibles (bas – haut)", "Places allouées",
         "Référence pour 1 000 ménages cibles", "Places manquantes", "Places en excédent"],
        rows, source=gap_source(inputs), numeric=[False, True, True, True, True, True],
        key="ecart_familles", data=pd.DataFrame(data), widths=[22, 17, 14, 15, 14, 14],
        note=note,
    )


def top_gap_table(inputs: ReportInputs, frame: pd.DataFrame, n: int = 15) -> Table:
    top = frame[frame["missing_total"].notna()].sort_values("missing_total", ascending=False)
    top = top.head(n)
    rows = [[
        f"{r['name']} ({r['code']})",
        fictif(inputs, fr_number(r.get("allocated_total"), 1)),
        fr_number(r.get("expected_total"), 1),
        fictif(inputs, fr_number(r.get("missing_total"), 1)),
        str(r.get("reference_class") or MISSING)
        + ("" if r.get("reference_class_certain", True) else " (incertain)"),
    ] for _, r in top.iterrows()]
    keep = [c for c in ("code", "name", "allocated_total", "expected_total", "missing_total",
                        "surplus_total", "reference_class", "reference_class_certain")
            if c in top.columns]
    return Table(
        "Communes où il manque le plus de places pour atteindre la référence",
        ["Commune", "Places allouées", "Places attendues à la référence", "Places manquantes",
         "Classe d'écart"],
        rows, source=gap_source(inputs), numeric=[False, True, True, True, False],
        key="ecart_communes", data=top[keep].reset_index(drop=True), widths=[26, 15, 19, 15, 25],
        note="Places attendues = référence × ménages cibles / 1 000, familles du total ; "
        "« incertain » : la classe change entre les bornes basse et haute des ménages cibles.",
    )


ZONE_COLOURS = {
    "sans pension de famille": "#b2182b",
    "sans résidence sociale": "#ef8a62",
    "sans intermédiation locative": "#7570b3",
    "sans logement d'insertion en diffus": "#e7298a",
    "sans accompagnement": "#d95f02",
    "sans plusieurs familles d'offre": "#67001f",
    "pas de zone blanche": "#f7f7f7",
}


def zone_map(inputs: ReportInputs, frame: pd.DataFrame, zones: pd.DataFrame) -> MapSpec | None:
    """The zones blanches drawn commune by commune, labelled by the family missing."""
    if zones is None or zones.empty:
        return None
    missing: dict[str, list[str]] = {}
    for _, zone in zones.iterrows():
        label = TYPE_LABELS.get(zone["offer_type"], str(zone["offer_type"]))
        for code in zone["codes"]:
            missing.setdefault(str(code), []).append(label)
    labels = frame["code"].astype(str).map(
        lambda c: ("pas de zone blanche" if c not in missing else
                   f"sans {missing[c][0]}" if len(missing[c]) == 1 else
                   "sans plusieurs familles d'offre"))
    colours, legend = categorical_classes(labels, ZONE_COLOURS)
    return MapSpec(
        key="zones_blanches",
        title=fictif(inputs, "Zones blanches : ménages cibles sans offre de la famille à portée"),
        legend_title="Zone blanche", colours=by_code(frame, colours), legend=legend,
        source=gap_source(inputs), tooltip=tooltip(frame, "zone blanche", labels),
    )


def target_zones_blocks(inputs: ReportInputs) -> list:
    zones = inputs.gap.tables.get("zones_blanches_cibles") if inputs.gap is not None else None
    if zones is None:
        return zones_blanches_blocks(inputs)
    if zones.empty:
        return [Paragraph("Aucune zone blanche : partout où les ménages cibles d'une famille "
                          "dépassent le seuil, une offre de la famille est à portée.")]
    rows = [[
        TYPE_LABELS.get(r["offer_type"], str(r["offer_type"])),
        str(r.get("names") or ""),
        count(r["n_communes"]),
        count_interval(r["target_households"], r.get("target_households_low"),
                       r.get("target_households_high")),
    ] for _, r in zones.head(20).iterrows()]
    by_type = zones.groupby("offer_type").size()
    text = fictif(inputs, "Zones blanches (communes ou groupes de communes voisines dont les "
                  "ménages cibles d'une famille dépassent le seuil, sans offre de la famille à "
                  "portée) : " + ", ".join(
                      f"{plural(n, 'zone')} sans {TYPE_LABELS.get(t, t)}"
                      for t, n in by_type.items())) + "."
    data = zones.assign(
        codes=zones["codes"].map(lambda c: ", ".join(c) if isinstance(c, list | tuple) else c)
    )
    blocks: list = [Paragraph(text)]
    drawn = zone_map(inputs, gap_frame(inputs), zones)
    if drawn is not None:
        blocks.append(drawn)
    return [
        *blocks,
        Table("Principales zones blanches", ["Offre absente", "Communes", "Nombre de communes",
                                             "Ménages cibles (bas – haut)"],
              rows, source=gap_source(inputs), numeric=[False, False, True, True],
              key="zones_blanches", data=data,
              note=f"{len(zones) - 20} autres zones dans l'export tableur." if len(zones) > 20 else ""),
    ]


def zones_blanches_blocks(inputs: ReportInputs) -> list:
    zones = inputs.gap.tables.get("zones_blanches") if inputs.gap is not None else None
    if zones is None:
        return [Notice("Zones blanches non calculées.")]
    if zones.empty:
        return [Paragraph("Aucune zone blanche : toutes les communes à besoin élevé ont au moins "
                          "une offre de chaque type à portée.")]
    rows = [[
        TYPE_LABELS.get(r["offer_type"], str(r["offer_type"])),
        str(r.get("names") or ""),
        count(r["n_communes"]),
        interval(r["need_households"], r.get("need_households_low"), r.get("need_households_high")),
        fr_number(r.get("score_max"), 1),
    ] for _, r in zones.head(20).iterrows()]
    by_type = zones.groupby("offer_type").size()
    text = "Zones blanches (communes ou groupes de communes voisines à besoin élevé sans offre " \
        "du type à portée) : " + ", ".join(
            f"{plural(n, 'zone')} sans {TYPE_LABELS.get(t, t)}" for t, n in by_type.items()) + "."
    data = zones.assign(
        codes=zones["codes"].map(lambda c: ", ".join(c) if isinstance(c, list | tuple) else c)
    )
    return [
        Paragraph(text),
        Table("Principales zones blanches", ["Offre absente", "Communes", "Nombre de communes",
                                             "Ménages pauvres estimés [intervalle]", "Indice maximal"],
              rows, source=gap_source(inputs), numeric=[False, False, True, True, True],
              key="zones_blanches", data=data,
              note=f"{len(zones) - 20} autres zones dans l'export tableur." if len(zones) > 20 else ""),
    ]


def siting_blocks(inputs: ReportInputs) -> list:
    """The illustrative scenario: new pensions de famille where they answer the most need."""
    table = inputs.gap.tables.get("implantation") if inputs.gap is not None else None
    if table is None or table.empty:
        return []
    names = dict(zip(inputs.communes["code"], inputs.communes["name"], strict=True))
    places = float(table.attrs.get("places", table["places"].sum()))
    before = float(table["unmet_remaining"].iloc[0] + table["need_covered"].iloc[0])
    after = float(table["unmet_remaining"].iloc[-1])
    rows = [[
        count(r["rank"]), f"{names.get(r['code'], r['name'])} ({r['code']})", count(r["places"]),
        fr_number(r["need_covered"], 0), count(r["communes_reached"]),
        ", ".join(names.get(c.strip(), c.strip()) for c in str(r["main_communes"]).split(",") if c.strip()),
    ] for _, r in table.iterrows()]
    return [
        Paragraph(fictif(
            inputs,
            f"Scénario indicatif : {count(places)} places de pension de famille implantées une à "
            "une là où elles atteignent le plus de ménages pauvres estimés sans place à portée "
            "(recherche gloutonne de couverture maximale). Ménages pauvres estimés sans place à "
            f"portée : {count(before)} avant, {count(after)} après. Un même lieu peut être choisi "
            "plusieurs fois quand ce nombre y reste le plus fort") + "."
        ),
        Table(fictif(inputs, "Scénario indicatif d'implantation de pensions de famille"),
              ["Ordre", "Commune", "Places", "Ménages pauvres estimés atteints",
               "Communes atteintes", "Principales communes atteintes"], rows,
              source=gap_source(inputs),
              numeric=[True, False, True, True, True, False], key="implantation",
              data=table.reset_index(drop=True), widths=[7, 22, 8, 13, 11, 39]),
    ]


def scenario_blocks(inputs: ReportInputs) -> list:
    scenarios = inputs.gap.tables.get("scenarios") if inputs.gap is not None else None
    if scenarios is None or scenarios.empty:
        return [*siting_blocks(inputs), Paragraph(
            "Aucun autre scénario n'a été enregistré pour ce territoire ; l'application permet "
            "d'en simuler (ajout ou retrait de sites).")]
    rows = [[str(r.get("scenario", "")), *[fr_number(v, 0) for v in r.drop("scenario", errors="ignore")]]
            for _, r in scenarios.iterrows()]
    return [Table("Scénarios", ["Scénario", *[str(c) for c in scenarios.columns if c != "scenario"]], rows,
                  source=gap_source(inputs), key="scenarios", data=scenarios)]


def reference_legend_title(meta: dict) -> str:
    """The legend's title names the reference the classes are measured against."""
    method = meta.get("reference_method_fr")
    return f"Classe d'écart (référence : {method})" if method else "Classe d'écart"


def bricks_blocks(inputs: ReportInputs) -> list:
    """The need brick by brick on the territory, and what the figures cannot see."""
    targets = inputs.gap.tables.get("menages_cibles") if inputs.gap is not None else None
    if targets is None or not len(targets):
        return []
    return [Subtitle("Briques du besoin"), bricks.bricks_table(targets, gap_source(inputs)),
            *bricks.limits_blocks()]


def gap_section(inputs: ReportInputs) -> Section:
    section = Section("ecarts", "Écarts entre besoins et offre")
    frame = gap_frame(inputs)
    if frame is None:
        reason = inputs.missing.get("ecart", "donnée non disponible : modèle d'écart absent")
        section.add(Notice(reason[:1].upper() + reason[1:] + "."))
        return section
    meta = inputs.gap.meta
    if offer_fictional(inputs):
        section.add(Notice("L'offre de ce rapport est FICTIVE (données de démonstration) : "
                           f"chaque chiffre qui en dépend porte la mention « {FICTIF} »."))
    missing = frame["missing_total"].sum(min_count=1)
    surplus = frame["surplus_total"].sum(min_count=1)
    classes = frame["reference_class"].value_counts()
    below = frame[frame["reference_class"].isin([gr.CLASS_VERY_BELOW, gr.CLASS_BELOW])]
    below = below.sort_values("missing_total", ascending=False)
    section.add(Paragraph(
        "L'écart se mesure famille d'offre par famille d'offre, sur les ménages que chaque "
        "famille accueille (ménages cibles), jamais sur tous les ménages pauvres. "
        f"Il manque {fictif(inputs, count(missing))} places pour que chaque commune atteigne la "
        f"référence ({meta.get('reference_method_fr', 'référence')}) ; "
        f"{fictif(inputs, count(surplus))} places sont au-delà. "
        f"{plural(len(below), 'commune')} {'sont' if len(below) > 1 else 'est'} en dessous de "
        "la référence"
        + (f", d'abord {names_list(below['name'], 6)}" if len(below) else "") + "."
    ))
    section.add(family_table(inputs, frame))
    section.add(*bricks_blocks(inputs))
    colours, legend = categorical_classes(frame["reference_class"], CLASS_COLOURS)
    section.add(MapSpec(
        key="ecart",
        title=fictif(inputs, "Écart à la référence, toutes familles du total"),
        legend_title=reference_legend_title(meta),
        colours=by_code(frame, colours), legend=legend,
        source=gap_source(inputs),
        tooltip=tooltip(frame, "classe d'écart", frame["reference_class"].fillna(MISSING)),
        note=" ".join(x for x in (meta.get("reference_definition_fr", ""),
                                  meta.get("living_area_note_fr", "")) if x),
        hatched=estimated_flags(inputs),
    ))
    section.add(Table(
        "Communes par classe d'écart",
        ["Classe d'écart", "Communes", "Places manquantes"],
        [[k, count(classes.get(k, 0)), fictif(inputs, count(
            frame.loc[frame["reference_class"].eq(k), "missing_total"].sum()))]
         for k in CLASS_COLOURS if classes.get(k, 0)],
        source=gap_source(inputs), numeric=[False, True, True], key="ecart_classes",
    ))
    section.add(top_gap_table(inputs, frame))
    section.add(Subtitle("Zones blanches"))
    section.add(*target_zones_blocks(inputs))
    section.add(Subtitle("Scénarios"))
    section.add(*scenario_blocks(inputs))
    return section
