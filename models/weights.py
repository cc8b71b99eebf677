"""Named weight presets (``models/weights.yaml``) and custom weights from the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PRESETS_FILE = Path(__file__).with_name("weights.yaml")
DEFAULT_PRESET = "équilibré"


class WeightsError(ValueError):
    """Invalid weights (French message naming the preset or the indicator)."""


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    weights: dict[str, float]


def load_presets(path: Path | None = None) -> dict[str, Preset]:
    """The presets of the YAML file, validated."""
    path = path or PRESETS_FILE
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    presets = {}
    for name, body in (data.get("presets") or {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("weights"), dict):
            raise WeightsError(f"Préréglage « {name} » : la clé « weights » manque ({path}).")
        presets[name] = Preset(
            name=name,
            description=str(body.get("description", "")).strip(),
            weights=check_weights(body["weights"], f"préréglage « {name} »"),
        )
    if not presets:
        raise WeightsError(f"Aucun préréglage de poids dans {path}.")
    return presets


def check_weights(weights: dict, where: str = "poids personnalisés") -> dict[str, float]:
    """Weights as floats ≥ 0, with a French error naming the indicator at fault."""
    out = {}
    for indicator, value in weights.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise WeightsError(
                f"{where} : le poids de « {indicator} » n'est pas un nombre ({value!r})."
            ) from None
        if not number >= 0 or number == float("inf"):
            raise WeightsError(
                f"{where} : le poids de « {indicator} » doit être positif ou nul ({value!r})."
            )
        out[str(indicator)] = number
    return out


def resolve(
    weights: str | dict | None,
    aggregated: list[str],
    presets: dict[str, Preset] | None = None,
) -> tuple[dict[str, float], dict]:
    """Weights over the aggregated indicators, and what happened to the rest.

    ``weights`` is a preset name or a ``{indicator: weight}`` mapping (custom, from the app).
    Custom weights naming an unknown indicator are refused; preset weights on indicators that
    are not available here (source absent offline) are set aside and reported.

    Returns
    -------
    (``{indicator: weight}`` for every aggregated indicator, summed to 1, and a log dict.)
    """
    presets = presets if presets is not None else load_presets()
    if weights is None:
        weights = DEFAULT_PRESET
    if isinstance(weights, str):
        if weights not in presets:
            raise WeightsError(
                f"Préréglage de poids inconnu : « {weights} ». "
                f"Préréglages disponibles : {', '.join(presets)}."
            )
        name, raw = weights, presets[weights].weights
    else:
        name, raw = "personnalisé", check_weights(dict(weights))
        unknown = [i for i in raw if i not in aggregated and raw[i] > 0]
        if unknown:
            raise WeightsError(
                "Poids personnalisés : indicateur(s) inconnu(s) ou non agrégeable(s) : "
                + ", ".join(f"« {i} »" for i in unknown)
                + f". Indicateurs possibles : {', '.join(aggregated)}."
            )
    unavailable = {i: w for i, w in raw.items() if i not in aggregated and w > 0}
    kept = {i: float(raw.get(i, 0.0)) for i in aggregated}
    total = sum(kept.values())
    if total <= 0:
        raise WeightsError(
            f"Poids « {name} » : aucun indicateur pondéré n'est disponible "
            f"(indisponibles : {', '.join(unavailable) or 'aucun'})."
        )
    raw_total = sum(w for w in raw.values() if w > 0)
    info = {
        "poids": name,
        "indicateurs_pondérés": {i: round(w / total, 4) for i, w in kept.items() if w > 0},
        "indicateurs_indisponibles": sorted(unavailable),
        "part_du_poids_indisponible": round(sum(unavailable.values()) / raw_total, 4),
    }
    return {i: w / total for i, w in kept.items()}, info
