"""The FICTIF banner: a page that shows any figure or site of the demo offer opens on the
page-wide banner, and a page never shows a FICTIF mark without it.

AppTest runs every page on the local store, whose registry holds the demo offer (``operators
demo``): the banner is expected on each. A registry without fictional sites gives no banner
(``demo_offer_in_use`` on a hand-made frame).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.test_app_french import page_texts
from tests.test_app_pages import CREUSE, GUERET, need_ready, run_app  # noqa: F401
from ui import fictif, navigation

MARKS = ("FICTIF", "FICTIV")


def _has_banner(at) -> bool:
    return any(fictif.BANNER_TEXT in str(e.value) for e in at.markdown)


@pytest.mark.parametrize("page", list(navigation.PAGES))
def test_page_with_fictif_figures_opens_on_the_banner(page, need_ready):  # noqa: F811
    at = run_app({"territoire": CREUSE, "commune": GUERET}, None if page == "carte" else page)
    texts = [t for t in page_texts(at) if fictif.BANNER_TEXT not in t]
    marked = [t for t in texts if any(m in t for m in MARKS)]
    if marked or fictif.demo_offer_in_use():
        assert _has_banner(at), f"page « {page} » : mention FICTIF sans bandeau ({marked[:2]})"
    if _has_banner(at):
        # The banner is the first thing of the page, above its title.
        assert fictif.BANNER_TEXT in str(getattr(at.main.children[0], "value", ""))


def test_demo_registry_is_fictional(need_ready):  # noqa: F811
    # The local store's registry is the demo: the suite above would prove nothing otherwise.
    at = run_app({"territoire": CREUSE})
    assert _has_banner(at)


@pytest.mark.parametrize("flags,expected", [
    ([False, False], False), ([None, False], False), ([False, True], True),
    (["non", "oui"], True), (["0", "1"], True), ([], False),
])
def test_fictional_flags_are_read_as_the_registry_stores_them(flags, expected):
    assert fictif.is_fictional(pd.Series(flags, dtype=object)) is expected
