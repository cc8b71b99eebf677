"""Section « Portrait du territoire »: population, density, income and poverty, housing,
priority areas — each figure with its source and vintage, secrecy kept as missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalogues import datasets
from diagnostics.classes import categorical_classes, numeric_classes
from diagnostics.document import Bullets, KeyFigure, MapSpec, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import MISSING, fr_number
from diagnostics.inputs import ReportInputs
from diagnostics.sections.common import (
    by_code,
    cite,
    count,
    euros,
    has,
    known_sum,
    missing_notice,
    names_list,
    pct,
    plural,
    points,
    ratio,
    short_cite,
    tooltip,
    weighted_rate,
)

# INSEE grille communale de densité, 7 levels, light (rural) to dark (urban).
DENSITY_7_COLOURS: dict[str, str] = {
    "Grands centres urbains": "#08306b",
    "Centres urbains intermédiaires": "#2171b5",
    "Petites villes": "#6baed6",
    "Ceintures urbaines": "#c6dbef",
    "Bourgs ruraux": "#d9f0a3",
    "Rural à habitat dispersé": "#78c679",
    "Rural à habitat très dispersé": "#238443",
}
PROGRAMME_LABELS = {"pvd": "Petites villes de demain", "acv": "Action cœur de ville",
                    "acv2": "Action cœur de ville 2"}


def territory_totals(communes: pd.DataFrame) -> dict[str, float]:
    """Territory figures computed from commune counts (rates from summed counts)."""
    c = communes
    out: dict[str, float] = {
        "communes": float(len(c)),
        "population": known_sum(c["population"]),
        "area_km2": known_sum(c["area_km2"]),
    }
    out["density"] = ratio(out["population"], out["area_km2"], 1.0)
    if has(c, "households_fiscal"):
        out["households_fiscal"] = known_sum(c["households_fiscal"])
        out["households_secret_communes"] = float(c["households_fiscal"].isna().sum())
    if has(c, "poverty_rate", "households_fiscal"):
        rate, share = weighted_rate(c["poverty_rate"], c["households_fiscal"])
        out["poverty_rate_published"], out["poverty_rate_coverage"] = rate, share
        out["poverty_rate_communes"] = float(c["poverty_rate"].notna().sum())
        out["poor_households_published"] = known_sum(
            c["households_fiscal"] * c["poverty_rate"] / 100.0
        )
    if has(c, "poverty_rate", "poverty_rate_2019", "households_fiscal"):
        both = c["poverty_rate"].notna() & c["poverty_rate_2019"].notna()
        r21, _ = weighted_rate(c.loc[both, "poverty_rate"], c.loc[both, "households_fiscal"])
        r19, _ = weighted_rate(c.loc[both, "poverty_rate_2019"], c.loc[both, "households_fiscal"])
        out["poverty_change_pts"] = r21 - r19
        out["poverty_change_communes"] = float(both.sum())
        # Share of the territory's fiscal households living in those communes.
        out["poverty_change_coverage"] = weighted_rate(c["poverty_rate"].where(both),
                                                       c["households_fiscal"])[1]
    if has(c, "median_income", "households_fiscal"):
        from diagnostics.inputs import weighted_median

        out["median_income_households_median"] = weighted_median(
            c["median_income"], c["households_fiscal"]
        )
        out["median_income_communes"] = float(c["median_income"].notna().sum())
    if has(c, "dwellings"):
        out["dwellings"] = known_sum(c["dwellings"])
        if has(c, "vacant_dwellings"):
            out["vacant_dwellings"] = known_sum(c["vacant_dwellings"])
            out["vacancy_rate"] = ratio(out["vacant_dwellings"], out["dwellings"])
        if has(c, "second_homes"):
            out["second_home_share"] = ratio(known_sum(c["second_homes"]), out["dwellings"])
        if has(c, "flats"):
            out["flat_share"] = ratio(known_sum(c["flats"]), out["dwellings"])
    if has(c, "owner_occupied", "main_residences_2018"):
        out["owner_share"] = ratio(known_sum(c["owner_occupied"]), known_sum(c["main_residences_2018"]))
    if has(c, "unemployed_15_64", "active_15_64"):
        out["unemployment_rate"] = ratio(known_sum(c["unemployed_15_64"]), known_sum(c["active_15_64"]))
    if "qpv_count" in c.columns:
        out["qpv_count"] = known_sum(c["qpv_count"])
        out["qpv_communes"] = float((c["qpv_count"] > 0).sum())
    for key in PROGRAMME_LABELS:
        if key in c.columns:
            out[f"{key}_communes"] = float(c[key].fillna(False).astype(bool).sum())
    if has(c, "social_dwellings", "main_residences"):
        out["social_share"] = ratio(known_sum(c["social_dwellings"]), known_sum(c["main_residences"]))
    if has(c, "private_vacant_long", "private_dwellings"):
        out["private_vacancy_long_rate"] = ratio(
            known_sum(c["private_vacant_long"]), known_sum(c["private_dwellings"])
        )
    if has(c, "copro_count"):
        out["copro_count"] = known_sum(c["copro_count"])
        out["copro_dwelling_lots"] = known_sum(c["copro_dwelling_lots"])
    return out


def key_figures_table(inputs: ReportInputs, totals: dict[str, float]) -> Table:
    """« Chiffres clés »: territory and France side by side, with the source of each line."""
    nat = inputs.national
    rows: list[list[str]] = []
    data: list[dict] = []

    def add(label: str, value: str, france: str, source: str, raw: float | None = None) -> None:
        rows.append([label, value, france, source])
        data.append({"Indicateur": label, "Territoire": raw, "Territoire (texte)": value,
                     "France (texte)": france, "Source": source})

    ref = short_cite(inputs, "communes")
    add("Population municipale", count(totals["population"]), count(nat.get("population")), ref,
        totals["population"])
    add("Communes", count(totals["communes"]), count(nat.get("communes")), ref, totals["communes"])
    add("Densité (hab./km²)", fr_number(totals["density"], 1), fr_number(nat.get("density"), 1), ref,
        totals["density"])
    filo = short_cite(inputs, datasets.FILOSOFI_COMMUNES)
    if "households_fiscal" in totals:
        secret = totals["households_secret_communes"]
        label = "Ménages fiscaux 2021" + (
            f" (hors {plural(secret, 'commune')} au nombre secret)" if secret else ""
        )
        add(label, count(totals["households_fiscal"]), MISSING, filo, totals["households_fiscal"])
    if "poverty_rate_published" in totals:
        add(
            "Taux de pauvreté 2021, communes où il est publié "
            f"({plural(totals['poverty_rate_communes'], 'commune')}, "
            f"{pct(100 * totals['poverty_rate_coverage'], 0)} des ménages)",
            pct(totals["poverty_rate_published"]),
            pct(nat.get("poverty_rate_published")),
            filo,
            totals["poverty_rate_published"],
        )
    if "poverty_change_pts" in totals:
        add("Évolution du taux de pauvreté 2019–2021, communes publiées les deux années "
            f"({plural(totals['poverty_change_communes'], 'commune')}, "
            f"{pct(100 * totals['poverty_change_coverage'], 0)} des ménages)",
            points(totals["poverty_change_pts"]), MISSING,
            short_cite(inputs, datasets.FILOSOFI_COMMUNES_EARLIER, datasets.FILOSOFI_COMMUNES),
            totals["poverty_change_pts"])
    if "median_income_households_median" in totals:
        add("Revenu médian communal, médiane pondérée par les ménages (€/an par UC)",
            euros(totals["median_income_households_median"]),
            euros(nat.get("median_income_households_median")), filo,
            totals["median_income_households_median"])
    census = short_cite(inputs, datasets.CENSUS_IRIS)
    if "vacancy_rate" in totals:
        add("Taux de logements vacants (recensement 2021)", pct(totals["vacancy_rate"]),
            pct(nat.get("vacancy_rate")), census, totals["vacancy_rate"])
    if "second_home_share" in totals:
        add("Part des résidences secondaires", pct(totals["second_home_share"]), MISSING, census,
            totals["second_home_share"])
    comp = short_cite(inputs, datasets.COMPARATEUR)
    if "owner_share" in totals:
        add("Part des ménages propriétaires (recensement 2018)", pct(totals["owner_share"]), MISSING,
            comp, totals["owner_share"])
    if "unemployment_rate" in totals:
        add("Taux de chômage des 15–64 ans (recensement 2018)", pct(totals["unemployment_rate"]),
            pct(nat.get("unemployment_rate")), comp, totals["unemployment_rate"])
    if "qpv_count" in totals:
        add("Quartiers prioritaires 2024 (communes concernées)",
            f"{count(totals['qpv_count'])} ({count(totals['qpv_communes'])})", MISSING,
            short_cite(inputs, datasets.QPV_COMMUNES), totals["qpv_count"])
    for key, label in PROGRAMME_LABELS.items():
        if f"{key}_communes" in totals and (key != "acv2" or totals[f"{key}_communes"]):
            add(f"Communes « {label} »", count(totals[f"{key}_communes"]), MISSING,
                short_cite(inputs, datasets.ANCT_PROGRAMMES), totals[f"{key}_communes"])
    if "social_share" in totals:
        add("Logements sociaux pour 100 résidences principales", pct(totals["social_share"]), MISSING,
            short_cite(inputs, datasets.RPLS, datasets.CENSUS_IRIS), totals["social_share"])
    if "private_vacancy_long_rate" in totals:
        add("Logements privés vacants depuis plus de 2 ans", pct(totals["private_vacancy_long_rate"]),
            MISSING, short_cite(inputs, datasets.LOVAC_COMMUNES), totals["private_vacancy_long_rate"])
    if "copro_count" in totals:
        add("Copropriétés immatriculées (lots d'habitation)",
            f"{count(totals['copro_count'])} ({count(totals['copro_dwelling_lots'])})", MISSING,
            short_cite(inputs, datasets.RNIC), totals["copro_count"])
    return Table(
        title="Chiffres clés du territoire",
        columns=["Indicateur", "Territoire", "France", "Source (producteur, millésime)"],
        rows=rows,
        numeric=[False, True, True, False],
        widths=[40, 13, 13, 34],
        note="Les taux du territoire sont calculés à partir des effectifs additionnés des "
        "communes ; une valeur secrète (secret statistique) n'est jamais comptée comme zéro.",
        key="chiffres_cles",
        data=pd.DataFrame(data),
    )


def density_block(inputs: ReportInputs) -> list:
    c = inputs.communes
    if not has(c, "density_7_label"):
        return [missing_notice(inputs, datasets.DENSITY_GRID)]
    grouped = c.groupby("density_7_label", dropna=False).agg(
        communes=("code", "size"), population=("population", "sum")
    )
    order = [k for k in DENSITY_7_COLOURS if k in grouped.index]
    grouped = grouped.reindex(order)
    total = grouped["population"].sum()
    rows = [[label, count(r.communes), count(r.population), pct(ratio(r.population, total))]
            for label, r in grouped.iterrows()]
    data = grouped.reset_index().rename(columns={
        "density_7_label": "Classe de densité", "communes": "Communes", "population": "Population"
    })
    colours, legend = categorical_classes(c["density_7_label"], DENSITY_7_COLOURS)
    source = cite(inputs, datasets.DENSITY_GRID)
    main = grouped["population"].idxmax() if len(grouped) else None
    text = (
        f"La classe de densité la plus peuplée est « {main} » "
        f"({pct(ratio(grouped.loc[main, 'population'], total), 0)} de la population)."
        if main else ""
    )
    return [
        Paragraph(text),
        Table("Communes et population par classe de densité (grille communale 2025)",
              ["Classe de densité", "Communes", "Population", "Part de la population"], rows,
              source=source, numeric=[False, True, True, True], key="densite", data=data),
        MapSpec(
            key="densite",
            title="Classes de densité des communes",
            legend_title="Grille communale de densité",
            colours=by_code(c, colours),
            legend=legend,
            source=source,
            tooltip=tooltip(c, "densité", c["density_7_label"].fillna("inconnue")),
        ),
    ]


def income_block(inputs: ReportInputs, totals: dict[str, float]) -> list:
    c = inputs.communes
    if not has(c, "median_income"):
        return [missing_notice(inputs, datasets.FILOSOFI_COMMUNES)]
    blocks: list = []
    source = cite(inputs, datasets.FILOSOFI_COMMUNES)
    known = int(c["median_income"].notna().sum())
    text = (
        f"Le revenu disponible médian par unité de consommation est publié pour "
        f"{plural(known, 'commune')} sur {count(len(c))} ; les autres sont sous le secret "
        "statistique (moins de 50 ménages fiscaux) et restent en gris sur la carte."
    )
    if "poverty_rate_published" in totals:
        text += (
            f" Le taux de pauvreté (seuil de 60 % du revenu médian) n'est publié que pour "
            f"{plural(totals['poverty_rate_communes'], 'commune')} "
            f"({pct(100 * totals['poverty_rate_coverage'], 0)} des ménages du territoire) : "
            f"{pct(totals['poverty_rate_published'])} en moyenne pondérée sur ces communes."
        )
    if "poverty_change_pts" in totals:
        text += (
            f" Sur les {count(totals['poverty_change_communes'])} communes publiées en 2019 et "
            f"2021 ({pct(100 * totals['poverty_change_coverage'], 0)} des ménages du territoire), "
            f"il a évolué de {points(totals['poverty_change_pts'])}."
        )
    blocks.append(Paragraph(text))
    colours, legend = numeric_classes(c["median_income"], "besoin", k=5, decimals=0, unit="€")
    # Lower income = more need: reverse the palette order so that dark is poorer.
    colours, legend = _reverse_palette(c["median_income"], colours, legend)
    blocks.append(MapSpec(
        key="revenu_median",
        title="Revenu disponible médian par unité de consommation, 2021",
        legend_title="Revenu médian (€/an par UC)",
        colours=by_code(c, colours),
        legend=legend,
        source=source,
        tooltip=tooltip(c, "revenu médian", c["median_income"].map(euros)),
        note="Plus la couleur est foncée, plus le revenu médian est bas.",
    ))
    if has(c, "poverty_rate"):
        top = c[c["poverty_rate"].notna()].sort_values("poverty_rate", ascending=False).head(12)
        rows = [[
            f"{r['name']} ({r['code']})", count(r["population"]), count(r.get("households_fiscal")),
            euros(r["median_income"]), pct(r["poverty_rate"]),
            points(r.get("poverty_rate_change", np.nan)),
        ] for _, r in top.iterrows()]
        blocks.append(Table(
            "Communes au taux de pauvreté le plus élevé (parmi les communes où il est publié)",
            ["Commune", "Population", "Ménages fiscaux", "Revenu médian", "Taux de pauvreté 2021",
             "Évolution depuis 2019"],
            rows, source=cite(inputs, datasets.FILOSOFI_COMMUNES, datasets.FILOSOFI_COMMUNES_EARLIER),
            numeric=[False, True, True, True, True, True], key="pauvrete",
        ))
    return blocks


def _reverse_palette(values, colours, legend):
    if not legend:
        return colours, legend
    labels = [label for label, _ in legend]
    palette = [colour for _, colour in legend]
    mapping = dict(zip(palette, reversed(palette), strict=True))
    return colours.map(lambda c: mapping.get(c, c)), list(zip(labels, reversed(palette), strict=True))


def largest_communes_table(inputs: ReportInputs, n: int = 12) -> Table:
    """The most populated communes with their main figures (the report's reference rows)."""
    c = inputs.communes.sort_values("population", ascending=False).head(n)
    spec = [("Commune", lambda r: f"{r['name']} ({r['code']})", False, None),
            ("Population", lambda r: count(r["population"]), True, "population")]
    optional = [
        ("Revenu médian 2021", lambda r: euros(r["median_income"]), True, "median_income"),
        ("Taux de pauvreté 2021", lambda r: pct(r["poverty_rate"]), True, "poverty_rate"),
        ("Logements vacants 2021", lambda r: pct(r["vacancy_rate"]), True, "vacancy_rate"),
        ("QPV 2024", lambda r: count(r["qpv_count"]), True, "qpv_count"),
        ("Densité (grille 2025)",
         lambda r: str(r["density_7_label"]) if pd.notna(r["density_7_label"]) else MISSING,
         False, "density_7_label"),
    ]
    spec += [item for item in optional if item[3] in c.columns]
    rows = [[getter(r) for _, getter, _, _ in spec] for _, r in c.iterrows()]
    data = c[["code", "name", *[col for *_, col in spec if col]]].copy()
    return Table(
        "Les communes les plus peuplées",
        [header for header, *_ in spec], rows,
        source=cite(inputs, "communes", datasets.FILOSOFI_COMMUNES, datasets.CENSUS_IRIS,
                    datasets.QPV_COMMUNES, datasets.DENSITY_GRID),
        numeric=[numeric for _, _, numeric, _ in spec], key="communes_principales",
        widths=_widths([header for header, *_ in spec]),
        note="« — » : donnée secrète ou non publiée.",
        data=data,
    )


def _widths(headers: list[str]) -> list[float]:
    """Commune wide enough for « Villeneuve-d'Ascq (59009) », the density label wide enough
    for « Centres urbains intermédiaires », the figures share the rest."""
    wide = {"Commune": 24.0, "Densité (grille 2025)": 22.0}
    rest = 100 - sum(wide.get(h, 0.0) for h in headers)
    narrow = [h for h in headers if h not in wide]
    return [wide.get(h, round(rest / max(len(narrow), 1), 2)) for h in headers]


def housing_block(inputs: ReportInputs, totals: dict[str, float]) -> list:
    c = inputs.communes
    blocks: list = []
    if has(c, "vacancy_rate"):
        text = (
            f"Le territoire compte {count(totals.get('dwellings'))} logements au recensement 2021, "
            f"dont {pct(totals.get('vacancy_rate'))} vacants (France : "
            f"{pct(inputs.national.get('vacancy_rate'))})"
        )
        if "second_home_share" in totals:
            text += f" et {pct(totals['second_home_share'])} de résidences secondaires"
        blocks.append(Paragraph(text + "."))
        colours, legend = numeric_classes(c["vacancy_rate"], "neutre", k=5, decimals=1, unit="%")
        blocks.append(MapSpec(
            key="vacance",
            title="Part des logements vacants, recensement 2021",
            legend_title="Logements vacants (%)",
            colours=by_code(c, colours), legend=legend,
            source=cite(inputs, datasets.CENSUS_IRIS),
            tooltip=tooltip(c, "logements vacants", c["vacancy_rate"].map(pct)),
        ))
    else:
        blocks.append(missing_notice(inputs, datasets.CENSUS_IRIS))
    for dataset in (datasets.LOVAC_COMMUNES, datasets.RNIC, datasets.RPLS, datasets.SRU):
        notice = missing_notice(inputs, dataset)
        if notice is not None:
            blocks.append(notice)
    if has(c, "sru_subject") and c["sru_subject"].any():
        subject = c[c["sru_subject"].astype(bool)]
        flag = subject.get("sru_deficit", pd.Series(False, index=subject.index))
        deficit = subject[flag.fillna(False).astype(bool)]
        verb = "sont soumises" if len(subject) > 1 else "est soumise"
        text = f"{plural(len(subject), 'commune')} du territoire {verb} à l'article 55 de la loi SRU"
        if len(deficit):
            text += f", dont {count(len(deficit))} déficitaire(s) : {names_list(deficit['name'])}"
        blocks.append(Paragraph(text + "."))
    return blocks


def priority_block(inputs: ReportInputs) -> list:
    c = inputs.communes
    blocks: list = []
    if "qpv_count" in c.columns:
        qpv = c[c["qpv_count"] > 0].sort_values("qpv_count", ascending=False)
        if len(qpv):
            rows = [[f"{r['name']} ({r['code']})", count(r["qpv_count"]), count(r["population"])]
                    for _, r in qpv.head(15).iterrows()]
            blocks.append(Paragraph(
                f"{plural(len(qpv), 'commune')} {'comptent' if len(qpv) > 1 else 'compte'} au moins "
                f"un quartier prioritaire de la politique de la ville (génération 2024), "
                f"{plural(known_sum(qpv['qpv_count']), 'quartier')} au total."
            ))
            blocks.append(Table(
                "Communes comptant des quartiers prioritaires (QPV 2024)",
                ["Commune", "Quartiers prioritaires", "Population de la commune"], rows,
                source=cite(inputs, datasets.QPV_COMMUNES), numeric=[False, True, True], key="qpv",
                note=f"{len(qpv) - 15} autres communes non listées." if len(qpv) > 15 else "",
            ))
        else:
            blocks.append(Paragraph("Aucune commune du territoire ne compte de quartier prioritaire "
                                    "de la politique de la ville (génération 2024)."))
    else:
        blocks.append(missing_notice(inputs, datasets.QPV_COMMUNES))
    programmes = [k for k in ("pvd", "acv") if k in c.columns]
    if programmes:
        items = []
        for key in programmes:
            members = c[c[key].fillna(False).astype(bool)].sort_values("population", ascending=False)
            if len(members):
                items.append(f"{PROGRAMME_LABELS[key]} : {names_list(members['name'], 12)}")
            else:
                items.append(f"{PROGRAMME_LABELS[key]} : aucune commune")
        blocks.append(Bullets(items, title="Communes des programmes de revitalisation (ANCT)"))
        blocks.append(Paragraph(cite(inputs, datasets.ANCT_PROGRAMMES)))
    else:
        blocks.append(missing_notice(inputs, datasets.ANCT_PROGRAMMES))
    return blocks


def portrait_section(inputs: ReportInputs) -> tuple[Section, dict[str, float]]:
    """The portrait section and the territory totals it computed (for the synthesis)."""
    totals = territory_totals(inputs.communes)
    section = Section("portrait", "Portrait du territoire")
    section.add(
        KeyFigure(count(totals["population"]), "habitants", cite(inputs, "communes")),
        KeyFigure(count(totals["communes"]), "communes"),
        KeyFigure(fr_number(totals["density"], 0), "habitants par km²"),
    )
    if "households_fiscal" in totals:
        section.add(KeyFigure(count(totals["households_fiscal"]), "ménages fiscaux (2021)"))
    section.add(key_figures_table(inputs, totals))
    section.add(Subtitle("Densité et armature urbaine"))
    section.add(*density_block(inputs))
    section.add(Subtitle("Revenus et pauvreté"))
    section.add(*income_block(inputs, totals))
    section.add(Subtitle("Logement"))
    section.add(*housing_block(inputs, totals))
    section.add(largest_communes_table(inputs))
    section.add(Subtitle("Quartiers prioritaires et programmes"))
    section.add(*priority_block(inputs))
    return section, totals


__all__ = ["Notice", "portrait_section", "territory_totals"]
