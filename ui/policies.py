"""« Cadre des politiques publiques » in the app: the block of the Commune page, the table of a
territory (EPCI, département) on the map page, and the map layer's points.

The frame is :mod:`models.policy_frame` over the policy layer of the store
(:mod:`connectors.policies`), read once per version of the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from catalogues import datasets
from connectors.policies import policy_layer
from models import policy_frame as pf
from ui import data
from ui.tables import french

STORE_COLUMNS = ((datasets.QPV_COMMUNES, ("qpv_count", "qpv_names")),
                 (datasets.ANCT_PROGRAMMES, ("programme_acv", "programme_pvd")),
                 (datasets.SRU, ("sru_subject", "sru_carence", "sru_rate", "sru_target")))
SHOWN = ["Politique", "Situation", "Territoire", "Validité", "Statut", "Source", "Lu le"]


@st.cache_resource(show_spinner=False, max_entries=4)
def _layer(key: str) -> pd.DataFrame:
    layer, _ = policy_layer(data.store())
    return layer


def layer() -> pd.DataFrame:
    """The policy layer (stored, or the project's files read in place)."""
    return _layer(data.store_key())


def commune_values(code: str) -> dict:
    """The commune's QPV, ACV/PVD and SRU columns found in the store."""
    values: dict = {}
    for dataset, columns in STORE_COLUMNS:
        if not data.available(dataset):
            continue
        for column in columns:
            try:
                series = data.column(dataset, column)
            except (KeyError, ValueError, OSError):
                continue
            if code in series.index:
                values[column] = series.loc[code]
            elif column in ("qpv_count", "sru_subject"):
                values[column] = 0.0 if column == "qpv_count" else False  # exhaustive lists
    return values


def commune_block(code: str, row: pd.Series) -> None:
    """The Commune page's block: a sentence for Logement d'abord, then every policy."""
    st.subheader("Cadre des politiques publiques")
    frame = pf.commune_frame(pf.place_of(row), commune_values(code), layer())
    lda = frame[frame["_policy"] == pf.LDA].iloc[0]
    if lda["Situation"].startswith("oui"):
        st.success(f"**Territoire de mise en œuvre accélérée du plan Logement d'abord** : "
                   f"{lda['Situation'].removeprefix('oui : ')}. Source : {lda['Source']} "
                   f"(lu le {lda['Lu le']}, statut : {lda['Statut']}).")
    else:
        st.caption(f"Logement d'abord : {lda['Situation']}.")
    st.dataframe(french(frame[SHOWN]), hide_index=True, width="stretch",
                 column_config={"Source": st.column_config.LinkColumn("Source")})
    st.caption("« à compléter » : information non vérifiée sur une page publique lue, à "
               "compléter dans le fichier du cadre des politiques publiques que tient le réseau. "
               "Le taux SRU est une obligation de la commune, pas un besoin de ses ménages.")


def territory_block(codes: Sequence[str]) -> None:
    """The frame of the EPCI and départements of a territory (map page, in an expander)."""
    communes = data.communes_table()
    chosen = communes[communes["code"].isin(set(codes))]
    if chosen.empty:
        return
    areas = pf.areas_frame(chosen, layer())
    with st.expander("Cadre des politiques publiques (Logement d'abord, délégataires, PLH, "
                     "PDALHPD)"):
        in_lda = pf.in_logement_d_abord(chosen, layer())
        st.markdown(f"**{int(in_lda.sum())}** commune(s) sur {len(chosen)} en territoire "
                    "Logement d'abord (liste compilée, incomplète).")
        st.dataframe(french(areas[["Échelle", *SHOWN]]), hide_index=True, width="stretch",
                     column_config={"Source": st.column_config.LinkColumn("Source")})


def policy_points(codes: Sequence[str]) -> pd.DataFrame | None:
    """Communes of ``codes`` in a Logement d'abord territory, with their point (map layer)."""
    communes = data.communes_table()
    chosen = communes[communes["code"].isin(set(codes))]
    frame = chosen[pf.in_logement_d_abord(chosen, layer()).to_numpy()
                   & chosen["rep_lon"].notna().to_numpy()]
    return frame[["code", "name", "rep_lon", "rep_lat"]].reset_index(drop=True)
