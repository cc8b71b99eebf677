"""End-to-end: the app in a real headless Chromium, offline (no CDN, no tile server)."""

from __future__ import annotations

import pytest

from tests import e2e_support as e2e

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url(store):
    if not e2e.chromium_available():
        pytest.skip("Chromium absent : lancez `make system`")
    with e2e.streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        yield browser
        browser.close()


def test_france_map_draws_then_zooms_to_a_territory(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "data:", "blob:", "about:")) else None)
    page.goto(app_url)
    e2e.wait_for_app(page, min_maps=1)
    e2e.screenshot(page, "carte_france")
    assert e2e.map_feature_count(page) == 101  # the départements of France
    assert page.get_by_text("Carte de France").is_visible()

    # Choose a territory through the search box (accents and case ignored).
    page.get_by_role("textbox", name="Rechercher un lieu").fill("creuse")
    page.keyboard.press("Enter")
    e2e.wait_for_app(page)
    page.get_by_role("button", name="Afficher ce lieu").click()
    e2e.wait_for_app(page, min_maps=1)
    page.wait_for_function("() => document.querySelector('h1') && "
                           "document.querySelector('h1').innerText.includes('Creuse')")
    e2e.wait_for_app(page, min_maps=1)
    e2e.screenshot(page, "carte_creuse")
    assert e2e.map_feature_count(page) == 255  # communes of Creuse (COG 2025)
    assert external == [], external
    page.close()
