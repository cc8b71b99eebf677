"""« Offre des membres » after an import: the page shows the registry as it now is, in the same
session, without a manual reload, and keeps the import's summary in sight.

The page draws the registry's sites (list, counts) and the FICTIF banner before its import form;
an import made in a script run used to be seen only at the next click. AppTest drives the page as
an operator account: upload, « Vérifier le fichier », « Importer », then reads what the page
shows right after. Files are hand-made in this test (Creuse communes).
"""

from __future__ import annotations

import re

import settings
from operators.importer import import_file
from tests.account_support import app_session, log_in
from tests.test_accounts import ASSO_A, HEADER, csv
from tests.test_app_french import offences, page_texts
from ui import fictif

NEW_SITES = [
    "Asso A;A3;Maison des Tilleuls;23008;Pension de famille;20;ouvert;public",
    "Asso A;A4;Résidence du Lac;23008;Résidence sociale;30;ouvert;public",
]
# As streamlit_app.py runs it: the banner above the page, drawn before it; the page's file
# executed afresh at every run, as st.navigation does (its classes are new objects each time).
SCRIPT = (
    "import runpy\n"
    "from ui import fictif\n"
    "from ui.auth import sidebar_login\n"
    "fictif.banner()\n"
    "sidebar_login()\n"
    f"runpy.run_path({str(settings.PROJECT_ROOT / 'ui' / 'pages' / 'offre.py')!r}, "
    "run_name='__main__')\n"
)


def _sites_listed(at) -> list[str]:
    for frame in at.dataframe:
        value = frame.value
        if "Site" in value.columns and "Diffusion" in value.columns and "Adresse" not in value:
            return value["Site"].astype(str).tolist()
    return []


def _named_count(at) -> str | None:
    found = [m.value for m in at.metric if m.label == "Sites nommés"]
    return found[0] if found else None


def _has_banner(at) -> bool:
    return any(fictif.BANNER_TEXT in str(m.value) for m in at.markdown)


def test_imported_sites_are_listed_right_after_the_import(registry, people, monkeypatch):
    import_file(csv(ASSO_A[:1]), registry, name="a.csv", geocoder=None, actor=people["alice"])
    at = log_in(app_session(registry, monkeypatch, SCRIPT, timeout=180), "alice")
    assert _sites_listed(at) == ["Pension Guéret"]
    assert _named_count(at) == "< 3"
    assert not _has_banner(at)  # no fictional site yet

    data = ("\n".join([HEADER + ";Fictif", *(f"{row};oui" for row in NEW_SITES)]) + "\n")
    at.file_uploader(key="offre_file").upload("nouveaux-sites-fait-main.csv", data.encode("utf-8"),
                                               "text/csv")
    at.run()
    next(b for b in at.button if b.label == "Vérifier le fichier").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric if m.label == "Sites valides"] == ["2"]
    next(b for b in at.button if b.label == "Importer 2 site(s) dans le registre").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    # The summary of the import is on screen...
    assert any("importés : 2" in s.value for s in at.success), [s.value for s in at.success]
    assert any(f.value.get("Issue") is not None and len(f.value) == 2 for f in at.dataframe
               if "Issue" in f.value.columns)
    # ...and the page already reads the registry as it now is: list, count, caption, banner.
    assert sorted(_sites_listed(at)) == [
        "Pension Guéret", "[FICTIF] Maison des Tilleuls", "[FICTIF] Résidence du Lac"]
    assert _named_count(at) == "3"
    assert any(": 3\xa0sites non confidentiels." in c.value for c in at.caption), [
        c.value for c in at.caption]
    assert _has_banner(at), "bandeau FICTIF absent juste après l'import de sites fictifs"
    # The page after the import reads in French: rows' outcomes included (no « None », no
    # « point_commune »).
    found = offences(page_texts(at))
    assert not found, "\n".join(found)

    # The summary is shown once: the next click shows the page without it.
    at.run()
    assert not any("importés" in s.value for s in at.success)
    assert _named_count(at) == "3"


def test_rows_outcomes_read_in_french():
    """A rejected row's missing commune and location read « — », a method in words."""
    import pandas as pd

    from ui.pages.offre import outcomes_fr

    shown = outcomes_fr(pd.DataFrame({
        "ligne": ["ligne 2", "ligne 4"], "issue": ["importé", "rejeté"],
        "detail": ["nouveau", "ligne 4 : champ « capacité » : vide"],
        "commune_code": ["23096", None], "geocode_method": ["point_commune", None]}))
    assert shown.to_dict("records") == [
        {"Ligne": "ligne 2", "Issue": "importé", "Détail": "nouveau", "Commune": "23096",
         "Localisation": "au point de la commune"},
        {"Ligne": "ligne 4", "Issue": "rejeté", "Détail": "ligne 4 : champ « capacité » : vide",
         "Commune": "—", "Localisation": "—"}]


def test_the_demo_offer_shows_at_once_with_its_banner(registry, people, monkeypatch):
    """An administrator loads the demo offer: the banner above the page and the count of sites
    follow in the same session, the summary under the button."""
    at = log_in(app_session(registry, monkeypatch, SCRIPT, timeout=300), "admin")
    assert not _has_banner(at)
    assert any("Le registre est vide" in i.value for i in at.info)
    at.button(key="offre_demo").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _has_banner(at), "bandeau FICTIF absent juste après le chargement de la démonstration"
    assert any("importés : " in s.value for s in at.success), [s.value for s in at.success]
    assert not any("Le registre est vide" in i.value for i in at.info)
    counted = [int(re.sub(r"\D", "", c.value.split(" : ")[1].split("sites")[0]))
               for c in at.caption if "sites non confidentiels." in c.value]
    assert counted and counted[0] > 100, counted  # 130 demo sites, a few of them confidential


def test_a_one_row_file_is_described_in_french():
    """The caption under the uploader (« 1 lignes de données » was seen on a one-row file)."""
    from operators.readers import read_table

    described = read_table(csv(ASSO_A[:1]), "un-site.csv").describe_fr()
    assert described.endswith("1 ligne de données") and not offences([described]), described
    assert read_table(csv(ASSO_A), "deux.csv").describe_fr().endswith("2 lignes de données")
