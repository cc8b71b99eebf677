"""Section « Besoins »: the need index map, the communes most in need with their drivers and
rank intervals, hot spots and the typology of communes (from the need model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from diagnostics.classes import categorical_classes, numeric_classes, qualitative_colours
from diagnostics.document import MapSpec, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import MISSING, fr_number
from diagnostics.inputs import ReportInputs
from diagnostics.sections.common import (
    NEED_VOLUME_LABEL,
    NEED_VOLUME_NOTE,
    by_code,
    count,
    count_interval,
    estimated_flags,
    has,
    names_list,
    pct,
    plural,
    tooltip,
)

STATUS_OK = "calculé"
HOTSPOT_LABELS = {
    "HH": "Point chaud (besoin élevé entouré de besoin élevé)",
    "HL": "Besoin élevé isolé",
    "LH": "Besoin faible entouré de besoin élevé",
    "LL": "Point froid (besoin faible entouré de besoin faible)",
}
HOTSPOT_COLOURS = {"HH": "#b2182b", "HL": "#ef8a62", "LH": "#67a9cf", "LL": "#2166ac"}


def need_frame(inputs: ReportInputs) -> pd.DataFrame | None:
    """The need model's frame joined to the territory's communes (names, population)."""
    if inputs.need is None or not has(inputs.need.frame, "score"):
        return None
    frame = inputs.need.frame.drop(columns=["name", "dep_code"], errors="ignore")
    base = pd.DataFrame(inputs.communes[["code", "name", "population"]])
    return base.merge(frame, on="code", how="left")


def need_source(inputs: ReportInputs) -> str:
    source = inputs.need.source if inputs.need is not None else ""
    return f"Source : {source or 'modèle de besoin du projet, sur les sources citées en annexe'}"


def rank_interval(row: pd.Series) -> str:
    if pd.isna(row.get("rank")):
        return MISSING
    text = fr_number(row["rank"])
    low, high = row.get("rank_p05"), row.get("rank_p95")
    if pd.notna(low) and pd.notna(high) and round(low) != round(high):
        text += f" [{fr_number(low)} – {fr_number(high)}]"
    return text


def households_interval(row: pd.Series) -> str:
    value = row.get("need_households")
    if pd.isna(value):
        return MISSING
    text = fr_number(value)
    low, high = row.get("need_households_low"), row.get("need_households_high")
    if pd.notna(low) and pd.notna(high) and (round(low) != round(value) or round(high) != round(value)):
        text += f" [{fr_number(low)} – {fr_number(high)}]"
    return text


def top_need_table(inputs: ReportInputs, frame: pd.DataFrame, n: int = 15) -> Table:
    scored = frame[frame["score"].notna()].sort_values("score", ascending=False).head(n)
    rows = []
    for _, r in scored.iterrows():
        robust = " ●" if bool(r.get("top_decile_robust", False)) else ""
        imputed = " *" if bool(r.get("imputed_poverty_rate", False)) else ""
        rows.append([
            f"{r['name']} ({r['code']})",
            fr_number(r["score"], 1) + robust,
            rank_interval(r),
            households_interval(r) + imputed,
            str(r.get("explanation") or ""),
        ])
    data = scored[[c for c in ("code", "name", "score", "rank", "rank_p05", "rank_p95",
                               "need_households", "need_households_low", "need_households_high",
                               "top_decile_robust", "explanation") if c in scored.columns]]
    return Table(
        "Communes où l'indice de besoin est le plus élevé",
        ["Commune", "Indice (0–100)", "Rang national [intervalle 90 %]",
         "Ménages pauvres estimés [intervalle]", "Principaux facteurs"],
        rows,
        source=need_source(inputs),
        numeric=[False, True, True, True, False],
        note="● : commune dans le premier décile national dans au moins 90 % des 1 000 tirages "
        "de pondération et de normalisation. * : taux de pauvreté estimé par le modèle (secret "
        "statistique), avec son intervalle. Ménages pauvres estimés : " + NEED_VOLUME_NOTE + ".",
        key="besoin_communes",
        data=data.reset_index(drop=True),
        widths=[20, 9, 17, 15, 39],
    )


def hotspot_blocks(inputs: ReportInputs, frame: pd.DataFrame) -> list:
    if "hotspot" not in frame.columns:
        return [Notice("Points chauds non calculés par le modèle de besoin.")]
    hot = frame[frame["hotspot"].eq("HH")].sort_values("score", ascending=False)
    isolated = frame[frame["hotspot"].eq("HL")].sort_values("score", ascending=False)
    text = (
        f"L'analyse locale d'autocorrélation (indice de Moran local, seuil corrigé du taux de "
        f"fausses découvertes) repère {plural(len(hot), 'commune')} en point chaud"
        + (f" : {names_list(hot['name'])}" if len(hot) else "")
        + f", et {plural(len(isolated), 'commune')} au besoin élevé isolée(s) parmi des communes "
        "moins concernées"
        + (f" : {names_list(isolated['name'])}" if len(isolated) else "")
        + "."
    )
    colours, legend = categorical_classes(frame["hotspot"].where(frame["hotspot"].isin(HOTSPOT_COLOURS)),
                                          HOTSPOT_COLOURS)
    legend = [(HOTSPOT_LABELS[k], c) for k, c in legend]
    return [
        Paragraph(text),
        MapSpec(
            key="points_chauds",
            title="Points chauds et points froids du besoin",
            legend_title="Autocorrélation locale de l'indice",
            colours=by_code(frame, colours),
            legend=legend,
            source=need_source(inputs),
            tooltip=tooltip(frame, "classe", frame["hotspot"].map(
                lambda v: HOTSPOT_LABELS.get(v, "non significatif"))),
            missing_label="non significatif",
        ),
    ]


def typology_blocks(inputs: ReportInputs, frame: pd.DataFrame) -> list:
    if not has(frame, "cluster_label") or not frame["cluster_label"].astype(str).str.len().gt(0).any():
        return [Notice("Typologie des communes non calculée par le modèle de besoin.")]
    labelled = frame[frame["cluster_label"].astype(str).str.len() > 0]
    grouped = labelled.groupby("cluster_label").agg(
        communes=("code", "size"), population=("population", "sum"), score=("score", "mean"),
        need=("need_households", "sum"),
    ).sort_values("score", ascending=False)
    rows = [[label, count(r.communes), count(r.population), fr_number(r.score, 1), count(r.need)]
            for label, r in grouped.iterrows()]
    colours_map = qualitative_colours(list(grouped.index))
    colours, legend = categorical_classes(frame["cluster_label"].where(
        frame["cluster_label"].astype(str).str.len() > 0), colours_map, list(grouped.index))
    return [
        Table("Typologie des communes (classes du modèle de besoin)",
              ["Type de commune", "Communes", "Population", "Indice moyen",
               "Ménages pauvres estimés"], rows, source=need_source(inputs),
              numeric=[False, True, True, True, True], key="typologie",
              data=grouped.reset_index()),
        MapSpec(
            key="typologie",
            title="Typologie des communes",
            legend_title="Type de commune",
            colours=by_code(frame, colours),
            legend=legend,
            source=need_source(inputs),
            tooltip=tooltip(frame, "type", frame["cluster_label"].fillna("")),
        ),
    ]


def need_section(inputs: ReportInputs) -> Section:
    section = Section("besoins", "Besoins")
    frame = need_frame(inputs)
    if frame is None:
        reason = inputs.missing.get("besoin", "donnée non disponible : modèle de besoin absent")
        section.add(Notice(reason[:1].upper() + reason[1:] + "."))
        return section
    scored = frame[frame["score"].notna()]
    total_need = frame["need_households"].sum(min_count=1) if "need_households" in frame else np.nan
    low = frame.get("need_households_low", pd.Series(dtype=float)).sum(min_count=1)
    high = frame.get("need_households_high", pd.Series(dtype=float)).sum(min_count=1)
    insufficient = int(frame.get("status", pd.Series(dtype=object)).ne(STATUS_OK).sum())
    imputed = int(frame.get("imputed_poverty_rate", pd.Series(False)).fillna(False).astype(bool).sum())
    text = (
        f"L'indice de besoin (0 à 100, normalisé sur toute la France) est calculé pour "
        f"{plural(len(scored), 'commune')} du territoire"
        + (f" ; {plural(insufficient, 'commune')} n'ont pas assez de données pour être "
           "classées et restent en gris" if insufficient else "")
        + f". En volume, le modèle compte {count_interval(total_need, low, high)} "
        f"{NEED_VOLUME_LABEL} ({NEED_VOLUME_NOTE}), dont une part repose sur un taux de "
        f"pauvreté estimé pour {plural(imputed, 'commune')} sous secret statistique. Ce volume "
        "mesure l'intensité de la pauvreté, pas le public de l'offre d'insertion : les ménages "
        "cibles de chaque famille d'offre sont estimés dans la section « Écarts »."
    )
    section.add(Paragraph(text))
    if "need_households" in frame.columns and frame["need_households"].notna().any():
        share = frame["need_households"] / max(float(total_need), 1.0)
        top = frame.assign(share=share).sort_values("need_households", ascending=False).head(5)
        section.add(Paragraph(
            f"En volume, les {NEED_VOLUME_LABEL} se concentrent dans "
            + names_list([f"{r['name']} ({count(r['need_households'])}, {pct(100 * r['share'], 0)})"
                          for _, r in top.iterrows()])
            + "."
        ))
    colours, legend = numeric_classes(frame["score"], "besoin", k=5, decimals=1)
    section.add(MapSpec(
        key="besoin",
        title="Indice de besoin en logement d'insertion",
        legend_title="Indice de besoin (0–100)",
        colours=by_code(frame, colours),
        legend=legend,
        source=need_source(inputs),
        tooltip=tooltip(frame, "indice", frame["score"].map(lambda v: fr_number(v, 1))),
        note="Classes par quantiles des communes du territoire ; plus foncé = besoin plus fort ; "
             "hachures : taux de pauvreté estimé (secret statistique).",
        hatched=estimated_flags(inputs),
    ))
    section.add(top_need_table(inputs, frame))
    robust_flag = frame.get("top_decile_robust", pd.Series(False, index=frame.index))
    robust = frame[robust_flag.fillna(False).astype(bool)].sort_values("score", ascending=False)
    if len(robust):
        verb = "restent" if len(robust) > 1 else "reste"
        section.add(Paragraph(
            f"{plural(len(robust), 'commune')} du territoire {verb} dans le premier décile national "
            "dans au moins 90 % des 1 000 tirages de pondération et de normalisation : "
            f"{names_list(robust['name'])}."
        ))
    section.add(Subtitle("Points chauds"))
    section.add(*hotspot_blocks(inputs, frame))
    section.add(Subtitle("Typologie des communes"))
    section.add(*typology_blocks(inputs, frame))
    return section
