"""Speed of the explorer measured in a real browser (``make bench`` calls :func:`bench_app`).

Each figure is read in the browser itself: the map's styling script stamps
``window.__diag.styledAt`` (``Date.now()``, on the animation frame that paints the styled map)
and a load time is that stamp minus the page's ``performance.timeOrigin`` (the start of the
navigation). Each load uses a fresh browser context, so the browser's cache is empty: the
outlines are downloaded and parsed every time.

* ``app_server_ready_s`` (:func:`bench_meeting`, median of three starts): from starting the
  server (``python -m ui.serve``, as ``make run``) to its answering: the launcher prepares the
  first page's data before the server listens (model results read from the disk cache; the
  very first run of the need model on a machine takes about half a minute more);
* ``app_cold_start_s``: first page of that freshly started server;
* ``app_first_map_dep_once_s``: a département's commune map (Nord, 648 communes), page loaded
  from scratch, server caches warm but this département never drawn before, from the start of
  the navigation (``app_first_map_dep_s``, the issue's line, is the median of
  :func:`bench_meeting`); ``app_first_map_dep_after_load_s`` the same from the end of the
  page's own load (Streamlit's scripts parsed, 1.0–1.4 s here);
* ``app_rescore_redraw_s``: from choosing another weight preset to the re-coloured map;
* ``app_national_dep_s``, ``app_national_epci_s``: France by département, by EPCI;
* ``app_national_communes_s``: France by commune (34,875 communes: a picture of their
  classes rendered on the server, ``ui/commune_picture.py``, under the départements'
  outlines); ``app_national_communes_hover_s``: until its tooltips are ready (the picture of
  the communes' numbers and their names, loaded after the map shows);
* ``app_national_communes_outlines_mb``: what the map of France by commune reads from
  ``static/generated/`` before it shows (départements' outlines and the picture; the
  communes' outlines, 10.7 MB, only once the map is zoomed in).

Targets (issue « explorer »): département ≤ 2 s, re-scoring ≤ 1 s, national view ≤ 3 s,
national communes ≤ 5 s. Issue « réunion »: ``app_cold_first_map_s`` (the first page with a
map of a freshly started server, the same figure as ``app_cold_start_s``) ≤ 3 s,
``app_first_map_dep_s`` ≤ 1.5 s, ``app_national_s`` (France by département, the national view
opened first) ≤ 3 s. ``bench_meeting`` (``python -m tests.bench_app --reunion``) gives these three
as medians over three freshly started servers, and ``app_streamlit_floor_s``: a one-line
Streamlit page (« bonjour »), the time below which no page of the app can be shown here.

A visit's first map is sent alone and the script pauses (``DIAG_PAUSE_PREMIERE_CARTE``, 1 s)
before the rest of the page: the browser shows a batch of new elements only once the code of
every new kind of element has loaded, so the map used to wait for the sidebar's widgets.
"""

from __future__ import annotations

import statistics
import time

from tests import e2e_support as e2e

STYLED_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (w && w.__diag && w.__diag.styledAt) {
      return {at: w.__diag.styledAt, count: w.__diag.styledCount || 0};
    }
  }
  return null;
}"""
OUTLINES_SIZE_JS = """() => {
  let total = 0;
  for (const f of document.querySelectorAll('iframe')) {
    try {
      const w = f.contentWindow;
      if (!w.__diag || !w.__diag.firstStyledAt) continue;
      const shown = w.__diag.firstStyledAt - w.performance.timeOrigin;
      for (const e of w.performance.getEntriesByType('resource')) {
        if (e.name.includes('/generated/') && e.responseEnd <= shown) total += e.decodedBodySize || 0;
      }
    } catch (err) {}
  }
  return total;
}"""
# When the tooltips of France by commune are ready (0: not yet; null: a map without them).
HOVER_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (w && w.__diag && w.__diag.communeAt) return w.__diag.hoverAt || 0;
  }
  return null;
}"""
VIEWPORT = {"width": 1280, "height": 800}
# End of the page's own load (Streamlit's bundle parsed), from the navigation start, in ms.
LOADED_JS = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def _line(name: str, value: float, unit: str) -> str:
    return f"bench {name} {value:.3f} {unit}"


