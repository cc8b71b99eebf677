"""Benchmarks of the networks' shared knowledge: snapshots and their comparison, « qui fait quoi
où » for France, the bilan réseau (XLSX and PDF) of the Nord, on the FICTIF demo offer scaled up.

Lines ``bench network_<what> <value> <unit>`` (``python -m tests.benchmarks --section reseaux``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from tests.account_support import ADMIN

SCALE = 20  # about 2,600 demo sites


def bench_network(scale: float = SCALE) -> list[str]:
    from diagnostics import network_report as nr
    from geodata.store import Store
    from models.network_presence import presence
    from operators import snapshots as snap
    from operators.confidentiality import PUBLIC
    from operators.demo import demo_csv, demo_frame
    from operators.importer import import_file
    from operators.repository import Registry

    lines: list[str] = []
    store = Store()
    with tempfile.TemporaryDirectory(prefix="bench-reseau-") as tmp:
        folder = Path(tmp)
        path = folder / "bench_reseau_FICTIF.csv"
        path.write_bytes(demo_csv(demo_frame(store, scale=scale)))
        registry = Registry(folder / "registre.gpkg")
        import_file(path, registry, geocoder=None, fictional=True, rejects_dir=folder,
                    actor=ADMIN)
        n = registry.count_sites()
        lines.append(f"bench network_sites {n} sites")
        start = time.perf_counter()
        snap.take_snapshot(registry, ADMIN, "2023-12-31")
        lines.append(f"bench network_snapshot_s {time.perf_counter() - start:.2f} s")
        snap.take_snapshot(registry, ADMIN, "2024-12-31")
        start = time.perf_counter()
        snap.compare_dates(registry, "2023-12-31", "2024-12-31")
        lines.append(f"bench network_compare_france_s {time.perf_counter() - start:.2f} s")
        communes = store.read("communes", columns=["code", "name", "epci_code", "dep_code"])
        sites = pd.DataFrame(registry.sites())
        coverage = registry.coverage()
        start = time.perf_counter()
        presence(sites, coverage, communes, "epci", PUBLIC)
        lines.append(f"bench network_presence_epci_france_s {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        report = nr.from_registry(registry, store, network=None, territory="dep:59", year=2024)
        lines.append(f"bench network_report_build_nord_s {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        nr.xlsx_bytes(report)
        lines.append(f"bench network_report_xlsx_nord_s {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        nr.pdf_bytes(report)
        lines.append(f"bench network_report_pdf_nord_s {time.perf_counter() - start:.2f} s")
        registry.dispose()
    return lines


if __name__ == "__main__":
    for text in bench_network(float(sys.argv[1]) if len(sys.argv) > 1 else SCALE):
        print(text)
