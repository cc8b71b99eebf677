"""A throw-away PostgreSQL/PostGIS server for the tests.

Started from the Debian binaries (``/usr/lib/postgresql/*/bin``, packages ``postgresql-15`` and
``postgresql-15-postgis-3``) in a temporary folder, listening on a unix socket only, as the
``postgres`` system user when the tests run as root (``initdb`` refuses root). The caller is
skipped, with the reason, when the binaries or PostGIS are absent.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Callable[[], str]]:
    """A throw-away PostgreSQL cluster; yields a function making a fresh database URL."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL absent : aucun binaire dans /usr/lib/postgresql/*/bin "
            "(paquets Debian postgresql-15 et postgresql-15-postgis-3)"
        )
    version = bindir.parent.name
    if not Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
        pytest.skip(f"PostGIS absent pour PostgreSQL {version} (paquet postgresql-{version}-postgis-3)")
    base = Path(tempfile.mkdtemp(prefix="registre-pg-"))
    run_as: dict = {}
    if os.geteuid() == 0:  # initdb refuses to run as root
        account = pwd.getpwnam("postgres") if _has_user("postgres") else pwd.getpwnam("nobody")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    data, sockets = base / "data", base / "sock"
    subprocess.run(["mkdir", "-p", str(sockets)], check=True, **run_as)
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "registre", "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True, capture_output=True, **run_as,
    )
    options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w",
         "start"],
        check=True, capture_output=True, **run_as,
    )
    counter = iter(range(1000))
    admin = sa.create_engine(
        f"postgresql+psycopg://registre@/postgres?host={sockets}", isolation_level="AUTOCOMMIT"
    )

    def new_database() -> str:
        name = f"registre_{next(counter)}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        return f"postgresql://registre@/{name}?host={sockets}"

    try:
        yield new_database
    finally:
        admin.dispose()
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, **run_as,
        )
        shutil.rmtree(base, ignore_errors=True)
