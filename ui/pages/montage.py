"""Page « Montage d'opération »: will this operation balance, here?

The user picks a commune (the chosen one follows from « Commune » or « Scénarios »), a kind of
operation and its size, changes any parameter, and sees at once the investment plan, the running
account of a full year, the verdict with the break-even of the deciding parameters and a tornado
chart. Every parameter shows its source or « hypothèse à confirmer ». Saved operations stay in
the session and go into the territory report (section « Modèle économique ») and the XLSX.

The model is :mod:`models.operation_economics` (plain functions, a few milliseconds a run).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number, fr_percent
from models import operation_economics as oe
from ui import data, navigation, operations, state
from ui.picker import territory_label

KIND_KEY = "montage_kind"
PLAN_GROUPS = ("dimension", *oe.PLAN_GROUPS)
OWNER_GROUPS = oe.OWNER_GROUPS
MANAGER_GROUPS = oe.MANAGER_GROUPS
ASSUMPTION_MARK = " — hypothèse à confirmer"
SLIDERS = {"logements": (1, 200, 1), "loyer_mensuel": (0, 900, 5)}
GROUPS = [
    (
        "Dimension et investissement",
        (
            "logements",
            "personnes_par_logement",
            "surface_logement",
            "surface_collective_m2",
            "foncier_logement",
            "cout_travaux_m2",
            "taux_honoraires",
            "equipement_logement",
            "duree_bail",
        ),
    ),
    (
        "Aides à l'investissement et emprunt (propriétaire)",
        (
            "subvention_plai_logement",
            "subvention_plai_adapte_logement",
            "taux_anah_travaux",
            "plafond_travaux_anah_m2",
            "surface_max_anah_m2",
            "taux_tva_travaux",
            "subvention_collectivites_logement",
            "action_logement_logement",
            "bonus_programme_acv_pvd_logement",
            "taux_fonds_propres",
            "quotite_pret_max",
            "taux_livret_a",
            "marge_pret_plai",
            "duree_pret",
        ),
    ),
    (
        "Compte du propriétaire",
        (
            "loyer_proprietaire_mensuel",
            "provision_gros_entretien_logement_an",
            "taxe_fonciere_logement_an",
            "frais_proprietaire_logement_an",
            "redevance_bail_an",
            "frais_gestion_logement_an",
            "taux_honoraires_gestion",
            "decote_loc_avantages",
        ),
    ),
    (
        "Redevances et financements du gestionnaire",
        (
            "loyer_mensuel",
            "forfait_pension_famille_jour",
            "agls_par_logement_an",
            "taux_complement_agls_fjt",
            "pse_caf_an",
            "iml_sous_location_par_place_an",
            "iml_mandat_par_place_an",
            "gla_par_logement_an",
            "autres_produits_an",
            "ressources_annuelles_menage",
            "charges_locatives_menage_mensuelles",
        ),
    ),
    (
        "Charges et risques du gestionnaire",
        (
            "charges_locatives_logement_an",
            "cout_espaces_collectifs_m2_an",
            "etp_par_logement",
            "cout_etp_accompagnement",
            "budget_activites_place_an",
            "renouvellement_mobilier_logement_an",
            "gestion_logement_an",
            "taux_frais_siege",
            "taux_vacance",
            "taux_impayes",
        ),
    ),
]


def euros(value: float) -> str:
    return f"{fr_number(value)}\u00a0€"


def short_euros(value: float) -> str:
    """« 1,96 M€ » for large amounts (a metric must fit its column), else « 76 318 € »."""
    if abs(value) >= 1e6:
        return f"{fr_number(value / 1e6, 2)}\u00a0M€"
    return euros(value)


def table_height(rows: int) -> int:
    return 35 * (rows + 1) + 4


def _choose_commune() -> str | None:
    communes = data.communes_table()
    names = communes.set_index("code")["name"]
    territory = state.current_territory() if state.current_spec() else None
    chosen = state.selected_commune()
    options = list(territory.codes) if territory is not None else []
    if chosen and chosen not in options:
        options = [chosen, *options]
    if not options:
        st.info(
            "Choisissez une commune sur la page « Commune » ou un territoire dans le panneau de "
            "gauche : le montage porte sur une commune."
        )
        if st.button("Aller à la page Commune", key="montage_to_commune"):
            navigation.go("commune")
        return None
    options = sorted(options, key=lambda c: names.get(c, c))
    code = st.selectbox(
        "Commune",
        options,
        index=options.index(chosen) if chosen in options else 0,
        format_func=lambda c: f"{names.get(c, c)} ({c})",
        key="montage_commune",
    )
    if code != chosen:
        state.select_commune(code)
    return code


def _context_box(ctx: dict) -> None:
    from diagnostics.sections.economics import context_lines
    from models.operation_context import LocalContext

    with st.expander("Données locales prises en compte", expanded=False):
        for line in context_lines(LocalContext.from_dict(ctx)):
            st.markdown(f"- {line}")


def _number_input(container, kind: str, key: str, params: oe.Parameters, day=None) -> float:
    """One parameter's widget (label with its unit; help with its source or the assumption)."""
    described = params.describe(key, kind, day)
    default = float(described.value)
    label = f"{described.label} ({described.unit})"
    if described.assumption:
        label += ASSUMPTION_MARK
    help_text = f"Source : {described.source}."
    if described.valid:
        help_text += f" En vigueur depuis le {described.valid}."
    if described.url:
        help_text += f" {described.url}"
    widget = f"montage_{kind}_{key}"
    if key in SLIDERS:
        low, high, step = SLIDERS[key]
        preset = st.session_state.get(widget)  # set by « Scénarios » when it opens this page
        top = max(high, int(default * 2), int(preset or 0))
        value = {} if preset is not None else {"value": round(default)}
        return float(
            container.slider(
                label, min_value=low, max_value=top, step=step, key=widget, help=help_text, **value
            )
        )
    is_share = described.unit.startswith(("part", "taux"))
    if key == "marge_pret_plai":  # the only signed parameter
        return float(container.number_input(label, min_value=-0.05, max_value=0.05, value=default, step=0.001,
                                            format="%.3f", key=f"{widget}_{described.valid}", help=help_text))
    step = 0.005 if is_share else (0.01 if default < 10 else 100.0 if default >= 5000 else 1.0)
    return float(
        container.number_input(
            label,
            min_value=0.0,
            value=default,
            step=step,
            format="%.3f" if is_share or default < 10 else "%.0f",
            key=widget,
            help=help_text,
        )
    )


