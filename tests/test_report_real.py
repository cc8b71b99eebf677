"""Real reports for Nord (59) and Creuse (23), from the real shared data.

The PDF's text (pdftotext) must hold the store's figures for the largest communes, formatted in
French; no page may be blank; the HTML must make no external request (parsed, and loaded in a
headless Chromium with the network recorded); confidential sites must be absent; a site called
``<script>alert(1)</script>`` must print as text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image, ImageStat

from diagnostics.formatting import fr_number, fr_percent
from tests import report_support as support

TERRITORIES = {"dep:59": "59", "dep:23": "23"}

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils absent : lancez `make system`",
)


@pytest.fixture(scope="module", params=list(TERRITORIES))
def territory(request, shared_data):
    return request.param


@pytest.fixture(scope="module")
def pdf_path(territory, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / f"{TERRITORIES[territory]}.pdf"
    path.write_bytes(support.rendered(territory)["pdf"])
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf_path) -> str:
    """The PDF's text laid out as on the page (one table row per line)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True,
                         text=True, check=True)
    return support.normalise_spaces(out.stdout)


@pytest.fixture(scope="module")
def pdf_words(pdf_path) -> str:
    """The PDF's text in reading order, every run of spaces and line breaks as one space (a
    name wrapped inside a table cell reads whole)."""
    out = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True,
                         check=True)
    return " ".join(support.normalise_spaces(out.stdout).split())


def _html_text(html: str) -> str:
    import html as html_module

    return support.normalise_spaces(html_module.unescape(html))


def _store_row(dataset: str, code: str) -> pd.Series:
    frame = support.report_store().read(dataset)
    return frame[frame["code"] == code].iloc[0]


def test_pdf_holds_the_store_figures_of_the_largest_communes(territory, pdf_text):
    store = support.report_store()
    dep = TERRITORIES[territory]
    communes = store.read("communes", columns=["code", "name", "dep_code", "population"])
    largest = communes[communes["dep_code"] == dep].nlargest(3, "population")
    lines = pdf_text.splitlines()
    for _, commune in largest.iterrows():
        label = f"{commune['name']} ({commune['code']})"
        rows = [line for line in lines if label in line and fr_number(commune["population"]).replace(
            "\u202f", " ") in line]
        assert rows, f"ligne de {label} absente du tableau des communes les plus peuplées"
        row = rows[0]
        filo = _store_row("filosofi_2021_com", commune["code"])
        income = support.normalise_spaces(fr_number(filo["median_income"]) + "\u00a0€")
        assert income in row, f"{label} : revenu médian {income} absent de « {row} »"
        if pd.notna(filo["poverty_rate"]):
            rate = support.normalise_spaces(fr_percent(filo["poverty_rate"]))
            assert rate in row, f"{label} : taux de pauvreté {rate} absent de « {row} »"
    total = support.normalise_spaces(fr_number(communes.loc[communes["dep_code"] == dep, "population"].sum()))
    assert f"{total} habitants" in pdf_text


def test_synthesis_says_fictif_beside_demo_figures(territory, pdf_words):
    # The report's sites are imported as fictional: every figure built on them says FICTIF.
    start = pdf_words.index("Synthèse", pdf_words.index("Sommaire") + 10)
    synthesis = pdf_words[start:pdf_words.index("Portrait du territoire", start)]
    message = synthesis[synthesis.index("Places manquantes pour atteindre la référence") - 40:]
    # The key figure reads « 260 (FICTIF) » (before or after its title in reading order).
    assert re.search(r"\d[\d ]* \(FICTIF\)", message[:120]), message[:600]
    assert "Offre FICTIVE" in message, message[:600]
    assert "sous le seuil" not in synthesis.replace("personnes sous le seuil", "")
    assert "couvre" not in synthesis
    for low_high in re.findall(r"\((\d[\d ]*) – (\d[\d ]*)\)", pdf_words):
        assert low_high[0] != low_high[1], "intervalle dégénéré imprimé"


