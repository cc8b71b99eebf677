"""The pages of the app and their addresses (for links and page switches between pages).

Each page is a script of ``ui/pages`` whose ``render()`` runs when Streamlit executes it as
``__main__`` (importing the module, in tests or from another page, draws nothing).
"""

from __future__ import annotations

import streamlit as st

import settings

PAGES_DIR = settings.PROJECT_ROOT / "ui" / "pages"
# url path → (title, icon); Material icons ship with Streamlit (offline). The script of each
# page is ui/pages/<url path>.py.
PAGES: dict[str, tuple[str, str]] = {
    "carte": ("Carte", ":material/map:"),
    "commune": ("Commune", ":material/location_city:"),
    "classement": ("Classement", ":material/leaderboard:"),
    "comparer": ("Comparer", ":material/compare_arrows:"),
    "scenarios": ("Scénarios", ":material/add_location_alt:"),
    "montage": ("Montage d'opération", ":material/calculate:"),
    "programme": ("Programme", ":material/construction:"),
    "methode": ("Méthode", ":material/tune:"),
    "offre": ("Offre des membres", ":material/home_work:"),
    "reseaux": ("Qui fait quoi où", ":material/diversity_3:"),
    "presentation": ("Présentation", ":material/slideshow:"),
}


def script(url_path: str) -> str:
    """Path of a page's script, relative to the app's main script (for AppTest.switch_page)."""
    return f"ui/pages/{url_path}.py"


def page(url_path: str) -> st.Page:
    title, icon = PAGES[url_path]
    return st.Page(str(PAGES_DIR / f"{url_path}.py"), title=title, icon=icon, url_path=url_path,
                   default=url_path == "carte")


def all_pages() -> list[st.Page]:
    return [page(p) for p in PAGES]


def go(url_path: str) -> None:
    """Open another page (the territory and the chosen commune follow)."""
    st.switch_page(page(url_path))
