"""End-to-end, in Chromium: Carte, Commune and Présentation of the Nord and the Creuse at the
three screen sizes of a meeting room (1366×768 laptop, 1280×720 projector, 1920×1080 screen).

Each view must show the FICTIF banner inside the window (the demo offer enters every page) and,
where there is a map, its whole legend inside the map. The screenshots go to
``test-artifacts/ecran_<page>_<territoire>_<taille>.png`` for a person to look at.
"""

from __future__ import annotations

import pytest

from tests import e2e_support as e2e
from tests.test_app_e2e import app_url, browser  # noqa: F401 (fixtures)
from tests.test_app_e2e_links import _open

pytestmark = pytest.mark.e2e

SIZES = {"1366x768": (1366, 768), "1280x720": (1280, 720), "1920x1080": (1920, 1080)}
VIEWS = {
    "carte": ("/?territoire={spec}", 1),
    "commune": ("/commune?territoire={spec}&commune={commune}", 0),
    "presentation": ("/presentation?territoire={spec}", 1),
}
TERRITORIES = {"nord": ("dep:59", "59512"), "creuse": ("dep:23", "23096")}

BANNER_JS = """() => {
  const b = document.querySelector('.fictif-banner');
  if (!b) return null;
  const r = b.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: b.innerText,
          width: window.innerWidth, height: window.innerHeight};
}"""
EDGE_JS = """() => {
  const e = document.querySelector('.fictif-edge');
  if (!e) return null;
  const r = e.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, height: window.innerHeight};
}"""
# The map brought into the window (a laptop or a projector scrolls to it), then its legend
# must lie whole inside the map and inside the window.
LEGEND_INSIDE_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    let d; try { d = f.contentDocument; } catch (e) { continue; }
    if (!d) continue;
    const legend = d.querySelector('.diag-legend');
    const map = d.querySelector('.leaflet-container');
    if (!legend || !map) continue;
    f.scrollIntoView({block: "end"});
    const o = f.getBoundingClientRect();
    const l = legend.getBoundingClientRect(), m = map.getBoundingClientRect();
    const top = o.top + l.top, bottom = o.top + l.bottom;
    return {inside: l.top >= m.top - 1 && l.bottom <= m.bottom + 1 && l.left >= m.left - 1
                    && l.right <= m.right + 1,
            visible: top >= 0 && bottom <= window.innerHeight + 1,
            legend: [l.left, top, l.right, bottom], window: window.innerHeight};
  }
  return null;
}"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("territory", list(TERRITORIES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_meeting_screens_show_the_banner_and_the_whole_legend(app_url, browser, view, territory,  # noqa: F811
                                                              size):
    width, height = SIZES[size]
    spec, commune = TERRITORIES[territory]
    path, maps = VIEWS[view]
    context, page = _open(browser, app_url + path.format(spec=spec, commune=commune),
                          viewport={"width": width, "height": height}, maps=maps)
    try:
        page.wait_for_timeout(1200)  # the slide's map takes the window's height after drawing
        page.evaluate("() => window.scrollTo(0, 0)")
        banner = page.evaluate(BANNER_JS)
        assert banner is not None, "bandeau FICTIF absent"
        assert banner["top"] >= 0 and banner["bottom"] <= height, banner
        assert "FICTIVE" in banner["text"] and "DÉMONSTRATION" in banner["text"]
        edge = page.evaluate(EDGE_JS)
        assert edge is not None and edge["bottom"] <= height + 1 and edge["top"] < height, edge
        if maps:
            legend = page.evaluate(LEGEND_INSIDE_JS)
            assert legend is not None and legend["inside"] and legend["visible"], legend
            page.wait_for_timeout(300)
            edge = page.evaluate(EDGE_JS)  # still there once scrolled
            assert edge is not None and edge["bottom"] <= height + 1, edge
        e2e.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(e2e.ARTIFACTS / f"ecran_{view}_{territory}_{size}.png"))
        assert page.errors == [], page.errors
    finally:
        context.close()
