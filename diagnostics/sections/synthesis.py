"""Section « Synthèse »: one page, three to five key messages with figures, one map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from diagnostics.document import KeyMessage, MapSpec, Notice, Paragraph, Section
from diagnostics.inputs import ReportInputs
from diagnostics.levers import Lever
from diagnostics.public_sites import PublicSites
from diagnostics.sections.common import count, names_list, pct, plural, points

MAX_MESSAGES = 4


def concentration(values: pd.Series, names: pd.Series, share: float = 0.5) -> tuple[int, list[str]]:
    """How many communes hold ``share`` of the total, and which."""
    frame = pd.DataFrame({"v": pd.to_numeric(values, errors="coerce"), "n": names}).dropna()
    frame = frame[frame["v"] > 0].sort_values("v", ascending=False)
    if frame.empty:
        return 0, []
    cumulative = frame["v"].cumsum() / frame["v"].sum()
    n = int(np.searchsorted(cumulative.to_numpy(), share) + 1)
    return n, frame["n"].head(n).tolist()


def synthesis_section(
    inputs: ReportInputs,
    totals: dict[str, float],
    sections: dict[str, Section],
    levers: list[Lever],
    public: PublicSites | None,
) -> Section:
    section = Section("synthese", "Synthèse")
    messages: list[KeyMessage] = []
    c = inputs.communes
    need = inputs.need.frame if inputs.need is not None else None
    if need is not None and "need_households" in need.columns and need["need_households"].notna().any():
        merged = c[["code", "name"]].merge(need[["code", "need_households", *(
            [x for x in ("need_households_low", "need_households_high") if x in need.columns])]],
            on="code", how="left")
        total = merged["need_households"].sum()
        low = merged.get("need_households_low", merged["need_households"]).sum()
        high = merged.get("need_households_high", merged["need_households"]).sum()
        n, names = concentration(merged["need_households"], merged["name"])
        messages.append(KeyMessage(
            "Un besoin estimé à " + count(total) + " ménages",
            f"Ménages sous le seuil de pauvreté estimés par le modèle de besoin (intervalle "
            f"{count(low)} – {count(high)}). La moitié se concentre dans "
            f"{plural(n, 'commune')} : {names_list(names, 5)}.",
            count(total),
        ))
    elif "poor_households_published" in totals:
        messages.append(KeyMessage(
            "Pauvreté : " + pct(totals["poverty_rate_published"]) + " des ménages",
            f"Dans les {count(totals['poverty_rate_communes'])} communes où l'INSEE publie le taux "
            f"de pauvreté ({pct(100 * totals['poverty_rate_coverage'], 0)} des ménages), "
            f"{count(totals['poor_households_published'])} ménages vivent sous le seuil de "
            f"pauvreté (France : {pct(inputs.national.get('poverty_rate_published'))}). Le modèle "
            "de besoin, absent du stock, estimerait les autres communes.",
            pct(totals["poverty_rate_published"]),
        ))
    if "poverty_change_pts" in totals and np.isfinite(totals["poverty_change_pts"]):
        trend = "en hausse" if totals["poverty_change_pts"] > 0.05 else (
            "en baisse" if totals["poverty_change_pts"] < -0.05 else "stable")
        messages.append(KeyMessage(
            f"Une pauvreté {trend} depuis 2019",
            f"Le taux de pauvreté a évolué de {points(totals['poverty_change_pts'])} entre 2019 et "
            f"2021 dans les {count(totals['poverty_change_communes'])} communes publiées les deux "
            f"années ; revenu médian des ménages du territoire : "
            f"{count(totals.get('median_income_households_median'))} € par an et par unité de "
            "consommation.",
            points(totals["poverty_change_pts"]),
        ))
    gap = inputs.gap.frame if inputs.gap is not None else None
    if gap is not None and "gap_households" in gap.columns and gap["gap_households"].notna().any():
        need_total = gap["need_households"].sum()
        allocated = gap["places_allocated"].sum()
        uncovered = gap[gap.get("gap_class", pd.Series(dtype=object)).eq("besoin non couvert")]
        uncovered = uncovered.merge(c[["code", "name"]], on="code", how="left", suffixes=("_x", ""))
        share = pct(100 * allocated / need_total if need_total else np.nan, 0)
        first = uncovered.sort_values("gap_households", ascending=False)["name"]
        messages.append(KeyMessage(
            f"L'offre accessible couvre {share} du besoin",
            f"{count(allocated)} places accessibles allouées pour {count(need_total)} ménages en "
            f"besoin ; {plural(len(uncovered), 'commune')} en besoin non couvert"
            + (f", d'abord {names_list(first, 3)}" if len(uncovered) else "") + ".",
            share,
        ))
    elif public is not None and len(public.by_family):
        n_sites = int(public.by_family["n_sites"].sum())
        messages.append(KeyMessage(
            f"{plural(n_sites, 'site')} des adhérents",
            "Offre déclarée au registre (vue publique) ; l'écart entre besoin et offre n'a pas pu "
            "être calculé : " + inputs.missing.get("ecart", "modèle d'écart absent") + ".",
            count(n_sites),
        ))
    for lever in levers:
        if lever.evaluable and lever.count and len(messages) < MAX_MESSAGES:
            concerned = "commune concernée" if lever.count < 2 else "communes concernées"
            messages.append(KeyMessage(
                f"Levier : {lever.title.lower()}",
                f"{count(lever.count)} {concerned} ({count(lever.communes['need_households'].sum())} "
                f"ménages en besoin), d'abord {names_list(lever.communes['name'], 3)}.",
                count(lever.count),
            ))
    if len(messages) < 3 and "qpv_count" in totals:
        messages.append(KeyMessage(
            f"{plural(totals['qpv_count'], 'quartier prioritaire')}",
            f"Répartis dans {plural(totals['qpv_communes'], 'commune')} ; "
            f"{count(totals.get('pvd_communes'))} commune(s) « Petites villes de demain » et "
            f"{count(totals.get('acv_communes'))} « Action cœur de ville ».",
            count(totals["qpv_count"]),
        ))
    if len(messages) < 3 and "vacancy_rate" in totals:
        messages.append(KeyMessage(
            f"{pct(totals['vacancy_rate'])} de logements vacants",
            f"{count(totals.get('vacant_dwellings'))} logements vacants au recensement 2021 "
            f"(France : {pct(inputs.national.get('vacancy_rate'))}).",
            pct(totals["vacancy_rate"]),
        ))
    section.add(Paragraph(
        f"{inputs.territory.name} : {count(totals['population'])} habitants, "
        f"{plural(totals['communes'], 'commune')}, {count(totals['density'])} habitants par km²."
    ))
    section.add(*messages[:MAX_MESSAGES])
    maps = {m.key: m for s in sections.values() for m in s.maps()}
    chosen = maps.get("besoin") or maps.get("ecart") or maps.get("revenu_median") or maps.get("densite")
    if chosen is not None:
        section.add(MapSpec(**{**chosen.__dict__, "key": f"synthese_{chosen.key}"}))
    missing = [k for k in ("besoin", "ecart", "registre") if k in inputs.missing]
    if missing:
        section.add(Notice("Sections incomplètes faute de données : " + " ; ".join(
            inputs.missing[k] for k in missing) + "."))
    return section
