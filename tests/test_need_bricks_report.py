"""The need brick by brick in the report and the XLSX: the per-commune sheet « Briques du
besoin », the OTELO comparison, what the figures cannot see, the legend naming the reference.
Hand-made targets (fait main) from tests/test_target_households.py."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from diagnostics import exports
from diagnostics.sections import bricks
from diagnostics.sections import gap as gap_section
from models import gap_reference as gr
from models import target_households as th
from tests.test_target_households import _with_owners


@pytest.fixture(scope="module")
def targets() -> pd.DataFrame:
    result = th.compute_targets(_with_owners())
    frame = result.frame.copy()
    frame["name"] = ["Commune X", "Commune Y"]
    frame.attrs["availability"] = dict(result.availability)
    return frame


def test_commune_sheet_has_owners_and_tenants(targets):
    sheet = bricks.commune_bricks(targets).set_index("Code commune")
    owners = [c for c in sheet.columns if c.startswith("Propriétaires")]
    tenants = [c for c in sheet.columns if c.startswith("Locataires")]
    assert "Propriétaires pauvres (maintien) — central" in owners
    assert "Locataires pauvres du privé — central" in tenants
    # Hand-computed in tests/test_target_households.py: X 56 (32 – 76), Y in zone C 5 (2 – 10).
    assert sheet.loc["Y", "Locataires pauvres du privé — central"] == 5
    assert sheet.loc["Y", "Locataires pauvres du privé — bas"] == 2
    assert sheet.loc["Y", "Locataires pauvres du privé — haut"] == 10
    assert sheet.loc["X", "Propriétaires pauvres (maintien) — central"] == 11
    assert "TP60TOL1" in sheet.loc["X", "Propriétaires pauvres (maintien) — source"]
    # An absent source: « non disponible » and its reason, the figures empty (never 0).
    assert sheet.loc["X", "Sans logement personnel — source"].startswith("non disponible")
    assert pd.isna(sheet.loc["X", "Sans logement personnel — central"])
    for word in ("central", "bas", "haut", "source"):
        assert f"Hébergés en structure, sortie vers le logement — {word}" in sheet.columns


def test_sheet_written_in_the_workbook(targets):
    table = bricks.bricks_table(targets, "fait main")
    assert table.key == "briques_besoin"
    used: set[str] = set()
    name = exports.sheet_name(table.key, used)
    assert name == "Briques du besoin"
    data = exports.workbook_bytes([(name, table.data)], "test")
    read = pd.read_excel(io.BytesIO(data), sheet_name=name, dtype={"Code commune": str})
    assert read.loc[read["Code commune"] == "Y", "Locataires pauvres du privé — central"].item() == 5
    # The territory table: the flow and the « dont » brick are said as such.
    labels = [row[0] for row in table.rows]
    assert any("flux à 6 ans" in label for label in labels)
    assert any("« dont »" in label for label in labels)


def test_otelo_table_covers_every_brick_of_the_method():
    table = bricks.otelo_table()
    named = " ".join(row[0] for row in table.rows)
    for brick in ("B11", "B12", "B13", "B14", "B15", "B16", "B17", "B21", "B22"):
        assert brick in named
    computed = {row[0].split()[0]: row[3] for row in table.rows}
    assert computed["B15"] == "non" and computed["B13"] == "oui"
    assert all(row[4] for row in table.rows), "chaque brique dit ce qui est laissé de côté"


def test_limits_said_once():
    text = " ".join(bricks.LIMITS_FR)
    assert "logement collectif" in text and "sans domicile" in text
    assert "non disponibles" in text and "ne valent pas 0" in text


def test_legend_names_the_reference_and_the_scale():
    meta = {"reference_method_fr": gr.METHODS["comparable"]}
    assert gap_section.reference_legend_title(meta).endswith(
        f"(référence : {gr.METHODS['comparable']})")
    note = gr.living_area_note_fr()
    assert "moins de 20 ménages cibles" in note and "EPCI" in note and "sans classe" in note


def test_national_table_beside_published_orders(targets):
    result = th.compute_targets(_with_owners())
    table = bricks.national_table(th.national_totals(result))
    labels = [row[0] for row in table.rows]
    assert any(label.startswith("Propriétaires occupants pauvres") for label in labels)
    assert table.key == "briques_nationales"
