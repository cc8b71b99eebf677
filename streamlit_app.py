"""Diagnostic territorial du logement d'insertion — application Streamlit.

Start with ``make run`` (http://127.0.0.1:8501). Pages live in ``ui/pages``; every heavy read
and model run is cached once per server (``ui/data.py``, ``ui/need.py``, ``ui/gap.py``). The
territory picker sits in the sidebar of every page except « Présentation », and the chosen
territory, commune and settings follow the user from page to page, and are written in the
address after every run (``ui/links.py``): a copied link rebuilds the same view.
"""

from __future__ import annotations

import streamlit as st

from ui import data, fictif, links, navigation, warmup
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
# A damaged reference file stops the app; another damaged dataset is only unavailable.
damaged = data.damaged_datasets()
for dataset, message in damaged.items():
    if data.store().rebuild_command(dataset) == "python -m geodata build":
        st.error(message)
        st.stop()
for message in damaged.values():
    st.warning(message)

links.restore()  # a shared link opens on its view (territory, indicator, weights, zoom…)
if links.weights_pending():
    from ui import need

    links.restore_weights(need.need_model())
for text in links.notices():  # a link's values set aside: said, then the defaults are used
    st.warning(f"Lien partagé : {text}")
current = st.navigation(navigation.all_pages())
# Every page, the slide included (in one slim line there), opens on it while the demo offer is in use.
fictif.banner(compact=current.url_path == "presentation")
try:
    if current.url_path == "presentation":  # the slide stays bare: nothing but the territory
        current.run()
    else:
        # The account box and the picker sit at the top of the side panel but are drawn after
        # the page, so that the page's map reaches the browser first: the browser shows nothing
        # new until the code of every new kind of element has loaded (text inputs, selectboxes…).
        # The picker's callbacks have already set the territory when the page runs; a login or
        # a logout reruns the page.
        login_box = st.sidebar.container()
        picker_box = st.sidebar.container()
        current.run()
        territory_picker(picker_box)
        links.copy_link_button(picker_box)
        sidebar_login(login_box)
except data.StoreError as exc:  # a file missing or damaged since start-up: say which, in French
    st.error(str(exc))
    st.stop()
links.sync()  # the address always rebuilds the view on screen, whatever the page
warmup.start()
