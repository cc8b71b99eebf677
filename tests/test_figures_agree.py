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


AUBUSSON = "23008"


def test_aubusson_scenario_table_and_sentence_agree(need_ready):  # noqa: F811
    # 25 pension de famille places at Aubusson once read « places manquantes 24,9 → 24,7 »
    # beside « au-delà de la référence » rising by 24,5, with no word to join the two, then in
    # whole numbers « +25 » allocated, « −0 » missing and « +24 » beyond. The table's whole
    # numbers add up and the sentence says where the places went from them.
    at = run_app({"territoire": "dep:23"}, "scenarios")
    next(s for s in at.selectbox if s.label == "Commune").set_value(AUBUSSON)
    next(s for s in at.selectbox if s.label == "Type d'offre").set_value("pension_de_famille")
    next(n for n in at.number_input if n.label == "Places").set_value(25)
    next(b for b in at.button if b.label == "Ajouter au scénario").click().run()
    assert not at.exception, [e.value for e in at.exception]
    changes = next(str(m.value) for m in at.markdown if "Changements du scénario" in str(m.value))
    assert "25 places" in changes and "Aubusson" in changes
    summary = at.dataframe[0].value.set_index("Indicateur")
    before, after, change = summary.columns
    missing = summary.loc["Places manquantes pour atteindre la référence"]
    surplus = summary.loc["Places au-delà de la référence"]
    allocated = summary.loc["Places accessibles allouées"]
    fewer = int(missing[before] - missing[after])
    beyond = int(surplus[after] - surplus[before])
    gained = int(allocated[change])  # within the Creuse (catchments cross its border)
    assert 20 < gained <= 25
    assert fewer >= 0 and beyond >= 0
    # Each place the Creuse's communes gain either closes a gap or goes beyond the reference:
    # the whole numbers shown add up, and each row's change is its two figures' difference.
    assert fewer + beyond == gained
    assert (summary[before] + summary[change] == summary[after]).all()
    # As the browser shows it: whole numbers, a signed change, never « −0 » or « +0 ».
    from tests.test_app_french import shown

    display = shown(at.dataframe[0]).set_index("Indicateur")
    cells = [str(v) for v in display.to_numpy().ravel()]
    assert not [c for c in cells if re.fullmatch(r"[+\-\u2212]\s?0(,0*)?", c)], cells
    assert not [c for c in cells if "," in c], cells
    assert display.loc["Places accessibles allouées", change] == f"+{gained}"
    assert display.loc["Places manquantes pour atteindre la référence", change] == (
        f"\u2212{fewer}" if fewer else "0")
    sentences = [str(c.value) for c in at.caption
                 if "au-delà de la référence, dans des communes" in str(c.value)]
    if beyond > fewer:
        assert len(sentences) == 1
        numbers = re.findall(r"environ (\d+) (?:va|vont) au-delà.*; (aucune|une seule|\d+)",
                             sentences[0])
        assert numbers == [(str(beyond), {0: "aucune", 1: "une seule"}.get(fewer, str(fewer)))]
    else:
        assert not sentences
    households = next(str(c.value) for c in at.caption if "voient leur écart changer" in str(c.value))
    assert households.endswith(f"\u2212{gained}\u00a0ménages.")
