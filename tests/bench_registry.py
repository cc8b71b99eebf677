"""Benchmark of the import: a 10,000-site file, timed and its peak memory measured.

The import runs in a child process so that its peak resident memory is its own (the parent may
have loaded anything before): the child reads its own high-water mark (``VmHWM``), since its
``ru_maxrss`` would start from the parent's peak. Sites come from the demo generator
(fictional, real communes, three quarters with coordinates to check against the commune
outlines); no geocoder is used, so the figure does not depend on the network.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import settings
from operators.demo import OPERATORS, demo_csv, demo_frame

_CHILD = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
from operators.accounts import ROLE_ADMIN, Account
from operators.importer import import_file
from operators.repository import Registry
ADMIN = Account("bench", ROLE_ADMIN)
registry = Registry(Path(sys.argv[2]))
result = import_file(Path(sys.argv[1]), registry, geocoder=None,
                     rejects_dir=Path(sys.argv[3]), actor=ADMIN)
seconds = time.perf_counter() - start
# The child's own high-water mark (VmHWM, Linux): ru_maxrss would start from the parent's
# peak (Linux carries the forking process's high-water mark over exec), here the memory
# used to generate the file.
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    with open("/proc/self/status") as status:
        peak_mb = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "imported": result.imported,
                  "rejected": result.rejected, "sites": registry.count_sites()}))
"""


_BIGCELL_CHILD = """
import json, sys, time
from pathlib import Path
from operators.accounts import ROLE_ADMIN, Account
from operators.importer import ImportFileError, import_file
from operators.repository import Registry
registry = Registry(Path(sys.argv[2]))
start = time.perf_counter()
try:
    import_file(Path(sys.argv[1]), registry, geocoder=None, rejects_dir=Path(sys.argv[3]),
                actor=Account("bench", ROLE_ADMIN))
    refused = False
except ImportFileError:
    refused = True
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak_mb = next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "refused": refused}))
"""


def bench_bigcell() -> list[str]:
    """Lines ``registry_xlsx_bigcell_s`` and ``registry_xlsx_bigcell_peak_mb``: a workbook of
    about 300 KB holding one cell of 300 MB must be refused in under 2 s and 300 MB (issue
    #23; it once peaked at 4,3 GB). The peak is the whole child process's (Python, pandas and
    the registry modules included)."""
    from tests.test_hostile_files import big_cell

    with tempfile.TemporaryDirectory(prefix="bench-cellule-") as tmp:
        folder = Path(tmp)
        path = folder / "cellule_300Mo_fait_main.xlsx"
        path.write_bytes(big_cell(300))
        completed = subprocess.run(
            [sys.executable, "-c", _BIGCELL_CHILD, str(path), str(folder / "registre.gpkg"),
             str(folder / "rejets")],
            cwd=settings.PROJECT_ROOT, capture_output=True, text=True, check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"Benchmark de la cellule démesurée en échec : "
                               f"{completed.stderr[-2000:]}")
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
        if not figures["refused"]:
            raise RuntimeError("Le classeur à la cellule de 300 Mo a été importé.")
    return [f"bench registry_xlsx_bigcell_s {figures['seconds']:.2f} s",
            f"bench registry_xlsx_bigcell_peak_mb {figures['peak_mb']:.0f} MB"]


GENERATED_MAX = 20_000  # larger files repeat a generated block under other identifiers


def bench_file(n: int, folder: Path) -> Path:
    """A CSV of ``n`` fictional sites (deterministic).

    Up to :data:`GENERATED_MAX` sites come straight from the demo generator; beyond, a block
    of that size is repeated with new identifiers and names (a file of 200,000 distinct sites
    without generating each point one by one).
    """
    import pandas as pd

    per_scale = sum(op.sites for op in OPERATORS)
    block = min(n, GENERATED_MAX)
    frame = demo_frame(scale=math.ceil(block / per_scale) + 0.5)
    frame = frame.sample(n=block, random_state=0) if len(frame) > block else frame
    if n > block:
        copies = []
        for k in range(math.ceil(n / block)):
            copy = frame.copy()
            if k:
                copy["Identifiant"] = copy["Identifiant"] + f"-R{k}"
                copy["Nom du site"] = copy["Nom du site"] + f" (copie {k})"
            copies.append(copy)
        frame = pd.concat(copies, ignore_index=True).iloc[:n]
    path = folder / f"bench_{n}_sites_FICTIF.csv"
    path.write_bytes(demo_csv(frame))
    return path


def measure_import(n: int = 10_000) -> dict:
    """Import ``n`` sites into a fresh SQLite registry in a child process; its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-registre-") as tmp:
        folder = Path(tmp)
        path = bench_file(n, folder)
        completed = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(folder / "registre.gpkg"),
             str(folder / "rejets")],
            cwd=settings.PROJECT_ROOT, capture_output=True, text=True, check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"Benchmark d'import en échec : {completed.stderr[-2000:]}")
        return json.loads(completed.stdout.strip().splitlines()[-1])


def bench_import(n: int | None = None) -> list[str]:
    """Lines ``bench registry_import_10k_s <s> s`` and ``… _peak_mb <MB> MB`` (10,000 and
    200,000 sites when ``n`` is not given; the 200,000-site import must stay under 500 MB)."""
    if n is None:
        return [*bench_import(10_000), *bench_import(200_000), *bench_bigcell()]
    figures = measure_import(n)
    label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    return [
        f"bench registry_import_{label}_s {figures['seconds']:.2f} s",
        f"bench registry_import_{label}_peak_mb {figures['peak_mb']:.0f} MB",
    ]


if __name__ == "__main__":
    for line in bench_import(int(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(line)
