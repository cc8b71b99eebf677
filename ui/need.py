"""The need model as the app uses it: read once, re-scored instantly after a weight change.

The national result and the prepared index come from :mod:`models.results` (stored by
``make data``, recomputed there when the data or the model code change). A weight, normalisation or
aggregation change only re-aggregates the normalised matrices the model keeps in memory
(:meth:`models.pipeline.NeedIndex.score`, a few tens of milliseconds) and the contributions;
explanation sentences are written only for the communes a page shows. Rank intervals
(sensitivity) stay those of the default settings unless the user asks to recompute them for
the current weights.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from models import results
from ui import data

NOT_COMPUTED = "Le modèle de besoin n'est pas encore calculé"
SCORE_COLUMNS = ("score", "rank", "coverage", "status")
SENSITIVITY_COLUMNS = ("rank_median", "rank_p05", "rank_p95", "top_decile_share", "top_decile_robust")


@dataclass(frozen=True)
class NeedSettings:
    """What the user can change on the « Méthode » page."""

    weights: str | tuple[tuple[str, float], ...]  # preset name, or (indicator, weight) pairs
    normalisation: str = "minmax"
    aggregation: str = "arithmetic"

    @property
    def weights_arg(self) -> str | dict[str, float]:
        return self.weights if isinstance(self.weights, str) else dict(self.weights)

    @property
    def label(self) -> str:
        return f"préréglage « {self.weights} »" if isinstance(self.weights, str) else "poids personnalisés"


@dataclass
class NeedModel:
    """The prepared index, its full result with default settings, and a small re-score cache."""

    index: Any  # models.pipeline.NeedIndex
    result: results.NeedResults
    fingerprint: str
    default: NeedSettings
    lock: threading.Lock = field(default_factory=threading.Lock)
    rescored: OrderedDict = field(default_factory=OrderedDict)
    sensitivity: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # settings → seconds of the last re-score

    @property
    def frame(self) -> pd.DataFrame:
        return self.result.frame

    @property
    def specs(self) -> dict:
        return self.index.matrix.specs

    @property
    def aggregated(self) -> list[str]:
        return list(self.index.aggregated)

    @property
    def presets(self) -> dict:
        return self.index.presets


@st.cache_data(ttl=5, show_spinner=False)
def _fingerprint(root: str) -> str:
    return results.inputs_digest(data.store())


def fingerprint() -> str:
    """Digest of the store's inputs and of the model's code (re-read at most every few seconds):
    the key under which :mod:`models.results` keeps the national result."""
    return _fingerprint(str(data.store().root))


@st.cache_resource(show_spinner=False, max_entries=2)
def _load(digest: str) -> NeedModel | str:
    """The model for this digest, or a French reason why it cannot be computed."""
    try:
        prepared = results.prepared_need(data.store())
    except results.ResultsUnavailable as exc:
        return f"{NOT_COMPUTED} : {exc}"
    index = prepared.index
    config = index.config
    default = NeedSettings(config.weights if isinstance(config.weights, str) else
                           tuple(sorted(config.weights.items())),
                           config.normalisation, config.aggregation)
    prepared.results.frame["intervals_settings"] = default.label
    return NeedModel(index=index, result=prepared.results, fingerprint=digest, default=default)


def need_model(spinner: bool = True) -> NeedModel | None:
    """The need model, or None (the reason is given by :func:`unavailable_reason`)."""
    digest = fingerprint()
    if spinner:
        with st.spinner("Calcul du modèle de besoin pour toute la France (une seule fois, "
                        "environ une demi-minute)…"):
            model = _load(digest)
    else:
        model = _load(digest)
    return model if isinstance(model, NeedModel) else None


def unavailable_reason() -> str:
    model = _load(fingerprint())
    return model if isinstance(model, str) else ""


def current_settings(model: NeedModel) -> NeedSettings:
    """The settings chosen on the « Méthode » page (the model's defaults otherwise)."""
    chosen = st.session_state.get("need_settings")
    return chosen if isinstance(chosen, NeedSettings) else model.default


def set_settings(value: NeedSettings) -> None:
    st.session_state["need_settings"] = value


def scored(model: NeedModel, chosen: NeedSettings | None = None) -> pd.DataFrame:
    """Per-commune frame of the model for ``chosen`` settings (shared: do not modify).

    Same columns as the model's result; with other settings than the defaults, ``score``,
    ``rank``, ``coverage``, ``status``, the contributions and ``missing_indicators`` are
    recomputed and ``explanation`` is empty (see :func:`explanations`); the rank intervals are
    those of :func:`sensitivity_for` when computed, else those of the default settings
    (``intervals_settings`` says which).
    """
    chosen = chosen or model.default
    if chosen == model.default:
        return model.frame
    with model.lock:
        if chosen in model.rescored:
            model.rescored.move_to_end(chosen)
            return model.rescored[chosen]
        start = time.perf_counter()
        frame = _rescore(model, chosen)
        model.timings[chosen] = time.perf_counter() - start
        model.rescored[chosen] = frame
        while len(model.rescored) > 8:
            model.rescored.popitem(last=False)
        return frame


def _rescore(model: NeedModel, chosen: NeedSettings) -> pd.DataFrame:
    """Re-aggregate (fast path) and rebuild the contributions (lock held).

    The explanation sentences are left empty here (writing 35,000 sentences takes about a
    second): :func:`explanations` writes them for the communes a page shows.
    """
    index = model.index
    base = index.score(chosen.weights_arg, chosen.normalisation, chosen.aggregation)
    contrib = index.contributions()
    weights, _info = index.weight_vector(chosen.weights_arg)
    frame = model.frame.set_index("code")
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("contrib_")])
    for column in SCORE_COLUMNS:
        frame[column] = base[column].reindex(frame.index)
    frame = frame.join(contrib)
    weighted = [i for i, w in zip(index.aggregated, weights, strict=True) if w > 0]
    missing = index.imputed_values[weighted].isna()
    labels = np.array([model.specs[i].label for i in weighted], dtype=object)
    frame["missing_indicators"] = pd.Series(
        [" ; ".join(labels[row]) for row in missing.to_numpy()], index=missing.index
    ).reindex(frame.index)
    frame["explanation"] = None
    if chosen in model.sensitivity:
        for column, values in model.sensitivity[chosen].items():
            frame[column] = values.reindex(frame.index)
        frame["intervals_settings"] = chosen.label
    else:
        frame["intervals_settings"] = model.default.label
    return frame.reset_index()


