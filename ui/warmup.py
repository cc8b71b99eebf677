"""Server warm-up: read the outlines and prepare the national maps in the background.

Started once per server at the end of the first page run (so it never delays that page), it
fills the shared caches a delegate is likely to need next: the fine and medium commune
outlines (a département's map), and the national views by département, EPCI and commune with
their static scripts.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

log = logging.getLogger(__name__)


def _work(store_key: str, static: bool) -> None:
    from ui import data, geometry

    try:
        for name in ("communes_fin", "communes_moyen", "departements_moyen"):
            data._layer(name, store_key)
        for level in ("departements", "epci", "communes"):
            view = geometry.national_view(level)
            if static:
                geometry.view_script(view)
            if view.as_picture:  # the picture's grid, numbers and names
                from ui.commune_picture import picture_option

                picture_option(view)
    except Exception as exc:  # a warm-up failure only costs speed
        log.warning("Préchauffage interrompu : %s", exc)


@st.cache_resource(show_spinner=False)
def _started(store_key: str) -> threading.Thread:
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    from ui.geometry import static_serving

    thread = threading.Thread(target=_work, args=(store_key, static_serving()), daemon=True,
                              name="diag-warmup")
    add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()
    return thread


def start() -> None:
    """Start the warm-up once per version of the store."""
    from ui import data

    _started(data.store_key())
