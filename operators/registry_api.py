"""What the registry's satellite modules (accounts, activity, snapshots) need of the registry,
without importing ``operators.repository`` (which imports them): the timestamp of a write and
the shape of the registry object they are handed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd
import sqlalchemy as sa


def now_iso() -> str:
    """The time of a write, UTC, to the second (ISO 8601)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class RegistryLike(Protocol):
    """The parts of :class:`operators.repository.Registry` the satellite modules use."""

    engine: sa.Engine
    tables: dict[str, sa.Table]

    def write_transaction(self) -> AbstractContextManager[sa.Connection]: ...

    def sites(self, where: sa.ColumnElement | None = None,
              include_closed: bool = False) -> pd.DataFrame: ...

    def coverage(self) -> pd.DataFrame: ...


__all__ = ["RegistryLike", "now_iso"]
