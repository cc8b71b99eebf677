"""Explanation of each commune's score: contributions and one French sentence.

The contribution of an indicator is its share of the commune's score (in score points; they
sum to the score, see :func:`models.aggregate.contributions`). What *explains* a commune is not
its largest contribution (with min–max every indicator contributes) but what sets it apart: the
**drivers** are the indicators whose contribution most exceeds their average contribution over
all scored communes of France. The sentence names the two or three main drivers with their raw
value, unit, and whether the value is estimated (imputed).
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


def format_value(value: float, unit: str) -> str:
    """A raw indicator value with its unit, in French."""
    unit = (unit or "").strip()
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
        if len(keep) == 2 and val[2] >= min_gap and val[2] >= third_ratio * val[1]:
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


def sentences(
    contributions: pd.DataFrame,
    raw: pd.DataFrame,
    imputed: pd.DataFrame,
    labels: dict[str, str],
    units: dict[str, str],
    score: pd.Series,
    status: pd.Series,
    missing_note: pd.Series | None = None,
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
    """
    scored = status.eq("calculé").to_numpy()
    values = contributions.to_numpy(dtype=float)
    reference = np.nanmean(values[scored], axis=0) if scored.any() else np.zeros(values.shape[1])
    reference = np.nan_to_num(reference)
    chosen = drivers(values, reference)
    columns = list(contributions.columns)
    raw_values = raw.reindex(index=contributions.index, columns=columns).to_numpy(dtype=float)
    flags = (
        imputed.reindex(index=contributions.index, columns=columns)
        .astype("boolean")
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    out = []
    for row, (code, picks) in enumerate(zip(contributions.index, chosen, strict=True)):
        if not scored[row]:
            note = missing_note.get(code, "") if missing_note is not None else ""
            out.append(
                "Données insuffisantes pour classer cette commune"
                + (f" (manquent : {note})." if note else ".")
            )
            continue
        head = f"Score {format_number(score.iat[row], 0)}/100"
        if not picks:
            out.append(
                f"{head} : aucun indicateur ne s'écarte nettement de la moyenne nationale."
            )
            continue
        parts = []
        for j in picks:
            indicator = columns[j]
            text = format_value(raw_values[row, j], units.get(indicator, ""))
            if flags[row, j]:
                text += ", estimé"
            parts.append(f"{inline_label(labels.get(indicator, indicator))} ({text})")
        noun = "deux facteurs" if len(parts) == 2 else "trois facteurs"
        if len(parts) == 1:
            out.append(f"{head}, surtout dû à un facteur plus défavorable que la moyenne "
                       f"nationale : {parts[0]}.")
        else:
            out.append(f"{head}, surtout dû à {noun} plus défavorables que la moyenne "
                       f"nationale : {_join(parts)}.")
    return pd.Series(out, index=contributions.index, name="explanation")
