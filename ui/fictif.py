"""The page-wide FICTIF banner: every page says so when the demo offer enters the figures.

The members' offer of the demonstration (``operators demo``) is made of invented sites. A
« (FICTIF) » suffix in a metric label can be cut at narrow widths, so it is not a safe carrier on
its own: whenever the registry's public offer holds a fictional site, every page opens on a band
across the whole page and keeps a slim band fixed at the bottom edge of the window, so that no
screenshot of a figure resting on the demo offer can leave the mark out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import sites as sites_mod

BANNER_TEXT = ("OFFRE FICTIVE DE DÉMONSTRATION — les sites des membres, l'offre, les écarts et "
               "les programmes de cette page reposent sur des données inventées (FICTIF).")
EDGE_TEXT = "FICTIF — offre de démonstration, pas des données réelles"

_STYLE = """
<style>
.fictif-banner {background: #b2182b; color: #fff; font-weight: 700; padding: 0.45rem 0.9rem;
  border-radius: 0.3rem; font-size: 1rem; line-height: 1.35;}
.fictif-edge {position: fixed; left: 0; right: 0; bottom: 0; z-index: 999990;
  background: #b2182b; color: #fff; font-weight: 700; text-align: center;
  font-size: 0.85rem; padding: 0.15rem 0.5rem;}
[data-testid="stMainBlockContainer"] {padding-bottom: 3rem;}
.fictif-banner.compact {font-size: 0.85rem; padding: 0.2rem 0.7rem; margin-bottom: -0.6rem;}
</style>
"""


def is_fictional(flags: pd.Series | None) -> bool:
    """Whether a ``fictional`` column holds any true flag (booleans or « oui »/« 1 » texts)."""
    if flags is None or not len(flags):
        return False
    return bool(flags.map(lambda v: v is True or str(v).strip().lower() in {"true", "1", "oui"})
                .any())


def demo_offer_in_use() -> bool:
    """Whether the public offer the pages use (confidential sites removed) holds demo sites."""
    found = sites_mod.registry_sites()
    if found is None:
        return False
    return is_fictional(found.sites.get("fictional"))


def banner(container=None, compact: bool = False) -> bool:
    """Draw the banner in ``container`` (the page's top) when the demo offer is in use; says
    whether it was drawn. ``compact``: one slim line (the meeting slide, 1280×720)."""
    if not demo_offer_in_use():
        return False
    target = container if container is not None else st
    target.markdown(
        _STYLE + f'<div class="fictif-banner{" compact" if compact else ""}" role="alert">'
        f'{BANNER_TEXT}</div>'
        f'<div class="fictif-edge" aria-hidden="true">{EDGE_TEXT}</div>',
        unsafe_allow_html=True,
    )
    return True
