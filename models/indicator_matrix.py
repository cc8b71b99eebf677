"""The commune × indicator matrix the need model works on.

Built from the local store (one dataset per source, keyed by the current commune ``code``) by
indicator id, through the connectors' indicator catalogue (``catalogues/indicators.yaml``):
each catalogue entry names its dataset, column, unit, vintage, licence and direction of need.
A few indicators are *derived* here from catalogue indicators (a rate from two counts, a
change between vintages, an ordinal from a class); each derived indicator records its inputs
and their sources. An indicator whose dataset is absent from the store (RNIC, SRU, RPLS when
offline) is listed in ``unavailable`` with the reason, and the model runs without it.

Rows are all the current communes (COG 2025) in the order of the store's ``communes`` table;
missing values stay missing (NaN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from catalogues import datasets
from catalogues.indicators import load_indicators
from geodata.store import LICENCE_OUVERTE, Store, StoreError

CONTEXT_COLUMNS = ["code", "name", "dep_code", "dep_name", "reg_code", "epci_code", "population"]


@dataclass(frozen=True)
class IndicatorSpec:
    """What an indicator is and where it comes from (one catalogue entry)."""

    id: str
    label: str
    unit: str
    direction: int  # +1 higher = more need, -1 higher = less need, 0 context
    source: str  # store dataset id(s)
    column: str = ""
    vintage: str = ""
    licence: str = LICENCE_OUVERTE
    definition: str = ""
    producer: str = ""
    derived_from: tuple[str, ...] = ()

    def citation(self) -> str:
        """« Source : <dataset> (<vintage>), <licence> »."""
        vintage = f" ({self.vintage})" if self.vintage else ""
        return f"Source : {self.source}{vintage}, {self.licence}"


@dataclass
class IndicatorMatrix:
    """Indicator values per commune, with provenance.

    Attributes
    ----------
    values
        Index ``code`` (current communes), one float column per indicator id.
    specs
        ``{indicator id: IndicatorSpec}`` for every column of ``values``.
    context
        Index ``code``: name, dep_code, dep_name, reg_code, epci_code, population, and
        ``households`` (fiscal households, census households where secret) with
        ``households_source``.
    unavailable
        ``{indicator id: French reason}`` for indicators that could not be built.
    sources
        ``{dataset: {source, producer, vintage, licence, url}}`` from the manifests.
    """

    values: pd.DataFrame
    specs: dict[str, IndicatorSpec]
    context: pd.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in self.values.columns if c not in self.specs]
        if missing:
            raise ValueError(f"Indicateurs sans description : {', '.join(missing)}.")
        if not self.values.index.equals(self.context.index):
            raise ValueError("Les valeurs et le contexte doivent avoir les mêmes communes.")
        if self.values.index.has_duplicates:
            dup = self.values.index[self.values.index.duplicated()].unique().tolist()[:5]
            raise ValueError(f"Codes de commune en double dans la matrice : {dup}.")

    def subset(self, codes) -> IndicatorMatrix:
        """The same matrix restricted to some communes (e.g. a département), same columns."""
        index = pd.Index(codes)
        return replace(
            self, values=self.values.loc[index], context=self.context.loc[index]
        )


# -- derived indicators --------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """An indicator computed here from catalogue indicators (``inputs``)."""

    id: str
    label: str
    unit: str
    direction: int
    inputs: tuple[str, ...]
    compute: Callable[..., pd.Series]
    definition: str


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    return 100.0 * part / whole.where(whole > 0)


TENSION_LEVELS = {"Abis": 5.0, "A bis": 5.0, "A": 4.0, "B1": 3.0, "B2": 2.0, "C": 1.0}

DERIVED: list[Derived] = [
    Derived(
        "median_income_change", "Évolution du niveau de vie médian depuis 2019", "%", -1,
        ("median_income", "median_income_2019"),
        lambda now, before: 100.0 * (now / before.where(before > 0) - 1.0),
        "Niveau de vie médian, évolution en % entre Filosofi 2019 et le dernier millésime "
        "(euros courants).",
    ),
    Derived(
        "rurality", "Ruralité (grille de densité)", "niveau", 1,
        ("density_7",), lambda d: d.astype(float),
        "Niveau de la grille communale de densité à 7 niveaux : 1 = grand centre urbain, "
        "6 = rural à habitat dispersé, 7 = rural à habitat très dispersé.",
    ),
    Derived(
        "market_tension", "Tension du marché du logement (zonage A/B/C)", "niveau", 1,
        ("zone_abc",),
        lambda z: z.astype("string").str.strip().map(TENSION_LEVELS).astype(float),
        "Zonage A/B/C en niveaux : C = 1, B2 = 2, B1 = 3, A = 4, Abis = 5.",
    ),
    Derived(
        "qpv_presence", "Présence d'un quartier prioritaire (QPV 2024)", "0/1", 1,
        ("qpv_count",), lambda n: (n > 0).astype(float).where(n.notna()),
        "1 si la commune compte au moins un quartier prioritaire de la politique de la ville "
        "2024 (liste exhaustive : commune absente = aucun QPV).",
    ),
    Derived(
        "poor_households", "Ménages pauvres (estimation)", "ménages", 1,
        ("households", "poverty_rate"), lambda h, r: h * r / 100.0,
        "Ménages fiscaux × taux de pauvreté (publié, sinon estimé par le modèle).",
    ),
]
DERIVED_BY_ID = {d.id: d for d in DERIVED}

# The indicators of the need model, in display order: catalogue ids or derived ids above.
NEED_INDICATORS: tuple[str, ...] = (
    "poverty_rate",
    "poor_households",
    "median_income",
    "d1_income",
    "median_income_change",
    "unemployment_rate",
    "vacancy_rate",
    "second_home_share",
    "copro_share_before_1975",
    "copro_share_qpv",
    "copro_share_aided",
    "market_tension",
    "zone_tendue",
    "sru_gap_points",
    "qpv_presence",
    "share_65_plus",
    "rurality",
)
# Older vintages, read from the ``alternatives`` of a catalogue entry: (catalogue id, dataset).
VINTAGE_FALLBACKS: dict[str, tuple[str, str]] = {
    "median_income_2019": ("median_income", datasets.FILOSOFI_COMMUNES_EARLIER),
}
# Where the need model reads an indicator in another sense than the catalogue's default
# (direction 0 = context there): (direction, reason), recorded in the indicator's definition.
DIRECTION_OVERRIDES: dict[str, tuple[int, str]] = {
    "share_65_plus": (
        1,
        "compté dans le besoin par le modèle : le vieillissement accroît les besoins "
        "d'accompagnement et d'adaptation du logement",
    ),
}
HOUSEHOLDS_ID = "households"
HOUSEHOLDS_FALLBACK_IDS = ("census_households",)


def _field(entry, name: str, default=""):
    if isinstance(entry, dict):
        return entry.get(name, default)
    return getattr(entry, name, default)


def spec_from_entry(indicator: str, entry) -> IndicatorSpec:
    """An :class:`IndicatorSpec` from a catalogue entry (dict or object)."""
    direction = _field(entry, "direction", 0)
    return IndicatorSpec(
        id=indicator,
        label=str(_field(entry, "label", indicator) or indicator),
        unit=str(_field(entry, "unit", "") or ""),
        direction=int(direction if direction is not None else 0),
        source=str(_field(entry, "source", "") or ""),
        column=str(_field(entry, "column", "") or indicator),
        vintage=str(_field(entry, "vintage", "") or ""),
        licence=str(_field(entry, "licence", "") or LICENCE_OUVERTE),
        definition=str(_field(entry, "definition", "") or ""),
        producer=str(_field(entry, "producer", "") or ""),
    )


class _Reader:
    """Reads store columns once per dataset, aligned on the current communes."""

    def __init__(self, store: Store, index: pd.Index) -> None:
        self.store = store
        self.index = index
        self.frames: dict[str, pd.DataFrame] = {}
        self.manifests: dict[str, dict] = {}

    def column(self, dataset: str, column: str) -> pd.Series:
        if dataset not in self.frames:
            if not self.store.exists(dataset):
                raise StoreError(f"jeu de données « {dataset} » absent du stock local")
            frame = pd.DataFrame(self.store.read(dataset))
            if "code" not in frame.columns:
                raise StoreError(f"jeu de données « {dataset} » sans colonne « code »")
            frame["code"] = frame["code"].astype(str)
            self.frames[dataset] = frame.drop_duplicates("code").set_index("code")
            manifest = self.store.manifest(dataset)
            if manifest is not None:
                self.manifests[dataset] = {
                    "source": manifest.source,
                    "producer": manifest.producer,
                    "vintage": manifest.vintage,
                    "licence": manifest.licence,
                    "url": manifest.url,
                }
        frame = self.frames[dataset]
        if column not in frame.columns:
            raise StoreError(f"colonne « {column} » absente du jeu « {dataset} »")
        return frame[column].reindex(self.index)


def _numeric(series: pd.Series) -> pd.Series:
    """Numbers (booleans as 0/1); labels are left as they are for derived indicators."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    known = series.dropna()
    if len(known) and known.map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return series.map({True: 1.0, False: 0.0}).astype(float)
    return series


