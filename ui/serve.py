"""Start the app with what its first page needs already in memory.

``python -m ui.serve [options of streamlit run]`` (what ``make run`` and the end-to-end tests
call) is ``streamlit run streamlit_app.py`` preceded by a preparation in the server process:
the app's modules imported, the need model read from the results' disk cache, the gap for all
France computed, the indicator catalogue and the commune outlines read. Streamlit runs nothing
of an app before its first visitor, who used to wait for all of this (about 20 s here); the
shared caches (``st.cache_resource``) now already hold it when the server starts listening.

A preparation that fails only costs speed: the server starts anyway and the pages say what is
missing, as before. The national maps and their static scripts are prepared too; a plain
``streamlit run`` prepares them in the background after the first page (:mod:`ui.warmup`).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def prepare(say: Callable[[str], None] = print) -> dict[str, float]:
    """Fill the server's shared caches for a first page; seconds per step.

    Each step that fails is reported (in French) and the next ones are still tried.
    """
    timings: dict[str, float] = {}

    def step(name: str, label: str, function: Callable[[], object]) -> object:
        start = time.perf_counter()
        try:
            result = function()
        except Exception as exc:  # only speed is lost: the pages will say what is missing
            say(f"Préparation : {label} impossible ({exc}) ; l'application démarre quand même.")
            return None
        timings[name] = time.perf_counter() - start
        say(f"Préparation : {label} ({timings[name]:.1f} s)".replace(".", ","))
        return result

    def imports():
        # Every module of ui/ but the map view and the pages: streamlit-folium registers its
        # component only when imported inside a script run (the map frame stayed empty when
        # it was imported here). Its heavy dependencies are imported instead.
        import altair  # noqa: F401

        # folium.plugins compiles its templates when imported: 0.7 s of a first page here.
        import folium.plugins  # noqa: F401

        import ui
        from diagnostics import webmap  # noqa: F401

        for module in pkgutil.iter_modules(ui.__path__):
            if module.name not in ("mapview", "pages", "serve"):
                importlib.import_module(f"ui.{module.name}")

    step("imports", "modules de l'application", imports)
    from ui import data

    if not step("store", "stock de données", lambda: data.available("communes")):
        return timings
    from ui import gap, need, variables

    model = step("need", "modèle de besoin", lambda: need.need_model(spinner=False))
    bundle = step("gap", "écart à l'offre pour toute la France",
                  lambda: gap.gap_bundle(model) if model is not None else None)
    step("variables", "catalogue des indicateurs",
         lambda: variables.available_variables(model, bundle))
    step("communes", "table des communes et ménages", lambda: (data.communes_table(),
                                                              data.household_weights()))
    for name, label in LAYER_LABELS.items():
        step(f"layer_{name}", label, lambda n=name: data.layer(n))
    from ui import geometry

    # The national maps and their static scripts: prepared here rather than after the first
    # page, where they competed with the browser drawing that page on a small machine.
    for level in geometry.NATIONAL_LEVELS:
        step(f"national_{level}", f"carte nationale par {LEVEL_NAMES.get(level, level)}",
             lambda lv=level: _national(geometry, lv))
    step("sites", "sites des membres sur la carte de France", lambda: _sites(geometry, data))
    return timings


def _sites(geometry, data) -> None:
    """The public points of the members' sites on the map of France (also the first run of
    the confidentiality filter, whose modules are imported on the way)."""
    from ui import sites

    registry = sites.registry_sites()
    if registry is not None:
        view = geometry.national_view("departements")
        sites.map_points(registry, view.key, data.communes_table()["code"].tolist(), [])


# Outlines read before the server listens: the map of a département, then the territories of
# a link (ui.state.resolve).
LAYER_LABELS = {
    "communes_fin": "contours fins des communes",
    "communes_moyen": "contours moyens des communes",
    "departements_moyen": "contours moyens des départements",
    "departements_grossier": "contours simplifiés des départements",
    "regions_grossier": "contours simplifiés des régions",
    "epci_grossier": "contours simplifiés des EPCI",
}
LEVEL_NAMES = {"departements": "département", "epci": "EPCI", "communes": "commune"}


def _national(geometry, level: str) -> None:
    view = geometry.national_view(level)
    if geometry.static_serving():
        geometry.view_script(view)
    if view.as_picture:  # France by commune: its picture's grid, numbers and names
        from ui.commune_picture import picture_option

        picture_option(view)


def main(argv: list[str] | None = None) -> None:
    """Prepare, then run ``streamlit run streamlit_app.py`` with the given options."""
    args = list(sys.argv[1:] if argv is None else argv)
    start = time.perf_counter()
    logging.disable(logging.WARNING)  # Streamlit warns at every cached call before its runtime
    try:
        prepare(lambda text: print(text, flush=True))
    finally:
        logging.disable(logging.NOTSET)
    # The options are read once more with the command's flags, before the server exists.
    logging.getLogger("streamlit.config").addFilter(
        lambda record: "config option section was detected" not in record.getMessage()
    )
    print(f"Application prête en {time.perf_counter() - start:.1f} s.".replace(".", ",", 1),
          flush=True)
    from streamlit.web import cli

    from ui.security_headers import install

    if not install():
        print("En-têtes de sécurité non posés par l'application (version de Streamlit) : "
              "posez-les au mandataire inverse (README, « Déploiement partagé »).", flush=True)
    sys.argv = ["streamlit", "run", str(APP), *args]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
