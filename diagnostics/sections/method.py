"""Section « Méthode et sources »: indicators, vintages, licences, imputation and its error,
weights, sensitivity, the gap method, the levers' rules, confidentiality and limits."""

from __future__ import annotations

import re

import pandas as pd

from catalogues.density import DENSITY7_LABELS
from diagnostics import levers as lv
from diagnostics.document import Bullets, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import fr_number
from diagnostics.inputs import ReportInputs, _catalogue_titles, dataset_title
from diagnostics.public_sites import SMALL_LABEL
from diagnostics.sections import bricks

DIRECTIONS = {1: "hausse = besoin", -1: "baisse = besoin", 0: "contexte"}


def log_entry(log: list[dict], step: str) -> dict:
    for entry in reversed(log or []):
        if entry.get("step") == step:
            return entry
    return {}


def sources_table(inputs: ReportInputs) -> Table:
    rows, data = [], []
    for ref in inputs.sources:
        rows.append([ref.title, ref.producer, ref.vintage, ref.licence, ref.url or "—"])
        data.append({"Jeu": ref.dataset, "Titre": ref.title, "Producteur": ref.producer,
                     "Millésime": ref.vintage, "Licence": ref.licence, "Adresse": ref.url,
                     "Lignes": ref.rows, "Construit le": ref.built_at})
    return Table("Sources utilisées", ["Source", "Producteur", "Millésime", "Licence", "Adresse"],
                 rows, key="sources", data=pd.DataFrame(data),
                 note="Données publiques réutilisées sous Licence Ouverte / Etalab 2.0 : "
                 "producteur et millésime cités à chaque figure.")


def indicator_labels() -> dict[str, str]:
    """``{indicator id: French label}`` from the indicator catalogue (empty when unreadable)."""
    try:
        from catalogues.indicators import load_indicators
        from models.indicator_matrix import DERIVED_BY_ID, spec_from_entry

        labels = {i: spec_from_entry(i, e).label for i, e in load_indicators().items()}
        labels.update({i: d.label for i, d in DERIVED_BY_ID.items()})
        return labels
    except Exception:  # labels are a comfort: the caller falls back on the id
        return {}


def named_datasets(text: str, titles: dict | None = None) -> str:
    """``text`` with every « jeu de données « id » » / « jeu « id » » named by its title."""
    return re.sub(r"jeu(?: de données)? « ([\w.-]+) »",
                  lambda m: f"source « {dataset_title(m.group(1), titles)} »", str(text))


def specs_from_log(log: list[dict]) -> pd.DataFrame:
    """Indicator descriptions for the indicators a pipeline log says it aggregated (labels,
    units and sources from the indicator catalogue, through the need model)."""
    kept = log_entry(log, "select").get("result", {}).get("indicateurs_retenus") or []
    if not kept:
        return pd.DataFrame()
    try:
        from catalogues.indicators import load_indicators
        from models.indicator_matrix import DERIVED_BY_ID, spec_from_entry

        catalogue = load_indicators()
    except Exception:  # labels are a comfort: ids are shown otherwise
        catalogue, DERIVED_BY_ID, spec_from_entry = {}, {}, None
    rows = []
    for indicator in kept:
        if indicator in catalogue and spec_from_entry is not None:
            s = spec_from_entry(indicator, catalogue[indicator])
            rows.append({"id": indicator, "label": s.label, "unit": s.unit, "direction": s.direction,
                         "source": s.source, "vintage": s.vintage})
        elif indicator in DERIVED_BY_ID:
            d = DERIVED_BY_ID[indicator]
            rows.append({"id": indicator, "label": d.label, "unit": d.unit, "direction": d.direction,
                         "source": "calcul (" + ", ".join(d.inputs) + ")", "vintage": ""})
        else:
            rows.append({"id": indicator, "label": indicator, "unit": "", "direction": 0,
                         "source": "", "vintage": ""})
    return pd.DataFrame(rows)


def indicators_table(inputs: ReportInputs) -> Table | None:
    if inputs.need is None:
        return None
    specs = inputs.need.tables.get("indicators")
    if specs is None or specs.empty:
        specs = specs_from_log(inputs.need.meta.get("log", []))
    if specs.empty:
        return None
    weights = log_entry(inputs.need.meta.get("log", []), "weight").get("result", {}).get(
        "indicateurs_pondérés", {})
    if not isinstance(weights, dict):
        weights = {}
    rows = []
    titles = _catalogue_titles()
    for _, r in specs.iterrows():
        direction = DIRECTIONS.get(int(r.get("direction", 0)), "")
        source = str(r.get("source", "") or "")
        # « filosofi_2021_com + filosofi_2019_com » for derived indicators: each id named.
        named = " + ".join(titles[p][0] if p in titles else named_datasets(p, titles)
                           for p in (part.strip() for part in source.split("+")))
        rows.append([str(r["label"]), str(r.get("unit", "")), direction,
                     fr_number(100 * float(weights.get(r["id"], 0.0)), 1) + "\u00a0%" if weights else "—",
                     f"{named} ({r.get('vintage', '')})" if r.get("vintage") else named])
    return Table("Indicateurs de l'indice de besoin", ["Indicateur", "Unité", "Sens", "Poids effectif",
                                                       "Source (millésime)"], rows,
                 numeric=[False, False, False, True, False], key="indicateurs",
                 data=specs.assign(poids=specs["id"].map(weights) if weights else None))


