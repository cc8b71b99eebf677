"""Benchmarks of the production programme (``make bench``, section « programme »).

* ``programme_dep_s``: the programme of a département (Nord, 647 communes) from the built gap
  model: missing places per family, operations placed (greedy siting with caps), each
  evaluated by the economic model through ``models.programme_costs`` (the evaluation cache
  emptied first; the parameters file, the store's layers and the model's gap frame are read
  or computed once per process: the mix and the horizon do not change them), and
  its French summary (totals per year and family, low / central / high: the JSON of the
  command line);
* ``programme_france_s``: the same for all France, région by région;
* ``programme_gap_model_s`` (context): building the national gap model the programmes read
  (need index read from the store, registry sites, floating catchments, target households).

The need index and the registry are those of the local store (the FICTIF demo registry when
it is the one installed): the speed does not depend on whose offer it is.
"""

from __future__ import annotations

import statistics
import time

from geodata.store import Store
from models import programme as pg
from models import programme_costs as pc
from models import programme_run as run

BENCH_DEP = "dep:59"


def _timed(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        pc.clear_cache(parameters=False)
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(name: str, value: float, unit: str) -> str:
    """One bench line (printed by ``tests.benchmarks``)."""
    return f"bench {name} {value:.3f} {unit}" if isinstance(value, float) else \
        f"bench {name} {value} {unit}"


def bench_programme() -> list[str]:
    store = Store()
    start = time.perf_counter()
    model, _notes = run.gap_model(store)
    out = [line("programme_gap_model_s", time.perf_counter() - start, "s")]
    options = pg.load_options()
    dep = run.territory(BENCH_DEP, store)
    out.append(line("programme_dep_s", _timed(
        lambda: run.summary_fr(run.run(BENCH_DEP, store, options, model)), 5), "s"))
    out.append(line("programme_dep_communes", len(dep.codes), "communes"))
    out.append(line("programme_france_s", _timed(
        lambda: run.summary_fr(run.run("france", store, options, model)), 3), "s"))
    result = run.run("france", store, options, model)
    out.append(line("programme_france_operations", len(result.operations), "opérations"))
    return out
