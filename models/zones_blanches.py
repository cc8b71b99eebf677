"""Zones blanches: communes, or groups of neighbouring communes, with need and no offer of a
family within reach; and the pairs of neighbouring communes they are grouped with.

Held apart from ``models.gap`` so that both the gap (``models.gap``) and the reference gap
(``models.gap_reference``) use them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from models import accessibility as acc


class GapError(ValueError):
    """Unusable inputs to the gap model (French message)."""


def neighbour_pairs(communes: pd.DataFrame, distance_m: float) -> pd.DataFrame:
    """Pairs of communes whose representative points are within ``distance_m`` (same CRS)."""
    frame = communes.reset_index(drop=True)
    valid = frame["x_metric"].notna() & frame["y_metric"].notna() & frame["metric_crs"].notna()
    parts = []
    for _, group in frame[valid].groupby("metric_crs"):
        tree = cKDTree(group[["x_metric", "y_metric"]].to_numpy())
        pairs = tree.query_pairs(distance_m, output_type="ndarray")
        codes = group["code"].astype(str).to_numpy()
        parts.append(pd.DataFrame({"code": codes[pairs[:, 0]], "neighbour": codes[pairs[:, 1]]}))
    if not parts:
        return pd.DataFrame(columns=["code", "neighbour"])
    return pd.concat(parts, ignore_index=True)


def zones_blanches(
    gap: pd.DataFrame,
    offer_type: str,
    neighbours: pd.DataFrame,
    config: Mapping[str, Any] | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Communes or groups of neighbouring communes with high need and no offer of a type.

    Parameters
    ----------
    gap
        :meth:`GapModel.frame` output (``providers_in_reach_<type>``, ``need_households*``,
        ``score``).
    neighbours
        ``code, neighbour`` pairs (:func:`neighbour_pairs`, or a contiguity table).

    Returns
    -------
    (zone id per commune code — missing outside the zones, one row per zone with its communes,
    their need and bounds, the highest score).
    """
    config = config or acc.load_config()
    params = config["zones_blanches"]
    column = f"providers_in_reach_{offer_type}"
    if column not in gap.columns:
        raise GapError(f"Type d'offre inconnu : {offer_type}")
    frame = gap.reset_index(drop=True)
    no_offer = frame[column].eq(0)
    high = frame["need_households"].ge(float(params["min_need_households"]))
    if "score" in frame.columns:
        high |= frame["score"].ge(float(params["min_score"]))
    candidate = no_offer & high & frame["need_households"].notna()
    codes = frame.loc[candidate, "code"].astype(str).reset_index(drop=True)
    empty_zones = pd.DataFrame(
        columns=["zone_id", "offer_type", "n_communes", "codes", "names", "need_households",
                 "need_households_low", "need_households_high", "score_max"]
    )
    if codes.empty:
        return pd.Series(dtype=object, name=f"zone_blanche_{offer_type}"), empty_zones
    index = pd.Index(codes)
    a = index.get_indexer(neighbours["code"].astype(str))
    b = index.get_indexer(neighbours["neighbour"].astype(str))
    keep = (a >= 0) & (b >= 0)
    graph = sparse.coo_matrix(
        (np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(len(index), len(index))
    )
    _, labels = connected_components(graph, directed=False)
    # Only the columns used below: the whole frame has hundreds of columns built one by one.
    wanted = [c for c in ("code", "name", "score", "need_households", "need_households_low",
                          "need_households_high") if c in frame.columns]
    members = frame.loc[candidate, wanted].reset_index(drop=True).assign(_label=labels)
    for column in ("score", "need_households_low", "need_households_high"):
        if column not in members.columns:
            members[column] = np.nan
    zones = members.groupby("_label").agg(
        n_communes=("code", "size"),
        codes=("code", lambda s: sorted(s.astype(str))),
        need_households=("need_households", "sum"),
        need_households_low=("need_households_low", "sum"),
        need_households_high=("need_households_high", "sum"),
        score_max=("score", "max"),
    )
    names = members.groupby("_label")["name"].agg(
        lambda s: ", ".join(sorted(s.astype(str))[:5]) + (" …" if len(s) > 5 else "")
    ) if "name" in members.columns else pd.Series("", index=zones.index)
    zones["names"] = names
    zones = zones[zones["need_households"] >= float(params["min_group_need_households"])]
    zones = zones.sort_values("need_households", ascending=False).reset_index(drop=True)
    zones.insert(0, "zone_id", [f"{offer_type}-{i + 1:03d}" for i in range(len(zones))])
    zones.insert(1, "offer_type", offer_type)
    by_code = {c: z for z, cs in zip(zones["zone_id"], zones["codes"], strict=True) for c in cs}
    series = pd.Series(by_code, name=f"zone_blanche_{offer_type}", dtype=object)
    series.index.name = "code"
    return series, zones[empty_zones.columns]
