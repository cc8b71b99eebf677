"""The FICTIF banner: a page that shows any figure or site of the demo offer opens on the
page-wide banner, and a page never shows a FICTIF mark without it.

AppTest runs every page on the local store, whose registry holds the demo offer (``operators
demo``): the banner is expected on each. A registry without fictional sites gives no banner
(``demo_offer_in_use`` on a hand-made frame).

A chart drawing a figure that rests on the offer (places missing, places allocated: the key
figures ``profile.OFFER_BASED``) carries « FICTIF » in its own title or text as well, so that a
screenshot of the chart alone cannot leave the mark out.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.test_app_french import page_texts
from tests.test_app_pages import (  # noqa: F401
    CREUSE,
    GUERET,
    element_protos,
    need_ready,
    run_app,
)
from ui import fictif, navigation
from ui.pages import comparer

MARKS = ("FICTIF", "FICTIV")


def chart_specs(at) -> list[tuple[dict, list[pd.DataFrame]]]:
    """Every Vega-Lite chart of the page: its specification and its data frames."""
    from streamlit import dataframe_util

    found = []
    for proto in element_protos(at, lambda p: hasattr(p, "spec") and hasattr(p, "datasets")):
        frames = [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
                  for d in proto.datasets]
        if proto.HasField("data"):
            frames.append(dataframe_util.convert_arrow_bytes_to_pandas_df(proto.data.data))
        found.append((json.loads(proto.spec), frames))
    return found


def unmarked_offer_chart(spec: dict, frames: list[pd.DataFrame]) -> str | None:
    """The offer-based figure a chart draws without a FICTIF mark of its own, else None.

    The mark is looked for in the chart itself (title, texts, labels), not in its data."""
    frames = [*frames, *(pd.DataFrame(v) for v in spec.get("datasets", {}).values())]
    texts = {str(v) for f in frames for c in f.columns
             for v in [c, *f[c].dropna().astype(str).unique()[:200]]}
    drawn = json.dumps({k: v for k, v in spec.items() if k not in ("data", "datasets")},
                       ensure_ascii=False)
    offer = sorted(label for label in comparer.offer_based_labels()
                   if label in drawn or any(label in t for t in texts))
    if offer and not any(m in drawn for m in MARKS):
        return offer[0]
    return None


def _unmarked_charts(at) -> list[str]:
    return [found for spec, frames in chart_specs(at)
            if (found := unmarked_offer_chart(spec, frames))]


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
    if fictif.demo_offer_in_use():
        assert not _unmarked_charts(at), f"page « {page} » : graphique sans mention FICTIF"


def test_compare_chart_of_places_missing_says_fictif(need_ready):  # noqa: F811
    at = run_app({"territoire": CREUSE, "commune": GUERET}, "comparer")
    at.button(key=f"compare_quick_com:{GUERET}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert fictif.demo_offer_in_use() and _has_banner(at)
    specs = chart_specs(at)
    assert len(specs) == 1
    spec, frames = specs[0]
    assert comparer.offer_based_labels() & set(frames[0]["Indicateur"])  # the chart rests on it
    assert not _unmarked_charts(at), "graphique des places manquantes sans mention FICTIF"
    assert "FICTIF" in json.dumps(spec["title"], ensure_ascii=False)


def test_a_chart_of_offer_figures_without_its_mark_is_found():
    """The check above fails on the Comparer chart drawn without its mark (hand-made figures)."""
    numbers = pd.DataFrame({
        "Indicateur": ["Indice de besoin", "Places manquantes pour atteindre la référence"],
        "Unité": ["/100", "places"], "Guéret (23096)": [61.5, 12.0],
        "Aubusson (23008)": [55.0, np.nan]})
    unmarked = comparer.comparison_chart(numbers, fictional=False).to_dict()
    assert unmarked_offer_chart(unmarked, []) == "Places manquantes pour atteindre la référence"
    assert unmarked_offer_chart(comparer.comparison_chart(numbers, fictional=True).to_dict(),
                                []) is None
    # A chart of need alone rests on no offer: no mark asked.
    need_only = comparer.comparison_chart(numbers.head(1), fictional=True).to_dict()
    assert "title" not in need_only and unmarked_offer_chart(need_only, []) is None


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
