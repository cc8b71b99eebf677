"""The need index: a COINr-style pipeline over plain DataFrames, every step logged.

Steps (OECD/JRC *Handbook on constructing composite indicators*, COINr):

1. **select**: keep the indicators with enough coverage (or an explicit gap rule);
2. **impute**: the poverty rate by model (published values never overwritten, flagged);
   other gaps by the rule of each indicator, recorded;
3. **treat**: winsorise or log the too-skewed indicators;
4. **normalise**: min–max, z-score, percentile rank or distance to the national value;
5. **weight**: a named preset of ``weights.yaml`` or custom weights;
6. **aggregate**: arithmetic or geometric mean over the available indicators; a commune whose
   available indicators carry less than ``min_weight_coverage`` of the weight is marked
   "données insuffisantes", never silently ranked;
7. **sensitivity**: Monte-Carlo over weights and normalisation (median rank, 90 % interval);
8. **explain**, **typology**, **hotspots**.

Each step appends ``{"step": ..., "parameters": {...}, "result": {...}}`` to ``NeedIndex.log``;
the first entry holds the whole configuration (:meth:`NeedConfig.from_log` rebuilds it).

Output contract (:class:`NeedResult`.frame, one row per commune, column ``code``)
--------------------------------------------------------------------------------
``code``, ``name``, ``dep_code``
    Current commune code (string) and labels.
``status``
    "calculé" or "données insuffisantes" (then ``score`` and ranks are NaN).
``score``
    Intensity, 0–100 (higher = more need), normalised on all France.
``rank``
    Rank of ``score`` among the scored communes of France (1 = most need).
``need_households``, ``need_households_low``, ``need_households_high``
    Volume: estimated households in need (households × poverty rate), with the 90 % interval
    carried from the imputation (equal to the central value where the rate is published).
``rank_volume``
    Rank by ``need_households``.
``households``, ``poverty_rate``, ``poverty_rate_low``, ``poverty_rate_high``,
``poverty_rate_method``
    The volume's inputs ("publié", "modèle complet", "modèle réduit", "non imputable").
``imputed_poverty_rate``, ``imputed_households``
    Flags: the value is estimated (model) or taken from a fallback source.
``coverage``
    Share of the weight carried by the commune's available indicators.
``missing_indicators``
    Weighted indicators missing for the commune (labels, « ; »-separated).
``contrib_<indicator>``
    Score points contributed by each weighted indicator (they sum to ``score``).
``explanation``
    French sentence naming the 2–3 main drivers.
``rank_median``, ``rank_p05``, ``rank_p95``, ``top_decile_share``, ``top_decile_robust``
    Monte-Carlo sensitivity of the rank (NaN / False when not computed or not scored).
``cluster``, ``cluster_label``
    Typology (-1 / "" when not scored).
``hotspot``, ``local_moran_i``, ``hotspot_q``
    Local Moran class HH/LL/HL/LH/ns, statistic and FDR-adjusted p-value.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from models import aggregate as agg
from models import normalise as norm
from models import weights as wts
from models.explain import sentences
from models.imputation import ImputationResult, impute_rate
from models.indicator_matrix import IndicatorMatrix
from models.sensitivity import SensitivityResult, monte_carlo, rank_desc
from models.treatment import treat_column

STATUS_OK = "calculé"
STATUS_INSUFFICIENT = "données insuffisantes"

LOG_HOUSEHOLDS = "log_households"
RULE_MODEL = "modèle"
RULE_ZERO = "zéro si absent"
RULE_REWEIGHT = "renormalisation"
RULE_LABELS = {
    RULE_MODEL: "imputation par modèle (valeurs publiées conservées, estimations signalées)",
    RULE_ZERO: "absent de la liste = 0 (liste exhaustive)",
    RULE_REWEIGHT: "non imputé : poids réparti sur les indicateurs disponibles de la commune",
}


@dataclass
class NeedConfig:
    """Every parameter of the pipeline (logged as is)."""

    weights: str | dict = wts.DEFAULT_PRESET
    normalisation: str = "minmax"
    aggregation: str = "arithmetic"
    min_indicator_coverage: float = 0.6
    min_weight_coverage: float = 0.6
    missing_rules: dict = field(
        default_factory=lambda: {
            "poverty_rate": RULE_MODEL,
            "poor_households": RULE_MODEL,  # households × the imputed rate
            "qpv_presence": RULE_ZERO,
            "zone_tendue": RULE_ZERO,
            # the SRU inventory lists the communes subject to the law: absent = no legal gap
            "sru_gap_points": RULE_ZERO,
        }
    )
    impute_target: str = "poverty_rate"
    impute_core: tuple = ("median_income", "median_income_change")
    impute_min_feature_coverage: float = 0.8
    treat: bool = True
    skew_max: float = 2.0
    kurt_max: float = 3.5
    winsor_max_share: float = 0.01
    seed: int = 0
    mc_draws: int = 1000
    mc_weight_noise: float = 0.5
    mc_methods: tuple = ("minmax", "zscore", "percentile", "distance")
    typology_k: tuple = (3, 8)
    hotspot_permutations: int = 999
    fdr_alpha: float = 0.05

    def as_dict(self) -> dict:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_log(cls, log: list[dict]) -> NeedConfig:
        """The configuration recorded in the first entry of a pipeline log."""
        data = dict(log[0]["parameters"])
        names = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**values)


@dataclass
class NeedResult:
    """The per-commune frame (see the module docstring) and the pipeline log."""

    frame: pd.DataFrame
    log: list[dict]
    imputation: ImputationResult | None = None
    sensitivity: SensitivityResult | None = None
    cluster_names: dict[int, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # indicator id -> citation


def run_need(
    store=None,
    config: NeedConfig | None = None,
    *,
    sensitivity: bool = True,
    typology: bool = True,
    hotspots: bool = True,
) -> NeedResult:
    """Build the indicator matrix from the store and run the whole pipeline."""
    from geodata.store import Store
    from models.hotspots import contiguity
    from models.indicator_matrix import build_matrix

    store = store or Store()
    matrix = build_matrix(store)
    edges = contiguity(store) if hotspots else None
    return NeedIndex(matrix, config).run(sensitivity, typology, hotspots, edges)


class NeedIndex:
    """The need index over an :class:`~models.indicator_matrix.IndicatorMatrix`.

    ``prepare()`` runs select → impute → treat once; ``score()`` then normalises, weights and
    aggregates in milliseconds (cached normalised matrices), so the app can re-score all France
    after a weight change; ``run()`` adds explanation, sensitivity, typology and hot spots.
    """

    def __init__(
        self,
        matrix: IndicatorMatrix,
        config: NeedConfig | None = None,
        presets: dict[str, wts.Preset] | None = None,
    ) -> None:
        self.matrix = matrix
        self.config = config or NeedConfig()
        self.presets = presets if presets is not None else wts.load_presets()
        self.log: list[dict] = [
            {"step": "configuration", "parameters": self.config.as_dict(), "result": {}}
        ]
        self._prepared = False
        self._normalised: dict[tuple[str, bool], np.ndarray] = {}

    # -- logging -------------------------------------------------------------------------------
    def _log(self, step: str, parameters: dict, result: dict | None = None, t0=None) -> None:
        entry = {"step": step, "parameters": parameters, "result": result or {}}
        if t0 is not None:
            entry["seconds"] = round(time.perf_counter() - t0, 4)
        self.log.append(entry)

    # -- select, impute, treat -----------------------------------------------------------------
    def prepare(self) -> NeedIndex:
        """Select, impute and treat (once)."""
        if self._prepared:
            return self
        self._select()
        self._impute()
        self._treat()
        self._prepared = True
        return self

    def _rule(self, indicator: str) -> str:
        return self.config.missing_rules.get(indicator, RULE_REWEIGHT)

    def _select(self) -> None:
        t0 = time.perf_counter()
        values = self.matrix.values
        coverage = values.notna().mean()
        kept, dropped, context = [], {}, []
        for indicator in values.columns:
            spec = self.matrix.specs[indicator]
            rule = self._rule(indicator)
            if spec.direction == 0:
                context.append(indicator)
            elif coverage[indicator] >= self.config.min_indicator_coverage or rule in (
                RULE_MODEL, RULE_ZERO
            ):
                kept.append(indicator)
            else:
                dropped[indicator] = (
                    f"couverture {coverage[indicator]:.0%} < "
                    f"{self.config.min_indicator_coverage:.0%} sans règle d'imputation"
                )
        if not kept:
            raise ValueError("Aucun indicateur de besoin n'a une couverture suffisante.")
        self.aggregated = kept
        self.directions = np.array([self.matrix.specs[i].direction for i in kept], dtype=float)
        self._log(
            "select",
            {
                "couverture_min": self.config.min_indicator_coverage,
                "règles_manquants": {i: self._rule(i) for i in kept},
            },
            {
                "indicateurs_retenus": kept,
                "indicateurs_contexte": context,
                "indicateurs_écartés": dropped,
                "indicateurs_indisponibles": dict(self.matrix.unavailable),
                "couverture": {i: round(float(coverage[i]), 4) for i in values.columns},
            },
            t0,
        )

    def _impute(self) -> None:
        t0 = time.perf_counter()
        values = self.matrix.values[self.aggregated].copy()
        flags = pd.DataFrame(False, index=values.index, columns=values.columns)
        rules: dict[str, dict] = {}
        for indicator in self.aggregated:
            if self._rule(indicator) == RULE_ZERO:
                filled = int(values[indicator].isna().sum())
                values[indicator] = values[indicator].fillna(0.0)
                rules[indicator] = {"règle": RULE_LABELS[RULE_ZERO], "valeurs_complétées": filled}
        self.imputation: ImputationResult | None = None
        target = self.config.impute_target
        if target in self.aggregated and self._rule(target) == RULE_MODEL:
            features = self._imputation_features(values, target)
            size = self.matrix.context["households"]
            result = impute_rate(
                values[target], features, size, core=list(self.config.impute_core),
                seed=self.config.seed, structural=(LOG_HOUSEHOLDS,),
            )
            values[target] = result.value
            flags[target] = result.imputed
            self.imputation = result
            households = self.matrix.context["households"].astype(float)
            for indicator in self.aggregated:
                spec = self.matrix.specs[indicator]
                if indicator != target and self._rule(indicator) == RULE_MODEL:
                    if target not in spec.derived_from:
                        raise ValueError(
                            f"Règle « modèle » pour « {indicator} », qui ne dérive pas de "
                            f"« {target} »."
                        )
                    values[indicator] = households * result.value / 100.0
                    flags[indicator] = result.imputed
                    rules[indicator] = {
                        "règle": f"recalculé : ménages × {target} complété par le modèle",
                        "valeurs_estimées": int(result.imputed.sum()),
                    }
            rules[target] = {
                "règle": RULE_LABELS[RULE_MODEL],
                **result.params,
                "mae_petites_communes_pts": round(result.mae_small, 3),
                "validation_croisée": result.cv.round(4).to_dict("records"),
                "avertissement": "les communes imputées sont plus petites que les communes "
                "publiées : l'erreur mesurée sur la plus petite classe connue est un minimum",
                "non_imputables": int((result.method == "non imputable").sum()),
            }
        for indicator in self.aggregated:
            rules.setdefault(
                indicator,
                {
                    "règle": RULE_LABELS[self._rule(indicator)],
                    "valeurs_manquantes": int(values[indicator].isna().sum()),
                },
            )
        self.imputed_values = values
        self.imputed_flags = flags
        self._log("impute", {"règles": {i: self._rule(i) for i in self.aggregated}}, rules, t0)

    def _imputation_features(self, values: pd.DataFrame, target: str) -> pd.DataFrame:
        """Predictors: the other indicators known for most communes to predict, size, dep."""
        to_predict = values[target].isna()
        candidates = self.matrix.values.drop(columns=[target]).copy()
        for column in values.columns:
            if column != target:
                candidates[column] = values[column]
        # Not the indicators computed from the target, nor the context columns.
        excluded = [
            i for i, s in self.matrix.specs.items()
            if target in s.derived_from or s.direction == 0
        ]
        candidates = candidates.drop(columns=excluded, errors="ignore")
        cover = candidates[to_predict].notna().mean() if to_predict.any() else candidates.notna().mean()
        core = set(self.config.impute_core)
        keep = [
            c for c in candidates.columns
            if cover[c] >= self.config.impute_min_feature_coverage or (c in core and cover[c] > 0)
        ]
        features = candidates[keep].astype(float)
        households = self.matrix.context["households"].astype(float)
        features[LOG_HOUSEHOLDS] = np.log1p(households)
        features["dep_code"] = self.matrix.context["dep_code"].astype("category")
        return features

    def _treat(self) -> None:
        t0 = time.perf_counter()
        raw = self.imputed_values.to_numpy(dtype=float)
        treated = raw.copy()
        decisions = {}
        if self.config.treat:
            for j, indicator in enumerate(self.aggregated):
                treated[:, j], decision = treat_column(
                    raw[:, j], self.config.skew_max, self.config.kurt_max,
                    self.config.winsor_max_share,
                )
                decisions[indicator] = decision.as_log()
        self.treated = treated
        # National values for the "distance" normalisation: household-weighted means of the
        # raw (untreated) values, as national rates are published.
        weight = self.matrix.context["households"].to_numpy(dtype=float)
        national = []
        for j in range(raw.shape[1]):
            ok = ~np.isnan(raw[:, j]) & ~np.isnan(weight)
            national.append(
                float(np.average(raw[ok, j], weights=weight[ok])) if ok.any() else np.nan
            )
        self.national = np.array(national)
        self._log(
            "treat",
            {
                "actif": self.config.treat,
                "asymétrie_max": self.config.skew_max,
                "aplatissement_max": self.config.kurt_max,
                "winsorisation_max": self.config.winsor_max_share,
            },
            {
                "traitements": decisions,
                "valeurs_nationales": dict(zip(self.aggregated, np.round(self.national, 4),
                                               strict=True)),
            },
            t0,
        )

    # -- normalise, weight, aggregate ------------------------------------------------------------
    def normalised(self, method: str, positive: bool = False) -> np.ndarray:
        """The treated matrix normalised by ``method`` (cached); ``positive`` for geometric."""
        self.prepare()
        key = (method, positive)
        if key not in self._normalised:
            reference = self.national
            if method == "distance":
                # Distance to the national value of the *treated* scale (log-treated columns).
                reference = self._treated_reference()
            out = norm.normalise(self.treated, method, self.directions, reference)
            self._normalised[key] = norm.to_positive_scale(out) if positive else out
        return self._normalised[key]

    def _treated_reference(self) -> np.ndarray:
        ref = self.national.copy()
        treatments = self.log_entry("treat")["result"]["traitements"]
        for j, indicator in enumerate(self.aggregated):
            if treatments.get(indicator, {}).get("méthode") == "log":
                weight = self.matrix.context["households"].to_numpy(dtype=float)
                ok = ~np.isnan(self.treated[:, j]) & ~np.isnan(weight)
                ref[j] = float(np.average(self.treated[ok, j], weights=weight[ok]))
        return ref

    def log_entry(self, step: str) -> dict:
        for entry in reversed(self.log):
            if entry["step"] == step:
                return entry
        raise KeyError(step)

    def weight_vector(self, weights=None) -> tuple[np.ndarray, dict]:
        self.prepare()
        resolved, info = wts.resolve(
            self.config.weights if weights is None else weights, self.aggregated, self.presets
        )
        return np.array([resolved[i] for i in self.aggregated]), info

    def score(
        self,
        weights: str | dict | None = None,
        normalisation: str | None = None,
        aggregation: str | None = None,
        log: bool = False,
    ) -> pd.DataFrame:
        """Scores of all communes (fast path: no explanation, sensitivity, typology).

        Returns
        -------
        DataFrame indexed by ``code``: ``score`` (0–100), ``rank``, ``coverage``, ``status``.
        """
        t0 = time.perf_counter()
        method = normalisation or self.config.normalisation
        aggregation = aggregation or self.config.aggregation
        w, info = self.weight_vector(weights)
        values = self.normalised(method, positive=aggregation == "geometric")
        aggregate, coverage = agg.aggregate(values, w, aggregation)
        ok = coverage >= self.config.min_weight_coverage - 1e-12
        score, scale = self._to_score(aggregate, ok, method, aggregation)
        rank = np.full(score.shape, np.nan)
        rank[ok] = rank_desc(score[ok])
        frame = pd.DataFrame(
            {
                "score": score,
                "rank": rank,
                "coverage": coverage,
                "status": np.where(ok, STATUS_OK, STATUS_INSUFFICIENT),
            },
            index=self.matrix.values.index,
        )
        self._last = {"weights": w, "values": values, "scale": scale, "method": method,
                      "aggregation": aggregation, "ok": ok}
        if log:
            self._log("normalise", {"méthode": method, "libellé": norm.METHODS[method]}, {}, None)
            self._log("weight", {"poids": info["poids"]}, info, None)
            self._log(
                "aggregate",
                {
                    "méthode": aggregation,
                    "libellé": agg.AGGREGATIONS[aggregation],
                    "couverture_min_poids": self.config.min_weight_coverage,
                    "mise_à_l_échelle": scale,
                },
                {
                    "communes_calculées": int(ok.sum()),
                    "communes_données_insuffisantes": int((~ok).sum()),
                },
                t0,
            )
        return frame

    def _to_score(self, aggregate, ok, method, aggregation) -> tuple[np.ndarray, dict]:
        """0–100 score; bounded normalisations are already on that scale."""
        if aggregation == "geometric" or method in norm.BOUNDED:
            return np.where(ok, aggregate, np.nan), {"a": 1.0, "b": 0.0}
        lo, hi = np.nanmin(aggregate[ok]), np.nanmax(aggregate[ok])
        a = 100.0 / (hi - lo) if hi > lo else 0.0
        b = -lo * a if hi > lo else 50.0
        return np.where(ok, a * aggregate + b, np.nan), {"a": float(a), "b": float(b)}

    def contributions(self) -> pd.DataFrame:
        """Score points per weighted indicator for the last :meth:`score` call."""
        last = self._last
        w = last["weights"]
        raw = agg.contributions(last["values"], w, last["aggregation"])
        present = ~np.isnan(last["values"])
        available = present @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            offset = last["scale"]["b"] * np.where(present, w, np.nan) / available[:, None]
        points = last["scale"]["a"] * raw + offset
        points[~last["ok"]] = np.nan
        columns = [f"contrib_{i}" for i in self.aggregated]
        frame = pd.DataFrame(points, index=self.matrix.values.index, columns=columns)
        return frame.loc[:, [c for c, wi in zip(columns, w, strict=True) if wi > 0]]

    # -- full run --------------------------------------------------------------------------------
    def run(
        self,
        sensitivity: bool = True,
        typology: bool = True,
        hotspots: bool = True,
        edges: pd.DataFrame | None = None,
    ) -> NeedResult:
        """All steps; ``edges`` is the contiguity edge list of the store the matrix was read from
        (required for the hot spots: the index never reads a store by itself)."""
        if hotspots and edges is None:
            raise ValueError("run(hotspots=True) needs the contiguity edges of the store")
        self.prepare()
        base = self.score(log=True)
        frame = self._volume(base)
        contrib = self.contributions()
        frame = frame.join(contrib)
        frame["missing_indicators"] = self._missing_labels()
        frame["explanation"] = self._explain(contrib, frame)
        sens = self._sensitivity(frame) if sensitivity else None
        if sens is None:
            for column in ("rank_median", "rank_p05", "rank_p95", "top_decile_share"):
                frame[column] = np.nan
            frame["top_decile_robust"] = False
        cluster_names = self._typology(frame) if typology else {}
        if not typology:
            frame["cluster"], frame["cluster_label"] = -1, ""
        if hotspots:
            self._hotspots(frame, edges)
        else:
            frame["hotspot"], frame["local_moran_i"], frame["hotspot_q"] = "ns", np.nan, np.nan
        out = frame.reset_index()
        specs = self.matrix.specs
        sources = {i: specs[i].citation() for i in self.aggregated}
        return NeedResult(out, self.log, self.imputation, sens, cluster_names, sources)

    def _volume(self, base: pd.DataFrame) -> pd.DataFrame:
        t0 = time.perf_counter()
        context = self.matrix.context
        frame = context[["name", "dep_code"]].join(base)
        households = context["households"].astype(float)
        target = self.config.impute_target
        if self.imputation is not None:
            rate, low, high = self.imputation.value, self.imputation.low, self.imputation.high
            method = self.imputation.method
        elif target in self.matrix.values:
            rate = low = high = self.matrix.values[target]
            method = pd.Series(np.where(rate.notna(), "publié", "non imputable"), rate.index)
        else:
            rate = low = high = pd.Series(np.nan, index=frame.index)
            method = pd.Series("non imputable", index=frame.index)
        frame["households"] = households
        frame["poverty_rate"] = rate
        frame["poverty_rate_low"] = low
        frame["poverty_rate_high"] = high
        frame["poverty_rate_method"] = method
        frame["imputed_poverty_rate"] = method.isin(["modèle complet", "modèle réduit"])
        frame["imputed_households"] = context["households_source"].ne("Filosofi")
        frame["need_households"] = households * rate / 100.0
        frame["need_households_low"] = households * low / 100.0
        frame["need_households_high"] = households * high / 100.0
        volume = frame["need_households"].to_numpy(dtype=float)
        known = ~np.isnan(volume)
        rank_volume = np.full(volume.shape, np.nan)
        rank_volume[known] = rank_desc(volume[known])
        frame["rank_volume"] = rank_volume
        self._log(
            "volume",
            {
                "définition": "ménages fiscaux × taux de pauvreté à 60 % / 100 "
                "(intervalle 90 % de l'imputation)",
                "repli_ménages": "ménages du recensement là où Filosofi est secret (signalé)",
            },
            {
                "ménages_en_besoin_france": round(float(np.nansum(volume)), 0),
                "communes_sans_volume": int((~known).sum()),
            },
            t0,
        )
        return frame

    def _missing_labels(self) -> pd.Series:
        w = self._last["weights"]
        weighted = [i for i, wi in zip(self.aggregated, w, strict=True) if wi > 0]
        missing = self.imputed_values[weighted].isna()
        labels = np.array([self.matrix.specs[i].label for i in weighted], dtype=object)
        out = [" ; ".join(labels[row]) for row in missing.to_numpy()]
        return pd.Series(out, index=missing.index)

    def _explain(self, contrib: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
        t0 = time.perf_counter()
        ids = [c.removeprefix("contrib_") for c in contrib.columns]
        renamed = contrib.set_axis(ids, axis=1)
        specs = self.matrix.specs
        text = sentences(
            renamed,
            self.imputed_values[ids],
            self.imputed_flags[ids],
            {i: specs[i].label for i in ids},
            {i: specs[i].unit for i in ids},
            frame["score"],
            frame["status"],
            frame["missing_indicators"],
        )
        self._log(
            "explain",
            {"facteurs": "2 à 3 indicateurs dont la contribution dépasse le plus leur "
             "contribution moyenne nationale (écart ≥ 0,25 point)"},
            {},
            t0,
        )
        return text

    def _sensitivity(self, frame: pd.DataFrame) -> SensitivityResult:
        t0 = time.perf_counter()
        ok = frame["status"].eq(STATUS_OK).to_numpy()
        positive = self._last["aggregation"] == "geometric"
        methods = tuple(self.config.mc_methods)
        stack = {m: self.normalised(m, positive)[ok] for m in {*methods, self._last["method"]}}
        result = monte_carlo(
            stack,
            self._last["weights"],
            self._last["method"],
            draws=self.config.mc_draws,
            weight_noise=self.config.mc_weight_noise,
            methods=methods,
            aggregation=self._last["aggregation"],
            seed=self.config.seed,
        )
        for column, values in (
            ("rank_median", result.rank_median),
            ("rank_p05", result.rank_p05),
            ("rank_p95", result.rank_p95),
            ("top_decile_share", result.top_decile_share),
        ):
            frame[column] = np.nan
            frame.loc[ok, column] = values
        frame["top_decile_robust"] = False
        frame.loc[ok, "top_decile_robust"] = result.top_decile_robust
        inside = (result.base_rank >= result.rank_p05) & (result.base_rank <= result.rank_p95)
        self._log(
            "sensitivity",
            result.params,
            {
                "premier_décile_robuste": int(result.top_decile_robust.sum()),
                "rang_de_base_dans_l_intervalle": round(float(inside.mean()), 4),
                "largeur_médiane_intervalle": float(np.median(result.rank_p95 - result.rank_p05)),
            },
            t0,
        )
        return result

    def territory_sensitivity(
        self, codes, weights: str | dict | None = None, draws: int | None = None
    ) -> pd.DataFrame:
        """Monte-Carlo ranks *within a territory* (e.g. a département's communes).

        Values stay normalised on all France; only the ranking is restricted to ``codes``
        (scored communes among them). Returns, indexed by ``code``: ``rank`` (base rank in the
        territory), ``rank_median``, ``rank_p05``, ``rank_p95``, ``top_decile_share``,
        ``top_decile_robust``.
        """
        base = self.score(weights)
        rows = base.index.isin(pd.Index(codes)) & base["status"].eq(STATUS_OK).to_numpy()
        methods = tuple(self.config.mc_methods)
        positive = self._last["aggregation"] == "geometric"
        stack = {m: self.normalised(m, positive)[rows] for m in {*methods, self._last["method"]}}
        result = monte_carlo(
            stack, self._last["weights"], self._last["method"],
            draws=draws or self.config.mc_draws, weight_noise=self.config.mc_weight_noise,
            methods=methods, aggregation=self._last["aggregation"], seed=self.config.seed,
        )
        return pd.DataFrame(
            {
                "rank": result.base_rank,
                "rank_median": result.rank_median,
                "rank_p05": result.rank_p05,
                "rank_p95": result.rank_p95,
                "top_decile_share": result.top_decile_share,
                "top_decile_robust": result.top_decile_robust,
            },
            index=base.index[rows],
        )

    def _typology(self, frame: pd.DataFrame) -> dict[int, str]:
        from models.typology import build_typology

        t0 = time.perf_counter()
        ok = frame["status"].eq(STATUS_OK).to_numpy()
        # Treated values in their own sense (not need-oriented), so that a centroid reads
        # "aux revenus élevés" when the median income is high.
        profile = pd.DataFrame(self.treated[ok], index=frame.index[ok], columns=self.aggregated)
        specs = self.matrix.specs
        result = build_typology(
            profile,
            {i: specs[i].label for i in self.aggregated},
            k_range=tuple(self.config.typology_k),
            seed=self.config.seed,
        )
        frame["cluster"] = -1
        frame.loc[ok, "cluster"] = result.labels.to_numpy()
        frame["cluster_label"] = frame["cluster"].map(result.names).fillna("")
        sizes = frame.loc[ok, "cluster"].value_counts().sort_index()
        self._log(
            "typology",
            result.params,
            {"classes": {result.names[int(c)]: int(n) for c, n in sizes.items()}},
            t0,
        )
        return result.names

    def _hotspots(self, frame: pd.DataFrame, edges: pd.DataFrame) -> None:
        from models.hotspots import local_moran

        t0 = time.perf_counter()
        result = local_moran(
            frame["score"],
            edges,
            permutations=self.config.hotspot_permutations,
            seed=self.config.seed,
            alpha=self.config.fdr_alpha,
        )
        frame["hotspot"] = result.frame["hotspot"]
        frame["local_moran_i"] = result.frame["local_moran_i"]
        frame["hotspot_q"] = result.frame["q_value"]
        self._log("hotspots", result.params, {}, t0)
