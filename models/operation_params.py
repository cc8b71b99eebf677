"""The parameters file of the operation model (``models/operation_parameters.yaml``), read and
checked: single values with their date and source, dated series (livret A, AGLS, forfait) of which
:meth:`Parameter.at` gives the value in force at a date, and the sizing assumptions of each kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from models import household_aid as ha
from models.operation_lines import DERIVED, KIND_LINES, LOCAL_INPUTS, OperationError, kind_inputs

PARAMETERS_FILE = Path(__file__).with_name("operation_parameters.yaml")
ASSUMPTION_LABEL = "hypothèse à confirmer"


# -- parameters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dated:
    """One value of a dated series."""

    since: date
    value: float
    source: str
    url: str


@dataclass(frozen=True)
class Parameter:
    key: str
    label: str
    value: float
    unit: str
    valid: str = ""  # AAAA-MM-JJ: the date from which the value applies
    source: str = ""
    url: str = ""
    assumption: bool = True
    note: str = ""
    series: tuple[Dated, ...] = ()

    @property
    def status(self) -> str:
        return ASSUMPTION_LABEL if self.assumption else "vérifié"

    def at(self, day: date) -> Parameter:
        """The value in force at ``day`` (French error when the series starts later)."""
        if not self.series:
            return self
        chosen = [d for d in self.series if d.since <= day]
        if not chosen:
            raise OperationError(
                f"« {self.label} » : aucune valeur en vigueur le {day:%d/%m/%Y} (première valeur au "
                f"{self.series[0].since:%d/%m/%Y})."
            )
        d = chosen[-1]
        return Parameter(
            self.key,
            self.label,
            d.value,
            self.unit,
            d.since.isoformat(),
            d.source,
            d.url,
            self.assumption,
            self.note,
            self.series,
        )


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    apl_family: str  # "foyer" (redevance, logement-foyer) or "location"
    values: dict[str, float]
    households: tuple[str, ...] = ("personne_seule",)
    # sizing values read in a published source: key -> {"source", "url", "validite"}
    sources: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parameters:
    """The YAML file, read and checked."""

    general: dict[str, Parameter]
    kinds: dict[str, Kind]
    sizing: dict[str, tuple[str, str]]  # key -> (label, unit) of the per-kind assumptions
    sizing_date: str = ""

    def describe(self, key: str, kind: str | None = None, day: date | None = None) -> Parameter:
        """A parameter as shown to users (a kind's sizing value is always an assumption)."""
        if kind is not None and key in self.kinds[kind].values:
            label, unit = self.sizing.get(key, (key, ""))
            general = self.general.get(key)
            if general is not None:
                label, unit = general.label, general.unit
            read = self.kinds[kind].sources.get(key)
            if read:
                return Parameter(
                    key,
                    label,
                    self.kinds[kind].values[key],
                    unit,
                    valid=read.get("validite", self.sizing_date),
                    source=read["source"],
                    url=read.get("url", ""),
                    assumption=bool(read.get("hypothese_a_confirmer", False)),
                    note=read.get("note", ""),
                )
            return Parameter(
                key,
                label,
                self.kinds[kind].values[key],
                unit,
                valid=self.sizing_date,
                source="hypothèse de dimensionnement du type d'opération",
                assumption=True,
            )
        if key in self.general:
            p = self.general[key]
            return p.at(day) if day is not None else p
        if key in DERIVED:
            label, unit = DERIVED[key]
            return Parameter(key, label, 0.0, unit, source="calculé", assumption=False)
        label, unit = self.sizing.get(key, (key, ""))
        return Parameter(key, label, 0.0, unit, source="hypothèse", assumption=True)


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OperationError(f"{where} : la valeur « {value} » n'est pas un nombre.") from None
    if number != number:  # NaN
        raise OperationError(f"{where} : valeur manquante.")
    if math.isinf(number):
        raise OperationError(f"{where} : valeur infinie refusée.")
    return number


def _day(value: Any, where: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise OperationError(f"{where} : date « {value} » illisible (AAAA-MM-JJ attendu).") from None


def _parameter(path: Path, key: str, entry: Any) -> Parameter:
    where = f"{path.name}, paramètre « {key} »"
    if not isinstance(entry, dict):
        raise OperationError(f"{where} : entrée mal formée.")
    for required in ("libelle", "unite"):
        if required not in entry:
            raise OperationError(f"{where} : champ « {required} » absent.")
    assumption = bool(entry.get("hypothese_a_confirmer", True))
    if "valeurs" in entry:
        series = []
        for i, point in enumerate(entry["valeurs"] or [], start=1):
            if not isinstance(point, dict) or "validite" not in point or "valeur" not in point:
                raise OperationError(f"{where}, valeur datée {i} : « validite » et « valeur » attendus.")
            series.append(
                Dated(
                    _day(point["validite"], f"{where}, valeur datée {i}, champ « validite »"),
                    _number(point["valeur"], f"{where}, valeur datée {i}, champ « valeur »"),
                    str(point.get("source") or ""),
                    str(point.get("url") or ""),
                )
            )
        if not series:
            raise OperationError(f"{where} : « valeurs » vide.")
        series.sort(key=lambda d: d.since)
        last = series[-1]
        return Parameter(
            key,
            str(entry["libelle"]),
            last.value,
            str(entry["unite"]),
            last.since.isoformat(),
            last.source,
            last.url,
            assumption,
            str(entry.get("validite_note") or ""),
            tuple(series),
        )
    for required in ("valeur", "source"):
        if required not in entry:
            raise OperationError(f"{where} : champ « {required} » absent.")
    valid = str(entry.get("validite") or "")
    if valid:
        _day(valid, f"{where}, champ « validite »")
    return Parameter(
        key,
        str(entry["libelle"]),
        _number(entry["valeur"], f"{where}, champ « valeur »"),
        str(entry["unite"]),
        valid,
        str(entry["source"]),
        str(entry.get("url") or ""),
        assumption,
        str(entry.get("validite_note") or ""),
    )


def load_parameters(path: Path | str | None = None) -> Parameters:
    """Read and check the parameters file (French error naming the entry and the field)."""
    path = Path(path or PARAMETERS_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OperationError(f"Fichier de paramètres illisible ({path}) : {exc}") from None
    general = {key: _parameter(path, key, entry) for key, entry in (raw.get("parametres") or {}).items()}
    sizing = {
        k: (str(v.get("libelle", k)), str(v.get("unite", "")))
        for k, v in (raw.get("hypotheses_types") or {}).items()
    }
    kinds = {}
    for key, entry in (raw.get("types") or {}).items():
        if key not in KIND_LINES:
            raise OperationError(f"{path.name}, type « {key} » : type d'opération inconnu du modèle.")
        values = {
            k: _number(v, f"{path.name}, type « {key} », valeur « {k} »")
            for k, v in (entry.get("valeurs") or {}).items()
        }
        family = str(entry.get("famille_apl", "location"))
        if family not in ("foyer", "location"):
            raise OperationError(
                f"{path.name}, type « {key} », champ « famille_apl » : « foyer » ou « location » attendu."
            )
        households = tuple(entry.get("menages") or ("personne_seule",))
        unknown = [h for h in households if h not in ha.HOUSEHOLDS]
        if unknown:
            raise OperationError(
                f"{path.name}, type « {key} », champ « menages » : inconnu(s) {', '.join(unknown)}."
            )
        sources = {}
        for k, read in (entry.get("sources") or {}).items():
            where = f"{path.name}, type « {key} », source de « {k} »"
            if k not in values or not isinstance(read, dict) or not read.get("source"):
                raise OperationError(f"{where} : valeur du type et champ « source » attendus.")
            if read.get("validite"):
                _day(read["validite"], f"{where}, champ « validite »")
            sources[k] = {n: (v if isinstance(v, bool) else str(v)) for n, v in read.items()}
        kinds[key] = Kind(key, str(entry.get("libelle", key)), family, values, households, sources)
    sizing_date = str(raw.get("date_hypotheses_types") or "")
    if sizing_date:
        _day(sizing_date, f"{path.name}, champ « date_hypotheses_types »")
    params = Parameters(general, kinds, sizing, sizing_date)
    for kind in kinds:
        missing = sorted(
            n
            for n in kind_inputs(kind)
            if n not in general and n not in kinds[kind].values and n not in LOCAL_INPUTS
        )
        if missing:
            raise OperationError(
                f"{path.name}, type « {kind} » : valeur(s) absente(s) : {', '.join(missing)}."
            )
    return params