def build_matrix(
    store: Store | None = None,
    catalogue: dict | None = None,
    indicators: tuple[str, ...] = NEED_INDICATORS,
) -> IndicatorMatrix:
    """Assemble the need indicators of every current commune from the store.

    Parameters
    ----------
    store
        The local store (default ``Store()``).
    catalogue
        ``{indicator id: entry}`` with label, unit, direction, source (dataset id), column,
        vintage, licence (default: :func:`catalogues.indicators.load_indicators`).
    indicators
        Ids to assemble (catalogue ids, or derived ids of :data:`DERIVED`).
    """
    store = store or Store()
    catalogue = load_indicators() if catalogue is None else catalogue
    communes = store.read("communes", columns=list(CONTEXT_COLUMNS))
    communes["code"] = communes["code"].astype(str)
    context = communes.set_index("code")
    reader = _Reader(store, context.index)
    raw: dict[str, pd.Series] = {}
    raw_specs: dict[str, IndicatorSpec] = {}
    reasons: dict[str, str] = {}

    def base(indicator: str) -> pd.Series:
        """A catalogue indicator (raw, possibly non-numeric) or raise with the reason."""
        if indicator in raw:
            return raw[indicator]
        if indicator in catalogue:
            spec = spec_from_entry(indicator, catalogue[indicator])
        elif indicator in VINTAGE_FALLBACKS:
            parent, dataset = VINTAGE_FALLBACKS[indicator]
            if parent not in catalogue:
                raise KeyError(f"« {parent} » absent du catalogue des indicateurs")
            spec = replace(spec_from_entry(parent, catalogue[parent]), id=indicator,
                           source=dataset, vintage="")
            for alternative in _field(catalogue[parent], "alternatives", ()) or ():
                if _field(alternative, "source") == dataset:
                    spec = replace(
                        spec,
                        column=str(_field(alternative, "column") or spec.column),
                        vintage=str(_field(alternative, "vintage") or ""),
                    )
        else:
            raise KeyError(f"« {indicator} » absent du catalogue des indicateurs")
        series = reader.column(spec.source, spec.column)
        manifest = reader.manifests.get(spec.source, {})
        if not spec.vintage and manifest.get("vintage"):
            spec = replace(spec, vintage=manifest["vintage"])
        raw[indicator], raw_specs[indicator] = series, spec
        return series

    values: dict[str, pd.Series] = {}
    specs: dict[str, IndicatorSpec] = {}
    for indicator in indicators:
        try:
            if indicator in catalogue or indicator not in DERIVED_BY_ID:
                series = _numeric(base(indicator))
                if not pd.api.types.is_numeric_dtype(series):
                    raise KeyError(f"« {indicator} » n'est pas numérique ({series.dtype})")
                values[indicator] = series
                specs[indicator] = raw_specs[indicator]
                if indicator in DIRECTION_OVERRIDES:
                    direction, reason = DIRECTION_OVERRIDES[indicator]
                    spec = specs[indicator]
                    specs[indicator] = replace(
                        spec, direction=direction,
                        definition=f"{spec.definition} ({reason}.)".strip(),
                    )
                continue
            derived = DERIVED_BY_ID[indicator]
            inputs = [base(i) for i in derived.inputs]
            values[indicator] = derived.compute(*[_numeric(s) for s in inputs])
            sources = [raw_specs[i] for i in derived.inputs]
            specs[indicator] = IndicatorSpec(
                id=indicator,
                label=derived.label,
                unit=derived.unit,
                direction=derived.direction,
                source=" + ".join(dict.fromkeys(s.source for s in sources)),
                column=", ".join(f"{s.source}.{s.column}" for s in sources),
                vintage=" / ".join(dict.fromkeys(s.vintage for s in sources if s.vintage)),
                licence=sources[0].licence,
                definition=derived.definition,
                producer=" ; ".join(dict.fromkeys(s.producer for s in sources if s.producer)),
                derived_from=derived.inputs,
            )
        except (KeyError, StoreError) as error:
            reasons[indicator] = str(error).strip("'\"")
    frame = pd.DataFrame(values, index=context.index).astype(float)

    households = pd.Series(np.nan, index=context.index)
    origin = pd.Series("absent", index=context.index, dtype=object)
    for indicator, label in [(HOUSEHOLDS_ID, "Filosofi")] + [
        (i, "recensement") for i in HOUSEHOLDS_FALLBACK_IDS
    ]:
        try:
            series = _numeric(base(indicator))
        except (KeyError, StoreError):
            continue
        fill = households.isna() & series.notna()
        households[fill] = series[fill]
        origin[fill] = label
    context = context.assign(households=households, households_source=origin)
    return IndicatorMatrix(
        values=frame,
        specs=specs,
        context=context,
        unavailable=reasons,
        sources=dict(reader.manifests),
    )
