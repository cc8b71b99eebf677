"""Benchmarks of the need model (``make bench``): lines ``bench <name> <value> <unit>``.

Targets (issue): normalise + weight + aggregate for all France ≤ 0.1 s from the prepared matrix;
re-scoring after a weight change ≤ 0.05 s; the whole pipeline from the store (matrix,
imputation, index, typology, hot spots) ≤ 15 s; Monte-Carlo with 1,000 draws ≤ 2 s for a
département and ≤ 30 s for all France. Also the cross-validated error of the TP60 imputation on
the smallest communes with a published rate, in percentage points.

The indicator datasets are read from the project's store; when it does not hold them yet, the
connectors build them from the local source folder into a temporary store (not timed).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import settings
from geodata.store import Store
from models.hotspots import contiguity
from models.indicator_matrix import build_matrix
from models.pipeline import STATUS_OK, NeedConfig, NeedIndex
from models.sensitivity import monte_carlo

NEEDED = (
    "filosofi_2021_com", "filosofi_2019_com", "comparateur", "census_iris_2021",
    "grille_densite_2025", "qpv2024_communes", "zonage_abc_2024", "tlv_zone_tendue",
)
BENCH_DEPARTEMENT = "59"


def _store(workdir: Path) -> Store:
    from connectors.refresh import store_with_sources

    source_dir = settings.source_dir() or (settings.PROJECT_ROOT.parent / "shared" / "data")
    return store_with_sources(NEEDED, source_dir, workdir)


def _median_time(function, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_need() -> list[str]:
    """Run the need benchmarks and return the ``bench ...`` lines."""
    with tempfile.TemporaryDirectory(prefix="bench_besoin_") as workdir:
        store = _store(Path(workdir))
        contiguity(store)  # built once and cached in the store, as in production

        start = time.perf_counter()
        matrix = build_matrix(store)
        index = NeedIndex(matrix, NeedConfig())
        result = index.run(sensitivity=False, edges=contiguity(store))
        pipeline_s = time.perf_counter() - start

        def full_index() -> None:
            index._normalised.clear()
            index.score()

        index_s = _median_time(full_index)
        index.score()
        presets = list(index.presets)
        turn = iter(range(10**6))
        rescore_s = _median_time(lambda: index.score(presets[next(turn) % len(presets)]))
        index.score()  # back to the configured weights

        weights = index._last["weights"]
        ok = result.frame["status"].eq(STATUS_OK).to_numpy()
        dep = ok & result.frame["dep_code"].eq(BENCH_DEPARTEMENT).to_numpy()
        methods = tuple(index.config.mc_methods)

        def montecarlo(rows) -> float:
            stack = {m: index.normalised(m)[rows] for m in methods}
            start = time.perf_counter()
            monte_carlo(stack, weights, index.config.normalisation, draws=1000, methods=methods,
                        seed=index.config.seed)
            return time.perf_counter() - start

        mc_dep_s = montecarlo(dep)
        mc_all_s = montecarlo(ok)
        mae = index.imputation.mae_small if index.imputation else float("nan")
    return [
        f"bench need_index_all_france_s {index_s:.4f} s",
        f"bench need_rescore_s {rescore_s:.4f} s",
        f"bench need_pipeline_all_france_s {pipeline_s:.2f} s",
        f"bench need_montecarlo_dep_s {mc_dep_s:.3f} s",
        f"bench need_montecarlo_all_france_s {mc_all_s:.2f} s",
        f"bench tp60_imputation_mae_small_pts {mae:.2f} pts",
    ]


if __name__ == "__main__":
    for line in bench_need():
        print(line)
