"""End-to-end: the explorer in a real headless Chromium, offline (no CDN, no tile server).

Loads every page, chooses a territory, clicks a commune and reads its profile, changes the
weights and checks the map was re-coloured in place, draws France commune by commune, and
imports an operator's file with row errors. Screenshots go to ``test-artifacts/``.

The server runs on a copy of the operators' registry (``DATABASE_URL`` to a temporary file), so
the import test never writes into the project's registry.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

import settings
from diagnostics.formatting import fr_bytes
from tests import e2e_support as e2e
from tests.test_app_french import offences
from ui import navigation

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")

CREUSE_COMMUNES = 255  # COG 2025
FRANCE_COMMUNES = 34_875
GUERET = "23096"
VIEWPORT = {"width": 1280, "height": 800}
E2E_LOGIN, E2E_PASSWORD = "admin-e2e", "un mot de passe de test assez long"
LARGE_FROM = 8
FIXTURE = settings.PROJECT_ROOT / "tests" / "fixtures" / "app" / "offre_avec_erreurs_fait_main.csv"


@pytest.fixture(scope="module")
def app_url(store, tmp_path_factory):
    if not e2e.chromium_available():
        pytest.skip("Chromium absent : lancez `make system`")
    if not store.exists("filosofi_2021_com"):
        pytest.skip("sources statistiques absentes du stock : lancez `make data`")
    registry = tmp_path_factory.mktemp("registre") / "registre.gpkg"
    project_registry = store.root / "registre.gpkg"
    if project_registry.exists():
        shutil.copy(project_registry, registry)
    from operators.accounts import ROLE_ADMIN, Accounts
    from operators.repository import Registry

    copy = Registry(f"sqlite:///{registry}")
    try:  # an administrator of this copy: only an authenticated person may import
        Accounts(copy).add(None, E2E_LOGIN, ROLE_ADMIN, E2E_PASSWORD, name="Administrateur e2e")
    finally:
        copy.dispose()
    # Above 8 rows a file is checked and written by blocks without a preview (the row-by-row
    # preview of the 5-row fixture is tested as well as the large path, on one server).
    env = {"DATABASE_URL": f"sqlite:///{registry}", "DIAG_APERCU_MAX_LIGNES": str(LARGE_FROM)}
    with e2e.streamlit_server(env=env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page that records script errors and any request leaving this machine."""
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    page = context.new_page()
    page.errors = []
    page.external = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("request", lambda r: page.external.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "data:", "blob:", "about:")) else None)
    yield page
    context.close()


def check_clean(page) -> None:
    assert page.errors == [], page.errors
    assert page.external == [], page.external


def rep_point(store, code: str) -> tuple[float, float]:
    frame = pd.read_parquet(store.path("communes"), columns=["code", "rep_lon", "rep_lat"])
    row = frame[frame["code"] == code].iloc[0]
    return float(row["rep_lat"]), float(row["rep_lon"])


def test_france_map_draws_then_zooms_to_a_territory(app_url, page):
    page.goto(app_url)
    e2e.wait_for_app(page, min_maps=1)
    assert e2e.wait_styled(page)["features"] == 101  # the départements of France
    e2e.screenshot(page, "carte_france")
    assert page.locator("h1").first.inner_text() == "Carte de France"

    # Choose a territory through the search box (accents and case ignored).
    page.get_by_role("textbox", name="Rechercher un lieu").fill("creuse")
    page.keyboard.press("Enter")
    e2e.wait_for_app(page)
    page.get_by_role("button", name="Afficher ce lieu").click()
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText.includes('Creuse')")
    e2e.wait_for_app(page, min_maps=1)
    state = e2e.wait_styled(page)
    assert state["features"] == CREUSE_COMMUNES
    assert e2e.map_feature_count(page) >= CREUSE_COMMUNES
    # The members' sites (default layer), clustered, each with its tooltip; the demo offer's
    # sites say FICTIF.
    sites = e2e.map_marker_texts(page)
    assert sites and all("<b>" in text for text in sites)
    assert any("FICTIF" in text for text in sites)
    e2e.screenshot(page, "carte_creuse")
    check_clean(page)


