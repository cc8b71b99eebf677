"""Siting suggestions: where N new places of a type would cover the most unmet need.

Greedy maximum coverage (Church & ReVelle 1974, greedy heuristic): the places are cut into
sites of ``site_size`` places (``access.yaml``, ``siting.site_size``; the last site takes the
remainder). At each step the candidate commune whose site would answer the most unmet need
within reach is chosen — a site answers at most its places, and at most the unmet need of the
communes whose catchment reaches it —; the need it answers is taken from those communes in
proportion to their unmet need, and the next site is placed. The greedy choice is within a
factor ``1 − 1/e`` of the optimum for maximum coverage. When several candidates answer as
much (need far above the places), the one with the most unmet need within reach wins, then the
first in code order, so that the suggestion is reproducible; a commune may receive several
sites when its unmet need stays the largest.

Unmet need per commune comes from the gap: the positive part of the total gap for the housing
types, or of ``need − places allocated`` of the type for accompaniment. A commune whose need is
unknown counts for nothing (noted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from models import accessibility as acc
from models import decay
from models import supply as sup
from models.gap import GapError, GapModel


@dataclass
class Pick:
    """One chosen site."""

    candidate: int
    places: float
    need_covered: float
    allocation: dict[int, float]  # demand position → households answered


def greedy_max_coverage(
    unmet: np.ndarray,
    reach: sparse.csr_matrix,
    places: float,
    site_size: float,
    caps: np.ndarray | None = None,
    min_size: float = 0.0,
    fit_to_need: bool = False,
) -> list[Pick]:
    """Greedy choice of sites on arrays.

    Parameters
    ----------
    unmet
        ``(N,)`` unmet need per demand location (NaN counts as 0).
    reach
        ``(C, N)`` candidate → demand locations in reach (non-zero = in reach).
    places
        Places to open in total.
    site_size
        Places of one site.
    caps
        ``(C,)`` most places each candidate may host in all (a programme never stacks beyond a
        stated share of a commune's target households); ``None``: no limit.
    min_size
        Smallest site worth opening: a candidate whose site would be smaller (its cap, or the
        need in reach with ``fit_to_need``) is skipped.
    fit_to_need
        Size each site to the unmet need within its reach (rounded up to whole places) when
        that is below ``site_size``, instead of opening a full site for a few households.
    """
    if places <= 0 or site_size <= 0:
        raise GapError("Implantation : le nombre de places et la taille d'un site doivent être > 0.")
    remaining = np.nan_to_num(np.asarray(unmet, dtype=float), nan=0.0).clip(min=0.0)
    binary = sparse.csr_matrix(reach, copy=True)
    binary.data = (binary.data != 0).astype(float)
    binary.eliminate_zeros()
    cap_left = None if caps is None else np.nan_to_num(np.asarray(caps, dtype=float)).copy()
    left = float(places)
    picks: list[Pick] = []
    # The need within each candidate's reach, kept up to date after each pick by subtracting
    # what the pick answered (only the columns it reaches change): the same sums as
    # ``binary @ remaining`` at every step, without recomputing them over all candidates.
    by_demand = binary.T.tocsr()  # demand location → candidates that reach it
    reachable = binary @ remaining
    while left > 1e-9:
        size = min(float(site_size), left)
        reachable = np.maximum(reachable, 0.0)
        sizes = np.full(len(reachable), size)
        if cap_left is not None:
            sizes = np.minimum(sizes, cap_left)
        if fit_to_need:
            sizes = np.minimum(sizes, np.ceil(reachable - 1e-9))
        sizes[sizes < max(float(min_size), 1e-9)] = 0.0
        gain = np.minimum(sizes, reachable)
        if gain.size == 0 or gain.max() <= 0:
            break
        # Most need answered; among equals, the most unmet need within reach (the densest
        # need), then the first in code order (compared at 1e-9: sums kept by subtraction).
        rounded = np.round(gain, 9)
        tied = np.flatnonzero(rounded == rounded.max())
        best = int(tied[np.argmax(np.round(reachable[tied], 9))])
        start, end = binary.indptr[best], binary.indptr[best + 1]
        columns = binary.indices[start:end]
        share = gain[best] / reachable[best]
        answered = remaining[columns] * share
        remaining[columns] -= answered
        starts, ends = by_demand.indptr[columns], by_demand.indptr[columns + 1]
        lengths = ends - starts
        if lengths.sum():
            # The candidates reaching each answered location, in one gather.
            offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
            reached = by_demand.indices[np.arange(int(lengths.sum())) + offsets]
            np.subtract.at(reachable, reached, np.repeat(answered, lengths))
        placed = float(sizes[best])
        left -= placed
        if cap_left is not None:
            cap_left[best] -= placed
        positive = answered > 0
        picks.append(Pick(best, placed, float(gain[best]),
                          dict(zip(columns[positive].tolist(), answered[positive].tolist(),
                                   strict=True))))
    return picks


def unmet_need(frame: pd.DataFrame, offer_type: str, total_types: Iterable[str]) -> pd.Series:
    """Unmet need per commune (indexed by code) for an offer type, from a gap frame."""
    if offer_type in set(total_types):
        values = frame["gap_households"]
    else:
        values = frame["need_households"] - frame[f"places_allocated_{offer_type}"]
    return pd.Series(values.clip(lower=0).to_numpy(), index=frame["code"].astype(str))


def planner_limits(family: str) -> tuple[float, float]:
    """(largest share of a commune's target households of ``family`` its places may reach,
    smallest operation worth opening), from ``models/programme.yaml`` (shared with the
    production programme: ``max_share_of_target`` and the family's ``min_size``)."""
    import yaml

    path = Path(__file__).with_name("programme.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        family_raw = (raw.get("families") or {}).get(family) or {}
        return float(raw.get("max_share_of_target", 0.5)), float(family_raw.get("min_size", 1))
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError):
        return 0.5, 1.0


def suggest_sites(
    model: GapModel,
    offer_type: str,
    places: float,
    codes: list[str],
    site_size: float | None = None,
    fca: acc.FloatingCatchment | None = None,
    within_territory_only: bool = True,
) -> pd.DataFrame:
    """Communes of the territory ``codes`` where new places of ``offer_type`` would answer the
    most unmet need, in order, with the need answered by each.

    ``fca`` is a scenario's state (``Scenario.fca``) to site on top of a what-if.
    """
    offer = sup.offer_family(offer_type)
    if offer is None:
        raise GapError(f"Implantation : type d'offre « {offer_type} » non reconnu.")
    site_size = float(site_size or model.config["siting"]["site_size"])
    candidates = np.sort(model.positions(codes))
    candidates = candidates[model.locations.valid[candidates]]
    pairs = acc.distance_pairs(model.locations, candidates, decay.uniform)
    demand_rows = np.unique(pairs.demand)
    if within_territory_only:
        demand_rows = np.intersect1d(demand_rows, candidates)
    frame = model.frame(model.locations.codes[demand_rows], fca=fca)
    unmet = unmet_need(frame, offer, [model.types[t] for t in model.total_types]).to_numpy()
    column = pd.Index(demand_rows).get_indexer(pairs.demand)
    keep = column >= 0
    reach = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (pairs.provider[keep], column[keep])),
        shape=(len(candidates), len(demand_rows)),
    )
    # A planner's siting: no commune gets more places of the family than a stated share of its
    # own target households (the programme's ``max_share_of_target``), and a site is sized to
    # the unmet need within its reach rather than opened full for a few households.
    share, min_size = planner_limits(offer)
    target_column = f"target_{offer}"
    caps = None
    if target_column in frame.columns:
        targets = frame.set_index("code")[target_column].reindex(
            model.locations.codes[candidates]).to_numpy(dtype=float)
        caps = np.floor(np.nan_to_num(targets, nan=0.0) * share)
    # Without target households (a need-only model) the classic full-size sites are kept.
    planned = caps is not None
    picks = greedy_max_coverage(unmet, reach, places, site_size, caps=caps,
                                min_size=min(min_size, site_size) if planned else 0.0,
                                fit_to_need=planned)
    names = model.communes["name"].to_numpy() if "name" in model.communes else None
    total_unmet = float(np.nansum(unmet))
    rows, answered = [], 0.0
    for rank, pick in enumerate(picks, start=1):
        position = candidates[pick.candidate]
        answered += pick.need_covered
        reached = sorted(pick.allocation.items(), key=lambda kv: -kv[1])
        rows.append(
            {
                "rank": rank,
                "code": model.locations.codes[position],
                "name": names[position] if names is not None else "",
                "offer_type": offer,
                "places": pick.places,
                "need_covered": pick.need_covered,
                "communes_reached": len(reached),
                "main_communes": ", ".join(
                    str(model.locations.codes[demand_rows[c]]) for c, _ in reached[:5]
                ),
                "unmet_remaining": total_unmet - answered,
            }
        )
    out = pd.DataFrame(rows, columns=["rank", "code", "name", "offer_type", "places",
                                      "need_covered", "communes_reached", "main_communes",
                                      "unmet_remaining"])
    placed = float(out["places"].sum()) if len(out) else 0.0
    out.attrs["note_fr"] = (
        f"{placed:g} places sur {float(places):g} placées ; "
        f"besoin non couvert à portée : {total_unmet:.1f} ménages avant, "
        f"{total_unmet - answered:.1f} après."
    )
    if placed + 0.5 < float(places):
        out.attrs["note_fr"] += (
            f" Les autres places ne sont pas placées : aucune autre commune ne peut recevoir une "
            f"opération d'au moins {min(min_size, site_size):g} places sans dépasser "
            f"{share * 100:.0f}\u00a0% de ses ménages cibles de la famille (hypothèse de "
            "dimensionnement du programme, à confirmer avec les réseaux)."
        ) if caps is not None else ""
    if frame["need_households"].isna().any():
        out.attrs["note_fr"] += (
            f" {int(frame['need_households'].isna().sum())} commune(s) au besoin inconnu "
            "ne sont pas comptées."
        )
    return out
