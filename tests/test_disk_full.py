"""A full disk during an import or a snapshot (issue #23): a French message without the SQL
statement nor any row of the file, nothing written, and the command line exits 1 without a
traceback. The full disk is real for SQLite: ``PRAGMA max_page_count`` caps the database file.

Hand-made files (written in this test).
"""

from __future__ import annotations

import errno

import pytest
from sqlalchemy import event

from operators import snapshots as snap
from operators.importer import import_file
from operators.repository import Registry, RegistryError
from tests.account_support import ADMIN

HEADER = "Opérateur;Identifiant;Nom;Adresse;Code INSEE;Type;Nb places;Statut;Confidentialité"


def rows(n: int) -> bytes:
    lines = [f"Asso A;A{i};Refuge SECRET {i};{i} rue Cachée;23096;CHRS;12;ouvert;confidentiel"
             for i in range(n)]
    return ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")


@pytest.fixture
def full_registry(tmp_path, store):
    registry = Registry(tmp_path / "registre.gpkg")
    with registry.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(registry.engine, "connect")
    def _cap(dbapi_connection, _record):  # the disk is full a few pages further
        dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages) + 3}")

    yield registry
    registry.dispose()


def test_an_import_on_a_full_disk_says_so_without_row_data(full_registry, tmp_path):
    with pytest.raises(RegistryError) as caught:
        import_file(rows(3000), full_registry, name="plein.csv", geocoder=None, actor=ADMIN,
                    rejects_dir=tmp_path)
    message = str(caught.value)
    assert "disque est plein" in message and "rien n'a été écrit" in message
    assert "SECRET" not in message and "Cachée" not in message and "INSERT" not in message
    assert full_registry.count_sites() == 0
    log = full_registry.import_log()
    assert not log["message"].fillna("").str.contains("SECRET|Cachée|INSERT").any()


def test_a_snapshot_on_a_full_disk_says_so(tmp_path, store):
    registry = Registry(tmp_path / "registre.gpkg")
    import_file(rows(300), registry, name="a.csv", geocoder=None, actor=ADMIN)
    with registry.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    event.listen(registry.engine, "connect", lambda c, _r: c.execute(
        f"PRAGMA max_page_count = {int(pages) + 1}"))
    with pytest.raises(RegistryError, match="disque est plein") as caught:
        snap.take_snapshot(registry, ADMIN, "2024-12-31")
    assert "SECRET" not in str(caught.value)
    registry.dispose()


def test_the_command_line_prints_one_french_line(full_registry, tmp_path, capsys, monkeypatch):
    from operators import __main__ as cli

    with full_registry.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar())

    class FullDisk(Registry):  # the command's own registry, on the same capped disk
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            event.listen(self.engine, "connect", lambda c, _r: c.execute(
                f"PRAGMA max_page_count = {pages + 3}"))

    monkeypatch.setattr(cli, "Registry", FullDisk)
    main = cli.main
    path = tmp_path / "plein.csv"
    path.write_bytes(rows(3000))
    code = main(["--base", str(full_registry.path), "import", str(path), "--sans-geocodage",
                 "--rejets", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "SECRET" not in err, err
    assert "disque est plein" in err


def test_a_rejects_file_on_a_full_disk_is_said_in_french():
    from geodata import files

    error = OSError(errno.ENOSPC, "No space left on device", "/srv/data/rejets.csv")
    assert "disque plein" in files.os_error_fr(error)


_EXPORT_ON_A_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from operators.importer import import_file
from operators.repository import Registry
from tests.account_support import ADMIN
folder = Path(sys.argv[1])
registry = Registry(folder / "registre.gpkg")
import_file(Path(sys.argv[2]), registry, geocoder=None, actor=ADMIN, rejects_dir=folder)
registry.dispose()
from operators.__main__ import main
# From here every file the process writes is capped: the disk is « full » at 60 KB.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
sys.exit(main(["--base", str(folder / "registre.gpkg"), "export", str(folder / "e.xlsx")]))
"""


def test_an_xlsx_export_on_a_full_disk_is_one_french_line(tmp_path, store):
    import subprocess
    import sys

    import settings

    source = tmp_path / "sites.csv"
    public = rows(2000).decode("utf-8").replace(";confidentiel", ";public")
    source.write_text(public, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _EXPORT_ON_A_FULL_DISK, str(tmp_path),
                           str(source)], capture_output=True, text=True,
                          cwd=settings.PROJECT_ROOT, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if not line.startswith("Aucun compte")]
    assert len(lines) == 1 and lines[0].startswith("Erreur : fichier inaccessible"), lines
    assert "trop grand" in lines[0] or "disque plein" in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "e.xlsx").exists()