def _inputs(kind: str, params: oe.Parameters, day) -> dict[str, float]:
    """The parameter widgets of ``kind``; returns the values the user changed."""
    needed = set(oe.kind_inputs(kind)) - set(oe.LOCAL_INPUTS)
    overrides: dict[str, float] = {}
    for title, keys in GROUPS:
        shown = [k for k in keys if k in needed]
        if not shown:
            continue
        with st.expander(title, expanded=title.startswith("Dimension")):
            cols = st.columns(2)
            for i, key in enumerate(shown):
                value = _number_input(cols[i % 2], kind, key, params, day)
                if abs(value - params.describe(key, kind, day).value) > 1e-9:
                    overrides[key] = value
    return overrides


def _lines_table(evaluation: oe.Evaluation, groups: tuple[str, ...]) -> None:
    frame = _lines_frame(evaluation, groups)
    st.dataframe(frame, hide_index=True, width="stretch", height=table_height(len(frame)))


def _lines_frame(evaluation: oe.Evaluation, groups: tuple[str, ...]) -> pd.DataFrame:
    homes = evaluation.inputs["logements"]
    rows = [
        (line.label, evaluation.values[line.key], evaluation.values[line.key] / homes)
        for line in evaluation.lines
        if line.group in groups and line.key != "resultat_par_logement"
    ]
    frame = pd.DataFrame(rows, columns=["Poste", "Montant (€)", "Par logement (€)"])
    for column in ("Montant (€)", "Par logement (€)"):
        frame[column] = frame[column].map(fr_number)
    return frame


