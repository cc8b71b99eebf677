"""Section « Politiques publiques »: the frame of each area of the territory (Logement
d'abord, délégataire des aides à la pierre, PLH, PDALHPD), the programmes of its communes (QPV
2024, Action cœur de ville, Petites villes de demain), the SRU inventory as context, and a map.

Every row names its source address and the date it was read; a policy the project could not
verify is « à compléter ». Figures come from :mod:`models.policy_frame`.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlparse

import pandas as pd

from catalogues import datasets
from catalogues.policies import LDA_2021_MISSING
from diagnostics.document import Bullets, KeyFigure, MapSpec, Notice, Paragraph, Section, Table
from diagnostics.inputs import ReportInputs
from diagnostics.palettes import MISSING_COLOUR
from diagnostics.sections.common import by_code, cite, count, missing_notice, names_list, plural
from models import policy_frame as pf

SHORT = {pf.LDA: "Logement d'abord", pf.DELEGATAIRE: "Délégataire des aides à la pierre",
         pf.PLH: "PLH", pf.PDALHPD: "PDALHPD"}
MAP_COLOURS = {"lda": "#1b9e77", "lda_carence": "#7570b3", "carence": "#d95f02",
               "none": "#e8e8e8"}
LIST_NOTE = ("Aucun jeu de données national ouvert ne liste les territoires Logement d'abord, "
             "les délégataires des aides à la pierre, les PLH ni les PDALHPD : ces lignes "
             "viennent de la compilation du projet (une page publique lue par ligne) ou du "
             "fichier d'un réseau. La liste Logement d'abord compilée est incomplète "
             f"({LDA_2021_MISSING} des 23 territoires retenus en 2021 n'y sont pas identifiés) : "
             "« non recensé » ne veut pas dire « non ».")


def _host(url: str) -> str:
    return urlparse(url).netloc.removeprefix("www.") if url else ""


def _cell(record: pd.Series) -> str:
    """Short text of one record for the summary table."""
    policy, situation = record["_policy"], record["Situation"]
    if situation == pf.TO_COMPLETE or situation.startswith("non recensé"):
        return "à compléter" if policy != pf.LDA else "non recensé"
    if policy == pf.LDA:
        unsure = "" if record["Statut"] == "confirmé" else f", {record['Statut']}"
        return f"oui ({record['Validité'].removeprefix('depuis ')}{unsure})"
    if policy == pf.DELEGATAIRE:
        return record["Porteur"] or situation
    text = record["Validité"]
    return text if record["Statut"] == "confirmé" else f"{text}, à confirmer"


def summary(areas: pd.DataFrame) -> pd.DataFrame:
    """One row per area, one column per policy of the layer (short texts)."""
    if areas.empty:
        return pd.DataFrame(columns=["Territoire", *SHORT.values()])
    work = areas.assign(_cell=areas.apply(_cell, axis=1),
                        _area=areas["Territoire"] + " (" + areas["Échelle"] + ")")
    table = work.pivot_table(index="_area", columns="_policy", values="_cell", aggfunc="first",
                             sort=False)
    table = table.reindex(columns=list(SHORT)).fillna("—").rename(columns=SHORT)
    return table.reset_index().rename(columns={"_area": "Territoire"})


def policy_map(inputs: ReportInputs, in_lda: pd.Series) -> MapSpec:
    c = inputs.communes
    carence = (c["sru_carence"].fillna(False).astype(bool) if "sru_carence" in c.columns
               else pd.Series(False, index=c.index))
    kind = pd.Series("none", index=c.index)
    kind[in_lda.to_numpy()] = "lda"
    kind[carence.to_numpy()] = "carence"
    kind[(in_lda & carence).to_numpy()] = "lda_carence"
    labels = {"lda": "territoire Logement d'abord (liste compilée)",
              "lda_carence": "Logement d'abord et commune carencée (SRU)",
              "carence": "commune carencée (SRU)",
              "none": "ni l'un ni l'autre" if "sru_carence" in c.columns
              else "hors liste Logement d'abord (inventaire SRU absent)"}
    shown = [k for k in MAP_COLOURS if (kind == k).any()]
    tooltip = pd.Series((c["name"].astype(str) + " (" + c["code"].astype(str) + ") — "
                         + kind.map(labels)).to_numpy(), index=c["code"].to_numpy())
    return MapSpec(
        key="politiques", title="Cadre des politiques publiques : Logement d'abord et communes "
        "carencées", legend_title="Cadre des politiques publiques",
        colours=by_code(c, kind.map(MAP_COLOURS).fillna(MISSING_COLOUR)),
        legend=[(labels[k], MAP_COLOURS[k]) for k in shown],
        source="Compilation du projet (pages publiques lues, voir le tableau) ; "
        + (cite(inputs, datasets.SRU) or "inventaire SRU absent du stock local"),
        tooltip=tooltip,
        note="Une commune est en territoire Logement d'abord quand elle, son EPCI ou son "
        "département figure dans la liste compilée (incomplète).",
    )


def policies_section(inputs: ReportInputs,
                     today: date | None = None) -> tuple[Section, pd.DataFrame]:
    """The section and its detailed table (one row per area × policy, with source address and
    date read: the workbook's « Politiques publiques » sheet)."""
    section = Section("politiques", "Politiques publiques")
    layer = inputs.policies if inputs.policies is not None else pd.DataFrame(
        columns=["politique", "niveau", "code_territoire"])
    c = pd.DataFrame(inputs.communes.drop(columns="geometry"))
    areas = pf.areas_frame(c, layer, today)
    in_lda = pf.in_logement_d_abord(c, layer)
    section.add(Paragraph(
        "Cadre des politiques publiques du territoire : qui porte la politique de l'habitat et "
        "de l'hébergement, et quels dispositifs s'y appliquent. Il dit à qui s'adresser ; il "
        "ne mesure aucun besoin."
    ))
    population = pd.to_numeric(c.get("population"), errors="coerce")
    section.add(KeyFigure(plural(int(in_lda.sum()), "commune"),
                          "en territoire Logement d'abord (liste compilée)"))
    if population is not None and population.notna().any():
        section.add(KeyFigure(count(population[in_lda.to_numpy()].sum()),
                              "habitants de ces communes"))
    table = summary(areas)
    section.add(Table(
        "Cadre des politiques publiques par territoire",
        list(table.columns), table.astype(str).values.tolist(),
        source="Compilation du projet et fichiers des réseaux : adresse de chaque page lue et "
        "date de lecture dans la feuille « Politiques publiques » du classeur",
        note="« à compléter » : information non vérifiée sur une page publique lue ; "
        "« à confirmer » : lue sur une page non officielle ou incomplète.",
        key="politiques_synthese", data=table, widths=[34, 16, 22, 14, 14],
    ))
    sources = areas[areas["Source"] != ""].drop_duplicates("Source")
    if len(sources):
        section.add(Bullets(
            [f"{SHORT.get(r['_policy'], r['Politique'])} — {r['Territoire']} : {r['Source']} "
             f"(lu le {r['Lu le']})" for _, r in sources.iterrows()],
            title="Sources lues"))
    section.add(Notice(LIST_NOTE))
    section.add(*_programmes(inputs, c))
    section.add(policy_map(inputs, in_lda))
    return section, areas.drop(columns="_policy")


def _programmes(inputs: ReportInputs, c: pd.DataFrame) -> list:
    """QPV, ACV, PVD and SRU of the communes (store columns, cited)."""
    items = []
    if "qpv_count" in c.columns and c["qpv_count"].notna().any():
        qpv = pd.to_numeric(c["qpv_count"], errors="coerce")
        items.append(f"Quartiers prioritaires 2024 : {plural(qpv.sum(), 'quartier')} dans "
                     f"{plural(int((qpv > 0).sum()), 'commune')} "
                     f"({names_list(c.loc[qpv > 0, 'name'], 8)}) — "
                     f"{cite(inputs, datasets.QPV_COMMUNES).removeprefix('Source : ')}")
    for column, label in (("acv", "Action cœur de ville"), ("pvd", "Petites villes de demain")):
        if column in c.columns:
            flags = c[column].fillna(False).astype(bool)
            items.append(f"{label} : {plural(int(flags.sum()), 'commune')}"
                         + (f" ({names_list(c.loc[flags, 'name'], 10)})" if flags.any() else ""))
    if any(k in c.columns for k in ("acv", "pvd")):
        items.append(cite(inputs, datasets.ANCT_PROGRAMMES))
    blocks: list = [Bullets(items, title="Programmes des communes")] if items else []
    if "sru_subject" in c.columns and c["sru_subject"].fillna(False).astype(bool).any():
        subject = c[c["sru_subject"].fillna(False).astype(bool)]
        carence = subject[subject["sru_carence"].fillna(False).astype(bool)]
        blocks.append(Paragraph(
            f"Loi SRU : {plural(len(subject), 'commune')} soumise(s), dont "
            f"{plural(len(carence), 'commune')} carencée(s)"
            + (f" : {names_list(carence['name'], 12)}" if len(carence) else "")
            + ". Le taux de logements sociaux et son écart au taux cible sont une obligation "
            "de la commune, pas un besoin de ses ménages."
        ))
    else:
        blocks.append(missing_notice(inputs, datasets.SRU) or Notice(
            "Inventaire SRU : aucune commune soumise dans le territoire."))
    return blocks