@pytest.mark.parametrize("name", list(navigation.PAGES))
def test_every_page_loads(app_url, page, name):
    path = "" if name == "carte" else name
    page.goto(f"{app_url}/{path}?territoire=dep:23&commune={GUERET}")
    e2e.wait_rendered(page, min_maps=1 if name in ("carte", "presentation") else 0)
    expected = {
        "carte": "Creuse", "commune": "Guéret (23096)", "classement": "Classement — Creuse",
        "comparer": "Comparer des communes ou des EPCI", "methode": "Méthode",
        "scenarios": "Scénarios — Creuse", "montage": "Montage d'opération",
        "offre": "Offre des membres", "reseaux": "Qui fait quoi où", "presentation": "Creuse",
        "programme": "Programme — Creuse",
    }[name]
    assert expected in page.locator("h1").first.inner_text()
    if name in ("carte", "presentation"):
        assert e2e.wait_styled(page)["features"] == CREUSE_COMMUNES
    if name == "presentation":
        page.set_viewport_size({"width": 1280, "height": 720})  # a projector
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert page.locator(".diag-message").count() == 3
    e2e.screenshot(page, f"page_{name}")
    check_clean(page)


def test_click_a_commune_opens_its_profile(app_url, page, store):
    page.goto(f"{app_url}/?territoire=dep:23")
    e2e.wait_for_app(page, min_maps=1)
    e2e.wait_styled(page)
    page.evaluate(e2e.MARK_FRAME_JS)
    e2e.click_map_at(page, *rep_point(store, GUERET))
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('h3')).some(h => h.innerText.includes('(23096)'))",
        timeout=30_000,
    )
    e2e.wait_for_app(page, min_maps=1)
    panel = page.locator("h3", has_text="Guéret (23096)")
    assert panel.is_visible()
    assert page.get_by_text("Rang national").first.is_visible()
    assert e2e.style_state(page)["probe"] == 1  # the map was re-styled, not reloaded
    e2e.screenshot(page, "carte_clic_commune")
    page.get_by_role("button", name="Fiche complète").click()
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText.includes('Guéret (23096)')")
    e2e.wait_rendered(page)
    assert page.get_by_text("Chiffres clés").is_visible()
    assert page.get_by_text("Offre à portée").is_visible()
    e2e.screenshot(page, "commune_gueret")

    # Compare it with its EPCI.
    page.get_by_role("link", name="Comparer").click()
    e2e.wait_rendered(page)
    page.get_by_role("button", name="+ Guéret (23096)").click()
    e2e.wait_rendered(page)
    page.get_by_role("button", name="+ Communauté d'agglomération du Grand Guéret (EPCI)").click()
    e2e.wait_rendered(page)
    assert page.locator("[data-testid=stDataFrame]").count() >= 1
    e2e.screenshot(page, "comparer_gueret")
    check_clean(page)


def test_changing_the_weights_recolours_the_map(app_url, page):
    page.goto(f"{app_url}/?territoire=dep:23")
    e2e.wait_for_app(page, min_maps=1)
    before = e2e.wait_styled(page)
    page.evaluate(e2e.MARK_FRAME_JS)
    e2e.screenshot(page, "poids_avant")
    preset = page.get_by_role("combobox", name="Pondération de l'indice")
    preset.click()
    page.keyboard.type("ruralit")
    page.keyboard.press("Enter")
    after = e2e.wait_styled(page, before["count"])
    assert after["classes"] != before["classes"]
    assert after["probe"] == 1  # same map, re-coloured in place
    e2e.wait_for_app(page, min_maps=1)
    e2e.screenshot(page, "poids_apres")

    # A slider on « Méthode », then back to the map: still the custom weights.
    page.get_by_role("link", name="Méthode").click()
    e2e.wait_rendered(page)
    page.get_by_role("slider").first.focus()
    page.keyboard.press("End")
    e2e.wait_rendered(page)
    assert page.get_by_text("personnalisé").first.is_visible()
    page.get_by_role("link", name="Carte").click()
    e2e.wait_for_app(page, min_maps=1)
    custom = e2e.wait_styled(page)
    assert custom["classes"] != after["classes"]
    check_clean(page)


