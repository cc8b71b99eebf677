"""Key messages of the « Présentation » page: figures and the names they cite agree."""

from __future__ import annotations

import pandas as pd

from ui.pages.presentation import key_messages


def test_half_of_need_names_only_the_communes_that_hold_it():
    need = pd.DataFrame({
        "code": ["A", "B", "C", "D", "E"],
        "name": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"],
        "need_households": [600.0, 300.0, 50.0, 30.0, 20.0],
        "need_households_low": [500.0, 250.0, 40.0, 20.0, 10.0],
        "need_households_high": [700.0, 350.0, 60.0, 40.0, 30.0],
        "status": ["calculé"] * 5,
        "rank": [1, 2, 3, 4, 5],
        "top_decile_robust": [True, False, False, False, False],
    })
    first = key_messages(list(need["code"]), need, None)[0]
    assert first["figure"] == "1\u202f000"
    # 600 of 1 000 households: half of the need lives in Alpha alone.
    assert "La moitié vit dans 1 commune : Alpha." in first["text"]
    assert "autres" not in first["text"]
