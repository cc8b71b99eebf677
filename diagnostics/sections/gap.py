"""Section « Écarts »: the gap map, zones blanches, the communes where the gap is largest and
the scenarios, from the gap model (``models.gap``)."""

from __future__ import annotations

import pandas as pd

from diagnostics.classes import categorical_classes, diverging_classes
from diagnostics.document import MapSpec, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import MISSING, fr_number, fr_signed
from diagnostics.inputs import ReportInputs
from diagnostics.sections.common import by_code, count, has, names_list, pct, plural, tooltip

CLASS_COLOURS = {
    "besoin non couvert": "#b2182b",
    "couvert": "#2166ac",
    "offre sans besoin mesuré": "#92c5de",
    "sans besoin ni offre mesurés": "#f7f7f7",
    "non calculé": "#d9d9d9",
}
TYPE_LABELS = {
    "pension_de_famille": "pension de famille",
    "residence_sociale": "résidence sociale",
    "intermediation_locative": "intermédiation locative",
    "diffus": "logement d'insertion en diffus",
    "hebergement": "hébergement",
    "accompagnement": "accompagnement",
}


def gap_frame(inputs: ReportInputs) -> pd.DataFrame | None:
    if inputs.gap is None or not has(inputs.gap.frame, "gap_households"):
        return None
    frame = inputs.gap.frame.drop(columns=["name", "dep_code", "score"], errors="ignore")
    base = pd.DataFrame(inputs.communes[["code", "name", "population"]])
    return base.merge(frame, on="code", how="left")


def gap_source(inputs: ReportInputs) -> str:
    meta = inputs.gap.meta if inputs.gap is not None else {}
    method = meta.get("method_fr", "méthode à deux étapes à aire flottante")
    return f"Source : modèle d'écart du projet ({method}) sur le besoin estimé et l'offre déclarée"


def interval(value, low, high, decimals: int = 0) -> str:
    if pd.isna(value):
        return MISSING
    text = fr_signed(value, decimals) if value < 0 else fr_number(value, decimals)
    if pd.notna(low) and pd.notna(high) and (round(low) != round(value) or round(high) != round(value)):
        text += f" [{fr_number(low, decimals)} – {fr_number(high, decimals)}]"
    return text


def top_gap_table(inputs: ReportInputs, frame: pd.DataFrame, n: int = 15) -> Table:
    top = frame[frame["gap_households"].notna()].sort_values("gap_households", ascending=False).head(n)
    rows = [[
        f"{r['name']} ({r['code']})",
        fr_number(r.get("need_households")),
        fr_number(r.get("places_allocated"), 1),
        interval(r["gap_households"], r.get("gap_households_low"), r.get("gap_households_high")),
        fr_number(r.get("gap_per_1000"), 1),
        str(r.get("gap_class") or MISSING) + ("" if r.get("class_certain", True) else " (incertain)"),
    ] for _, r in top.iterrows()]
    keep = [c for c in ("code", "name", "need_households", "places_allocated", "gap_households",
                        "gap_households_low", "gap_households_high", "gap_per_1000", "gap_class",
                        "class_certain") if c in top.columns]
    return Table(
        "Communes où l'écart est le plus grand",
        ["Commune", "Ménages en besoin", "Places accessibles allouées",
         "Écart en ménages [intervalle]", "Écart pour 1 000 ménages", "Classe"],
        rows, source=gap_source(inputs), numeric=[False, True, True, True, True, False],
        key="ecart_communes", data=top[keep].reset_index(drop=True), widths=[24, 13, 15, 18, 13, 17],
        note="Écart = ménages en besoin − places accessibles allouées à la commune ; l'intervalle "
        "reprend celui du besoin. « incertain » : la classe change dans l'intervalle.",
    )


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
                                             "Ménages en besoin [intervalle]", "Indice maximal"],
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
        Paragraph(
            f"Scénario indicatif : {count(places)} places de pension de famille implantées une à une "
            "là où elles répondent au plus de besoin non couvert à portée (recherche gloutonne de "
            f"couverture maximale). Besoin non couvert à portée : {count(before)} ménages avant, "
            f"{count(after)} après. Un même lieu peut être choisi plusieurs fois quand le besoin "
            "y reste le plus fort."
        ),
        Table("Scénario indicatif d'implantation de pensions de famille",
              ["Ordre", "Commune", "Places", "Ménages en besoin atteints", "Communes atteintes",
               "Principales communes atteintes"], rows, source=gap_source(inputs),
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


def _by_gap(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("gap_households", ascending=False)


def gap_section(inputs: ReportInputs) -> Section:
    section = Section("ecarts", "Écarts entre besoins et offre")
    frame = gap_frame(inputs)
    if frame is None:
        reason = inputs.missing.get("ecart", "donnée non disponible : modèle d'écart absent")
        section.add(Notice(reason[:1].upper() + reason[1:] + "."))
        return section
    total_gap = frame["gap_households"].clip(lower=0).sum(min_count=1)
    need = frame["need_households"].sum(min_count=1)
    allocated = frame["places_allocated"].sum(min_count=1) if "places_allocated" in frame else float("nan")
    uncovered = frame[frame.get("gap_class", pd.Series(dtype=object)).eq("besoin non couvert")]
    section.add(Paragraph(
        f"Sur {count(need)} ménages en besoin estimés, les places accessibles allouées au territoire "
        f"en couvrent {count(allocated)} ({pct(100 * allocated / need if need else float('nan'), 0)}). "
        f"L'écart positif cumulé atteint {count(total_gap)} ménages ; "
        f"{plural(len(uncovered), 'commune')} {'ont' if len(uncovered) > 1 else 'a'} un besoin non couvert"
        + (f", en particulier {names_list(_by_gap(uncovered)['name'], 6)}" if len(uncovered) else "")
        + "."
    ))
    colours, legend = diverging_classes(frame["gap_per_1000"], decimals=1)
    section.add(MapSpec(
        key="ecart",
        title="Écart entre besoin et offre accessible, pour 1 000 ménages",
        legend_title="Écart pour 1 000 ménages",
        colours=by_code(frame, colours), legend=legend,
        source=gap_source(inputs),
        tooltip=tooltip(frame, "écart pour 1 000 ménages", frame["gap_per_1000"].map(
            lambda v: fr_number(v, 1))),
        note="Rouge : besoin sans réponse à portée ; bleu : offre accessible au moins égale au besoin.",
    ))
    if "gap_class" in frame.columns:
        counts = frame["gap_class"].value_counts()
        colours, legend = categorical_classes(frame["gap_class"], CLASS_COLOURS)
        section.add(Table(
            "Communes par classe d'écart", ["Classe", "Communes", "Ménages en besoin"],
            [[k, count(counts.get(k, 0)), count(frame.loc[frame["gap_class"].eq(k), "need_households"].sum())]
             for k in CLASS_COLOURS if counts.get(k, 0)],
            source=gap_source(inputs), numeric=[False, True, True], key="ecart_classes",
        ))
    section.add(top_gap_table(inputs, frame))
    section.add(Subtitle("Zones blanches"))
    section.add(*zones_blanches_blocks(inputs))
    section.add(Subtitle("Scénarios"))
    section.add(*scenario_blocks(inputs))
    return section
