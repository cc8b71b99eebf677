"""End-to-end support: a real Streamlit server and a real headless Chromium (Debian's).

Playwright drives ``/usr/bin/chromium`` (installed by ``make system``); it never downloads a
browser of its own. Screenshots are saved in ``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = settings.PROJECT_ROOT / "test-artifacts"

# Every folium map drawn inside the streamlit-folium iframes (vector paths or canvas).
MAP_DRAWN_JS = """() => {
  const frames = Array.from(document.querySelectorAll('iframe'));
  let drawn = 0;
  for (const f of frames) {
    try {
      const d = f.contentDocument;
      if (!d) continue;
      const c = d.querySelector('.leaflet-container');
      if (c && (c.querySelector('path') || c.querySelector('canvas'))) drawn += 1;
    } catch (e) {}
  }
  return drawn;
}"""
SCRIPT_DONE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(app: str = "streamlit_app.py", env: dict | None = None,
                     args: list[str] | None = None, port: int | None = None) -> Iterator[str]:
    """Start the app on a local port (a free one by default); yield its URL; stop it (its own
    process group). ``args`` are more ``streamlit run`` options (e.g. ``--secrets.files``)."""
    port = port or free_port()
    log = ARTIFACTS / f"streamlit_{port}.log"
    ARTIFACTS.mkdir(exist_ok=True)
    # The app's own launcher (ui/serve.py: prepares the first page, then ``streamlit run``),
    # as ``make run`` starts it; another script is run by Streamlit directly.
    launcher = ["-m", "ui.serve"] if app == "streamlit_app.py" else ["-m", "streamlit", "run", app]
    command = [
        sys.executable, *launcher, "--server.address", "127.0.0.1",
        "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *(args or []),
    ]
    with open(log, "w") as handle:
        process = subprocess.Popen(
            command, cwd=settings.PROJECT_ROOT, stdout=handle, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    failed = True  # the log is kept only when something failed
    try:
        deadline = time.monotonic() + 300  # the preparation reads the models first
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Streamlit s'est arrêté : {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"Streamlit ne répond pas : {log.read_text()[-2000:]}")
        yield url
        failed = False
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if not failed:
            log.unlink(missing_ok=True)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_for_app(page, min_maps: int = 0, timeout_s: float = 60) -> None:
    """Wait until the script run is over and ``min_maps`` folium maps have drawn."""
    deadline = time.monotonic() + timeout_s
    stable = 0
    while time.monotonic() < deadline:
        done = page.evaluate(SCRIPT_DONE_JS)
        maps = page.evaluate(MAP_DRAWN_JS) if min_maps else 0
        stable = stable + 1 if done and maps >= min_maps else 0
        if stable >= 3:
            return
        time.sleep(0.25)
    raise TimeoutError(f"L'application n'a pas fini de s'afficher en {timeout_s} s")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def map_feature_count(page) -> int:
    """Number of GeoJSON features drawn in the folium maps (canvas or SVG), -1 without map."""
    return page.evaluate(
        """() => {
          let total = -1;
          for (const f of document.querySelectorAll('iframe')) {
            const w = f.contentWindow;
            if (!w || !w.L) continue;
            for (const key of Object.keys(w)) {
              const m = w[key];
              if (key.startsWith('map_') && m instanceof w.L.Map) {
                total = Math.max(total, 0);
                m.eachLayer(l => { if (l.feature) total += 1; });
              }
            }
          }
          return total;
        }"""
    )


# -- the explorer's maps (ui/mapview.py): styled in place by a feature group ---------------------
STYLE_STATE_JS = """() => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (!w || !w.__diag || !w.__diag.layers || !w.__diag.layers.main) continue;
    const e = w.__diag.layers.main;
    const s = e.state;
    // features: outlines drawn (France by commune: loaded only once zoomed in, 0 before);
    // image: the picture of the colours (France by commune), null otherwise.
    return {count: w.__diag.styledCount || 0, at: w.__diag.styledAt || 0,
            classes: (s.classes || []).join(','), label: s.label, probe: w.__probe || 0,
            features: e.layer ? e.layer.getLayers().length : 0, image: s.image || null};
  }
  return null;
}"""
MARK_FRAME_JS = """() => { for (const f of document.querySelectorAll('iframe')) {
  if (f.contentWindow && f.contentWindow.__diag) f.contentWindow.__probe = 1; } }"""
POINT_JS = """([lat, lon]) => {
  for (const f of document.querySelectorAll('iframe')) {
    const w = f.contentWindow;
    if (!w || !w.map_div || !w.__diag) continue;
    f.scrollIntoView({block: 'center'});  // the map's frame, not the page's first frame
    const p = w.map_div.latLngToContainerPoint([lat, lon]);
    const r = f.getBoundingClientRect();
    return {x: r.left + p.x, y: r.top + p.y};
  }
  return null;
}"""
NO_SKELETON_JS = "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"


def style_state(page) -> dict | None:
    """Colours, label and feature count of the page's map (None before it is drawn)."""
    return page.evaluate(STYLE_STATE_JS)


