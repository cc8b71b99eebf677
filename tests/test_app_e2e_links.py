"""End-to-end, in Chromium: a view passed on as a link opens the same in another browser.

A view is built in one browser context (the Nord, a weighting preset, national classes, the QPV
layer), every page is reached through the side menu, its address is read and opened in a new
context (empty cache and session): the page's text and the map's colours must be the same. The
« Copier le lien » button gives the address with the map's zoom. Screenshots (Présentation at
1920×1080, the Nord with its legend beside the territory) go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests import e2e_support as e2e
from tests.test_app_e2e import app_url, browser, check_clean  # noqa: F401 (fixtures)
from ui import navigation

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1280, "height": 800}
MAIN_TEXT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main ? main.innerText : '';
}"""
COPIED_LINK_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    try { const l = f.contentDocument.body.dataset.link; if (l) return l; } catch (e) {}
  }
  return null;
}"""
LEGEND_BOX_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (!w || !w.__diag || !w.__diag.layers.main) continue;
    const legend = f.contentDocument.querySelector('.diag-legend');
    const map = Object.keys(w).map(k => w[k]).find(m => w.L && m instanceof w.L.Map);
    const bounds = w.__diag.layers.main.layer.getBounds();
    const ne = map.latLngToContainerPoint(bounds.getNorthEast());
    const sw = map.latLngToContainerPoint(bounds.getSouthWest());
    const r = legend.getBoundingClientRect();
    const font = parseFloat(getComputedStyle(legend).fontSize);
    return {territoryRight: ne.x, territoryBottom: sw.y, legendLeft: r.left, legendTop: r.top,
            font: font, mapHeight: map.getContainer().clientHeight,
            frameHeight: f.getBoundingClientRect().height};
  }
  return null;
}"""


def _open(browser, url: str, viewport: dict = VIEWPORT, maps: int = 1):  # noqa: F811
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    page.errors = []
    page.external = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("request", lambda r: page.external.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "data:", "blob:", "about:")) else None)
    page.goto(url)
    e2e.wait_rendered(page, min_maps=maps, timeout_s=120)
    return context, page


def _drawn(page) -> dict:
    text = page.evaluate(MAIN_TEXT_JS)
    text = re.sub(r"Lien copié[^\n]*|Copiez le lien[^\n]*", "", text)
    state = e2e.style_state(page)
    return {"text": text.strip(),
            "map": None if state is None else (state["classes"], state["label"], state["features"])}


MAP_PAGES = {"carte", "presentation", "scenarios"}


def test_every_page_link_opens_the_same_view_in_a_fresh_browser(app_url, browser):  # noqa: F811
    start = (f"{app_url}/?territoire=dep:59&indicateur=need:score&classes=quantiles&nb=6"
             "&nationales=1&couches=qpv&ponderation=ruralit%C3%A9")
    context, page = _open(browser, start)
    try:
        order = [p for p in navigation.PAGES if p != "presentation"] + ["presentation"]
        for name in order:
            title = navigation.PAGES[name][0]
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
            time.sleep(1.0)
            e2e.wait_rendered(page, min_maps=1 if name in MAP_PAGES else 0, timeout_s=120)
            url = page.url
            query = parse_qs(urlparse(url).query)
            assert query.get("territoire") == ["dep:59"], (name, url)
            assert query.get("ponderation") == ["ruralité"], (name, url)
            assert query.get("nb") == ["6"] and query.get("nationales") == ["1"], (name, url)
            here = _drawn(page)
            other_context, other = _open(browser, url, maps=1 if name in MAP_PAGES else 0)
            try:
                assert _drawn(other) == here, name
                check_clean(other)
            finally:
                other_context.close()
        check_clean(page)
    finally:
        context.close()


def test_copy_link_gives_the_zoom_and_the_legend_leaves_the_territory_free(app_url, browser):  # noqa: F811
    context, page = _open(browser, f"{app_url}/?territoire=dep:59")
    try:
        drawn = e2e.style_state(page)
        box = page.evaluate(LEGEND_BOX_JS)
        # The Nord is fitted left of the legend (the Avesnois, south-east, is not under it).
        assert box["territoryRight"] <= box["legendLeft"] + 2, box
        e2e.screenshot(page, "carte_nord_legende")
        page.frame_locator("iframe[title='st.iframe']").first.get_by_role(
            "button", name=re.compile("Copier le lien")).click()
        time.sleep(0.5)
        link = page.evaluate(COPIED_LINK_JS)
        assert (link and "territoire=dep%3A59" in link) or "territoire=dep:59" in (link or ""), link
        assert re.search(r"zoom=[0-9.\-]+(%2C|,)[0-9.\-]+(%2C|,)[0-9.]+", link), link
    finally:
        context.close()
    other_context, other = _open(browser, link)
    try:
        again = e2e.style_state(other)
        assert (again["features"], again["classes"]) == (drawn["features"], drawn["classes"])
    finally:
        other_context.close()


def test_presentation_fills_a_1920x1080_screen(app_url, browser):  # noqa: F811
    context, page = _open(browser, f"{app_url}/presentation?territoire=dep:59",
                          viewport={"width": 1920, "height": 1080})
    try:
        time.sleep(1.5)  # the map takes the screen's height after its first drawing
        box = page.evaluate(LEGEND_BOX_JS)
        assert box["mapHeight"] >= 0.75 * 1080, box
        assert box["font"] >= 18, box
        text = page.evaluate(MAIN_TEXT_JS)
        assert re.search(r"Situation au \d\d/\d\d/\d{4}", text)
        assert "Données : INSEE" in text
        page.screenshot(path=str(e2e.ARTIFACTS / "presentation_1920x1080.png"))
    finally:
        context.close()