def test_pdf_has_a_table_of_contents_with_page_numbers(pdf_text):
    """Each entry of the contents gives the page where its section's title is printed (the
    leader is dots with WeasyPrint, a dotted line with Chromium)."""
    pages = pdf_text.split("\f")
    toc_page = next(i for i, page in enumerate(pages) if "Sommaire" in page)
    toc = pages[toc_page]
    for title in ("Synthèse", "Portrait du territoire", "Besoins", "Offre des adhérents",
                  "Écarts entre besoins et offre", "Leviers d'action", "Méthode et sources"):
        found = re.search(rf"^\s*{re.escape(title)}[\s.]*?(\d+)\s*$", toc, re.MULTILINE)
        assert found, f"« {title} » sans numéro de page"
        number = int(found.group(1))
        assert number > toc_page + 1
        assert re.search(rf"^\s*\d+\. {re.escape(title)}\s*$", pages[number - 1], re.MULTILINE), (
            f"« {title} » : la page {number} ne commence pas la section")
    assert re.search(r"Page \d+ sur \d+", pdf_text)


def test_no_pdf_page_is_blank(pdf_path, tmp_path):
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf_path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 10
    for page in pages:
        image = Image.open(page).convert("L")
        # The body, without the running header and footer (present on every page).
        body = image.crop((0, int(image.height * 0.07), image.width, int(image.height * 0.92)))
        stddev = ImageStat.Stat(body).stddev[0]
        inked = sum(body.histogram()[:200]) / (body.width * body.height)
        assert stddev > 4 and inked > 0.002, f"page blanche : {page.name}"


def test_maps_have_a_legend_and_are_drawn(territory):
    images = support.rendered(territory)["images"]
    assert {"besoin", "revenu_median", "densite", "ecart", "offre"} <= set(images)
    for key, png in images.items():
        image = Image.open(__import__("io").BytesIO(png)).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50, f"carte {key} sans contenu"


def test_confidential_sites_are_absent_everywhere(territory, pdf_words):
    html = _html_text(support.rendered(territory)["html"])
    for word in support.CONFIDENTIAL_WORDS:
        assert word not in pdf_words
        assert word not in html
    name, address = support.COMMUNE_LEVEL[TERRITORIES[territory]]
    assert name in html and name in pdf_words  # named at the commune level …
    assert address not in html and address not in pdf_words  # … without its address
    assert support.PUBLIC_NAMES[TERRITORIES[territory]] in pdf_words


