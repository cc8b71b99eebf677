"""The one door between a production programme and the economic model of one operation.

Every call of :mod:`models.operation_economics` and :mod:`models.operation_context` made for a
programme goes through :func:`operation_costs`: the programme never copies an amount of the
economic model, it asks it for each operation in that operation's commune (APL zone estimated
from zone A/B/C, Action cœur de ville / Petites villes de demain). When the economic model
changes (owner's and manager's accounts, dated parameters), this module is the only one to
update; :class:`OperationCosts` is what the programme reads.

Funders of the investment (French names, as the boards use them):

* « FNAP »: the State's aides à la pierre, PLAI and PLAI adapté (lines ``subv_plai``,
  ``subv_plai_adapte``);
* « Anah »: works subsidy (``subv_anah``);
* « collectivités »: local authorities (``subv_collectivites``);
* « Action Logement » (``action_logement``);
* « ACV / PVD »: the extra cofinancing counted in an Action cœur de ville or Petites villes de
  demain commune (``bonus_programme``).

Yearly running funding: the pension de famille allowance, the AGLS, the IML funding, the
accompaniment and adapted letting management, other funding; the managers' remaining deficit
is the yearly result when negative.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from catalogues import datasets
from geodata.store import Store
from models import operation_context as oc
from models import operation_economics as econ

# The economic model's funders (``funder`` of its lines) under the names the boards use.
SUBSIDY_FUNDERS: dict[str, tuple[str, ...]] = {
    "FNAP": ("État (FNAP) — PLAI", "État (FNAP) — PLAI adapté"),
    "Anah": ("Anah",),
    "collectivités": ("Collectivités",),
    "Action Logement": ("Action Logement",),
    "ACV / PVD": ("Collectivités (ACV / PVD)",),
}
RUNNING_FUNDERS: dict[str, tuple[str, ...]] = {
    "forfait pension de famille (État)": ("État — forfait pension de famille",),
    "AGLS (État)": ("État — AGLS",),
    "IML (État)": ("État — IML",),
    "accompagnement et gestion locative adaptée": ("Accompagnement (FNAVDL, FSL)",),
    "CAF (prestation de service FJT)": ("CAF",),
    "autres financements": ("Autres",),
}
# Funders of the State among them (the boards' « subvention de l'État »).
STATE_SUBSIDIES = ("FNAP",)
STATE_RUNNING = ("forfait pension de famille (État)", "AGLS (État)", "IML (État)")


class ProgrammeCostError(ValueError):
    """An operation the economic model cannot evaluate (French message)."""


@dataclass(frozen=True)
class CommuneTerms:
    """What the economic model reads of a commune (from :mod:`models.operation_context`)."""

    code: str
    zone_apl: int = 2
    acv_pvd: bool = False
    zone_abc: str | None = None


@dataclass(frozen=True)
class OperationCosts:
    """One operation's money, as the programme reads it (euros; yearly figures for a full
    year of running)."""

    kind: str
    kind_label: str
    code: str
    places: float
    investment: float
    subsidies: Mapping[str, float]
    loans: float
    equity: float
    unfunded: float  # investment left to finance (> 0), 0 when the plan closes
    running: Mapping[str, float]
    running_costs: float
    result: float  # the manager's yearly result (running account)
    deficit: float  # managers' remaining yearly deficit (≥ 0)
    owner_result: float = 0.0  # the owner's yearly result (rent or redevance against the loan)
    date: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def subsidies_total(self) -> float:
        return float(sum(self.subsidies.values()))

    @property
    def running_total(self) -> float:
        return float(sum(self.running.values()))


def commune_terms(codes: Iterable[str], store: Store | None = None) -> dict[str, CommuneTerms]:
    """Zone and programmes of many communes at once.

    The APL zone is estimated from zone A/B/C exactly as the « Montage d'opération » does
    (:func:`models.operation_context.estimated_apl_zone`); an absent dataset leaves the
    default (zone III estimate without zone A/B/C, no ACV/PVD), said by :func:`terms_notes`.
    The table of every commune is read once per state of the store (its manifests' times).
    """
    store = store or Store()
    table = _terms_table(str(store.root), _manifest_stamp(store))
    return {str(c): table.get(str(c)) or CommuneTerms(str(c)) for c in codes}


def _manifest_stamp(store: Store) -> tuple:
    stamps = []
    for dataset in ("communes", datasets.ZONAGE_ABC, datasets.ANCT_PROGRAMMES):
        path = store.root / f"{dataset}.manifest.json"
        stamps.append(path.stat().st_mtime_ns if path.exists() else 0)
    return tuple(stamps)


@lru_cache(maxsize=2)
def _terms_table(root: str, _stamp: tuple) -> dict[str, CommuneTerms]:
    from pathlib import Path

    store = Store(Path(root))
    communes = store.read("communes", columns=["code", "dep_code"])
    frame = pd.DataFrame({"code": communes["code"].astype(str).to_numpy(dtype=object),
                          "dep_code": communes["dep_code"].astype(str).to_numpy(dtype=object)})
    zone = pd.Series(None, index=frame.index, dtype=object)
    if store.exists(datasets.ZONAGE_ABC):
        zones = store.read(datasets.ZONAGE_ABC, columns=["code", "zone_abc"])
        zone = frame["code"].map(dict(zip(zones["code"].astype(str), zones["zone_abc"],
                                          strict=True)))
    flag = pd.Series(False, index=frame.index)
    if store.exists(datasets.ANCT_PROGRAMMES):
        programmes = store.read(datasets.ANCT_PROGRAMMES,
                                columns=["code", "programme_acv", "programme_pvd"])
        either = (programmes["programme_acv"].fillna(False).astype(bool)
                  | programmes["programme_pvd"].fillna(False).astype(bool))
        flag = frame["code"].map(dict(zip(programmes["code"].astype(str), either, strict=True)))
        flag = flag.fillna(False).astype(bool)
    out = {}
    for code, dep, z, f in zip(frame["code"], frame["dep_code"], zone, flag, strict=True):
        text = None if z is None or pd.isna(z) else str(z)
        out[code] = CommuneTerms(code, oc.estimated_apl_zone(text, dep), bool(f), text)
    return out


def prepare(store: Store | None = None) -> None:
    """Load once in this process what every programme's money reads whatever its territory:
    the economic model's parameters, the communes' terms, and the values of OpenFisca-France
    that each kind of operation reads (:mod:`models.household_aid` keeps them). See
    :func:`models.results.prepare_gap`."""
    commune_terms([], store)
    for kind in _parameters().kinds:
        for zone in (1, 2, 3):
            with contextlib.suppress(ProgrammeCostError):
                operation_costs(kind, CommuneTerms("", zone), kind_default_size(kind))


def terms_notes(store: Store | None = None) -> list[str]:
    """French notes on what the communes' terms rest on."""
    store = store or Store()
    notes = ["zone APL estimée à partir du zonage A/B/C (comme le « Montage d'opération »)"]
    if not store.exists(datasets.ZONAGE_ABC):
        notes.append("zonage A/B/C non disponible : zone APL III retenue partout")
    if not store.exists(datasets.ANCT_PROGRAMMES):
        notes.append("programmes ACV / PVD non disponibles : aucun cofinancement ACV / PVD compté")
    return notes


def kind_label(kind: str, params: econ.Parameters | None = None) -> str:
    params = params or _parameters()
    if kind not in params.kinds:
        raise ProgrammeCostError(f"Type d'opération inconnu du modèle économique : « {kind} ».")
    return params.kinds[kind].label


def kind_default_size(kind: str) -> float:
    """The kind's default number of dwellings (places) in the economic model."""
    params = _parameters()
    if kind not in params.kinds:
        raise ProgrammeCostError(f"Type d'opération inconnu du modèle économique : « {kind} ».")
    return float(params.kinds[kind].values.get("logements", 1.0))


def kinds() -> dict[str, str]:
    """The kinds of operation the economic model knows (key → French label)."""
    return {key: kind.label for key, kind in _parameters().kinds.items()}


def operation_costs(
    kind: str,
    commune: CommuneTerms,
    size: float,
    overrides: Mapping[str, float] | None = None,
    date: dt.date | None = None,
) -> OperationCosts:
    """The economic model's figures for one operation of ``size`` places in ``commune``.

    ``overrides`` are parameters of the economic model (``forfait_pension_famille_jour``…)
    changed by the user; ``date`` is the date the operation is financed (the current model is
    not dated: said in ``notes``).

    Raises
    ------
    ProgrammeCostError
        With the economic model's French message (unknown kind, impossible input).
    """
    frozen = tuple(sorted((str(k), float(v)) for k, v in (overrides or {}).items()))
    return _cached(kind, int(commune.zone_apl), bool(commune.acv_pvd), float(size), frozen,
                   date.isoformat() if date else "", commune.code)


@lru_cache(maxsize=1)
def _parameters() -> econ.Parameters:
    return econ.load_parameters()


def clear_cache(parameters: bool = True) -> None:
    """Forget evaluated operations and, unless told, the parameters file (after it changed)."""
    if parameters:
        _parameters.cache_clear()
    _evaluate.cache_clear()


def _cached(kind: str, zone_apl: int, acv_pvd: bool, size: float,
            overrides: tuple[tuple[str, float], ...], date: str, code: str) -> OperationCosts:
    base = _evaluate(kind, zone_apl, acv_pvd, size, overrides, date)
    return OperationCosts(**{**base.__dict__, "code": code})


@lru_cache(maxsize=4096)
def _evaluate(kind: str, zone_apl: int, acv_pvd: bool, size: float,
              overrides: tuple[tuple[str, float], ...], date: str) -> OperationCosts:
    params = _parameters()
    changed = dict(overrides)
    label = params.kinds[kind].label if kind in params.kinds else kind
    try:
        if kind not in params.kinds:
            raise econ.OperationError(f"Type d'opération inconnu : « {kind} ».")
        # The programme counts places (as the State does); the model, dwellings.
        changed["logements"] = econ.homes_for_places(kind, size, params, changed)
        values = econ.inputs_for(kind, params, zone_apl=zone_apl, acv_pvd=acv_pvd,
                                 overrides=changed, day=date or None)
        evaluation = econ.evaluate(kind, values, params)
    except econ.OperationError as exc:
        raise ProgrammeCostError(f"{label} ({size:g} places) : {exc}") from None
    v = evaluation.values
    subsidies = econ.by_funder(evaluation, ("aide",))
    running = econ.running_funding(evaluation)

    def pick(found: Mapping[str, float], names: tuple[str, ...]) -> float:
        return float(sum(found.get(name, 0.0) for name in names))

    known = {n for names in RUNNING_FUNDERS.values() for n in names}
    other_running = float(sum(a for n, a in running.items() if n not in known))
    running_board = {funder: pick(running, names) for funder, names in RUNNING_FUNDERS.items()}
    running_board["autres financements"] += other_running
    manager = float(v["resultat_gestionnaire"])
    return OperationCosts(
        kind=kind,
        kind_label=params.kinds[kind].label,
        code="",
        places=size,
        investment=float(v.get("cout_total", 0.0)),
        subsidies={funder: pick(subsidies, names) for funder, names in SUBSIDY_FUNDERS.items()},
        loans=float(v.get("pret", 0.0)),
        equity=float(v.get("fonds_propres", 0.0)),
        unfunded=max(0.0, float(v.get("ecart_financement", 0.0))),
        running=running_board,
        running_costs=float(v["charges_gestionnaire"]),
        result=manager,
        deficit=max(0.0, -manager),
        owner_result=float(v["resultat_proprietaire"]),
        date=date,
        notes=tuple(evaluation.checks),
    )