def need_method_blocks(inputs: ReportInputs) -> list:
    if inputs.need is None:
        return [Notice("Modèle de besoin non disponible : ni indice, ni imputation, ni sensibilité.")]
    log = inputs.need.meta.get("log", [])
    blocks: list = []
    normalise = log_entry(log, "normalise").get("parameters", {}).get("libellé", "")
    aggregate = log_entry(log, "aggregate").get("parameters", {}).get("libellé", "")
    blocks.append(Paragraph(
        "L'indice de besoin suit la démarche des indicateurs composites de l'OCDE et du JRC "
        "(sélection, imputation, traitement des valeurs extrêmes, normalisation, pondération, "
        "agrégation, analyse de sensibilité)"
        + (f" ; normalisation : {normalise}" if normalise else "")
        + (f" ; agrégation : {aggregate}" if aggregate else "") + "."
    ))
    table = indicators_table(inputs)
    if table is not None:
        blocks.append(table)
    select = log_entry(log, "select").get("result", {})
    unavailable = select.get("indicateurs_indisponibles") or {}
    if unavailable:
        labels = indicator_labels()
        blocks.append(Notice("Indicateurs indisponibles, leur poids étant réparti sur les autres : "
                             + " ; ".join(f"{labels.get(k, k).lower()} ({named_datasets(v)})"
                                          for k, v in unavailable.items()) + "."))
    preset = log_entry(log, "weight").get("parameters", {}).get("poids")
    if isinstance(preset, str):
        blocks.append(Paragraph(f"Pondération : préréglage « {preset} » ; les poids effectifs "
                                "tiennent compte des indicateurs indisponibles."))
    impute = log_entry(log, "impute").get("result", {})
    labels = indicator_labels()
    for indicator, info in impute.items():
        if not isinstance(info, dict) or "mae_petites_communes_pts" not in info:
            continue
        blocks.append(Paragraph(
            f"Imputation de « {labels.get(indicator, indicator).lower()} » : "
            f"{info.get('règle', '')} ({info.get('modèle', '')}, "
            f"intervalle {info.get('intervalle', '')}). Valeurs publiées : "
            f"{fr_number(info.get('publiées'))} ; estimées par le modèle complet : "
            f"{fr_number(info.get('imputées_modèle_complet'))}, par le modèle réduit : "
            f"{fr_number(info.get('imputées_modèle_réduit'))} ; non imputables : "
            f"{fr_number(info.get('non_imputables', 0))}. Erreur absolue moyenne en validation "
            f"croisée sur la plus petite classe de communes publiées : "
            f"{fr_number(info['mae_petites_communes_pts'], 2)} point. "
            f"{str(info.get('avertissement', '')).capitalize()}."
        ))
        cv = info.get("validation_croisée")
        if isinstance(cv, list) and cv:
            rows = [[str(r.get("modèle", "")), str(r.get("classe_taille", "")),
                     fr_number(r.get("communes")), fr_number(r.get("mae_pts"), 2),
                     fr_number(r.get("rmse_pts"), 2), fr_number(100 * float(r.get("couverture_90", 0)), 1)
                     + "\u00a0%"] for r in cv]
            blocks.append(Table(
                f"Erreur de l'imputation de « {labels.get(indicator, indicator).lower()} » "
                "(validation croisée, en points)",
                ["Modèle", "Classe de taille", "Communes", "Erreur absolue moyenne",
                 "Erreur quadratique", "Couverture de l'intervalle 90 %"], rows,
                numeric=[False, False, True, True, True, True], key="imputation",
                data=pd.DataFrame(cv),
            ))
    sensitivity = log_entry(log, "sensitivity")
    if sensitivity:
        params, result = sensitivity.get("parameters", {}), sensitivity.get("result", {})
        draws = params.get("tirages", params.get("draws", ""))
        blocks.append(Paragraph(
            "Sensibilité : simulations de Monte-Carlo"
            + (f" ({fr_number(draws)} tirages)" if draws != "" else "")
            + " sur les poids et la méthode de normalisation ; l'intervalle de rang donné pour "
            "chaque commune est l'intervalle à 90 % des rangs simulés"
            + (f" (largeur médiane : {fr_number(result.get('largeur_médiane_intervalle'))} rangs)"
               if result.get("largeur_médiane_intervalle") is not None else "")
            + "."
        ))
    return blocks


