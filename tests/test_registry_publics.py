"""Publics vocabulary: usual spellings, several per site, old free text mapped or flagged."""

from __future__ import annotations

import pandas as pd
import pytest

from operators import publics as pub
from operators.schema import FAMILIES, INPUT_FIELD_BY_NAME, SITE_COLUMNS
from settings import PROJECT_ROOT

SCHEMA = (PROJECT_ROOT / "operators" / "SCHEMA.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Jeunes de moins de 30 ans", ("jeunes",)),
        ("Jeunes 18-25 ans", ("jeunes",)),
        ("FJT : jeunes de 16 à 30 ans", ("jeunes",)),
        ("Sortants de l'ASE", ("sortants_ase",)),
        ("Jeunes majeurs ASE", ("sortants_ase",)),
        ("PPSMJ", ("sortants_prison",)),
        ("Personnes sous main de justice", ("sortants_prison",)),
        ("Sortants de psychiatrie / handicap psychique", ("sante_psychique",)),
        ("Personnes en souffrance psychique", ("sante_psychique",)),
        ("Femmes victimes de violences conjugales", ("femmes_violences",)),
        ("Mères isolées", ("familles_monoparentales",)),
        ("Personnes âgées isolées", ("personnes_agees",)),
        ("Chibanis", ("migrants_ages",)),
        ("Gens du voyage sédentarisés", ("gens_du_voyage",)),
        ("Ménages prioritaires (DALO)", ("menages_dalo",)),
        ("Bénéficiaires de la protection internationale", ("asile_refugies",)),
        ("SDF", ("sans_domicile",)),
        ("Tous publics", ("tout_public",)),
        ("TOUT PUBLIC", ("tout_public",)),
    ],
)
def test_usual_spellings_are_read(text, codes):
    parsed = pub.parse_publics(text)
    assert parsed.codes == codes and parsed.unknown == ()


def test_several_publics_per_site_and_stored_codes_read_back():
    parsed = pub.parse_publics("Sortants de prison et femmes victimes de violences ; DALO")
    assert parsed.codes == ("sortants_prison", "femmes_violences", "menages_dalo")
    assert parsed.text == "sortants_prison;femmes_violences;menages_dalo"
    assert pub.parse_publics(parsed.text).codes == parsed.codes  # an internal export re-imports


def test_ambiguous_old_text_is_kept_and_flagged_not_guessed():
    for text in ("Ménages modestes", "Adultes en situation de handicap"):
        parsed = pub.parse_publics(text)
        assert parsed.codes == () and parsed.unknown == (text,)
        flags = pub.flags_for(parsed, text)
        assert len(flags) == 1 and f"« {text} »" in flags[0] and "à préciser" in flags[0]
    mixed = pub.parse_publics("Jeunes, ménages modestes")
    assert mixed.codes == ("jeunes",) and mixed.unknown == ("ménages modestes",)
    assert pub.parse_publics("").codes == () and pub.parse_publics(None).unknown == ()


def test_keyword_reading_is_reported():
    parsed = pub.parse_publics("Jeunes apprentis")
    assert pub.flags_for(parsed, "Jeunes apprentis") == [
        "public accueilli lu comme : Jeunes de moins de 30 ans"
    ]
    assert pub.flags_for(pub.parse_publics("Tout public"), "Tout public") == []


def test_filter_on_publics():
    cells = pd.Series(["jeunes;sortants_ase", "menages_dalo", None, "tout_public"])
    assert pub.has_any(cells, ["sortants_ase", "menages_dalo"]).tolist() == [True, True, False,
                                                                             False]


def test_every_public_is_read_against_families_and_documented():
    assert set(pub.PUBLIC_FAMILIES) == set(pub.LABELS)
    for code, families in pub.PUBLIC_FAMILIES.items():
        assert families and set(families) <= set(FAMILIES), code
    table = pub.mapping_table()
    assert len(table) == len(pub.PUBLICS)
    for public in pub.PUBLICS:
        assert f"| `{public.code}` | {public.label} |" in SCHEMA, public.code
    for name in ("activity_year", "occupancy_rate", "households_entered", "households_left",
                 "exits_to_housing", "average_stay_months", "waiting_list"):
        assert f"| {INPUT_FIELD_BY_NAME[name].label} |" in SCHEMA, name
    assert "publics" in SITE_COLUMNS
