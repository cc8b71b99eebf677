"""Benchmark of the connectors: every source built from a local folder into a temporary store."""

from __future__ import annotations

import logging
import resource
import tempfile
import time
from pathlib import Path

from connectors.refresh import STATUS_BUILT, refresh
from geodata.store import Store

log = logging.getLogger(__name__)


def bench_refresh(from_dir: Path) -> list[str]:
    """Build every source from ``from_dir`` into a temporary store; return bench lines.

    The reference geography is read from the project's store. Peak memory is the process's
    maximum resident set size (``resource.getrusage``), which includes what was in memory
    before the call.
    """
    reference_store = Store()
    with tempfile.TemporaryDirectory(prefix="bench_connectors_") as tmp:
        started = time.perf_counter()
        results = refresh(from_dir=Path(from_dir), store=Store(Path(tmp)),
                          reference_store=reference_store, force=True, progress=False)
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    built = sum(r.status == STATUS_BUILT for r in results)
    log.info("bench : %d sources construites sur %d", built, len(results))
    return [
        f"bench connectors_refresh_all_s {elapsed:.2f} s",
        f"bench connectors_refresh_peak_mb {peak_mb:.0f} MB",
    ]