def wait_styled(page, after: int = 0, timeout_s: float = 60) -> dict:
    """Wait until the map has been styled more than ``after`` times."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = style_state(page)
        if found and found["count"] > after:
            return found
        time.sleep(0.1)
    raise TimeoutError("La carte n'a pas été colorée à temps")


def click_map_at(page, lat: float, lon: float) -> None:
    """Click the map at a geographic point (the map scrolled into view first)."""
    page.evaluate(POINT_JS, [lat, lon])  # scrolls the map's frame into view
    time.sleep(0.3)
    point = page.evaluate(POINT_JS, [lat, lon])
    if point is None:
        raise RuntimeError("Carte introuvable sur la page")
    page.mouse.click(point["x"], point["y"])


def wait_rendered(page, min_maps: int = 0, timeout_s: float = 60) -> None:
    """:func:`wait_for_app`, then until no element is still a loading placeholder."""
    wait_for_app(page, min_maps=min_maps, timeout_s=timeout_s)
    page.wait_for_function(NO_SKELETON_JS, timeout=timeout_s * 1000)


# -- accounts and the offer page (ui/auth.py, ui/pages/offre.py) -------------------------------
def open_account_box(page) -> None:
    """Unfold the sidebar's « Compte » box (left as it is when already open)."""
    box = page.locator('[data-testid="stSidebar"] details').filter(has_text="Compte").first
    box.wait_for(timeout=60_000)
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid="stSidebar"] details'))
                  .some(d => d.open && d.innerText.includes('Compte'))""")


def log_in_locally(page, login: str, password: str) -> None:
    """Log in with a local account from the sidebar and wait for the page to be drawn again."""
    open_account_box(page)
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Se déconnecter").wait_for(state="attached", timeout=60_000)
    wait_rendered(page)
    open_account_box(page)


def check_file(page, path) -> None:
    """Give a file to the import form of « Offre des membres » and have it checked."""
    valid = page.get_by_text("Sites valides")
    page.locator('input[type="file"]').set_input_files(str(path))
    valid.first.wait_for(state="detached", timeout=60_000)  # a previous file's preview
    page.get_by_role("button", name="Vérifier le fichier").wait_for(timeout=60_000)
    wait_rendered(page)
    page.get_by_role("button", name="Vérifier le fichier").click()
    valid.first.wait_for(timeout=60_000)
    wait_rendered(page)


def map_marker_texts(page) -> list[str]:
    """Tooltip texts of the point markers (members' sites, FINESS) on the folium maps, whether
    drawn alone or gathered in a cluster."""
    return page.evaluate(
        """() => {
          const texts = [];
          for (const f of document.querySelectorAll('iframe')) {
            const w = f.contentWindow;
            if (!w || !w.L) continue;
            for (const key of Object.keys(w)) {
              const m = w[key];
              if (!(key.startsWith('map_') && m instanceof w.L.Map)) continue;
              m.eachLayer(l => {
                if (w.L.MarkerClusterGroup && l instanceof w.L.MarkerClusterGroup) {
                  for (const x of l.getLayers()) texts.push(x.getTooltip().getContent());
                }
              });
            }
          }
          return texts;
        }"""
    )
