"""The territory report's « Programme pour combler l'écart » section (Creuse, project store and
registry): the section is there, its figures are the programme's, FICTIF beside each figure on
the demo offer, and its tables reach the XLSX."""

from __future__ import annotations

import pytest

from diagnostics.document import Notice, Table
from tests import report_support as support


@pytest.fixture(scope="module")
def creuse(shared_data):
    return support.diagnostic("dep:23")


def test_creuse_report_has_the_programme_section(creuse):
    section = next((s for s in creuse.sections if s.id == "programme"), None)
    assert section is not None, [s.id for s in creuse.sections]
    tables = {b.key: b for b in section.blocks if isinstance(b, Table) and b.key}
    families = tables["programme_familles"].data
    assert {"famille", "places_manquantes", "investissement", "subvention_etat_fnap",
            "fonctionnement_annuel"} <= set(families.columns)
    assert "programme_familles" in creuse.exports
    if families["FICTIF"].eq("FICTIF").all():
        assert any(isinstance(b, Notice) and "FICTIF" in b.text for b in section.blocks)
        for table in (b for b in section.blocks if isinstance(b, Table)):
            for row in table.rows:
                for cell, numeric in zip(row, table.numeric, strict=False):
                    if numeric and any(ch.isdigit() for ch in cell) and "€" in cell:
                        assert "FICTIF" in cell or " à " in cell, (table.title, cell)


def test_programme_figures_are_the_gap_outputs_programme(creuse):
    section = next(s for s in creuse.sections if s.id == "programme")
    families = next(b for b in section.blocks if isinstance(b, Table)
                    and b.key == "programme_familles").data
    operations = creuse.exports.get("programme_operations")
    if operations is not None and len(operations):
        invest = next(c for c in operations.columns if c.lower().startswith("investissement"))
        assert families["investissement"].sum() == pytest.approx(operations[invest].sum())
