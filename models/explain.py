"""Explanation of each commune's score: contributions and one French sentence.

The contribution of an indicator is its share of the commune's score (in score points; they
sum to the score, see :func:`models.aggregate.contributions`). What *explains* a commune is not
its largest contribution (with min–max every indicator contributes) but what sets it apart: the
**drivers** are the indicators whose contribution most exceeds their average contribution over
all scored communes of France. The sentence names the two or three main drivers with their raw
value, unit, whether the value is estimated (imputed), and the France value it is compared with
(the same reference the tables show: for rates and levels the households-weighted mean of the
communes, for counts the mean per commune), saying « plus défavorable » or « plus favorable »
from the indicator's direction. A driver is what sets the commune's *score* apart, which is not
always an unfavourable raw value: the sentence then says so rather than calling it unfavourable.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

NBSP = "\u202f"  # narrow no-break space, French thousands separator and before units


def format_number(value: float, decimals: int = 1) -> str:
    """French formatting: ``12345.67`` → ``12 345,7``."""
    if value is None or not np.isfinite(value):
        return "n.d."
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


COUNT_UNITS = {"ménages", "logements", "personnes", "habitants", "places", "communes"}


def format_value(value: float, unit: str) -> str:
    """A raw indicator value with its unit, in French (counts as whole numbers)."""
    unit = (unit or "").strip()
    if unit in COUNT_UNITS:
        return f"{format_number(value, 0)}{NBSP}{unit}"
    if unit.lower() in {"0/1", "booléen", "oui/non", "oui / non"}:
        return "oui" if value >= 0.5 else "non"
    if unit.startswith("€"):
        return f"{format_number(value, 0)}{NBSP}€"
    if unit in {"%", "pts", "points"}:
        return f"{format_number(value, 1)}{NBSP}{unit}"
    if unit.startswith("niveau") or unit.startswith("classe"):
        return f"{unit} {format_number(value, 0)}"
    decimals = 0 if abs(value) >= 100 or float(value).is_integer() else 1
    return f"{format_number(value, decimals)}{NBSP}{unit}".rstrip()


def drivers(
    contributions: np.ndarray, reference: np.ndarray, min_gap: float = 0.25,
    third_ratio: float = 0.5,
) -> list[list[int]]:
    """Column indices of the 2–3 main drivers of each row.

    A driver's contribution exceeds its national mean (``reference``) by at least ``min_gap``
    score points; the third is kept only if its excess is at least ``third_ratio`` times the
    second's.
    """
    excess = np.where(np.isnan(contributions), -np.inf, contributions - reference)
    top = np.argsort(-excess, axis=1)[:, :3]
    values = np.take_along_axis(excess, top, axis=1)
    out: list[list[int]] = []
    for idx, val in zip(top, values, strict=True):
        keep = [int(i) for i, v in zip(idx[:2], val[:2], strict=True) if v >= min_gap]
        if len(keep) == 2 and len(val) > 2 and val[2] >= min_gap and val[2] >= third_ratio * val[1]:
            keep.append(int(idx[2]))
        out.append(keep)
    return out


def inline_label(label: str) -> str:
    """A catalogue label inside a sentence: first letter lowered (unless an acronym), and a
    trailing parenthetical dropped, since the value follows in parentheses."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", label.strip()) or label.strip()
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def national_values(
    raw: pd.DataFrame, units: dict[str, str], weights: pd.Series | None = None
) -> dict[str, float]:
    """The France value of each indicator: households-weighted mean of the communes' values,
    or the plain mean per commune for counts (and when no weights are given)."""
    out: dict[str, float] = {}
    w = None if weights is None else pd.to_numeric(weights.reindex(raw.index), errors="coerce")
    for column in raw.columns:
        values = pd.to_numeric(raw[column], errors="coerce")
        ok = values.notna()
        if (units.get(column, "").strip() in COUNT_UNITS) or w is None:
            out[column] = float(values[ok].mean()) if ok.any() else np.nan
            continue
        ok &= w.notna() & (w > 0)
        out[column] = float(np.average(values[ok], weights=w[ok])) if ok.any() else np.nan
    return out


def comparison(value: float, national: float, direction: int) -> str:
    """« plus défavorable », « plus favorable » or « égal » (« » for a context indicator)."""
    if not direction or not np.isfinite(value) or not np.isfinite(national):
        return ""
    if round(value, 1) == round(national, 1):
        return "égal"
    return "plus défavorable" if (value - national) * direction > 0 else "plus favorable"


