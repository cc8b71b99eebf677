"""Section « Leviers »: for each type of commune, the levers the data point to."""

from __future__ import annotations

import pandas as pd

from diagnostics import levers as lv
from diagnostics.document import Bullets, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.inputs import ReportInputs
from diagnostics.sections.common import count, names_list, plural


def lever_frame(inputs: ReportInputs) -> pd.DataFrame:
    """Communes with the indicators, the need and the gap model's reach columns."""
    frame = pd.DataFrame(inputs.communes.drop(columns="geometry"))
    if inputs.need is not None:
        need = inputs.need.frame
        keep = [c for c in ("code", "score", "need_households") if c in need.columns]
        frame = frame.merge(need[keep], on="code", how="left")
    if inputs.gap is not None:
        gap = inputs.gap.frame
        keep = ["code", *[c for c in gap.columns if c.startswith("providers_in_reach_")]]
        frame = frame.merge(gap[keep], on="code", how="left")
    return frame


def levers_section(
    inputs: ReportInputs, sites_by_commune: pd.DataFrame | None
) -> tuple[Section, list[lv.Lever]]:
    section = Section("leviers", "Leviers d'action")
    frame = lever_frame(inputs)
    _, need_label = lv.need_measure(frame)
    levers = lv.derive_levers(frame, inputs.national, sites_by_commune, inputs.missing)
    applicable = [lever for lever in levers if lever.evaluable]
    section.add(Paragraph(
        "Les leviers ci-dessous ne sont proposés que là où une condition mesurée est remplie "
        f"(mesure du besoin : {need_label or 'aucune'}). Chaque levier indique la règle qui le "
        "déclenche, les chiffres du territoire et les communes concernées."
    ))
    by_type = lv.levers_by_type(applicable, frame)
    section.add(Table(
        "Leviers par type de commune",
        ["Type de commune", "Communes", "Population", "Ménages pauvres estimés",
         "Leviers (nombre de communes)"],
        [[r["commune_type"], count(r["communes"]), count(r["population"]), count(r["need"]),
          r["levers"] or "aucun levier déclenché"] for _, r in by_type.iterrows()],
        source="Types : grille communale de densité 2025 (INSEE), regroupée en quatre types par "
        "le projet",
        numeric=[False, True, True, True, False], key="leviers_types",
        data=by_type.rename(columns={"commune_type": "Type de commune", "communes": "Communes",
                                     "population": "Population", "need": "Ménages pauvres estimés",
                                     "levers": "Leviers"}),
    ))
    if not applicable:
        section.add(Paragraph("Aucun levier n'est déclenché par les données disponibles."))
    for lever in applicable:
        section.add(Subtitle(lever.title))
        top = lever.communes.head(10)
        section.add(Paragraph(
            f"{plural(lever.count, 'commune')} : {lever.figures} "
            f"Principales communes : {names_list(top['name'], 10)}."
        ))
        items = [f"Règle : {lever.rationale}."]
        if lever.legal_basis:
            items.append(f"Base légale : {lever.legal_basis}.")
        if lever.local_needs:
            items.append(f"Ce qu'il faut localement : {lever.local_needs}.")
        whom = lv.addressees(lever, frame, inputs.policies)
        if whom:
            items.append("À qui s'adresser ici (cadre des politiques publiques) : "
                         + " ; ".join(whom) + ".")
        section.add(Bullets(items))
    not_evaluable = [lever for lever in levers if not lever.evaluable]
    if not_evaluable:
        section.add(Notice("Leviers non évaluables faute de données : " + " ; ".join(
            f"{lever.title} ({lever.reason})" for lever in not_evaluable) + "."))
    return section, levers


def lever_communes(levers: list[lv.Lever]) -> pd.DataFrame:
    """Long table lever × commune, for the exports."""
    parts = [lever.communes.assign(lever=lever.title) for lever in levers
             if lever.evaluable and lever.count]
    if not parts:
        return pd.DataFrame(columns=["lever", "code", "name", "commune_type", "population",
                                     "need_households"])
    return pd.concat(parts, ignore_index=True)[["lever", "code", "name", "commune_type", "population",
                                                 "need_households"]]
