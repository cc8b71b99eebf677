"""Page « Présentation »: a clean full-width view for joint meetings.

One territory (the one chosen on the other pages), one map, three key messages in large type,
no controls on screen (the side panel and the toolbar are hidden). The map fills the height
of the screen (resized in the browser: 1920×1080 as well as 1280×720), its legend is readable
from the back of a room (18 px), the date and the vintages of the data are on the slide.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number
from geodata.codes import is_among
from ui import classify, data, mapview, navigation, need, state, variables
from ui import gap as gap_mod
from ui.geometry import national_view, territory_view
from ui.picker import territory_label

MAP_HEIGHT = 540  # first drawing; the map then takes the height of the screen
LEGEND_FONT_PX = 18
LEGEND_WIDTH_PX = 620  # a horizontal legend under the territory
LEGEND_HEIGHT_PX = 215
HIDE_CONTROLS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stSidebarNav"], [data-testid="collapsedControl"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] {
  display: none !important;
}
.block-container, [data-testid="stMainBlockContainer"] {
  padding-top: 0.8rem !important; padding-bottom: 0.5rem !important; max-width: 100% !important;
}
.diag-message { border-left: 6px solid #b2182b; padding: 0.2rem 0 0.2rem 0.9rem; margin-bottom: 1.1rem; }
.diag-message .figure { font-size: 2.6rem; font-weight: 700; line-height: 1.1; color: #b2182b; }
.diag-message .title { font-size: 1.45rem; font-weight: 600; line-height: 1.25; }
.diag-message .text { font-size: 1.05rem; color: #333; line-height: 1.35; }
.diag-message .source { font-size: 0.8rem; color: #666; }
.diag-vintage { font-size: 0.8rem; color: #555; margin: -0.6rem 0 0.4rem 0; }
h1 { padding-top: 0.2rem !important; padding-bottom: 0.3rem !important; }
/* A 1280×720 projector: the three messages stay above the fold. */
@media (max-height: 820px) {
  h1 { font-size: 2rem !important; }
  .diag-message { margin-bottom: 0.6rem; }
  .diag-message .figure { font-size: 2rem; }
  .diag-message .title { font-size: 1.15rem; }
  .diag-message .text { font-size: 0.9rem; line-height: 1.25; }
  .diag-message .source { font-size: 0.7rem; }
}
</style>
"""


def _names(frame: pd.DataFrame, n: int = 3) -> str:
    names = frame["name"].head(n).tolist()
    rest = len(frame) - len(names)
    text = ", ".join(names)
    return f"{text} et {fr_number(rest)} autre{'s' if rest > 1 else ''}" if rest > 0 else text


def _interval(low: float, high: float) -> str:
    """« Intervalle 1 – 2. », or nothing when the bounds are equal (a degenerate interval)."""
    if pd.isna(low) or pd.isna(high) or round(low) == round(high):
        return ""
    return f"Intervalle {fr_number(low)} – {fr_number(high)}. "


