"""A yearly update file against the stored registry (issue #23): the stored level of a site
holds when the file says nothing of it, the stricter level is the one geocoded, and no address
leaves for the BAN before the writer is checked.

Hand-made files (written in this test); the geocoder is a recording stand-in that answers
nothing: what matters is what it was sent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from operators.accounts import ANONYMOUS, AccessDenied
from operators.importer import import_file, prepare_import, write_prepared

FULL = "Opérateur;Identifiant;Nom;Adresse;Code INSEE;Type;Nb places;Statut;Confidentialité"
FIRST = [
    "Asso A;A1;Pension Guéret;3 rue Public;23096;Pension de famille;25;ouvert;public",
    "Asso A;A2;Refuge Guéret;12 rue SECRETE;23096;CHRS;12;ouvert;confidentiel",
    "Asso A;A3;Maison Guéret;5 rue Commune;23096;CHRS;8;ouvert;commune",
]
# The yearly update: same sites, new capacities, no confidentiality column.
UPDATE = "Opérateur;Identifiant;Nom;Adresse;Code INSEE;Type;Nb places;Statut"
UPDATE_ROWS = [
    "Asso A;A1;Pension Guéret;3 rue Public;23096;Pension de famille;26;ouvert",
    "Asso A;A2;Refuge Guéret;12 rue SECRETE;23096;CHRS;14;ouvert",
    "Asso A;A3;Maison Guéret;5 rue Commune;23096;CHRS;9;ouvert",
]


def data(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


class RecordingBan:
    """Records every address sent; answers « not found » (no network)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def geocode_csv(self, frame, address_columns, citycode_column=None, postcode_column=None):
        for record in frame.to_dict("records"):
            self.sent.append(" ".join(str(record[c]) for c in address_columns if record[c]))
        out = frame.copy()
        out["result_status"] = "not-found"
        for column in ("latitude", "longitude", "result_score"):
            out[column] = float("nan")
        for column in ("result_label", "result_type", "result_id", "result_citycode"):
            out[column] = None
        return out


@pytest.fixture(autouse=True)
def first_file(registry, people):
    """Alice's sites stored before each test: public, confidential, located at the commune."""
    import_file(data(FULL, FIRST), registry, name="a.csv", geocoder=None, actor=people["alice"])


def levels(registry) -> dict[str, str]:
    sites = pd.DataFrame(registry.sites())
    return dict(zip(sites["source_id"], sites["confidentiality"], strict=True))


def test_a_file_without_the_column_keeps_the_stored_levels(registry, people, tmp_path):
    ban = RecordingBan()
    result = import_file(data(UPDATE, UPDATE_ROWS), registry, name="maj.csv", geocoder=ban,
                         actor=people["alice"], rejects_dir=tmp_path)
    assert result.updated == 3 and result.rejected == 0
    assert levels(registry) == {"A1": "public", "A2": "confidentiel", "A3": "commune"}
    assert not any("SECRETE" in address for address in ban.sent), ban.sent
    sites = pd.DataFrame(registry.sites()).set_index("source_id")
    assert sites.loc["A2", "capacity"] == 14  # the update itself went through


def test_an_empty_cell_keeps_the_stored_level_too(registry, people, tmp_path):
    rows = [r.rsplit(";", 1)[0] + ";" for r in FIRST]
    import_file(data(FULL, rows), registry, name="maj.csv", geocoder=None,
                actor=people["alice"], rejects_dir=tmp_path)
    assert levels(registry) == {"A1": "public", "A2": "confidentiel", "A3": "commune"}


def test_the_preview_sends_no_stored_confidential_address(registry, people):
    """« Vérifier le fichier » (prepare_import) with the registry: the stored level is the one
    geocoded, even when the file lowers it explicitly; the import is then refused unless the
    lowering is confirmed."""
    lowered = [FIRST[0], FIRST[1].replace(";confidentiel", ";public"), FIRST[2]]
    for content in (data(UPDATE, UPDATE_ROWS), data(FULL, lowered)):
        ban = RecordingBan()
        prepared = prepare_import(content, "maj.csv", geocoder=ban, registry=registry,
                                  actor=people["alice"])
        assert ban.sent, "the public site's address is geocoded (the test can fail)"
        assert not any("SECRETE" in address for address in ban.sent), ban.sent
    # The file's explicit, lower level is what the import asks: refused without confirmation.
    with pytest.raises(AccessDenied, match="moins confidentiel"):
        write_prepared(prepared, registry, actor=people["alice"])
    assert levels(registry)["A2"] == "confidentiel"
    # Without the registry (the old path) the address would have gone: the test can fail.
    ban = RecordingBan()
    prepare_import(data(UPDATE, UPDATE_ROWS), "maj.csv", geocoder=ban)
    assert any("SECRETE" in address for address in ban.sent)


@pytest.mark.parametrize("path", ["import", "preview"])
def test_no_address_leaves_before_the_writer_is_checked(registry, people, path):
    """Bob (Asso B) sends a file naming Asso A's sites: refused before any geocoding."""
    ban = RecordingBan()
    rows = [r.replace(";confidentiel", ";public") for r in FIRST]
    with pytest.raises(AccessDenied):
        if path == "import":
            import_file(data(FULL, rows), registry, name="b.csv", geocoder=ban,
                        actor=people["bob"])
        else:
            prepare_import(data(FULL, rows), "b.csv", geocoder=ban, registry=registry,
                           actor=people["bob"])
    assert ban.sent == []
    # An anonymous visitor cannot make the server geocode anything either.
    with pytest.raises(AccessDenied):
        prepare_import(data(FULL, rows), "b.csv", geocoder=ban, registry=registry,
                       actor=ANONYMOUS)
    assert ban.sent == []
