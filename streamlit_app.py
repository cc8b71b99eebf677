"""Diagnostic territorial du logement d'insertion — application Streamlit.

Start with ``make run`` (http://127.0.0.1:8501). Pages live in ``ui/pages``; every heavy read
and model run is cached once per server (``ui/data.py``, ``ui/need.py``, ``ui/gap.py``). The
territory picker sits in the sidebar of every page except « Présentation », and the chosen
territory, commune and settings follow the user from page to page.
"""

from __future__ import annotations

import streamlit as st

from ui import data, navigation, warmup
from ui.auth import sidebar_login
from ui.picker import territory_picker

st.set_page_config(
    page_title="Diagnostic logement d'insertion",
    page_icon="🏠",
    layout="wide",
    initial_sidebar_state="expanded",
)

if not data.available("communes"):
    st.error(
        "Le stock de données local est vide : lancez `make data` (ou `make run`, qui le construit) "
        "puis rechargez la page."
    )
    st.stop()

current = st.navigation(navigation.all_pages())
sidebar_login()
if current.url_path == "presentation":
    current.run()
else:
    # The picker sits at the top of the side panel but is drawn after the page, so that the
    # page's map reaches the browser first (the picker's callbacks have already set the
    # territory when the page runs).
    picker_box = st.sidebar.container()
    current.run()
    territory_picker(picker_box)
warmup.start()