def _wait_styled(page, after: int = 0, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = page.evaluate(STYLED_JS)
        if found and found["count"] > after:
            return found
        time.sleep(0.05)
    raise TimeoutError("La carte ne s'est pas colorée à temps.")


def load_time(browser, url: str) -> tuple[float, object, object]:
    """Seconds from navigation start to the styled map, in a fresh context (empty cache)."""
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
    page = context.new_page()
    page.goto(url)
    styled = _wait_styled(page)
    origin = page.evaluate("() => performance.timeOrigin")
    page.styled_after_load = (styled["at"] - origin - page.evaluate(LOADED_JS)) / 1000.0
    return (styled["at"] - origin) / 1000.0, page, context


def rescore_time(page) -> float:
    """Choose another preset in the Carte sidebar; seconds until the map is re-coloured."""
    e2e.wait_for_app(page, min_maps=1)
    before = _wait_styled(page)
    current = page.get_by_role("combobox", name="Pondération de l'indice")
    shown = current.input_value() if current.count() else ""
    target = "ruralité" if "ruralit" not in shown else "équilibré"
    current.click()
    page.keyboard.type(target[:6])
    start = page.evaluate("() => Date.now()")
    page.keyboard.press("Enter")
    styled = _wait_styled(page, before["count"])
    return (styled["at"] - start) / 1000.0


def bench_app(repeat: int = 3) -> list[str]:
    """The explorer's speed figures, as ``bench <name> <value> <unit>`` lines."""
    if not e2e.chromium_available():
        return ["# Application : Chromium absent (make system), mesures non faites"]
    from playwright.sync_api import sync_playwright

    lines: list[str] = []  # app_server_ready_s: bench_meeting (section « reunion »)
    with e2e.streamlit_server() as url, sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        try:
            seconds, page, context = load_time(browser, f"{url}/?territoire=dep:23")
            lines.append(_line("app_cold_start_s", seconds, "s"))
            context.close()
            for warm in ("dep:07", "dep:93"):  # warm the server's shared caches
                _s, _p, ctx = load_time(browser, f"{url}/?territoire={warm}")
                ctx.close()
            first, first_page, ctx = load_time(browser, f"{url}/?territoire=dep:59")
            after_load = first_page.styled_after_load
            ctx.close()
            # app_first_map_dep_s itself: the median of bench_meeting (section « reunion »)
            lines.append(_line("app_first_map_dep_once_s", first, "s"))
            lines.append(_line("app_first_map_dep_after_load_s", after_load, "s"))
            again = []
            for _ in range(repeat):
                seconds, _p, ctx = load_time(browser, f"{url}/?territoire=dep:59")
                again.append(seconds)
                ctx.close()
            lines.append(_line("app_map_dep_again_s", statistics.median(again), "s"))

            _s, page, ctx = load_time(browser, f"{url}/?territoire=dep:59")
            redraws = [rescore_time(page) for _ in range(repeat)]
            ctx.close()
            lines.append(_line("app_rescore_redraw_s", statistics.median(redraws), "s"))

            for level, name in (("departements", "app_national_dep_s"),
                                ("epci", "app_national_epci_s")):
                times = []
                for _ in range(repeat):
                    seconds, page, ctx = load_time(browser, f"{url}/?echelle={level}")
                    times.append(seconds)
                    ctx.close()
                lines.append(_line(name, statistics.median(times), "s"))
            lines.extend(national_communes_lines(browser, url, repeat))
        finally:
            browser.close()
    return lines


def national_communes_lines(browser, url: str, repeat: int = 3) -> list[str]:
    """``app_national_communes_s`` (median), ``app_national_communes_hover_s`` and
    ``app_national_communes_outlines_mb``."""
    times, hovers, size = [], [], 0
    for _ in range(repeat):
        seconds, page, ctx = load_time(browser, f"{url}/?echelle=communes")
        times.append(seconds)
        size = max(size, page.evaluate(OUTLINES_SIZE_JS) or 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and page.evaluate(HOVER_JS) == 0:
            time.sleep(0.05)
        hover = page.evaluate(HOVER_JS)
        if hover:
            hovers.append((hover - page.evaluate("() => performance.timeOrigin")) / 1000.0)
        ctx.close()
    lines = [f"# app_national_communes_s : {' '.join(f'{t:.2f}' for t in times)}",
             _line("app_national_communes_s", statistics.median(times), "s")]
    if hovers:
        lines.append(_line("app_national_communes_hover_s", statistics.median(hovers), "s"))
    if size:
        lines.append(_line("app_national_communes_outlines_mb", size / 1e6, "MB"))
    return lines


def bench_national_communes(repeat: int = 3) -> list[str]:
    """France by commune and the floor of a bare Streamlit page only (the issue's « under 2 ×
    the bare page »), with their ratio: ``python -m tests.bench_app --communes``."""
    if not e2e.chromium_available():
        return ["# Application : Chromium absent (make system), mesures non faites"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        try:
            with e2e.streamlit_server() as url:
                _s, _page, ctx = load_time(browser, f"{url}/?territoire=dep:23")  # first visit
                ctx.close()
                lines = national_communes_lines(browser, url, repeat)
            floor = floor_time(browser, repeat)
        finally:
            browser.close()
    lines.append(_line("app_streamlit_floor_s", floor, "s"))
    communes = next(float(x.split()[2]) for x in lines if x.startswith("bench app_national_communes_s"))
    lines.append(f"# rapport France par commune / page Streamlit nue : {communes / floor:.2f}")
    return lines


FLOOR_APP = 'import streamlit as st\n\nst.write("bonjour")\n'


def floor_time(browser, repeat: int = 3) -> float:
    """Median seconds for a one-line Streamlit page to show its text, from the navigation
    start, in a fresh context: what Streamlit's own page costs in this browser, below which no
    page of the app can go (read a few ms late: Playwright's wait)."""
    import tempfile
    from pathlib import Path

    times = []
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "bonjour.py"
        app.write_text(FLOOR_APP, encoding="utf-8")
        with e2e.streamlit_server(app=str(app)) as url:
            for _ in range(repeat):
                context = browser.new_context(viewport=VIEWPORT, locale="fr-FR")
                page = context.new_page()
                page.goto(url)
                page.get_by_text("bonjour").wait_for()
                times.append(page.evaluate("() => performance.now()") / 1000.0)
                context.close()
    return statistics.median(times)


def bench_meeting(repeat: int = 3) -> list[str]:
    """The three figures of the issue « réunion » (a shorter run than :func:`bench_app`), each
    the median of ``repeat`` freshly started servers: the first page of each (Creuse), a
    département never drawn by it (Nord, Pas-de-Calais, Bouches-du-Rhône in turn, after two
    others), then the map of France by département. Also the floor of a bare Streamlit page."""
    if not e2e.chromium_available():
        return ["# Application : Chromium absent (make system), mesures non faites"]
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"app_server_ready_s": [], "app_cold_first_map_s": [],
                                       "app_first_map_dep_s": [], "app_national_s": []}
    firsts = ("dep:59", "dep:62", "dep:13")
    with sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        try:
            for run in range(repeat):
                started = time.perf_counter()
                with e2e.streamlit_server() as url:
                    figures["app_server_ready_s"].append(time.perf_counter() - started)
                    seconds, _page, ctx = load_time(browser, f"{url}/?territoire=dep:23")
                    ctx.close()
                    figures["app_cold_first_map_s"].append(seconds)
                    for warm in ("dep:07", "dep:93"):
                        _s, _p, ctx = load_time(browser, f"{url}/?territoire={warm}")
                        ctx.close()
                    first = firsts[run % len(firsts)]
                    seconds, _page, ctx = load_time(browser, f"{url}/?territoire={first}")
                    ctx.close()
                    figures["app_first_map_dep_s"].append(seconds)
                    seconds, _page, ctx = load_time(browser, f"{url}/?echelle=departements")
                    ctx.close()
                    figures["app_national_s"].append(seconds)
            floor = floor_time(browser)
        finally:
            browser.close()
    lines = []
    for name, values in figures.items():
        shown = " ".join(f"{v:.2f}" for v in values)
        lines.append(f"# {name} : {shown} (médiane de {len(values)} démarrages)")
        lines.append(_line(name, statistics.median(values), "s"))
    lines.append(_line("app_streamlit_floor_s", floor, "s"))
    return lines


if __name__ == "__main__":
    import sys

    if "--reunion" in sys.argv:
        found = bench_meeting()
    elif "--communes" in sys.argv:
        found = bench_national_communes()
    else:
        found = bench_app()
    for text in found:
        print(text, flush=True)