def key_messages(codes: list[str], need_frame: pd.DataFrame | None,
                 gap_frame: pd.DataFrame | None, gap_meta: dict | None = None) -> list[dict]:
    """Three messages ``{figure, title, text, source}`` for the communes ``codes``.

    A figure resting on the FICTIF demo offer says so beside it (``gap_meta["offer_fictional"]``).
    """
    messages = []
    if need_frame is None:
        communes = data.communes_table()
        chosen = communes[is_among(communes["code"], codes)]
        messages.append({"figure": fr_number(chosen["population"].sum()), "title": "habitants",
                         "text": f"{fr_number(len(chosen))} communes.",
                         "source": "INSEE, population municipale (COG 2025)"})
        messages.append({"figure": "—", "title": need.NOT_COMPUTED,
                         "text": need.unavailable_reason(), "source": ""})
        return messages
    frame = need_frame[is_among(need_frame["code"], codes)]
    total = frame["need_households"].sum(min_count=1)
    low, high = frame["need_households_low"].sum(min_count=1), frame["need_households_high"].sum(min_count=1)
    ordered = frame.sort_values("need_households", ascending=False)
    share = ordered["need_households"].cumsum() / total if total and total > 0 else None
    half = int((share < 0.5).sum()) + 1 if share is not None else 0
    messages.append({
        "figure": fr_number(total),
        "title": "ménages pauvres estimés",
        "text": (f"{_interval(low, high)}La moitié vit dans "
                 f"{fr_number(half)} commune{'s' if half > 1 else ''} : "
                 f"{_names(ordered.head(half), 3)}."),
        "source": ("INSEE, Filosofi 2021 : ménages fiscaux × taux de pauvreté (part des "
                   "personnes, appliquée aux ménages) ; taux estimé par le modèle là où il est "
                   "secret"),
    })
    scored = need_frame["status"].eq("calculé")
    cutoff = max(1, int(scored.sum() // 10))
    top = frame[frame["rank"] <= cutoff].sort_values("rank")
    robust = int(frame["top_decile_robust"].fillna(False).astype(bool).sum())
    # Name first the communes whose rank rests on a published poverty rate; say how many rest on
    # an estimate (a village under statistical secrecy is never named as if it were measured).
    estimated = (top["imputed_poverty_rate"].astype("boolean").fillna(False).astype(bool)
                 if "imputed_poverty_rate" in top.columns else pd.Series(False, index=top.index))
    named = pd.concat([top[~estimated], top[estimated]])
    estimated_text = (f" {fr_number(int(estimated.sum()))} d'entre elles reposent sur un taux de "
                      "pauvreté estimé (secret statistique)." if estimated.any() else "")
    first = (f"D'abord, au taux publié, {_names(named, 3)}." if (~estimated).any()
             else f"D'abord {_names(named, 3)} (taux estimés).")
    messages.append({
        "figure": fr_number(len(top)),
        "title": "communes parmi les 10 % les plus en besoin de France",
        "text": ((f"Dont {fr_number(robust)} dans ce premier décile dans au moins 90 % des "
                  f"1 000 tirages de pondération et de normalisation. {first}{estimated_text}")
                 if len(top) else
                 "Aucune commune du territoire dans le premier décile national."),
        "source": "Indice de besoin du projet, analyse de sensibilité (1 000 tirages)",
    })
    if gap_frame is not None and "missing_total" in gap_frame.columns:
        gap = gap_frame[is_among(gap_frame["code"], codes)]
        fictional = bool((gap_meta or {}).get("offer_fictional"))
        mark = " FICTIF" if fictional else ""
        missing = gap["missing_total"].sum(min_count=1)
        below = gap[gap["reference_class"].isin(
            ["très en dessous de la référence", "en dessous de la référence"])]
        below = below.sort_values("missing_total", ascending=False).merge(
            frame[["code", "name"]], on="code", suffixes=("_x", ""))
        method = (gap_meta or {}).get("reference_method_fr", "référence")
        messages.append({
            "figure": fr_number(missing) + mark,
            "title": "places manquantes pour atteindre la référence",
            "text": (f"Places à portée pour 1 000 ménages cibles de chaque famille d'offre, "
                     f"comparées à la référence ({method}) ; {fr_number(len(below))} "
                     f"commune{'s' if len(below) > 1 else ''} en dessous de la référence"
                     + (f", d'abord {_names(below, 3)}." if len(below) else ".")
                     + (" Offre FICTIVE (démonstration)." if fictional else "")),
            "source": "Modèle d'écart du projet, registre des membres"
                      + (" (données FICTIVES)" if fictional else ""),
        })
    return messages


def render() -> None:
    st.markdown(HIDE_CONTROLS, unsafe_allow_html=True)
    spec = state.current_spec()
    territory = state.current_territory() if spec else None
    model = need.need_model()
    need_frame = need.scored(model, need.current_settings(model)) if model else None
    bundle = gap_mod.gap_bundle(model) if model else None
    codes = territory.codes if territory else data.communes_table()["code"].tolist()

    st.markdown(f"# {html.escape(territory_label(spec), quote=False)}")
    st.markdown(f'<div class="diag-vintage">{html.escape(slide_line(model), quote=False)}</div>',
                unsafe_allow_html=True)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _map(territory, model, need_frame, bundle)
    with right:
        messages = key_messages(codes, need_frame, bundle.frame if bundle else None,
                                bundle.meta if bundle else None)
        for message in messages[:3]:
            text = {k: html.escape(str(v), quote=False) for k, v in message.items()}
            st.markdown(
                f'<div class="diag-message"><div class="figure">{text["figure"]}</div>'
                f'<div class="title">{text["title"]}</div>'
                f'<div class="text">{text["text"]}</div>'
                f'<div class="source">{text["source"]}</div></div>',
                unsafe_allow_html=True,
            )
    st.page_link(navigation.page("carte"), label="Quitter la présentation", icon=":material/close:")


def slide_line(model, today: dt.date | None = None) -> str:
    """« Situation au 30/11/2026 · Données : INSEE Filosofi 2021, … » (the slide's date and
    the vintages of the data it shows)."""
    today = today or dt.date.today()
    vintages: list[str] = ["INSEE COG 2025"]
    if model is not None:
        for spec in model.specs.values():
            producer = str(getattr(spec, "producer", "") or "").split(",")[0].strip()
            vintage = str(getattr(spec, "vintage", "") or "").strip()
            text = " ".join(x for x in (producer, vintage) if x)
            if text and text not in vintages:
                vintages.append(text)
    # One short line: the vintages grouped by producer, their long qualifiers left to the
    # Méthode page (« recensement 2018 (base du comparateur, édition 2022) » → « recensement 2018 »).
    grouped: dict[str, list[str]] = {}
    for text in vintages:
        producer, _, vintage = text.partition(" ")
        vintage = re.sub(r"\s*\(.*\)\s*", " ", vintage).strip()
        if vintage and vintage not in grouped.setdefault(producer, []):
            grouped[producer].append(vintage)
    parts = [f"{producer} ({', '.join(items)})" for producer, items in grouped.items()]
    return f"Situation au {today.strftime('%d/%m/%Y')} · Données : {' ; '.join(parts)}"


def _map(territory, model, need_frame, bundle) -> None:
    catalogue = variables.available_variables(model, bundle)
    wanted = state.remembered("map_variable", "need:score")
    variable = catalogue.get(wanted) or catalogue.get("need:score") or catalogue["ctx:density"]
    level = "communes" if territory is not None else "departements"
    if variable.kind == "categorical":
        level = "communes"
    view = territory_view(tuple(territory.codes)) if territory else national_view(level)
    values = variables.commune_values(variable, need_frame, bundle.frame if bundle else None, model)
    if level != "communes":
        values, _ = variables.aggregate_values(values, variable, level)
    values = values.reindex(view.codes)
    method_label = state.remembered("map_method", next(iter(classify.METHODS)))
    styled = mapview.styled_values(variable, values, classify.METHODS.get(method_label, "quantiles"),
                                   int(state.remembered("map_k", 5)))
    settings_label = need.current_settings(model).label if model is not None else None
    estimated = mapview.estimated_mask(variable, need_frame) if level == "communes" else None
    legend = mapview.legend(
        variable, styled, level, method_label,
        weighting=mapview.weighting_text(variable, settings_label),
        estimated=estimated is not None and bool(estimated.reindex(view.codes).fillna(False).any()),
        font_px=LEGEND_FONT_PX, width_px=LEGEND_WIDTH_PX, compact=True, horizontal=True,
    )
    # The legend lies under the territory, across the map: the territory keeps the map's width.
    fmap = mapview.base_map(view, MAP_HEIGHT, legend_room=10, legend_below=LEGEND_HEIGHT_PX)
    mapview.fill_height(fmap, view, legend_room=10, legend_below=LEGEND_HEIGHT_PX)
    layer = mapview.styler(view, variable, values, styled, legend, [], None, estimated)
    mapview.show(view, fmap, layer, "presentation", MAP_HEIGHT)


if __name__ == "__main__":
    render()
