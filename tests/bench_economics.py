"""Benchmarks of the operation model (``make bench``, section « economie »).

``bench_economics()`` returns the lines ``bench <name> <value> <unit>``:

* ``econ_operation_ms``: inputs, plan and account of one operation (median over the 8 kinds);
* ``econ_sensitivity_ms``: plan + account + verdict (tornado of every parameter, break-even of
  the two deciding ones), the figure a slider move recomputes (median over the 8 kinds);
* ``econ_context_ms``: a commune's local data read from the store (zone, QPV, programmes,
  LOVAC), done once per commune in the app (cached);
* ``econ_page_rerun_s``: the page « Montage d'opération » re-run after a slider move (AppTest,
  the whole script without the browser; target ≤ 0.5 s).

Target (issue 17): plan + account + sensitivity ≤ 50 ms.
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
    store = Store()
    if store.exists("communes"):
        from models.operation_context import local_context

        ctx_ms = _median_ms(lambda: local_context("59350", store), 5)
        lines.append(f"bench econ_context_ms {ctx_ms:.3f} ms")
        lines.append(f"bench econ_page_rerun_s {_page_rerun_s():.3f} s")
    return lines


def _page_rerun_s(repeat: int = 5) -> float:
    from streamlit.testing.v1 import AppTest

    import settings

    page = AppTest.from_file(str(settings.PROJECT_ROOT / "ui" / "pages" / "montage.py"), default_timeout=120)
    page.query_params["commune"] = "59350"
    page.run()
    slider = "montage_pension_famille_neuf_loyer_mensuel"
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        page.slider(key=slider).set_value(380 + 5 * i).run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    for text in bench_economics():
        print(text)
