"""Figures on one screen agree with each other (issue « chiffres qui s'accordent »).

Each test opens a page on the real local store (demo registry) and checks that a headline, its
caption and the table beneath come from the same thing.
"""

from __future__ import annotations

import re

from tests.test_app_pages import need_ready, run_app  # noqa: F401

ROUBAIX = "59512"


def test_roubaix_caption_counts_the_rows_of_its_sites_table(need_ready):  # noqa: F811
    # Roubaix holds no site of the demo but two services cover it: the caption once said
    # « situés dans la commune : 0 » above a table of two rows.
    at = run_app({"territoire": "dep:59", "commune": ROUBAIX}, "commune")
    caption = next(str(c.value) for c in at.caption if "Sites non confidentiels" in str(c.value))
    table = next(df.value for df in at.dataframe if "Présence" in df.value.columns)
    located = int((table["Présence"] == "situé dans la commune").sum())
    services = int((table["Présence"] == "service couvrant la commune").sum())
    shown = re.search(r"situés dans la commune : (< 3|\d+)", caption).group(1)
    assert (shown == "< 3" and 0 < located < 3) or int(shown) == located
    if services:
        assert f"{services} service" in caption
    else:
        assert "couvrant la commune" not in caption
    assert located + services == len(table) and services == 2