REFERENCE_ROW = "__moyenne_nationale__"


def explanations(model: NeedModel, chosen: NeedSettings | None, codes) -> pd.Series:
    """Explanation sentences of ``codes`` for ``chosen`` settings (index: code).

    ``models.explain.sentences`` compares each commune's contributions with their mean over
    the scored communes of the frame it is given. To write the sentences of a few communes
    against the *national* mean, one reference row is added whose values bring the mean of
    the small frame exactly to the national mean; its own sentence is dropped.
    """
    from models.explain import national_values, sentences

    chosen = chosen or model.default
    frame = scored(model, chosen).set_index("code")
    wanted = pd.Index([c for c in dict.fromkeys(codes) if c in frame.index])
    if chosen == model.default or wanted.empty:
        return frame["explanation"].reindex(wanted)
    columns = [c for c in frame.columns if c.startswith("contrib_")]
    ids = [c.removeprefix("contrib_") for c in columns]
    contrib = frame[columns].set_axis(ids, axis=1)
    ok = frame["status"].eq("calculé")
    national = contrib[ok].mean()
    part = contrib.loc[wanted]
    part_ok = ok.loc[wanted]
    count = part[part_ok].notna().sum()
    reference = (count + 1) * national - part[part_ok].sum(min_count=1).fillna(0.0)
    small = pd.concat([part, reference.to_frame(REFERENCE_ROW).T])
    status = pd.concat([frame["status"].loc[wanted], pd.Series({REFERENCE_ROW: "calculé"})])
    score = pd.concat([frame["score"].loc[wanted], pd.Series({REFERENCE_ROW: 0.0})])
    missing = pd.concat([frame["missing_indicators"].loc[wanted], pd.Series({REFERENCE_ROW: ""})])
    index = model.index
    with model.lock:
        raw = index.imputed_values[ids].reindex(small.index)
        flags = index.imputed_flags[ids].reindex(small.index).fillna(False)
        units = {i: model.specs[i].unit for i in ids}
        # France values over every commune, as the pipeline's own sentences compare with.
        national = national_values(index.imputed_values[ids], units,
                                   index.matrix.context["households"])
    text = sentences(
        small, raw, flags, {i: model.specs[i].label for i in ids}, units, score, status, missing,
        directions={i: model.specs[i].direction for i in ids}, national=national,
    )
    return text.drop(REFERENCE_ROW)


def explanation_of(code: str) -> str:
    """The explanation sentence of one commune with the settings of this session ("" if none)."""
    model = need_model(spinner=False)
    if model is None:
        return ""
    text = explanations(model, current_settings(model), [code])
    value = text.get(code) if len(text) else None
    return value if isinstance(value, str) else ""


def with_explanations(model: NeedModel, chosen: NeedSettings | None = None, codes=None) -> pd.DataFrame:
    """A copy of the scored frame with the explanation of ``codes`` (all communes when None)."""
    chosen = chosen or model.default
    frame = scored(model, chosen).copy()
    if chosen == model.default:
        return frame
    wanted = frame["code"] if codes is None else pd.Index(codes)
    text = explanations(model, chosen, wanted)
    frame["explanation"] = frame["code"].map(text)
    return frame


def sensitivity_for(model: NeedModel, chosen: NeedSettings) -> None:
    """Monte-Carlo rank intervals for ``chosen`` settings (a few seconds, all France)."""
    from models.sensitivity import monte_carlo

    index = model.index
    config = index.config
    with model.lock:
        base = index.score(chosen.weights_arg, chosen.normalisation, chosen.aggregation)
        weights, _ = index.weight_vector(chosen.weights_arg)
        ok = base["status"].eq("calculé").to_numpy()
        positive = chosen.aggregation == "geometric"
        methods = tuple(config.mc_methods)
        stack = {m: index.normalised(m, positive)[ok] for m in {*methods, chosen.normalisation}}
    result = monte_carlo(
        stack, weights, chosen.normalisation, draws=config.mc_draws,
        weight_noise=config.mc_weight_noise, methods=methods, aggregation=chosen.aggregation,
        seed=config.seed,
    )
    codes = base.index[ok]
    columns = {
        "rank_median": pd.Series(result.rank_median, index=codes),
        "rank_p05": pd.Series(result.rank_p05, index=codes),
        "rank_p95": pd.Series(result.rank_p95, index=codes),
        "top_decile_share": pd.Series(result.top_decile_share, index=codes),
        "top_decile_robust": pd.Series(result.top_decile_robust, index=codes),
    }
    with model.lock:
        model.sensitivity[chosen] = columns
        model.rescored.pop(chosen, None)