def tornado_chart(
    verdict: oe.Verdict, params: oe.Parameters, kind: str, base: float, swings: list | None = None,
    axis: str = "Résultat annuel (€)",
) -> alt.Chart:
    """Bars from the result at −20 % to the result at +20 % of each parameter, widest on top."""
    rows = []
    for rank, swing in enumerate((verdict.swings if swings is None else swings)[:10]):
        label = params.describe(swing.key, kind).label
        rows.append(
            {
                "Paramètre": label[:60],
                "rang": rank,
                "bas": min(swing.result_low, swing.result_high),
                "haut": max(swing.result_low, swing.result_high),
                "−20 %": fr_number(swing.result_low),
                "+20 %": fr_number(swing.result_high),
            }
        )
    frame = pd.DataFrame(rows)
    # Typed channels (not shorthand strings): altair then skips most of its schema work, and
    # the page draws the chart in a few tens of milliseconds after a slider move.
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#3b6ea5")
        .encode(
            y=alt.Y(field="Paramètre", type="nominal", sort=alt.SortField("rang"), title=None),
            x=alt.X(field="bas", type="quantitative", title=axis),
            x2=alt.X2(field="haut"),
            tooltip=[alt.Tooltip(field=f, type="nominal") for f in ("Paramètre", "−20 %", "+20 %")],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [base]}))
        .mark_rule(color="#c0392b")
        .encode(x=alt.X(field="x", type="quantitative"))
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color="#333", strokeDash=[4, 3])
        .encode(x=alt.X(field="x", type="quantitative"))
    )
    return (bars + rule + zero).properties(height=max(120, 32 * len(frame)))


def _verdict_block(evaluation: oe.Evaluation, verdict: oe.Verdict, params: oe.Parameters, kind: str) -> None:
    (st.success if verdict.balanced else st.error)(verdict.text)
    cols = st.columns(5)
    cols[0].metric("Coût de l'opération", short_euros(evaluation.values["cout_total"]))
    cols[1].metric("Reste à financer", short_euros(max(0.0, verdict.gap)))
    cols[2].metric("Résultat annuel", short_euros(verdict.result))
    cols[3].metric("Propriétaire, par an", short_euros(verdict.owner_result))
    cols[4].metric("Gestionnaire, par place et par an", euros(verdict.manager_result_per_place))
    lines = []
    for account, key, current, value in verdict.break_evens:
        described = params.describe(key, kind)
        who = f"compte du {oe.ACCOUNT_LABELS[account]}"
        if value is None:
            lines.append(
                f"- **{described.label}** ({who}) : aucune valeur positive ne l'équilibre "
                f"(actuellement {fr_number(current, 2)} {described.unit})."
            )
        else:
            lines.append(
                f"- **{described.label}** ({who}) : équilibre à **{fr_number(value, 2)} {described.unit}** "
                f"(actuellement {fr_number(current, 2)} {described.unit})."
            )
    if lines:
        st.markdown("**Point d'équilibre de chaque compte**\n" + "\n".join(lines))
    for note in evaluation.checks:
        st.warning(note)


