"""The page « Offre des membres » lists a rejected row's errors one per line, field first, the
short ones before a long list of accepted values (issue « chiffres qui s'accordent »: all
errors of a row once sat in one narrow cell, the 16 accepted types first)."""

from __future__ import annotations

import pandas as pd

from operators.validation import reason_fr
from ui.pages.offre import errors_by_field


def test_errors_of_a_row_one_per_line_field_first():
    reason = reason_fr("ligne 7", [
        ("type d'offre", "« truc » inconnu ; types acceptés : " + ", ".join(f"type {i}" for i in
                                                                          range(16))),
        ("commune", "commune « 99999 » inconnue"),
        ("capacité", "« 1e308 » dépasse le plafond de 20 000"),
    ])
    errors = errors_by_field(pd.Series([reason, "ligne 9 : fichier illisible"]),
                             pd.Series([7, 9]))
    assert list(errors.columns) == ["Ligne", "Champ", "Erreur"]
    assert errors["Champ"].tolist() == ["commune", "capacité", "type d'offre", "ligne"]
    assert errors["Ligne"].tolist() == [7, 7, 7, 9]
    assert errors.iloc[2]["Erreur"].startswith("« truc » inconnu ; types acceptés : type 0")
    assert errors.iloc[3]["Erreur"] == "fichier illisible"