PICTURE_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const img = f.contentDocument && f.contentDocument.querySelector('img.diag-picture');
    if (img) return {src: img.getAttribute('src'), width: img.naturalWidth,
                     complete: img.complete, opacity: getComputedStyle(img).opacity};
  }
  return null;
}"""
# How much of the map's frame France takes (west of the insets to Corsica's east, Dunkirk to
# Corsica's south) and where the legend lies.
FRAME_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (!w || !w.map_div || !w.__diagLegendFit) continue;
    const m = w.map_div, size = m.getSize();
    const nw = m.latLngToContainerPoint([51.1, -8.3]), se = m.latLngToContainerPoint([41.3, 9.6]);
    const legend = f.contentDocument.querySelector('.diag-legend');
    const box = m.getContainer().getBoundingClientRect(), l = legend.getBoundingClientRect();
    return {fit: w.__diagLegendFit, width_share: (se.x - nw.x) / size.x, france_bottom: se.y,
            legend_top: l.top - box.top, legend: legend.innerText};
  }
  return null;
}"""
COMMUNE_AT_JS = """(points) => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (w && w.__diag && w.__diag.communeAt && w.__diag.hoverAt)
      return points.map(p => { const hit = w.__diag.communeAt(p); return hit ? hit.c : null; });
  }
  return null;
}"""
HOVER_OUTLINE_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const img = f.contentDocument && f.contentDocument.querySelector('img.diag-hover');
    if (img && img.complete && img.naturalWidth > 0) return true;
  }
  return false;
}"""
TOOLTIP_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const t = f.contentDocument && f.contentDocument.querySelector('.leaflet-tooltip');
    if (t) return t.innerText;
  }
  return null;
}"""


def test_national_map_by_commune(app_url, page, store):
    """France by commune is a picture of the classes: tooltips read the commune under the
    pointer in a picture of numbers, a click opens the commune, the outlines come on zoom."""
    import shapely

    outlines = store.read("communes_grossier", columns=["code", "name", "dep_code", "geometry"])
    assert len(outlines) == FRANCE_COMMUNES
    drawable = int(outlines.geometry.notna().sum())  # a few communes have no outline
    # No overlay (« couches= »): a click on the map must land on a commune, not on a cluster.
    page.goto(f"{app_url}/?echelle=communes&couches=")
    e2e.wait_for_app(page, min_maps=1, timeout_s=120)
    state = e2e.wait_styled(page, timeout_s=120)
    assert state["label"] == "Indice de besoin"
    assert len(state["classes"].split(",")) == FRANCE_COMMUNES
    assert state["features"] == 0  # no outline parsed before the picture is shown
    picture = page.evaluate(PICTURE_JS)
    assert picture["complete"] and picture["width"] == 2000
    assert picture["src"] == state["image"] and "/app/static/generated/img_" in picture["src"]
    # France fills the frame: in this 1280 px window the legend beside France would leave it
    # 360 px of a 600 px frame; the legend goes in a band under it, whole, and hides no land.
    page.wait_for_function("() => Array.from(document.querySelectorAll('iframe')).some(f => "
                           "f.contentWindow && f.contentWindow.__diagLegendFit)", timeout=30_000)
    frame = page.evaluate(FRAME_JS)
    assert frame["fit"]["layout"] == "band" and frame["fit"]["under"] > frame["fit"]["beside"]
    assert frame["fit"]["zoom"] == pytest.approx(frame["fit"]["under"])
    assert frame["width_share"] > 0.65, frame  # mainland France and the overseas insets
    assert frame["legend_top"] >= frame["france_bottom"], frame
    assert all(line in frame["legend"] for line in (
        "Indice de besoin", "Plus foncé = besoin plus fort", "Échelle de 0 à 100",
        "Classes : quantiles", "Source")), frame["legend"]
    e2e.screenshot(page, "carte_france_communes")

    # The commune under a point, read in the browser, is the one whose outline holds it.
    mainland = outlines[outlines["dep_code"].str.len() == 2].dropna(subset=["geometry"])
    sample = mainland.sample(60, random_state=7)
    points = shapely.point_on_surface(sample.geometry.values)
    asked = [[float(p.y), float(p.x)] for p in points]
    page.wait_for_function(f"() => ({COMMUNE_AT_JS})([[46.17, 1.87]]) !== null", timeout=60_000)
    assert page.evaluate(COMMUNE_AT_JS, asked) == sample["code"].tolist()

    # A click: the commune's profile beside the map; a real pointer over it: its tooltip. At
    # this zoom a pixel is 2 to 3 km: Arles (13004, 759 km²) rather than a small commune.
    page.evaluate(e2e.MARK_FRAME_JS)
    lat, lon = rep_point(store, "13004")
    e2e.click_map_at(page, lat, lon)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('h3')).some(h => h.innerText.includes('(13004)'))",
        timeout=30_000,
    )
    e2e.wait_for_app(page, min_maps=1)
    clicked = e2e.wait_styled(page, state["count"])  # the same picture, the commune outlined
    assert clicked["probe"] == 1 and clicked["image"] == state["image"]  # re-styled in place
    point = page.evaluate(e2e.POINT_JS, [lat, lon])
    page.mouse.move(point["x"] + 1, point["y"] + 1)
    page.wait_for_function(f"() => ({TOOLTIP_JS})() && ({TOOLTIP_JS})().includes('Arles (13004)')",
                           timeout=10_000)
    assert "Indice de besoin" in page.evaluate(TOOLTIP_JS)
    page.wait_for_function(HOVER_OUTLINE_JS, timeout=10_000)  # the commune outlined
    e2e.screenshot(page, "carte_france_communes_clic")

    # Another weighting: a new picture in the same map.
    before = e2e.style_state(page)
    preset = page.get_by_role("combobox", name="Pondération de l'indice")
    target = "ruralité" if "ruralit" not in preset.input_value() else "équilibré"
    preset.click()
    page.keyboard.type(target[:6])
    page.keyboard.press("Enter")
    after = e2e.wait_styled(page, before["count"])
    assert after["probe"] == 1 and after["classes"] != before["classes"]
    assert after["image"] != before["image"]
    page.wait_for_function(f"() => ({PICTURE_JS})().src === {after['image']!r}", timeout=30_000)
    assert page.evaluate(PICTURE_JS)["complete"]

    # Zoomed in beyond the picture's resolution: every outline drawn, the picture hidden.
    page.evaluate("""() => { for (const f of document.querySelectorAll('iframe')) {
        const w = f.contentWindow;
        if (w && w.map_div && w.__diag) w.map_div.setView([46.17, 1.87], 10); } }""")
    page.wait_for_function(f"() => ({e2e.STYLE_STATE_JS.strip()})().features === {drawable}",
                           timeout=120_000)
    page.wait_for_function(f"() => ({PICTURE_JS})().opacity === '0'", timeout=30_000)
    e2e.screenshot(page, "carte_france_communes_zoom")
    check_clean(page)