def gap_method_blocks(inputs: ReportInputs) -> list:
    if inputs.gap is None:
        return [Notice("Modèle d'écart non disponible.")]
    meta = inputs.gap.meta
    blocks: list = [Paragraph(str(meta.get("definition_fr", "")))]
    items = []
    if meta.get("method_fr"):
        items.append(f"Méthode : {meta['method_fr']}, décroissance {meta.get('decay', '')}.")
    radii = (meta.get("catchment_m") or {}).get("by_density_7") or {}
    if radii:
        items.append("Rayons d'accès par classe de densité (grille INSEE 2025) : " + " ; ".join(
            f"{DENSITY7_LABELS.get(int(k), k).lower()} {fr_number(float(v) / 1000, 0)} km"
            for k, v in sorted(radii.items(), key=lambda kv: int(kv[0]))) + ".")
    if meta.get("covered_share") is not None:
        items.append(f"Commune « couverte » quand les places allouées atteignent "
                     f"{fr_number(100 * float(meta['covered_share']))} % du besoin.")
    items += [str(n) for n in meta.get("notes", [])[:8]]
    if items:
        blocks.append(Bullets(items))
    return blocks


def method_section(inputs: ReportInputs) -> Section:
    section = Section("methode", "Méthode et sources")
    section.add(Paragraph(
        "Ce diagnostic rapproche, commune par commune, des indicateurs publics de besoin "
        "(revenus, pauvreté, logement, territoire), l'offre déclarée par les adhérents des "
        "réseaux et l'offre publique disponible, pour situer ce que le logement d'insertion "
        "apporte. Il ne remplace pas le diagnostic territorial partagé à 360°, qui repose sur "
        "des données absentes ici (SIAO et 115, recours DALO, expulsions, sorties "
        "d'institutions). Toutes les données sont ramenées sur la géographie communale en "
        "vigueur (code officiel géographique 2025) : les valeurs des communes fusionnées sont "
        "additionnées (effectifs) ou repondérées (taux) ; une valeur secrète d'une commune "
        "déléguée rend la valeur fusionnée manquante."
    ))
    section.add(Subtitle("Sources"))
    section.add(sources_table(inputs))
    if inputs.missing:
        section.add(Notice("Données absentes du stock au moment du calcul : " + " ; ".join(
            dict.fromkeys(inputs.missing.values())) + "."))
    section.add(Subtitle("Indice de besoin"))
    section.add(*need_method_blocks(inputs))
    section.add(Subtitle("Offre et écarts"))
    section.add(*gap_method_blocks(inputs))
    section.add(Subtitle("Comparaison avec la méthode de l'État (OTELO)"))
    section.add(bricks.otelo_table())
    national = inputs.gap.tables.get("briques_nationales") if inputs.gap is not None else None
    if national is not None and len(national):
        section.add(bricks.national_table(national))
    section.add(Subtitle("Règles des leviers"))
    section.add(Bullets([f"{rule.title} : {rule.rule_fr}." for rule in lv.RULES]))
    section.add(Subtitle("Confidentialité et limites"))
    section.add(Bullets([
        "Sites des adhérents : un site confidentiel n'apparaît jamais comme point, adresse ou nom, "
        "et n'entre dans aucun total communal, intercommunal ou de liste de communes, ni dans "
        "l'écart ou les cartes d'accès ; il n'est compté que par département, par tranche de cinq. "
        "L'écart publié ignore donc l'offre confidentielle. Un site « localisé à la commune » est "
        f"nommé sans adresse ni point. Tout total de moins de trois sites est publié « {SMALL_LABEL} », "
        "sans capacité.",
        "Secret statistique : une valeur non publiée par l'INSEE reste manquante (grisée sur les "
        "cartes, « — » dans les tableaux), jamais remplacée par zéro ; les estimations du modèle "
        "sont signalées et accompagnées de leur intervalle.",
        "Les taux du territoire sont recalculés à partir des effectifs communaux additionnés ; le "
        "taux de pauvreté n'étant publié que pour les communes de plus de 1 000 ménages environ, "
        "sa moyenne ne porte que sur ces communes.",
        "Les distances d'accès sont mesurées entre points représentatifs des communes, pas le long "
        "des routes ; les paramètres d'accès et les seuils des leviers sont des hypothèses de "
        "travail à discuter avec les acteurs du territoire.",
    ]))
    return section
