"""Benchmarks of the supply-within-reach and gap models (``make bench``).

``bench_gap()`` returns the lines ``bench <name> <value> <unit>``:

* ``twosfca_all_france_10k_s``: our 2SFCA for all France (34,875 communes) with 10,000 sites,
  20 km catchment, from the site table to the ratios (sites grouped by commune, KD-tree pairs,
  sparse products);
* ``twosfca_access_peer_s``: the same 2SFCA by PySAL's ``access`` on the same data in the same
  run (20 km cost pairs built with a KD-tree, then ``Access.two_stage_fca``), with the number
  of its pairs, the largest difference from ours and how many of its ratios are infinite or
  missing;
* ``e2sfca_all_france_10k_s``: the gap model's configuration (catchment by density class,
  decay, six offer types, three need variants) on the same sites;
* ``whatif_dep_s``: adding a site in a département and recomputing the département's gap;
* ``raster_dep_s``: the 1 km accessibility raster of a département (read outlines, compute the
  bands, write the GeoTIFF);
* ``target_households_all_france_s``: the target households of every commune from the stored
  need index (``models.target_households``);
* ``gap_reference_all_france_s``: the gap against the default reference for all France, from
  the gap model to the per-commune frame (floating catchment on the target households of each
  family, département medians, classes);
* ``gap_reference_rescore_s``: re-scoring every commune after the reference changes (a typed
  value per family).

The need and the sites are synthetic (seeded) over the real communes of the store: the speed
does not depend on the values.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geodata.store import Store
from models import accessibility as acc
from models import gap as g
from models import gap_reference as gr
from models import scenarios as sc
from models import target_households as th

N_SITES = 10_000
CATCHMENT_M = 20_000.0
BENCH_DEP = "59"
HOUSING = ["pension de famille", "residence sociale", "iml", "moi", "chrs"]


def _timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def synthetic_inputs(store: Store, n_sites: int = N_SITES, seed: int = 2025) -> g.GapInputs:
    """Real communes, need ≈ 2 % of the population (whole households), seeded sites."""
    columns = ["code", "name", "dep_code", "epci_code", "x_metric", "y_metric", "metric_crs",
               "population"]
    communes = store.read("communes", columns=columns)
    rng = np.random.default_rng(seed)
    population = communes["population"].astype(float).fillna(0.0).to_numpy()
    need = np.floor(population * 0.02)
    need_frame = pd.DataFrame({
        "code": communes["code"], "need_households": need,
        "need_households_low": np.floor(need * 0.75), "need_households_high": np.ceil(need * 1.4),
    })
    chosen = rng.choice(len(communes), n_sites, p=population / population.sum())
    sites = pd.DataFrame({
        "site_id": [f"bench-{i}" for i in range(n_sites)],
        "commune_code": communes["code"].to_numpy()[chosen],
        "offer_type": rng.choice(HOUSING, n_sites),
        "capacity": rng.integers(5, 60, n_sites).astype(float),
        "status": "ouvert",
    })
    density = None
    if store.exists("grille_densite_2025"):
        grid = store.read("grille_densite_2025", columns=["code", "density_7"])
        density = pd.Series(grid["density_7"].to_numpy(), index=grid["code"].astype(str))
    return g.GapInputs(
        communes=communes, need=need_frame,
        households=pd.Series(population / 2.2, index=communes["code"]),
        sites=sites, density_7=density,
    )


def ours_2sfca(communes: pd.DataFrame, demand: pd.Series, sites: pd.DataFrame) -> pd.Series:
    supply = sites.groupby("commune_code")[["capacity"]].sum()
    out = acc.two_step_fca(communes, demand, supply, CATCHMENT_M, "2sfca")
    return out["access_capacity"]


def peer_2sfca(
    communes: pd.DataFrame, demand: pd.Series, sites: pd.DataFrame
) -> tuple[pd.Series, int]:
    """PySAL ``access``: site-level cost pairs within 20 km (KD-tree), then two_stage_fca."""
    from access import Access

    located = communes.dropna(subset=["x_metric", "y_metric"])
    xy = located.set_index("code")[["x_metric", "y_metric"]]
    crs = located.set_index("code")["metric_crs"]
    site_crs = crs.reindex(sites["commune_code"]).to_numpy()
    parts = []
    for name, group in located.groupby("metric_crs"):
        in_group = np.flatnonzero(site_crs == name)
        if not len(in_group):
            continue
        tree = cKDTree(group[["x_metric", "y_metric"]].to_numpy())
        site_xy = xy.reindex(sites["commune_code"].to_numpy()[in_group]).to_numpy()
        found = tree.sparse_distance_matrix(cKDTree(site_xy), CATCHMENT_M, output_type="ndarray")
        parts.append(pd.DataFrame({
            "origin": group["code"].to_numpy()[found["i"]],
            "dest": sites["site_id"].to_numpy()[in_group][found["j"]],
            "cost": found["v"],
        }))
    cost = pd.concat(parts, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Access(
            demand_df=demand.rename("need").rename_axis("code").reset_index(),
            demand_index="code", demand_value="need",
            supply_df=sites[["site_id", "capacity"]].copy(), supply_index="site_id",
            supply_value="capacity",
            cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
        )
        result = model.two_stage_fca(max_cost=CATCHMENT_M)["2sfca_capacity"]
    return result, len(cost)


def bench_gap(store: Store | None = None, repeat: int = 3) -> list[str]:
    """Run the benchmarks and return the ``bench`` lines."""
    store = store or Store()
    inputs = synthetic_inputs(store)
    communes = inputs.communes
    demand = pd.Series(inputs.need["need_households"].to_numpy(), index=communes["code"])
    sites = inputs.sites
    lines = []

    ours_s, ours = _timed(lambda: ours_2sfca(communes, demand, sites), repeat)
    lines.append(f"bench twosfca_all_france_10k_s {ours_s:.3f} s")
    try:
        peer_s, (theirs, n_pairs) = _timed(lambda: peer_2sfca(communes, demand, sites), repeat)
    except ImportError:
        lines.append("bench twosfca_access_peer_s nan s")
    else:
        lines.append(f"bench twosfca_access_peer_s {peer_s:.3f} s")
        lines.append(f"bench twosfca_access_peer_pairs {n_pairs} pairs")
        theirs = theirs.reindex(ours.index)
        finite = np.isfinite(theirs) & np.isfinite(ours)
        diff = float(np.max(np.abs(theirs[finite] - ours[finite]))) if finite.any() else 0.0
        lines.append(f"bench twosfca_vs_access_max_abs_diff {diff:.3g} ratio")
        lines.append(f"bench twosfca_access_peer_infinite {int(np.isinf(theirs).sum())} communes")
        lines.append(f"bench twosfca_access_peer_missing {int(theirs.isna().sum())} communes")
        lines.append(f"bench twosfca_ours_infinite {int(np.isinf(ours).sum())} communes")

    model_s, model = _timed(lambda: g.GapModel(inputs), 1)
    lines.append(f"bench e2sfca_all_france_10k_s {model_s:.3f} s")

    dep_codes = communes.loc[communes["dep_code"] == BENCH_DEP, "code"].tolist()
    scenario = sc.Scenario(model, "bench")
    targets = dep_codes[:: max(1, len(dep_codes) // 5)][:5]
    times = []
    for i, code in enumerate(targets):
        start = time.perf_counter()
        site = scenario.add_site("pension_de_famille", 25, code, site_id=f"bench-ajout-{i}")
        scenario.gap(dep_codes)
        times.append(time.perf_counter() - start)
        scenario.remove_site(site)
    lines.append(f"bench whatif_dep_s {statistics.median(times):.3f} s")

    with tempfile.TemporaryDirectory() as folder:
        def draw() -> Path:
            geo = gpd.read_parquet(store.path("communes"), columns=["code", "geometry"],
                                   filters=[("dep_code", "=", BENCH_DEP)])
            return g.write_accessibility_raster(Path(folder) / "acces.tif", model, geo, dep_codes)

        raster_s, _ = _timed(draw, repeat)
    lines.append(f"bench raster_dep_s {raster_s:.3f} s")
    lines.extend(bench_reference(store, model, repeat))
    return lines


def bench_reference(store: Store, model: g.GapModel, repeat: int = 3) -> list[str]:
    """Target households and the reference gap on the stored need index (real volumes)."""
    if not store.exists("need_index"):
        return [f"bench {name} nan s" for name in (
            "target_households_all_france_s", "gap_reference_all_france_s",
            "gap_reference_rescore_s")]
    need = store.read("need_index")
    target_s, targets = _timed(lambda: th.compute_targets(th.inputs_from_store(need, store)),
                               repeat)
    deps = store.read("departements", columns=["code", "reg_code"])
    regions = dict(zip(deps["code"].astype(str), deps["reg_code"].astype(str), strict=True))

    def full() -> gr.ReferenceGap:
        reference_gap = gr.ReferenceGap(model, targets, regions)
        reference_gap.frame()
        return reference_gap

    full_s, reference_gap = _timed(full, repeat)
    typed = gr.Reference("value", {f: 40.0 + i for i, f in enumerate(reference_gap.families)})
    rescore_s, _ = _timed(lambda: reference_gap.score(typed), max(repeat, 5))
    return [
        f"bench target_households_all_france_s {target_s:.3f} s",
        f"bench gap_reference_all_france_s {full_s:.3f} s",
        f"bench gap_reference_rescore_s {rescore_s:.3f} s",
    ]


if __name__ == "__main__":
    for line in bench_gap():
        print(line)
