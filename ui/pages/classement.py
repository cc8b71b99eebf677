"""Page « Classement »: the communes of the territory ranked by need, with rank intervals.

Sortable table (click a column title), filters (density class, QPV, gap class), download as CSV
or XLSX with the sources. The rank is national (1 = the strongest need of France); the 90 %
interval comes from the Monte-Carlo sensitivity analysis of the weights and normalisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from catalogues import datasets
from diagnostics.formatting import fr_number
from ui import data, need, state
from ui import gap as gap_mod
from ui.downloads import table_downloads
from ui.picker import communes_of, territory_label
from ui.tables import french

ALL = "toutes"
MAX_SHOWN = 2000
SORTABLE = ("Rang national", "Indice de besoin", "Ménages en besoin", "Écart (ménages)",
            "Écart pour 1 000 ménages", "Population", "Commune", "Code")
ASCENDING = {"Rang national", "Commune", "Code"}


@st.cache_data(show_spinner=False, max_entries=16)
def ranking_table(codes: tuple[str, ...] | None, need_key: str, gap_key: str, store_key: str,
                  _need: pd.DataFrame, _gap: pd.DataFrame | None) -> pd.DataFrame:
    """One row per commune: need, rank interval, volume, gap, density class, QPV."""
    communes = data.communes_table().set_index("code")
    index = communes.index if codes is None else pd.Index(codes)
    frame = _need.set_index("code").reindex(index)
    out = pd.DataFrame({
        "Commune": communes["name"].reindex(index),
        "Code": index,
        "Département": communes["dep_code"].reindex(index),
        "Population": communes["population"].reindex(index),
        "Indice de besoin": frame["score"].round(1),
        "Rang national": frame["rank"],
        "Rang (borne 5 %)": frame["rank_p05"].round(0),
        "Rang (borne 95 %)": frame["rank_p95"].round(0),
        "Premier décile robuste": frame["top_decile_robust"].astype("boolean"),
        "Ménages en besoin": frame["need_households"].round(0),
        "Ménages en besoin (bas)": frame["need_households_low"].round(0),
        "Ménages en besoin (haut)": frame["need_households_high"].round(0),
        "Taux de pauvreté estimé": frame["imputed_poverty_rate"].astype("boolean"),
        "Statut": frame["status"],
    }, index=index)
    if _gap is not None:
        gap = _gap.set_index("code").reindex(index)
        out["Écart (ménages)"] = gap["gap_households"].round(1)
        out["Écart pour 1 000 ménages"] = gap["gap_per_1000"].round(1)
        out["Classe d'écart"] = gap["gap_class"]
    if data.available(datasets.DENSITY_GRID):
        out["Densité"] = data.column(datasets.DENSITY_GRID, "density_7_label").reindex(index)
    if data.available(datasets.QPV_COMMUNES):
        qpv = pd.to_numeric(data.column(datasets.QPV_COMMUNES, "qpv_count"), errors="coerce")
        out["QPV"] = qpv.reindex(index).fillna(0).astype(int)
    if "cluster_label" in frame.columns:
        out["Typologie"] = frame["cluster_label"].replace("", np.nan)
    return out.sort_values(["Rang national", "Commune"], na_position="last").reset_index(drop=True)


def render() -> None:
    spec = state.current_spec()
    st.title(f"Classement — {territory_label(spec)}")
    model = need.need_model()
    if model is None:
        st.warning(need.unavailable_reason() or need.NOT_COMPUTED)
        return
    chosen = need.current_settings(model)
    need_frame = need.scored(model, chosen)
    bundle = gap_mod.gap_bundle(model)
    codes = tuple(communes_of(spec)["code"]) if spec else None
    table = ranking_table(codes, f"{model.fingerprint}|{chosen}", str(id(bundle)), data.store_key(),
                          need_frame, bundle.frame if bundle else None)

    filters = st.columns(4)
    if "Densité" in table:
        levels = [d for d in table["Densité"].dropna().unique()]
        density = filters[0].multiselect("Classe de densité", sorted(levels), key="rank_density",
                                         placeholder="toutes")
        if density:
            table = table[table["Densité"].isin(density)]
    if "QPV" in table:
        qpv = filters[1].radio("Quartier prioritaire", [ALL, "avec QPV", "sans QPV"],
                               horizontal=True, key="rank_qpv")
        if qpv == "avec QPV":
            table = table[table["QPV"] > 0]
        elif qpv == "sans QPV":
            table = table[table["QPV"] == 0]
    if "Classe d'écart" in table:
        classes = filters[2].multiselect("Classe d'écart", sorted(table["Classe d'écart"].dropna().unique()),
                                         key="rank_gap", placeholder="toutes")
        if classes:
            table = table[table["Classe d'écart"].isin(classes)]
    scored_only = filters[3].toggle("Communes classées seulement", value=True, key="rank_scored")
    if scored_only:
        table = table[table["Statut"].eq("calculé")]
    table = table.copy()
    table.insert(5, "Rang dans la sélection", table["Rang national"].rank(method="first"))
    sort_columns = [c for c in SORTABLE if c in table.columns]
    order = st.columns([2, 1, 3])
    by = order[0].selectbox("Trier par", sort_columns, key="rank_sort")
    ascending = order[1].radio("Ordre", ["croissant", "décroissant"], horizontal=True,
                               index=0 if by in ASCENDING else 1, key=f"rank_order_{by}") == "croissant"
    table = table.sort_values(by, ascending=ascending, na_position="last", kind="stable")

    st.caption(
        f"{fr_number(len(table))} communes · pondération : {chosen.label} · intervalles de rang "
        "(5 %–95 %) de l'analyse de sensibilité (1 000 tirages de poids et de normalisation) ; "
        "« premier décile robuste » : la commune reste dans le premier décile national dans 90 % "
        "des tirages."
    )
    shown = table.head(MAX_SHOWN)
    if len(table) > MAX_SHOWN:
        st.caption(f"Les {fr_number(MAX_SHOWN)} premières lignes selon le tri choisi sont affichées "
                   f"sur {fr_number(len(table))} ; les fichiers téléchargés contiennent tout.")
    st.dataframe(french(shown, {"Indice de besoin": 1, "Écart (ménages)": 1,
                                "Écart pour 1 000 ménages": 1}),
                 hide_index=True, width="stretch", height=520)
    stem = f"classement_{spec.replace(':', '_').replace(',', '_') if spec else 'france'}"
    table_downloads(table, stem, "rank_dl", sheet="classement", sources=_sources(model))
    if bundle is None:
        st.info(gap_mod.unavailable_reason(model))


def _sources(model) -> pd.DataFrame:
    rows = []
    for spec in model.specs.values():
        rows.append({"indicateur": spec.label, "source": spec.source, "millésime": spec.vintage,
                     "producteur": spec.producer, "licence": spec.licence})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    render()
