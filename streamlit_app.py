"""Diagnostic territorial du logement d'insertion — application Streamlit.

Start with ``make run`` (http://127.0.0.1:8501). Pages live in ``ui/``; every heavy read is
cached once per server (see ``ui/data.py``).
"""

from __future__ import annotations

import streamlit as st

from ui import data, map_page

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

pages = [
    st.Page(map_page.render, title="Carte", icon="🗺️", url_path="carte", default=True),
]
navigation = st.navigation(pages)
navigation.run()
