"""A production programme: the operations that would close a territory's missing places, where
they would go, over how many years, and what they would cost.

From the gap against the reference (:mod:`models.gap_reference`, places missing per family of
offer, central / low / high), for each family served by a kind of operation
(``programme.yaml``, changed by the user):

1. **Placing.** The family's missing places of the territory are cut into operations of the
   chosen size and placed by the greedy maximum coverage of :mod:`models.siting` (each
   operation where it answers the most missing places within reach; the catchments are those
   of the gap). Each operation is sized to the commune: never more places than the missing
   places within its reach (rounded up), never more places in a commune, over the whole
   programme, than ``max_share_of_target`` of the commune's target households of the family,
   and no operation below the family's ``min_size``. Places that no commune can take under
   these rules are reported as « non placées », never hidden.
2. **Schedule.** The operations of a family open evenly over the horizon in the order they
   were chosen (the most need answered first); an operation's investment falls in its
   opening year and it runs, a full year each year, from that year to the horizon's end.
3. **Money.** Each operation is evaluated by the economic model in its commune, through the
   single adapter :mod:`models.programme_costs` (the programme never copies an amount).
4. **Uncertainty.** Operations are placed on the central estimate; the low and high figures
   of a family are its central figures times (missing places of the bound / central missing
   places) — the same kinds, sizes and communes, more or fewer of them.

For France the placing runs région by région (an operation answers the need of its région),
and the totals are given by région.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse

from models import programme_costs as pc
from models import siting
from models import supply as sup

OPTIONS_PATH = Path(__file__).with_name("programme.yaml")
VARIANTS = ("central", "low", "high")
VARIANTS_FR = {"central": "centrale", "low": "basse", "high": "haute"}
MONEY_COLUMNS: tuple[str, ...] = (
    "investment", *[f"subsidy:{f}" for f in pc.SUBSIDY_FUNDERS], "loans", "equity", "unfunded",
    *[f"running:{f}" for f in pc.RUNNING_FUNDERS], "running_total", "running_costs", "deficit",
)
ONE_OFF = ("investment", *[f"subsidy:{f}" for f in pc.SUBSIDY_FUNDERS], "loans", "equity",
           "unfunded")
YEARLY = tuple(c for c in MONEY_COLUMNS if c not in ONE_OFF)
OPERATION_COLUMNS = ["group", "family", "rank", "code", "name", "kind", "kind_label", "places",
                     "need_answered", "year", *MONEY_COLUMNS]


class ProgrammeError(ValueError):
    """Unusable programme options or inputs (French message)."""


@dataclass(frozen=True)
class FamilyChoice:
    """The kind of operation that answers a family, and its size (places)."""

    kind: str | None
    size: float
    min_size: float = 1.0


@dataclass
class ProgrammeOptions:
    choices: dict[str, FamilyChoice]
    horizon: int = 6
    max_share_of_target: float = 0.5
    overrides: dict[str, float] = field(default_factory=dict)  # economic model's parameters
    date: dt.date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.horizon, (int, np.integer)) or not 1 <= int(self.horizon) <= 30:
            raise ProgrammeError(f"Horizon : un nombre entier d'années de 1 à 30 est attendu "
                                 f"(reçu : {self.horizon!r}).")
        share = self.max_share_of_target
        if not isinstance(share, (int, float)) or not math.isfinite(share) or not 0 < share <= 1:
            raise ProgrammeError("Part maximale des ménages cibles d'une commune : un nombre "
                                 f"entre 0 et 1 est attendu (reçu : {share!r}).")
        for family, choice in self.choices.items():
            if choice.kind is None:
                continue
            if choice.kind not in pc.kinds():
                raise ProgrammeError(
                    f"Famille « {family_label(family)} » : type d'opération « {choice.kind} » "
                    "inconnu ; types connus : " + ", ".join(pc.kinds()) + ".")
            if not (math.isfinite(choice.size) and 1 <= choice.size <= 1000):
                raise ProgrammeError(
                    f"Famille « {family_label(family)} » : taille d'une opération de 1 à 1 000 "
                    f"places attendue (reçu : {choice.size!r}).")
            if not (math.isfinite(choice.min_size) and 0 <= choice.min_size <= choice.size):
                raise ProgrammeError(
                    f"Famille « {family_label(family)} » : taille minimale entre 0 et la taille "
                    f"d'une opération attendue (reçu : {choice.min_size!r}).")


def family_label(family: str) -> str:
    return sup.TYPE_LABELS.get(family, family)


def load_options(
    path: Path | str | None = None,
    horizon: int | None = None,
    mix: Mapping[str, str] | Iterable[str] | None = None,
    overrides: Mapping[str, float] | None = None,
    date: dt.date | None = None,
) -> ProgrammeOptions:
    """Options of ``programme.yaml``, changed by ``horizon``, ``mix`` (``family=kind:size`` or
    ``{family: "kind:size"}``) and the economic model's ``overrides``."""
    path = Path(path or OPTIONS_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProgrammeError(f"Fichier du programme illisible ({path}) : {exc}") from None
    choices = {}
    for family, entry in (raw.get("families") or {}).items():
        kind = entry.get("kind")
        choices[family] = FamilyChoice(kind, float(entry.get("size") or 0),
                                       float(entry.get("min_size") or 0))
    items = mix.items() if isinstance(mix, Mapping) else (
        tuple(m.split("=", 1)) if "=" in m else (m, "") for m in (mix or ()))
    for family, text in items:
        family = str(family).strip()
        if family not in choices:
            raise ProgrammeError(f"Famille d'offre inconnue : « {family} » ; familles : "
                                 + ", ".join(choices) + ".")
        choices[family] = parse_choice(family, str(text), choices[family])
    return ProgrammeOptions(
        choices=choices,
        horizon=int(horizon if horizon is not None else raw.get("horizon_years", 6)),
        max_share_of_target=float(raw.get("max_share_of_target", 0.5)),
        overrides=dict(overrides or {}),
        date=date,
    )


def parse_choice(family: str, text: str, default: FamilyChoice) -> FamilyChoice:
    """``kind:size`` (``pension_famille_acquisition:20``), ``kind``, ``:size`` or ``aucun``."""
    text = text.strip()
    if text.lower() in ("aucun", "aucune", "none"):
        return FamilyChoice(None, 0.0, 0.0)
    kind, _, size_text = text.partition(":")
    kind = kind.strip() or default.kind
    if kind is None:
        raise ProgrammeError(f"Famille « {family_label(family)} » : type d'opération attendu "
                             "(par exemple pension_famille_neuf:25).")
    if kind not in pc.kinds():
        raise ProgrammeError(f"Famille « {family_label(family)} » : type d'opération « {kind} » "
                             "inconnu ; types connus : " + ", ".join(pc.kinds()) + ".")
    size = default.size if kind == default.kind else pc.kind_default_size(kind)
    if size_text.strip():
        try:
            size = float(size_text.replace(",", "."))
        except ValueError:
            raise ProgrammeError(f"Famille « {family_label(family)} » : taille « {size_text} » "
                                 "illisible (un nombre de places est attendu).") from None
    return FamilyChoice(kind, size, min(default.min_size, size))


# -- missing places ----------------------------------------------------------------------------
def missing_places(frame: pd.DataFrame, families: Iterable[str]) -> pd.DataFrame:
    """Long table ``code, name, family, target, missing, missing_low, missing_high`` from the
    reference gap's frame (:meth:`models.gap.GapModel.frame`).

    The low and high bounds keep the central access per target household and take the
    target households' bounds: ``max(0, T_v × (reference − rate) / 1000)``. A commune whose
    figures are unknown counts for no missing place (counted in ``unknown``).
    """
    parts = []
    for family in families:
        needed = [f"target_{family}", f"missing_{family}", f"reference_{family}",
                  f"rate_{family}"]
        if any(c not in frame.columns for c in needed):
            continue
        gap_rate = (frame[f"reference_{family}"] - frame[f"rate_{family}"]) / 1000.0
        part = pd.DataFrame({
            "code": frame["code"].astype(str).to_numpy(),
            "name": frame["name"].to_numpy() if "name" in frame.columns else "",
            "family": family,
            "target": frame[f"target_{family}"].to_numpy(dtype=float),
            "missing": frame[f"missing_{family}"].to_numpy(dtype=float),
        })
        for bound in ("low", "high"):
            column = f"target_{family}_{bound}"
            target = frame[column] if column in frame.columns else frame[f"target_{family}"]
            part[f"missing_{bound}"] = (target * gap_rate).clip(lower=0).to_numpy(dtype=float)
        part["unknown"] = part["missing"].isna()
        parts.append(part)
    columns = ["code", "name", "family", "target", "missing", "missing_low", "missing_high",
               "unknown"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    for column in ("missing", "missing_low", "missing_high"):
        out[column] = out[column].fillna(0.0)
    return out[columns]


# -- placing -----------------------------------------------------------------------------------
Reach = Callable[[list[str], list[str]], sparse.csr_matrix]


def place_family(
    missing: pd.DataFrame, choice: FamilyChoice, share: float, reach: Reach
) -> tuple[pd.DataFrame, float]:
    """Operations of one family in one territory, and the places left unplaced.

    ``missing``: ``code, name, target, missing`` of the territory's communes (one family);
    ``reach(candidates, demand)``: ``(C, N)`` matrix of the candidate communes whose
    operation would reach each demand commune.
    """
    columns = ["rank", "code", "name", "places", "need_answered"]
    values = missing["missing"].to_numpy(dtype=float)
    total = float(values.sum())
    if choice.kind is None or total <= 1e-9:
        return pd.DataFrame(columns=columns), total
    codes = np.asarray(missing["code"], dtype=object)
    names = np.asarray(missing["name"], dtype=object)
    demand = values > 0
    caps = np.clip(share * np.nan_to_num(missing["target"].to_numpy(dtype=float)), 0.0, None)
    candidates = np.flatnonzero(caps >= max(choice.min_size, 1e-9))
    if not len(candidates):
        return pd.DataFrame(columns=columns), total
    matrix = reach(list(codes[candidates]), list(codes[demand]))
    picks = siting.greedy_max_coverage(
        values[demand], matrix, math.ceil(total - 1e-9), choice.size,
        caps=np.floor(caps[candidates] + 1e-9), min_size=max(choice.min_size, 1.0),
        fit_to_need=True,
    )
    chosen = candidates[[p.candidate for p in picks]] if picks else np.array([], dtype=int)
    ops = pd.DataFrame({
        "rank": np.arange(1, len(picks) + 1),
        "code": codes[chosen], "name": names[chosen],
        "places": np.array([p.places for p in picks], dtype=float),
        "need_answered": np.array([p.need_covered for p in picks], dtype=float),
    }, columns=columns)
    answered = float(ops["need_answered"].sum())
    return ops, max(0.0, total - answered)


def schedule(ops: pd.DataFrame, horizon: int) -> pd.Series:
    """Opening year (1…horizon) of each operation, in rank order, spread evenly."""
    n = len(ops)
    order = np.argsort(ops["rank"].to_numpy(), kind="stable")
    years = np.empty(n, dtype=int)
    years[order] = 1 + (np.arange(n) * int(horizon)) // max(n, 1)
    return pd.Series(years, index=ops.index)


# -- the programme -----------------------------------------------------------------------------
@dataclass
class ProgrammeResult:
    """A programme and its money (plain frames; French labels are added by the exports)."""

    name: str
    options: ProgrammeOptions
    families: pd.DataFrame  # group, family, kind, size, missing(_low/_high), placed, unplaced, n_operations
    operations: pd.DataFrame  # OPERATION_COLUMNS
    groups: dict[str, str]  # group code → name (régions for France; "" for one territory)
    notes: list[str] = field(default_factory=list)
    offer_fictional: bool = False
    offer_used: str = ""
    reference: dict[str, str] = field(default_factory=dict)
    reference_method: str = ""  # the reference's name (its notes per family in ``reference``)
    sources: list[str] = field(default_factory=list)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def factors(self, group: str | None = None) -> pd.DataFrame:
        """Per (group, family): missing places of each bound / central missing places."""
        fam = self.families if group is None else self.families[self.families["group"] == group]
        out = fam[["group", "family"]].copy()
        central = fam["missing"].to_numpy(dtype=float)
        for variant in VARIANTS:
            column = "missing" if variant == "central" else f"missing_{variant}"
            with np.errstate(divide="ignore", invalid="ignore"):
                out[variant] = np.where(central > 0, fam[column].to_numpy(dtype=float) / central,
                                        0.0)
        return out

    def yearly(self, variant: str = "central", group: str | None = None,
               family: str | None = None) -> pd.DataFrame:
        """Per year of the horizon (index 1…N): one-off amounts of the operations opening that
        year, and yearly running amounts of the operations open that year."""
        by_year = self._slice(variant, group, family)  # (N, columns): what opens each year
        frame = pd.DataFrame(by_year, columns=list(_CUBE_COLUMNS),
                             index=pd.RangeIndex(1, self.options.horizon + 1, name="year"))
        frame[list(YEARLY)] = frame[list(YEARLY)].cumsum()
        frame.insert(0, "places_open", frame["places"].cumsum())
        frame.insert(0, "places_opened", frame.pop("places"))
        return frame.drop(columns="operations")

    def totals(self, variant: str = "central", group: str | None = None,
               family: str | None = None) -> dict[str, float]:
        """One-off amounts in all, the yearly running in full régime (every operation open),
        and the running over the horizon (Σ of the years). Computed once per (variant, group,
        family): the summaries ask for one amount at a time."""
        key = ("totals", variant, group, family)
        if key not in self._memo:
            self._memo[key] = self._totals(variant, group, family)
        return dict(self._memo[key])

    def _totals(self, variant: str, group: str | None, family: str | None) -> dict[str, float]:
        by_year = self._slice(variant, group, family)
        out = dict(zip(_CUBE_COLUMNS, by_year.sum(axis=0).tolist(), strict=True))
        running = np.cumsum(by_year, axis=0).sum(axis=0)
        for column in YEARLY:
            out[f"horizon:{column}"] = float(running[_CUBE_COLUMNS.index(column)])
        out["subsidies_total"] = sum(out[f"subsidy:{f}"] for f in pc.SUBSIDY_FUNDERS)
        out["state_subsidy"] = sum(out[f"subsidy:{f}"] for f in pc.STATE_SUBSIDIES)
        out["state_running"] = sum(out[f"running:{f}"] for f in pc.STATE_RUNNING)
        return out

    def _slice(self, variant: str, group: str | None, family: str | None) -> np.ndarray:
        """``(N, columns)`` amounts of the operations opening each year, for a variant, a
        group (or all) and a family (or all)."""
        if variant not in VARIANTS:
            raise ProgrammeError(f"Variante inconnue : « {variant} ».")
        cube, groups, families = self._cube()
        part = cube[VARIANTS.index(variant)]  # (G, F, N, C)
        part = part.sum(axis=0) if group is None else (
            part[groups.index(group)] if group in groups else np.zeros(part.shape[1:]))
        part = part.sum(axis=0) if family is None else (
            part[families.index(family)] if family in families else np.zeros(part.shape[1:]))
        return part

    def _cube(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Every operation's amounts scaled for each variant, summed by (variant, group,
        family, opening year): ``(V, G, F, N, C)``, computed once."""
        if "cube" in self._memo:
            return self._memo["cube"]
        ops = self.operations
        groups = list(self.groups)
        families = list(dict.fromkeys([*self.options.choices, *self.families["family"]]))
        horizon = int(self.options.horizon)
        cube = np.zeros((len(VARIANTS), len(groups), len(families), horizon, len(_CUBE_COLUMNS)))
        if len(ops):
            factors = self.factors().set_index(["group", "family"])
            keys = pd.MultiIndex.from_arrays([ops["group"], ops["family"]])
            g = np.array([groups.index(x) for x in ops["group"]])
            f = np.array([families.index(x) for x in ops["family"]])
            y = ops["year"].to_numpy(dtype=int) - 1
            values = ops[[*MONEY_COLUMNS, "places"]].to_numpy(dtype=float)
            values = np.column_stack([values, np.ones(len(ops))])
            for v, variant in enumerate(VARIANTS):
                weight = factors[variant].reindex(keys).fillna(0.0).to_numpy(dtype=float)
                np.add.at(cube[v], (g, f, y), values * weight[:, None])
        self._memo["cube"] = (cube, groups, families)
        return self._memo["cube"]


_CUBE_COLUMNS: tuple[str, ...] = (*MONEY_COLUMNS, "places", "operations")


def plan(
    missing: pd.DataFrame,
    options: ProgrammeOptions,
    reach: Reach,
    terms: Mapping[str, pc.CommuneTerms] | Callable[[list[str]], Mapping[str, pc.CommuneTerms]],
    groups: Mapping[str, str] | None = None,
    costs: Callable[..., pc.OperationCosts] | None = None,
    name: str = "",
) -> ProgrammeResult:
    """The programme from the missing places (:func:`missing_places`, with a ``group`` column
    when ``groups`` names several territories placed apart, e.g. the régions of France).

    ``terms`` gives each commune's terms for the economic model
    (:func:`models.programme_costs.commune_terms`), or is a function of the operations'
    communes that returns them; ``costs`` is the adapter's
    :func:`~models.programme_costs.operation_costs` (looked up at call time).
    """
    missing = missing.copy()
    if "group" not in missing.columns:
        missing["group"] = ""
    for column in ("code", "name", "family", "group"):  # plain objects: fast to compare
        missing[column] = np.asarray(missing[column].astype(str), dtype=object)
    groups = dict(groups or {"": name})
    family_rows, op_parts, notes = [], [], []
    parts = {key: frame.reset_index(drop=True)
             for key, frame in missing.groupby(["group", "family"], sort=False)}
    placed = _placed_by_group(parts, list(groups), options, reach)
    for group in groups:
        for family, choice in options.choices.items():
            rows = parts.get((group, family))
            if rows is None or rows.empty:
                continue
            ops, unplaced = placed[(group, family)]
            if len(ops):
                ops["group"], ops["family"], ops["kind"] = group, family, choice.kind
                ops["year"] = schedule(ops, options.horizon)
                op_parts.append(ops)
            family_rows.append({
                "group": group, "family": family, "kind": choice.kind, "size": choice.size,
                "missing": float(rows["missing"].sum()),
                "missing_low": float(rows["missing_low"].sum()),
                "missing_high": float(rows["missing_high"].sum()),
                "placed": float(ops["places"].sum()) if len(ops) else 0.0,
                "answered": float(ops["need_answered"].sum()) if len(ops) else 0.0,
                "unplaced": unplaced if choice.kind else 0.0, "n_operations": len(ops),
                "unknown_communes": int(rows["unknown"].sum()) if "unknown" in rows else 0,
            })
    families = pd.DataFrame(family_rows, columns=[
        "group", "family", "kind", "size", "missing", "missing_low", "missing_high", "placed",
        "answered", "unplaced", "n_operations", "unknown_communes"])
    ops = (pd.concat([p for p in op_parts if len(p)], ignore_index=True)
           if any(len(p) for p in op_parts) else pd.DataFrame(columns=OPERATION_COLUMNS))
    if callable(terms):
        terms = terms(sorted(set(ops["code"].astype(str)))) if len(ops) else {}
    ops = _with_money(ops, options, terms, costs)
    for row in families.itertuples(index=False):
        if pd.isna(row.kind) and row.missing > 0:
            notes.append(f"{family_label(row.family)} : {row.missing:.0f} places manquantes non "
                         "chiffrées (pas de modèle économique pour cette famille).")
        elif row.unplaced > 0.5:
            notes.append(
                f"{family_label(row.family)}{' (' + groups[row.group] + ')' if row.group else ''}"
                f" : {row.unplaced:.0f} places manquantes non placées (aucune commune à portée ne "
                f"peut recevoir une opération d'au moins {options.choices[row.family].min_size:g} "
                f"places sans dépasser {options.max_share_of_target * 100:.0f}\u00a0% de ses ménages "
                "cibles).")
        if row.missing <= 0 and row.missing_high > 0 and not pd.isna(row.kind):
            notes.append(f"{family_label(row.family)} : borne haute de {row.missing_high:.0f} "
                         "places manquantes non chiffrée (aucune place à l'estimation centrale).")
    return ProgrammeResult(name=name, options=options, families=families,
                           operations=ops[OPERATION_COLUMNS], groups=groups, notes=notes)


def _place_groups(parts: Mapping[tuple[str, str], pd.DataFrame], groups: list[str],
                  options: ProgrammeOptions, reach: Reach
                  ) -> dict[tuple[str, str], tuple[pd.DataFrame, float]]:
    """:func:`place_family` for every family of ``groups``."""
    placed = {}
    for group in groups:
        for family, choice in options.choices.items():
            rows = parts.get((group, family))
            if rows is not None and not rows.empty:
                placed[(group, family)] = place_family(rows, choice,
                                                       options.max_share_of_target, reach)
    return placed


def _placed_by_group(parts: Mapping[tuple[str, str], pd.DataFrame], groups: list[str],
                     options: ProgrammeOptions, reach: Reach
                     ) -> dict[tuple[str, str], tuple[pd.DataFrame, float]]:
    """The operations of every group and family. Groups are placed apart (each région of
    France within itself): where a child can be forked (:mod:`models.forked`), every other
    group is placed there while this process places the rest. The result is the same."""
    from models.forked import ForkedCall, can_fork

    if len(groups) < 2 or not can_fork():
        return _place_groups(parts, groups, options, reach)
    weight = {g: sum(len(v) for (group, _f), v in parts.items() if group == g) for g in groups}
    order = sorted(groups, key=lambda g: -weight[g])  # deal the largest first, in turn
    theirs, ours = order[0::2], order[1::2]
    call = ForkedCall(_place_groups, {k: v for k, v in parts.items() if k[0] in theirs},
                      theirs, options, reach, label="programme : régions")
    placed = _place_groups(parts, ours, options, reach)
    placed.update(call.result())
    return placed


def _with_money(ops: pd.DataFrame, options: ProgrammeOptions,
                terms: Mapping[str, pc.CommuneTerms],
                costs: Callable[..., pc.OperationCosts] | None) -> pd.DataFrame:
    costs = costs or pc.operation_costs
    rows = []
    for record in ops.to_dict("records"):
        commune = terms.get(str(record["code"])) or pc.CommuneTerms(str(record["code"]))
        result = costs(record["kind"], commune, float(record["places"]), options.overrides,
                       options.date)
        money = {"investment": result.investment, "loans": result.loans,
                 "equity": result.equity, "unfunded": result.unfunded,
                 "running_total": result.running_total, "running_costs": result.running_costs,
                 "deficit": result.deficit, "kind_label": result.kind_label}
        money.update({f"subsidy:{f}": float(result.subsidies.get(f, 0.0))
                      for f in pc.SUBSIDY_FUNDERS})
        money.update({f"running:{f}": float(result.running.get(f, 0.0))
                      for f in pc.RUNNING_FUNDERS})
        rows.append(money)
    money = pd.DataFrame(rows, index=ops.index,
                         columns=["kind_label", *MONEY_COLUMNS]).fillna(0.0)
    out = pd.concat([ops.drop(columns=[c for c in money.columns if c in ops.columns]), money],
                    axis=1)
    for column in OPERATION_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    return out


# -- from the gap model ------------------------------------------------------------------------
def model_reach(model: Any) -> Reach:
    """Reach between communes of a :class:`models.gap.GapModel` (its catchments, no decay)."""
    from models import accessibility as acc
    from models import decay

    memo: dict[tuple, sparse.csr_matrix] = {}

    def reach(candidates: list[str], demand: list[str]) -> sparse.csr_matrix:
        # The families of one région often share their candidates and demand: computed once.
        key = (tuple(candidates), tuple(demand))
        if key in memo:
            return memo[key]
        memo[key] = _reach(candidates, demand)
        return memo[key]

    def _reach(candidates: list[str], demand: list[str]) -> sparse.csr_matrix:
        positions = model.positions(candidates)
        pairs = acc.distance_pairs(model.locations, positions, decay.uniform)
        column = pd.Index(model.positions(demand)).get_indexer(pairs.demand)
        keep = column >= 0
        return sparse.csr_matrix(
            (np.ones(int(keep.sum())), (pairs.provider[keep], column[keep])),
            shape=(len(candidates), len(demand)))

    return reach


_FRAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def gap_frame(model: Any, codes: list[str]) -> pd.DataFrame:
    """The gap frame of ``codes``, cut from the model's frame of every commune computed once per
    model and reference (changing the mix or the horizon does not change the gap)."""
    key = repr(getattr(model, "reference_choice", None))
    cached = _FRAMES.get(model)
    if cached is None or cached[0] != key:
        full = model.frame()
        cached = (key, full, pd.Index(full["code"].astype(str)))
        _FRAMES[model] = cached
    _, full, index = cached
    rows = index.get_indexer([str(c) for c in codes])
    if (rows < 0).any():
        return model.frame(codes)  # unknown codes: the model says which, in French
    return full.iloc[rows].reset_index(drop=True)


def build_programme(
    model: Any,
    codes: list[str],
    options: ProgrammeOptions | None = None,
    *,
    name: str = "",
    by_region: bool = False,
    region_names: Mapping[str, str] | None = None,
    store: Any = None,
    terms: Mapping[str, pc.CommuneTerms] | None = None,
    costs: Callable[..., pc.OperationCosts] | None = None,
    frame: pd.DataFrame | None = None,
) -> ProgrammeResult:
    """The programme of the communes ``codes`` on a gap model with target households.

    ``by_region``: place région by région (France), totals by région; ``frame``: the model's
    gap frame of ``codes`` when the caller has it (a report).
    """
    options = options or load_options()
    if model.reference is None:
        raise ProgrammeError("Programme non calculable : l'écart à la référence (ménages cibles) "
                             "n'est pas disponible.")
    frame = gap_frame(model, codes) if frame is None else frame
    missing = missing_places(frame, [f for f in model.reference.families
                                     if f in options.choices])
    groups: dict[str, str] = {"": name}
    if by_region:
        regions = model.inputs.regions
        dep = frame["dep_code"].astype(str) if "dep_code" in frame.columns else pd.Series("")
        by_code = dict(zip(frame["code"].astype(str), dep.map(regions).fillna(""), strict=True))
        missing["group"] = missing["code"].map(by_code).fillna("")
        names = dict(region_names or {})
        groups = {g: names.get(g, f"région {g}") for g in sorted(missing["group"].unique())}
    if terms is None:  # read once, for the communes that receive an operation
        def terms(codes: list[str]) -> Mapping[str, pc.CommuneTerms]:
            return pc.commune_terms(codes, store)
    result = plan(missing, options, model_reach(model), terms, groups, costs, name)
    meta = model.meta()
    result.offer_fictional = bool(meta.get("offer_fictional"))
    result.reference = dict(meta.get("reference_notes") or {})
    result.reference_method = str(meta.get("reference_method_fr") or "")
    result.offer_used = offer_used_fr(model)
    result.sources = list(meta.get("sources", []))
    result.notes = [*result.notes, *pc.terms_notes(store)]
    return result


def offer_used_fr(model: Any) -> str:
    """Which offer the gap compares with the need (French sentence)."""
    sites = model.point_sites
    registry = int((sites["source"] == sup.SOURCE_REGISTRY).sum()) if len(sites) else 0
    public = int((sites["source"] != sup.SOURCE_REGISTRY).sum()) if len(sites) else 0
    text = f"offre des adhérents (registre : {registry} sites"
    text += f", {len(model.services)} services d'accompagnement)" if len(model.services) else ")"
    if public:
        text += f" et offre publique FINESS ({public} communes d'implantation)"
    else:
        text += " ; offre publique (FINESS) non disponible dans le stock local"
    if model.offer_fictional():
        text += " — FICTIF : le registre contient l'offre de démonstration"
    return text