def registry_count(page) -> int:
    """The page's count of the registry's non-confidential sites (its first caption)."""
    text = page.get_by_text(re.compile(r"sites? non confidentiels?\.")).first.inner_text()
    return int(re.search(r": ([\d\u202f\u00a0 ]+)\s*sites?", text).group(1).replace(
        "\u202f", "").replace("\u00a0", "").replace(" ", ""))


def test_import_lists_row_errors_and_offers_the_rejects(app_url, page):
    page.goto(f"{app_url}/offre")
    e2e.wait_rendered(page)
    # An anonymous visitor may not import: the page says so and offers no file input.
    assert page.locator('input[type="file"]').count() == 0
    page.get_by_text("Compte", exact=True).first.click()
    page.get_by_label("Identifiant").fill(E2E_LOGIN)
    page.get_by_label("Mot de passe").fill(E2E_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.locator('input[type="file"]').wait_for(state="attached", timeout=60_000)
    e2e.wait_rendered(page)
    before = registry_count(page)
    # What a screen reader reads of the uploader: French (Streamlit's « Upload » text and its
    # « file upload » input once were read too).
    uploader = page.locator('[data-testid="stFileUploader"]')
    read = uploader.aria_snapshot()
    assert 'button "Parcourir"' in read and "Glissez-déposez le fichier ici" in read, read
    assert not re.search(r"[Uu]pload|[Bb]rowse|[Dd]rag|[Ff]iles?\b|per file", read), read
    with page.expect_file_chooser(timeout=10_000):  # the button still opens the hidden input
        uploader.get_by_role("button", name="Parcourir", exact=True).click()
    page.locator('input[type="file"]').set_input_files(str(FIXTURE))
    page.get_by_role("button", name="Vérifier le fichier").wait_for(timeout=60_000)
    e2e.wait_rendered(page)
    # Once a file is chosen, the only English left is in aria-labels that Streamlit 1.67 writes
    # in its frontend with no parameter to change them (ui/pages/offre.py, UPLOADER_FR): the two
    # buttons' here, and the file chip's « <file>, 481.0B », a plain container that this
    # snapshot (as most screen readers) leaves out.
    read = uploader.aria_snapshot()
    left = read.replace('"Add files"', "").replace(f'"Remove {FIXTURE.name}"', "")
    assert not re.search(r"[Uu]pload|[Bb]rowse|[Ff]iles?\b|\d(?:\.\d)?\s?[KM]?B\b", left), read
    # The uploader as the browser shows it: the file's name, never Streamlit's « 0.5KB »; the
    # page's own caption gives the size in French.
    name = page.locator('[data-testid="stFileChipName"]')
    assert name.get_attribute("title") == FIXTURE.name
    # Everything the uploader shows but the file's own name (an identifier-like file name).
    uploader = page.locator('[data-testid="stFileUploader"]').inner_text().replace(
        name.inner_text(), " ")
    assert not offences([uploader]), offences([uploader])
    assert page.get_by_text(f"« {FIXTURE.name} » ({fr_bytes(FIXTURE.stat().st_size)})").first.is_visible()
    page.locator('[data-testid="stFileUploader"]').screenshot(
        path=str(e2e.ARTIFACTS / "offre_fichier_choisi.png"))
    page.get_by_role("button", name="Vérifier le fichier").click()
    page.get_by_text("Lignes rejetées").first.wait_for(timeout=60_000)
    e2e.wait_rendered(page)
    assert page.get_by_text("ligne 5 : champ « code commune »").first.is_visible() or \
        page.locator("[data-testid=stDataFrame]").count() >= 1
    assert page.get_by_role("button", name="Télécharger les lignes rejetées (CSV)").is_visible()
    e2e.screenshot(page, "offre_verification")
    page.get_by_role("button", name="Importer 2 site(s) dans le registre").click()
    page.get_by_text("importés : 2").wait_for(timeout=60_000)
    e2e.wait_rendered(page)
    # The page already counts the two new sites (no reload), the summary still in sight.
    assert registry_count(page) == before + 2
    assert page.get_by_text("importés : 2").first.is_visible()
    e2e.screenshot(page, "offre_import")
    check_clean(page)


def test_a_large_file_is_checked_and_written_by_blocks(app_url, page, tmp_path):
    """Beyond the preview size the file is never held whole: checked and written block by
    block, with the rejected rows still offered (the bench measures the memory)."""
    rows = [f"Association Blocs;Pension {n};23096;Pension de famille;{10 + n};ouvert;public;oui"
            for n in range(12)]
    rows += ["Association Blocs;Sans commune;99999;Pension de famille;12;ouvert;public;oui",
             "Association Blocs;=Capacité;23096;Hébergement;beaucoup;ouvert;public;oui"]
    path = tmp_path / "offre_grande_fait_main.csv"
    path.write_text(FIXTURE.read_text(encoding="utf-8").splitlines()[0] + "\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")
    page.goto(f"{app_url}/offre")
    e2e.wait_rendered(page)
    e2e.log_in_locally(page, E2E_LOGIN, E2E_PASSWORD)
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("vérifié et écrit par blocs").first.wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Vérifier le fichier").count() == 0  # no preview
    page.get_by_role("button", name="Vérifier et importer le fichier").click()
    page.get_by_text("importés : 12").wait_for(timeout=120_000)
    button = page.get_by_role("button", name="Télécharger les 2 ligne(s) rejetée(s) (CSV)")
    with page.expect_download() as download:
        button.click()
    rejects = download.value.path().read_text(encoding="utf-8-sig")
    assert "99999" in rejects and "'=Capacité" in rejects  # kept, formula neutralised
    e2e.screenshot(page, "offre_import_par_blocs")
    check_clean(page)


def test_territory_report_download(app_url, page):
    page.goto(f"{app_url}/?territoire=dep:23")
    e2e.wait_rendered(page, min_maps=1)
    page.get_by_role("button", name="Rapport et données").click()
    page.get_by_role("combobox", name="Format").click()
    page.keyboard.type("XLSX")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Préparer le fichier").click()
    button = page.get_by_role("button", name="Télécharger diagnostic_creuse.xlsx")
    button.wait_for(timeout=120_000)
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "diagnostic_creuse.xlsx"
    e2e.screenshot(page, "rapport_telechargement")
    check_clean(page)


def test_clicking_a_departement_of_france_opens_it(app_url, page, store):
    page.goto(app_url)
    e2e.wait_for_app(page, min_maps=1)
    e2e.wait_styled(page)
    e2e.click_map_at(page, *rep_point(store, GUERET))  # Guéret is in Creuse
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText === 'Creuse'", timeout=30_000)
    e2e.wait_for_app(page, min_maps=1)
    assert e2e.wait_styled(page)["features"] == CREUSE_COMMUNES
    assert "territoire=dep%3A23" in page.url or "territoire=dep:23" in page.url
    check_clean(page)