def _parameters_table(
    evaluation: oe.Evaluation, params: oe.Parameters, kind: str, overrides: dict[str, float]
) -> None:
    rows = []
    for p, changed in oe.used_parameters(kind, evaluation.inputs, params, overrides, evaluation.day):
        value = (
            fr_percent(p.value, 1, scale=100)
            if p.unit.startswith(("part", "taux"))
            else f"{fr_number(p.value, 2 if p.value < 100 else 0)} {p.unit}"
        )
        rows.append(
            {
                "Paramètre": p.label,
                "Valeur": value,
                "Statut": "saisi par l'utilisateur" if changed else p.status,
                "Validité": p.valid,
                "Source": p.source,
                "Adresse": p.url,
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={"Adresse": st.column_config.LinkColumn("Adresse")},
    )
    st.caption(
        "Les valeurs marquées « hypothèse à confirmer » n'ont pas pu être vérifiées dans un texte "
        "publié : remplacez-les par celles du projet (ici, ou dans le fichier des paramètres "
        "d'opération du modèle)."
    )


def _saved_block(params: oe.Parameters) -> None:
    from diagnostics.operation_xlsx import operations_xlsx

    items = operations.saved()
    st.subheader(f"Opérations enregistrées ({len(items)})")
    if not items:
        st.caption(
            "Aucune opération enregistrée : « Enregistrer l'opération » la garde pour le rapport du "
            "territoire (section « Modèle économique ») et l'export XLSX."
        )
        return
    rows = []
    for op in items:
        try:
            evaluation, verdict = oe.evaluate_saved(op, params)
        except oe.OperationError as exc:
            rows.append({"Opération": op.get("label"), "Commune": op.get("name"), "Verdict": str(exc)})
            continue
        rows.append(
            {
                "Opération": op.get("label") or params.kinds[op["kind"]].label,
                "Commune": f"{op['name']} ({op['code']})",
                "Logements": fr_number(evaluation.inputs["logements"]),
                "Reste à financer (€)": fr_number(max(0.0, verdict.gap)),
                "Propriétaire (€/an)": fr_number(verdict.owner_result),
                "Gestionnaire (€/an)": fr_number(verdict.manager_result),
                "Verdict": "équilibrée" if verdict.balanced else "non équilibrée",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    cols = st.columns([2, 2, 3])
    labels = [f"{i + 1}. {r['Opération']} — {r['Commune']}" for i, r in enumerate(rows)]
    index = cols[0].selectbox(
        "Retirer une opération",
        range(len(labels)),
        format_func=labels.__getitem__,
        key="montage_remove_choice",
    )
    if cols[0].button("Retirer", key="montage_remove"):
        operations.remove(index)
        st.rerun()
    if any("Logements" not in row for row in rows):
        cols[1].warning("Une opération enregistrée ne se calcule plus : retirez-la pour exporter.")
    else:  # the workbook is written when the button is clicked, not on every run
        cols[1].download_button(
            "Plans et comptes (XLSX, formules)",
            lambda: operations_xlsx(items, params),
            file_name="montages_operations.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="montage_xlsx_all",
            icon=":material/download:",
        )
    spec = state.current_spec()
    if spec:
        from ui.downloads import report_download

        report_download(cols[2], spec, territory_label(spec), key=f"montage_report_{spec}")
        cols[2].caption("Le rapport du territoire reprend les opérations enregistrées dans ses communes.")


def render() -> None:
    st.title("Montage d'opération")
    st.caption(
        "Cette opération s'équilibrera-t-elle, ici ? Plan de financement et compte du propriétaire, "
        "compte du gestionnaire (reliés par le loyer ou la redevance), aide au logement des ménages "
        "(OpenFisca-France) et verdict de chaque compte. Tous les montants sont modifiables ; leur "
        "source, ou « hypothèse à "
        "confirmer », est donnée en survolant le « ? »."
    )
    try:
        params = operations.parameters()
    except oe.OperationError as exc:
        st.error(str(exc))
        return
    top = st.columns([2, 2, 1, 1])
    with top[0]:
        code = _choose_commune()
    if code is None:
        return
    try:
        ctx = operations.context(code)
    except ValueError as exc:
        st.error(str(exc))
        return
    kinds = list(params.kinds)
    kind = top[1].selectbox(
        "Type d'opération",
        kinds,
        format_func=lambda k: params.kinds[k].label,
        key=state.kept(KIND_KEY, kinds[0], kinds),
    )
    zone_apl = top[2].selectbox(
        "Zone APL",
        oe.ZONES_APL,
        index=oe.ZONES_APL.index(ctx["zone_apl"]),
        key=f"montage_zone_{code}",
        help=ctx.get("zone_apl_note", ""),
    )
    day = top[3].date_input("Date de l'opération", key="montage_date", format="DD/MM/YYYY",
                            help="Les valeurs datées (livret A, AGLS, forfait, plafonds APL) en vigueur "
                                 "à cette date.")
    _context_box(ctx)
    left, right = st.columns([2, 3], gap="large")
    with left:
        try:
            overrides = _inputs(kind, params, day)
        except oe.OperationError as exc:  # e.g. a date before the first value of a dated series
            st.error(str(exc))
            return
    acv_pvd = bool(ctx.get("acv")) or bool(ctx.get("pvd"))
    try:
        values = oe.inputs_for(kind, params, zone_apl=zone_apl, acv_pvd=acv_pvd, overrides=overrides, day=day)
        evaluation = oe.evaluate(kind, values, params, ctx)
        evaluation.day = oe.as_day(day)
        verdict = oe.verdict(evaluation)
    except oe.OperationError as exc:
        right.error(str(exc))
        return
    with right:
        _verdict_block(evaluation, verdict, params, kind)
        plan, owner, manager, households, sensitivity, sources = st.tabs(
            ["Plan de financement", "Compte du propriétaire", "Compte du gestionnaire", "Ménages (APL)",
             "Sensibilité", "Paramètres et sources"]
        )
        with plan:
            _lines_table(evaluation, PLAN_GROUPS)
        with owner:
            _lines_table(evaluation, OWNER_GROUPS)
        with manager:
            _lines_table(evaluation, MANAGER_GROUPS)
            _market_note(ctx, evaluation, kind)
        with households:
            _households(evaluation, params, kind)
        with sensitivity:
            targets = {"resultat": "de l'opération", "resultat_proprietaire": "du propriétaire",
                       "resultat_gestionnaire": "du gestionnaire"}
            target = st.radio("Résultat annuel", list(targets), format_func=targets.get, horizontal=True,
                              key="montage_tornado_target")
            swings = (verdict.swings if target == "resultat"
                      else oe.tornado(kind, evaluation.inputs, target=target))
            if swings:
                axis = f"Résultat annuel {targets[target]} (€)"
                chart = tornado_chart(verdict, params, kind, evaluation.values[target], swings, axis)
                st.vega_lite_chart(spec=chart.to_dict(validate=False), width="stretch")
                st.caption(
                    f"Résultat annuel {targets[target]} quand chaque paramètre varie de −20 % à +20 % "
                    "(trait rouge : résultat actuel ; pointillé : équilibre)."
                )
            else:
                st.info("Aucun paramètre non nul à faire varier.")
        with sources:
            _parameters_table(evaluation, params, kind, overrides)
        label = st.text_input(
            "Nom de l'opération",
            value=f"{params.kinds[kind].label} — {ctx['name']}",
            key=f"montage_label_{kind}_{code}",
            max_chars=120,
        )
        if st.button("Enregistrer l'opération", type="primary", key="montage_save"):
            operations.add(oe.saved_operation(kind, ctx, overrides, zone_apl=zone_apl, label=label, day=day))
            st.toast("Opération enregistrée : elle figurera dans le rapport du territoire.")
    _saved_block(params)


def _households(evaluation: oe.Evaluation, params: oe.Parameters, kind: str) -> None:
    from diagnostics.sections.economics import households_table

    table = households_table({"kind": kind}, evaluation, params)
    st.markdown(f"**{table.title}**")
    st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, width="stretch")
    st.caption(table.source + ". « Très social » : redevance ou loyer au plus égal au plafond APL du ménage "
               "(condition du PLAI adapté).")


def _market_note(ctx: dict, evaluation: oe.Evaluation, kind: str) -> None:
    if not kind.startswith("iml"):
        return
    from models.operation_context import LocalContext, market_for_inputs, market_text

    st.caption(market_text(market_for_inputs(LocalContext.from_dict(ctx), evaluation.inputs)))


if __name__ == "__main__":
    render()