def test_site_named_script_prints_as_text(territory, pdf_words):
    assert support.XSS_NAME in pdf_words
    html = support.rendered(territory)["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert support.XSS_NAME not in html


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.srcdocs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data", "poster", "action") and value:
                self.urls.append(value)
            if name == "srcdoc" and value:
                self.srcdocs.append(value)


def _external(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = [u for u in parser.urls if not u.startswith(("data:", "#"))]
    for inner in parser.srcdocs:
        found += _external(inner)
    found += re.findall(r"url\((?!['\"]?data:)[^)]*\)", html)
    found += re.findall(r"@import\s", html)
    return found


def test_html_makes_no_external_request_parsed(territory):
    html = support.rendered(territory)["html"]
    assert "<iframe" in html and "srcdoc=" in html
    assert _external(html) == []


@pytest.mark.e2e
def test_html_makes_no_request_in_chromium(territory, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests import e2e_support as e2e

    if not e2e.chromium_available():
        pytest.skip("Chromium absent : lancez `make system`")
    path = tmp_path / "rapport.html"
    path.write_text(support.rendered(territory)["html"], encoding="utf-8")
    requests, dialogs = [], []
    with sync_api.sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(1500)
        frame = page.frame_locator("iframe.interactive-map")
        drawn = frame.locator(".leaflet-container canvas, .leaflet-container path").count()
        choices = frame.locator(".diag-chooser input[type=radio]").count()
        browser.close()
    assert path.as_uri() in requests  # the recorder saw the page itself
    external = [u for u in requests if not u.startswith(("data:", "about:", path.as_uri()))]
    assert external == []
    assert dialogs == []  # the <script> site name never ran
    assert drawn > 0 and choices >= 4


def test_every_pdf_page_carries_the_fictif_banner(territory, pdf_path):
    # The report's sites are fictional: the banner is printed in the top margin of every page,
    # so no page of figures resting on the demo offer can be torn out without it.
    from pypdf import PdfReader

    from diagnostics.report import FICTIF_BANNER

    reader = PdfReader(str(pdf_path))
    head = " ".join(FICTIF_BANNER.split()[:4])  # « OFFRE FICTIVE DE DÉMONSTRATION — »
    missing = [number for number, page in enumerate(reader.pages, start=1)
               if head not in " ".join(support.normalise_spaces(page.extract_text() or "").split())]
    assert not missing, f"pages sans le bandeau FICTIF : {missing}"


def test_html_opens_on_the_fictif_banner(territory):
    html = support.rendered(territory)["html"]
    body = html[html.index("<body"):]
    assert body.index('class="fictif-banner"') < body.index('class="cover"')


def test_poverty_trend_is_told_only_on_enough_published_communes(territory):
    # The Creuse has 4 of its 255 communes published in 2019 and 2021: the synthesis must not say
    # « une pauvreté en hausse » of the territory; the key figure names the 4 communes instead.
    from diagnostics.sections.common import TREND_MIN_COMMUNES, TREND_MIN_HOUSEHOLD_SHARE
    from diagnostics.sections.portrait import territory_totals

    diag = support.diagnostic(territory)
    titles = [b.title for b in diag.section("synthese").blocks if type(b).__name__ == "KeyMessage"]
    trend_said = any(t.startswith("Une pauvreté") for t in titles)
    from diagnostics.inputs import gather

    communes = gather(territory, support.report_store(), use_registry=False,
                      use_models=False).communes
    inputs_totals = territory_totals(communes)
    enough = (inputs_totals["poverty_change_communes"] >= TREND_MIN_COMMUNES
              and inputs_totals["poverty_change_coverage"] >= TREND_MIN_HOUSEHOLD_SHARE)
    assert trend_said == enough
    if territory == "dep:23":
        assert inputs_totals["poverty_change_communes"] == 4 and not trend_said


def test_pdf_text_is_french(territory, pdf_words):
    # The report's pages read like the app's (tests/test_app_french.py): no identifier, file,
    # raw Python value, English word or plural, decimal point or « : » stuck to its word.
    from tests.test_app_french import offences

    text = re.sub(r"/\s+", "/", pdf_words)  # an address wrapped at a slash reads whole
    found = offences(re.split(r"(?<=[.;])\s", text))  # sentence by sentence, for the message
    # pdftotext reads a table's cells in columns: a cell's « : » can land after a word of the
    # next cell, so the colon rule is the app's only (tests/test_app_french.py).
    found = [f for f in found if not f.startswith("deux-points collé")]
    assert not found, "\n".join(dict.fromkeys(found))


def test_report_maps_hatch_estimated_values(territory):
    # A commune whose poverty rate is under secrecy has an estimated need: its need and gap
    # maps hatch it (static maps and the interactive map), and the legend says how many.
    from diagnostics.interactive import features

    diag = support.diagnostic(territory)
    by_key = {m.key: m for m in diag.maps()}
    hatched = set(by_key["besoin"].hatched_codes())
    assert hatched and hatched == set(by_key["ecart"].hatched_codes())
    frame = diag.exports.get("besoin")
    if frame is not None and "Taux de pauvreté estimé" in frame.columns:
        assert len(hatched) == int(frame["Taux de pauvreté estimé"].eq("oui").sum())
    if territory == "dep:23":
        assert len(hatched) == 251  # of 255 communes: only 4 are published
    collection = features(diag.geo[diag.geo.geometry.notna()], [by_key["besoin"]])
    flagged = {f["properties"]["n"].rsplit("(", 1)[1].rstrip(")") for f in collection["features"]
               if f["properties"]["h"].get("besoin")}
    assert flagged == hatched
    from diagnostics.interactive import interactive_map_html

    page = interactive_map_html(diag)
    assert "valeur estim" in page and '"h": {"besoin": 1' in page.replace("\\", "")
