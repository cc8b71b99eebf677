"""Section « Synthèse »: one page, three to five key messages with figures, one map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from diagnostics.document import KeyMessage, MapSpec, Notice, Paragraph, Section
from diagnostics.inputs import ReportInputs
from diagnostics.levers import Lever
from diagnostics.public_sites import PublicSites
from diagnostics.sections.common import (
    FICTIF,
    NEED_VOLUME_LABEL,
    count,
    count_interval,
    fictif,
    names_list,
    offer_fictional,
    pct,
    plural,
    points,
    trend_supported,
)
from models import target_households as th

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


def target_message(targets: pd.DataFrame) -> KeyMessage:
    """The target households of the territory, category by category."""
    params = th.load_params()
    availability = targets.attrs.get("availability", {})
    parts: list[str] = []
    first: tuple[float, str] | None = None
    missing = []
    for name in th.CATEGORIES:
        label = params["categories"][name]["short_label"].lower()
        column = f"target_{name}"
        if availability.get(name) or column not in targets.columns or targets[column].isna().all():
            missing.append(label)
            continue
        value = float(targets[column].sum())
        lo, hi = float(targets[f"{column}_low"].sum()), float(targets[f"{column}_high"].sum())
        first = first or (value, label)
        parts.append(f"{label} : {count_interval(value, lo, hi)}")
    text = ("Ménages que l'offre d'insertion accueille, estimés d'après Filosofi 2021 (personnes "
            "pauvres converties en ménages) et le recensement, en ménages (bas – haut) : "
            + " ; ".join(parts) + ". Les catégories se recoupent en partie : elles ne "
            "s'additionnent pas.")
    if missing:
        text += " Non disponible : " + ", ".join(missing) + " (sources absentes du stock)."
    estimated = int(targets.get("estimated", pd.Series(dtype=bool)).fillna(False).sum())
    if estimated:
        text += (f" {plural(estimated, 'commune')} reposent sur un taux de pauvreté estimé "
                 "(secret statistique).")
    if first is None:
        return KeyMessage("Ménages cibles non disponibles", text, "—")
    return KeyMessage(f"Ménages cibles : {first[1]}", text, count(first[0]))


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
    targets = inputs.gap.tables.get("menages_cibles") if inputs.gap is not None else None
    if targets is not None and len(targets):
        messages.append(target_message(targets))
    elif need is not None and "need_households" in need.columns and need["need_households"].notna().any():
        merged = c[["code", "name"]].merge(need[["code", "need_households", *(
            [x for x in ("need_households_low", "need_households_high") if x in need.columns])]],
            on="code", how="left")
        total = merged["need_households"].sum()
        low = merged.get("need_households_low", merged["need_households"]).sum()
        high = merged.get("need_households_high", merged["need_households"]).sum()
        n, names = concentration(merged["need_households"], merged["name"])
        messages.append(KeyMessage(
            "Environ " + count(total) + " " + NEED_VOLUME_LABEL,
            f"Ménages fiscaux × taux de pauvreté (une part de personnes, appliquée aux ménages : "
            f"approximation), estimation {count_interval(total, low, high)}. La moitié se "
            f"concentre dans {plural(n, 'commune')} : {names_list(names, 5)}.",
            count(total),
        ))
    elif "poor_households_published" in totals:
        messages.append(KeyMessage(
            "Pauvreté : " + pct(totals["poverty_rate_published"]) + " des personnes",
            f"Dans les {count(totals['poverty_rate_communes'])} communes où l'INSEE publie le taux "
            f"de pauvreté ({pct(100 * totals['poverty_rate_coverage'], 0)} des ménages), "
            f"{pct(totals['poverty_rate_published'])} des personnes vivent sous le seuil de "
            f"pauvreté (France : {pct(inputs.national.get('poverty_rate_published'))}). Le modèle "
            "de besoin, absent du stock, estimerait les autres communes.",
            pct(totals["poverty_rate_published"]),
        ))
    if ("poverty_change_pts" in totals and np.isfinite(totals["poverty_change_pts"])
            and trend_supported(totals)):
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
    if gap is not None and "missing_total" in gap.columns and gap["missing_total"].notna().any():
        missing = gap["missing_total"].sum()
        below = gap[gap["reference_class"].isin(
            ["très en dessous de la référence", "en dessous de la référence"])]
        below = below.merge(c[["code", "name"]], on="code", how="left", suffixes=("_x", ""))
        first = below.sort_values("missing_total", ascending=False)["name"]
        method = inputs.gap.meta.get("reference_method_fr", "référence")
        figure = fictif(inputs, count(missing))
        messages.append(KeyMessage(
            "Places manquantes pour atteindre la référence",
            f"Places à portée pour 1 000 ménages cibles, famille par famille, comparées à la "
            f"référence ({method}) ; {plural(len(below), 'commune')} en dessous de la référence"
            + (f", d'abord {names_list(first, 3)}" if len(below) else "") + "."
            + (f" Offre FICTIVE : données de démonstration ({FICTIF})."
               if offer_fictional(inputs) else ""),
            figure,
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
                f"{NEED_VOLUME_LABEL}), d'abord {names_list(lever.communes['name'], 3)}.",
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
