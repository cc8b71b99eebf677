"""``make bench``: speed and memory figures, one line each: ``bench <name> <value> <unit>``.

Run from the project root with the venv python (``python -m tests.benchmarks``; one section:
``python -m tests.benchmarks --section besoin``). Each section runs in its own process and
measures what its issue promises; targets are in the README. No figure here is asserted: they are
printed so that runs can be compared.
"""

from __future__ import annotations

import gc
import importlib
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import settings

SHARED_DATA = (settings.PROJECT_ROOT / ".." / "shared" / "data").resolve()


def line(name: str, value: float, unit: str) -> str:
    text = f"bench {name} {value:.3f} {unit}" if isinstance(value, float) else f"bench {name} {value} {unit}"
    print(text, flush=True)
    return text


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_reference() -> None:
    from geodata.build import build_reference
    from geodata.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        tracemalloc.start()
        start = time.perf_counter()
        build_reference(store, force=True)
        line("reference_build_s", time.perf_counter() - start, "s")
        fill = (store.manifest("communes").extra or {}).get("trous_calcul_s")
        if fill is not None:  # part of the build: holes of the coverage given to their communes
            line("reference_fill_holes_s", float(fill), "s")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line("reference_build_peak_python_mb", peak / 1e6, "MB")
        gc.collect()
        start = time.perf_counter()
        communes = store.read("communes")
        line("read_communes_s", time.perf_counter() - start, "s")  # sha256 checked (once)
        start = time.perf_counter()
        store.read("communes")
        line("read_communes_again_s", time.perf_counter() - start, "s")  # digest cached
        from geodata import store as store_module

        store_module._VERIFIED.clear()
        start = time.perf_counter()
        store.verify("communes")
        line("store_verify_communes_s", time.perf_counter() - start, "s")
        start = time.perf_counter()
        store.read("communes_grossier")
        line("read_communes_coarse_s", time.perf_counter() - start, "s")
        coarse = store.read("communes_grossier")[["code", "name", "geometry"]]
        line("geojson_france_coarse_mb", len(coarse.to_json(drop_id=True).encode()) / 1e6, "MB")
        medium = store.read("communes_moyen")
        dep = medium[medium["dep_code"] == "59"][["code", "name", "geometry"]]
        line("geojson_dep59_medium_mb", len(dep.to_json(drop_id=True).encode()) / 1e6, "MB")
        del communes
    line("reference_peak_rss_mb", peak_rss_mb(), "MB")


def _optional(module: str, function: str) -> Callable[[], list[str]] | None:
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None


SECTIONS: dict[str, tuple[str, str, str, dict]] = {
    "connecteurs": ("Connecteurs", "tests.bench_connectors", "bench_refresh", {"from_dir": SHARED_DATA}),
    "registre": ("Registre des opérateurs", "tests.bench_registry", "bench_import", {}),
    "besoin": ("Modèle de besoin", "tests.bench_need", "bench_need", {}),
    "ecarts": ("Offre et écarts", "tests.bench_gap", "bench_gap", {}),
    "rapports": ("Rapports", "tests.bench_report", "bench_report", {}),
    "application": ("Application", "tests.bench_app", "bench_app", {}),
    "reunion": ("Application en réunion (médianes)", "tests.bench_app", "bench_meeting", {}),
    "economie": ("Montage d'opération", "tests.bench_economics", "bench_economics", {}),
    "reseaux": ("Connaissance partagée des réseaux", "tests.bench_network", "bench_network", {}),
    "programme": ("Programme de production", "tests.bench_programme", "bench_programme", {}),
}


def run_section(name: str) -> int:
    """One section in this process (its memory peak is its own)."""
    if name == "reference":
        print("# Géographie de référence", flush=True)
        bench_reference()
        return 0
    title, module, function, kwargs = SECTIONS[name]
    bench = _optional(module, function)
    if bench is None:
        print(f"# {title} : module {module} absent", flush=True)
        return 0
    print(f"# {title}", flush=True)
    for text in bench(**kwargs):
        print(text, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Every section in its own process, so that memory peaks do not add up."""
    import subprocess

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--section"]:
        return run_section(args[1])
    failed = []
    for name in ["reference", *SECTIONS]:
        result = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks", "--section", name],
            cwd=settings.PROJECT_ROOT,
        )
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"# sections en échec : {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
