"""Figures on one screen agree with each other (issue « chiffres qui s'accordent »).

Each test opens a page on the real local store (demo registry) and checks that a headline, its
caption and the table beneath come from the same thing.
"""

from __future__ import annotations

import re

from tests.test_app_pages import need_ready, run_app  # noqa: F401

ROUBAIX = "59512"


def test_roubaix_caption_counts_the_rows_of_its_sites_table(need_ready):  # noqa: F811
    # Roubaix holds no site of the demo but two services cover it: the caption once said
    # « situés dans la commune : 0 » above a table of two rows.
    at = run_app({"territoire": "dep:59", "commune": ROUBAIX}, "commune")
    caption = next(str(c.value) for c in at.caption if "Sites non confidentiels" in str(c.value))
    table = next(df.value for df in at.dataframe if "Présence" in df.value.columns)
    located = int((table["Présence"] == "situé dans la commune").sum())
    services = int((table["Présence"] == "service couvrant la commune").sum())
    shown = re.search(r"situés dans la commune : (< 3|\d+)", caption).group(1)
    assert (shown == "< 3" and 0 < located < 3) or int(shown) == located
    if services:
        assert f"{services} service" in caption
    else:
        assert "couvrant la commune" not in caption
    assert located + services == len(table) and services == 2


ARRENES = "23006"


def test_arrenes_headline_class_and_table_agree(need_ready):  # noqa: F811
    # Arrènes (218 inhabitants, a handful of target households) once read « Places manquantes 0 »
    # beside « très en dessous de la référence » and « Places allouées 0,0 » above a table of
    # 5,5 / 40,7 / 22,3 places. The class of a commune this small is its EPCI's, and says so;
    # places are whole numbers; the headline is the table's total.
    from ui import gap as gap_mod
    from ui import need

    at = run_app({"territoire": "dep:23", "commune": ARRENES}, "commune")
    metrics = {m.label.replace(" (FICTIF)", ""): m.value for m in at.metric}
    table = next(df.value for df in at.dataframe if "Places manquantes" in df.value.columns)
    class_text = next(str(m.value) for m in at.markdown if "Classe d'écart" in str(m.value))
    bundle = gap_mod.gap_bundle(need.need_model())
    row = bundle.frame.set_index("code").loc[ARRENES]
    assert row["class_scale"] == "EPCI"
    assert class_text.startswith("Classe d'écart de l'EPCI") and "jugée avec son EPCI" in class_text
    assert f"**{row['reference_class']}**" in class_text
    assert "Classe d'écart de l'EPCI" in table.columns
    counted = table[table["Compté dans le total"] == "oui"]
    missing = sum(int(v) for v in counted["Places manquantes"] if v not in ("—",))
    assert metrics["Places manquantes"] == str(missing) == str(round(row["missing_total"]))
    allocated = metrics["Places allouées à la commune"]
    assert allocated == ("moins de 1" if 0 < row["allocated_total"] < 1 else
                         str(round(row["allocated_total"])))
    for column in ("Places des structures à portée (FICTIF)", "Places allouées à la commune",
                   "Places manquantes"):
        assert not any("," in str(v) for v in table[column]), column  # whole places