def comparisons(values: np.ndarray, national: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """:func:`comparison` for a whole matrix (rows × indicators) at once, same rules."""
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values) & np.isfinite(national)[None, :] & (directions != 0)[None, :]
        equal = np.round(values, 1) == np.round(national, 1)[None, :]
        worse = (values - national[None, :]) * directions[None, :] > 0
    out = np.where(worse, "plus défavorable", "plus favorable").astype(object)
    out[equal] = "égal"
    out[~finite] = ""
    return out


def sentences(
    contributions: pd.DataFrame,
    raw: pd.DataFrame,
    imputed: pd.DataFrame,
    labels: dict[str, str],
    units: dict[str, str],
    score: pd.Series,
    status: pd.Series,
    missing_note: pd.Series | None = None,
    directions: dict[str, int] | None = None,
    weights: pd.Series | None = None,
    national: dict[str, float] | None = None,
) -> pd.Series:
    """One French sentence per commune (index of ``contributions``).

    Parameters
    ----------
    contributions
        Score points per indicator (NaN = not available), scored communes only are used for
        the national reference.
    raw
        Raw indicator values (after imputation, before treatment) for the same communes.
    imputed
        Boolean flags (same columns as ``raw`` where an indicator can be imputed).
    directions
        +1 when a higher value means more need, -1 the reverse, 0 context (default +1).
    weights, national
        Households per commune for the France values (:func:`national_values`), or the France
        values themselves.
    """
    scored = status.eq("calculé").to_numpy()
    values = contributions.to_numpy(dtype=float)
    reference = np.nanmean(values[scored], axis=0) if scored.any() else np.zeros(values.shape[1])
    reference = np.nan_to_num(reference)
    chosen = drivers(values, reference)
    columns = list(contributions.columns)
    raw_frame = raw.reindex(index=contributions.index, columns=columns)
    raw_values = raw_frame.to_numpy(dtype=float)
    france = national if national is not None else national_values(raw_frame, units, weights)
    directions = directions or {}
    flags = (
        imputed.reindex(index=contributions.index, columns=columns)
        .astype("boolean")
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    # Per indicator once (not per commune): label, France value and its text, and the verdict
    # of every commune, vectorised (35,000 communes × 3 drivers made these the slow part).
    label_of = [inline_label(labels.get(c, c)) for c in columns]
    unit_of = [units.get(c, "") for c in columns]
    france_of = np.array([france.get(c, np.nan) for c in columns], dtype=float)
    # A count's France value is the mean commune's (a rate's is France's own): say which.
    france_text = [
        (f" ; {'moyenne des communes de France' if u.strip() in COUNT_UNITS else 'France'} : "
         f"{format_value(v, u)}") if np.isfinite(v) else ""
        for v, u in zip(france_of, unit_of, strict=True)
    ]
    verdict_of = comparisons(
        raw_values, france_of, np.array([int(directions.get(c, 1)) for c in columns])
    )
    score_values = score.reindex(contributions.index).to_numpy(dtype=float)
    heads: dict[float, str] = {}
    out = []
    for row, (code, picks) in enumerate(zip(contributions.index, chosen, strict=True)):
        if not scored[row]:
            note = missing_note.get(code, "") if missing_note is not None else ""
            out.append(
                "Données insuffisantes pour classer cette commune"
                + (f" (manquent : {note})." if note else ".")
            )
            continue
        value = score_values[row]
        head = heads.get(value)
        if head is None:
            head = heads[value] = f"Score {format_number(value, 0)}/100"
        if not picks:
            out.append(
                f"{head} : aucun indicateur ne s'écarte nettement de la moyenne nationale."
            )
            continue
        parts, verdicts = [], []
        for j in picks:
            text = format_value(raw_values[row, j], unit_of[j])
            if flags[row, j]:
                text += ", estimé"
            verdict = verdict_of[row, j]
            verdicts.append(verdict)
            parts.append((label_of[j], text + france_text[j], verdict))
        if all(v == "plus défavorable" for v in verdicts):
            noun = {1: "un facteur plus défavorable", 2: "deux facteurs plus défavorables",
                    3: "trois facteurs plus défavorables"}[len(parts)]
            out.append(f"{head}, surtout dû à {noun} qu'en France : "
                       + _join([f"{label} ({text})" for label, text, _ in parts]) + ".")
        else:
            out.append(f"{head}. Ce qui distingue la commune : "
                       + _join([f"{label} ({text}{' : ' + v if v else ''})"
                                for label, text, v in parts]) + ".")
    return pd.Series(out, index=contributions.index, name="explanation")
