"""The indicator catalogue: one YAML file (``catalogues/indicators.yaml``), read and checked here.

Each indicator id names a column of the stored dataset of one source, with its French label
and definition, unit, original variable, vintage, producer, licence, geographic coverage and
``direction`` of need (+1: a higher value means more need, -1: less need, 0: context). The
models and reports look indicators up by id (:func:`indicator`) so that every figure they show
can name its source and vintage (:meth:`Indicator.citation`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from catalogues.sources import read_yaml

INDICATORS_PATH = Path(__file__).with_name("indicators.yaml")
REQUIRED_KEYS = (
    "label", "definition", "unit", "source", "column", "variable", "vintage", "producer",
    "licence", "coverage", "direction",
)
OPTIONAL_KEYS = frozenset({"alternatives"})
ALTERNATIVE_KEYS = frozenset({"source", "column", "variable", "vintage", "coverage"})
DIRECTIONS = (-1, 0, 1)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class IndicatorError(ValueError):
    """The indicator catalogue is invalid, or an id is unknown (French message)."""


@dataclass(frozen=True)
class Alternative:
    """The same quantity from another source (another vintage or geographic level)."""

    source: str
    column: str
    variable: str = ""
    vintage: str = ""
    coverage: str = ""


@dataclass(frozen=True)
class Indicator:
    """One indicator of the catalogue."""

    id: str
    label: str
    definition: str
    unit: str
    source: str
    column: str
    variable: str
    vintage: str
    producer: str
    licence: str
    coverage: str
    direction: int
    alternatives: tuple[Alternative, ...] = ()

    def citation(self) -> str:
        """« Source : producteur, millésime — licence », to print under a figure."""
        return f"Source : {self.producer}, {self.vintage} — {self.licence}"

    @property
    def need_sense(self) -> str:
        """French reading of the direction."""
        return {
            1: "plus la valeur est élevée, plus le besoin est fort",
            -1: "plus la valeur est élevée, moins le besoin est fort",
            0: "indicateur de contexte",
        }[self.direction]


def parse_indicators(
    data: Any, origin: str = "indicators.yaml", known_sources: set[str] | None = None
) -> dict[str, Indicator]:
    """Validate the YAML mapping and build the indicators (French errors).

    Parameters
    ----------
    known_sources
        Source ids an indicator may refer to (default: the ids of the source catalogue, which
        are also the names of the stored datasets).
    """
    if known_sources is None:
        from catalogues.sources import load_sources

        known_sources = set(load_sources())
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
        raise IndicatorError(
            f"{origin} : la clé de premier niveau « indicators » (un dictionnaire id → "
            "indicateur) est absente ou mal formée."
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise IndicatorError(f"{origin} : « defaults » doit être un dictionnaire.")
    out: dict[str, Indicator] = {}
    seen: dict[tuple[str, str], str] = {}
    for indicator_id, raw in data["indicators"].items():
        item = _parse_one(str(indicator_id), raw, defaults, origin, known_sources)
        key = (item.source, item.column)
        if key in seen:
            raise IndicatorError(
                f"{origin} : les indicateurs « {seen[key]} » et « {item.id} » désignent la même "
                f"colonne « {item.column} » de la source « {item.source} »."
            )
        seen[key] = item.id
        out[item.id] = item
    return out


def _parse_one(
    indicator_id: str, raw: Any, defaults: dict, origin: str, known_sources: set[str]
) -> Indicator:
    where = f"{origin}, indicateur « {indicator_id} »"
    if not _ID.match(indicator_id):
        raise IndicatorError(f"{where} : l'identifiant doit être en snake_case anglais (a-z, 0-9, _).")
    if not isinstance(raw, dict):
        raise IndicatorError(f"{where} : l'entrée doit être un dictionnaire de clés.")
    values = {**defaults, **raw}
    for key in REQUIRED_KEYS:
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise IndicatorError(f"{where} : la clé obligatoire « {key} » est absente ou vide.")
    unknown = set(raw) - set(REQUIRED_KEYS) - OPTIONAL_KEYS
    if unknown:
        raise IndicatorError(f"{where} : clé(s) inconnue(s) : {', '.join(sorted(unknown))}.")
    direction = values["direction"]
    if isinstance(direction, bool) or direction not in DIRECTIONS:
        raise IndicatorError(
            f"{where} : « direction » vaut {direction!r} ; attendu -1, 0 ou 1 "
            "(sens du besoin)."
        )
    if values["source"] not in known_sources:
        raise IndicatorError(
            f"{where} : source « {values['source']} » inconnue du registre des sources."
        )
    alternatives = []
    for index, alt in enumerate(values.get("alternatives") or [], start=1):
        if not isinstance(alt, dict) or not {"source", "column"} <= set(alt):
            raise IndicatorError(
                f"{where} : l'alternative n° {index} doit avoir « source » et « column »."
            )
        extra = set(alt) - ALTERNATIVE_KEYS
        if extra:
            raise IndicatorError(
                f"{where} : alternative n° {index}, clé(s) inconnue(s) : {', '.join(sorted(extra))}."
            )
        if alt["source"] not in known_sources:
            raise IndicatorError(
                f"{where} : alternative n° {index}, source « {alt['source']} » inconnue."
            )
        alternatives.append(Alternative(**{k: str(v) for k, v in alt.items()}))
    return Indicator(
        id=indicator_id,
        label=str(values["label"]).strip(),
        definition=" ".join(str(values["definition"]).split()),
        unit=str(values["unit"]),
        source=str(values["source"]),
        column=str(values["column"]),
        variable=str(values["variable"]),
        vintage=str(values["vintage"]),
        producer=str(values["producer"]),
        licence=str(values["licence"]),
        coverage=str(values["coverage"]),
        direction=int(direction),
        alternatives=tuple(alternatives),
    )


def load_indicators(path: Path | None = None) -> dict[str, Indicator]:
    """Every indicator of the catalogue, keyed by id."""
    return dict(_load(str(path or INDICATORS_PATH)))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Indicator]:
    data = read_yaml(path, IndicatorError, "Catalogue des indicateurs")
    return parse_indicators(data, Path(path).name)


def indicator(indicator_id: str) -> Indicator:
    """One indicator by id, or a French error suggesting close ids."""
    catalogue = load_indicators()
    try:
        return catalogue[indicator_id]
    except KeyError:
        close = difflib.get_close_matches(indicator_id, list(catalogue), n=3)
        hint = f" Vouliez-vous dire : {', '.join(close)} ?" if close else ""
        raise IndicatorError(f"Indicateur « {indicator_id} » inconnu.{hint}") from None


def indicators_of_source(source_id: str) -> list[Indicator]:
    """Indicators whose preferred source is ``source_id``."""
    return [i for i in load_indicators().values() if i.source == source_id]
