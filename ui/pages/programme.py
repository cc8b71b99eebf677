"""Page « Programme »: the operations that would close the territory's missing places, where,
over how many years, and what they would cost — change the mix and the horizon, the totals
move.

Built on the gap model of ``ui.gap`` (the reference chosen on « Carte ») and
``models.programme``; the money comes from the economic model through
``models.programme_costs``. FICTIF stands beside every figure when the offer is the demo's.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number
from ui import data
from ui.territory_page import open_with_gap

NBSP = "\u00a0"
NONE = "aucun (non chiffré)"


def _euros(value: float, fictif: bool) -> str:
    return f"{fr_number(value)}{NBSP}€" + (" FICTIF" if fictif else "")


def _options(pg, pc, defaults) -> object:
    """The mix and the horizon chosen on the page (defaults of ``programme.yaml``)."""
    kinds = pc.kinds()
    horizon = st.slider("Horizon du programme (années)", 1, 15, int(defaults.horizon),
                        key="programme_horizon")
    choices = {}
    with st.expander("Type et taille des opérations, par famille d'offre", expanded=True):
        for family, choice in defaults.choices.items():
            cols = st.columns([2.2, 3, 1.3])
            cols[0].markdown(f"**{pg.family_label(family)}**")
            keys = [NONE, *kinds]
            kind = cols[1].selectbox(
                "Type d'opération", keys, index=keys.index(choice.kind or NONE),
                format_func=lambda k: kinds.get(k, k), key=f"programme_kind_{family}",
                label_visibility="collapsed")
            if kind == NONE:
                choices[family] = pg.FamilyChoice(None, 0.0, 0.0)
                continue
            size = cols[2].number_input(
                "Places par opération", min_value=1, max_value=500,
                value=int(choice.size or pc.kind_default_size(kind)), step=1,
                key=f"programme_size_{family}", label_visibility="collapsed",
                help="places (ou logements) d'une opération")
            choices[family] = pg.FamilyChoice(kind, float(size), min(choice.min_size, size))
    return pg.ProgrammeOptions(choices=choices, horizon=int(horizon),
                               max_share_of_target=defaults.max_share_of_target)


def render() -> None:
    from models import programme as pg
    from models import programme_costs as pc

    opened = open_with_gap("Programme", "le programme comble ses places manquantes.")
    if opened is None:
        return
    territory, bundle = opened
    if bundle.model.reference is None:
        st.warning("Programme non calculable : les ménages cibles (écart à la référence) ne sont "
                   "pas disponibles.")
        return
    fictif = bool(bundle.meta.get("offer_fictional"))
    if fictif:
        st.warning("FICTIF — l'offre des adhérents est celle de la démonstration : places "
                 "manquantes, opérations et montants de cette page sont fictifs.",
                 icon=":material/warning:")
    st.caption("Les opérations sont placées là où elles comblent le plus de places manquantes à "
               "portée (écart à la référence choisie sur « Carte »), et chiffrées par le modèle "
               "économique d'une opération évalué dans leur commune.")
    try:
        options = _options(pg, pc, pg.load_options())
        result = pg.build_programme(bundle.model, list(territory.codes), options,
                                    name=territory.name, store=data.store())
    except (pg.ProgrammeError, pc.ProgrammeCostError) as exc:
        st.error(f"Programme non calculé : {exc}")
        return
    _totals(result, fictif, pg, pc)
    _families(result, fictif, pg, pc)
    _yearly(result, fictif, pc)
    _operations(result, fictif, pg)
    with st.expander("Méthode, offre utilisée et limites"):
        st.markdown(f"- Offre comparée au besoin : {result.offer_used}.")
        for note in dict.fromkeys(result.notes):
            st.markdown(f"- {note}")
        st.markdown("- Bornes basse et haute : montants de l'estimation centrale × (places "
                    "manquantes de la borne / places manquantes centrales), par famille.")


def _totals(result, fictif: bool, pg, pc) -> None:
    central, low, high = (result.totals(v) for v in pg.VARIANTS)
    cols = st.columns(4)
    cols[0].metric("Places programmées" + (" (FICTIF)" if fictif else ""),
                   fr_number(central["places"]),
                   help=f"{fr_number(central['operations'])} opération(s)")
    cols[1].metric("Investissement" + (" (FICTIF)" if fictif else ""),
                   _euros(central["investment"], False),
                   help=f"de {_euros(low['investment'], False)} à "
                        f"{_euros(high['investment'], False)} selon l'incertitude du besoin")
    cols[2].metric("Subvention de l'État (FNAP)" + (" (FICTIF)" if fictif else ""),
                   _euros(central["state_subsidy"], False))
    cols[3].metric("Fonctionnement par an, en régime" + (" (FICTIF)" if fictif else ""),
                   _euros(central["running_total"], False),
                   help=f"dont État {_euros(central['state_running'], False)} ; déficit restant "
                        f"des gestionnaires {_euros(central['deficit'], False)} par an")
    rows = [{"Financeur": f, "Estimation centrale": _euros(central[f"subsidy:{f}"], fictif),
             "Fourchette": f"{_euros(low[f'subsidy:{f}'], False)} à "
                           f"{_euros(high[f'subsidy:{f}'], False)}"}
            for f in pc.SUBSIDY_FUNDERS]
    rows += [{"Financeur": f"{f} (par an)", "Estimation centrale":
              _euros(central[f"running:{f}"], fictif), "Fourchette": ""}
             for f in pc.RUNNING_FUNDERS]
    st.subheader("Par financeur")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _families(result, fictif: bool, pg, pc) -> None:
    rows = []
    fam = result.families.groupby("family", sort=False, as_index=False).agg(
        kind=("kind", "first"), missing=("missing", "sum"), low=("missing_low", "sum"),
        high=("missing_high", "sum"), unplaced=("unplaced", "sum"), n=("n_operations", "sum"))
    for row in fam.to_dict("records"):
        totals = result.totals("central", family=row["family"])
        rows.append({
            "Famille": pg.family_label(row["family"]),
            "Places manquantes": f"{fr_number(row['missing'], 1)} ({fr_number(row['low'], 1)} "
                                 f"à {fr_number(row['high'], 1)})" + (" FICTIF" if fictif else ""),
            "Type d'opération": pc.kinds().get(row["kind"], NONE) if isinstance(row["kind"], str)
            else NONE,
            "Opérations": int(row["n"]),
            "Places programmées": fr_number(totals["places"]),
            "Non placées": fr_number(row["unplaced"], 1),
            "Investissement": _euros(totals["investment"], fictif),
            "Fonctionnement par an": _euros(totals["running_total"], fictif),
        })
    st.subheader("Par famille d'offre")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _yearly(result, fictif: bool, pc) -> None:
    yearly = result.yearly("central")
    table = pd.DataFrame({
        "Année": yearly.index,
        "Places en service": [fr_number(v) for v in yearly["places_open"]],
        "Investissement": [_euros(v, fictif) for v in yearly["investment"]],
        "Subventions": [_euros(sum(r[f"subsidy:{f}"] for f in pc.SUBSIDY_FUNDERS), fictif)
                        for _, r in yearly.iterrows()],
        "Fonctionnement": [_euros(v, fictif) for v in yearly["running_total"]],
    })
    st.subheader("Année par année")
    st.dataframe(table, hide_index=True, width="stretch")


def _operations(result, fictif: bool, pg) -> None:
    ops = result.operations.sort_values(["year", "family", "rank"])
    st.subheader(f"Opérations placées ({fr_number(len(ops))})")
    if ops.empty:
        st.info("Aucune opération : pas de places manquantes qu'une opération de la taille "
                "choisie puisse combler.")
        return
    st.dataframe(pd.DataFrame({
        "Commune": [f"{n} ({c})" for n, c in zip(ops["name"], ops["code"], strict=True)],
        "Famille": [pg.family_label(f) for f in ops["family"]],
        "Type": ops["kind_label"],
        "Places": ops["places"].map(fr_number),
        "Année": ops["year"].astype(int),
        "Investissement": ops["investment"].map(lambda v: _euros(v, fictif)),
        "Fonctionnement par an": ops["running_total"].map(lambda v: _euros(v, fictif)),
    }), hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
