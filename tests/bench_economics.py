"""Benchmarks of the operation model (``make bench``, section « economie »).

``bench_economics()`` returns the lines ``bench <name> <value> <unit>``:

* ``econ_operation_ms``: inputs, plan and account of one operation (median over the 8 kinds);
* ``econ_sensitivity_ms``: plan + account + verdict (tornado of every parameter, break-even of
  the two deciding ones), the figure a slider move recomputes (median over the 8 kinds);
* ``econ_apl_household_ms``: housing aid of one household type (APL-foyer and APL location, median
  over the household types) with its AAH or RSA income and effort rate, from OpenFisca-France's
  dated parameters, after the first call (target ≤ 50 ms);
* ``econ_context_ms``: a commune's local data read from the store (zone, QPV, programmes,
  LOVAC), done once per commune in the app (cached);
* ``econ_page_rerun_s``: the page « Montage d'opération » script re-run after a slider move
  (AppTest, without the browser; target ≤ 0.5 s).

Target (issue 17): plan + account + sensitivity ≤ 50 ms; issue 24: ``econ_operation_ms`` ≤ 50 ms and
``econ_apl_household_ms`` ≤ 50 ms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from geodata.store import Store
from models import operation_economics as oe


def _median_ms(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_economics(repeat: int = 30) -> list[str]:
    params = oe.load_parameters()
    kinds = list(params.kinds)
    lines = []

    def operation(kind: str) -> None:
        values = oe.inputs_for(kind, params, zone_apl=2)
        oe.evaluate(kind, values, params)

    def full(kind: str) -> None:
        values = oe.inputs_for(kind, params, zone_apl=2)
        oe.verdict(oe.evaluate(kind, values, params))

    for kind in kinds:  # warm the compiled formulas
        full(kind)
    op = statistics.median(_median_ms(lambda k=k: operation(k), repeat) for k in kinds)
    sens = statistics.median(_median_ms(lambda k=k: full(k), repeat) for k in kinds)
    worst = max(_median_ms(lambda k=k: full(k), repeat) for k in kinds)
    lines.append(f"bench econ_operation_ms {op:.3f} ms")
    lines.append(f"bench econ_sensitivity_ms {sens:.3f} ms")
    lines.append(f"bench econ_sensitivity_worst_kind_ms {worst:.3f} ms")
    from datetime import date

    from models import household_aid as ha

    day = date.today()
    ha.foyer_aid(day, 2, "personne_seule", 430)  # first call reads the package's files

    def households() -> None:
        for household in ha.HOUSEHOLDS:
            _ = ha.foyer_aid(day, 2, household, 430).effort_rate  # with its AAH / RSA income
            _ = ha.location_aid(day, 2, household, 380, 40, 3000).effort_rate

    per_household = _median_ms(households, repeat) / len(ha.HOUSEHOLDS)
    lines.append(f"bench econ_apl_household_ms {per_household:.4f} ms")
    store = Store()
    if store.exists("communes"):
        from models.operation_context import local_context

        ctx_ms = _median_ms(lambda: local_context("59350", store), 5)
        lines.append(f"bench econ_context_ms {ctx_ms:.3f} ms")
        lines.append(f"bench econ_page_rerun_s {_page_rerun_s():.3f} s")
    return lines


PAGE_WRAPPER = """
import sys, time
sys.path.insert(0, {root!r})
import streamlit as st
from ui.pages import montage
start = time.perf_counter()
montage.render()
st.session_state.setdefault("_bench_times", []).append(time.perf_counter() - start)
"""


def _page_rerun_s(repeat: int = 5) -> float:
    """Median time of the page script after a slider move (run by AppTest; its own polling of
    the script thread is left out)."""
    import tempfile
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    import settings

    with tempfile.TemporaryDirectory() as folder:
        wrapper = Path(folder) / "montage_bench.py"
        wrapper.write_text(PAGE_WRAPPER.format(root=str(settings.PROJECT_ROOT)), encoding="utf-8")
        page = AppTest.from_file(str(wrapper), default_timeout=120)
        page.query_params["commune"] = "59350"
        page.run()
        slider = "montage_pension_famille_neuf_loyer_mensuel"
        for i in range(repeat):
            page.slider(key=slider).set_value(380 + 5 * i).run()
        return statistics.median(page.session_state["_bench_times"][1:])
