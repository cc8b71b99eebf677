"""Page « Qui fait quoi où »: per EPCI (or département) of the territory, the members present,
their families of offer and publics, the overlaps and the blanks — to prepare a joint answer to
a call for projects. Below: the dated snapshots of the registry (take one, compare two dates)
and the « bilan réseau » (PDF, XLSX).

Everything shown is the public view (``models.network_presence``, ``operators.confidentiality``):
confidential sites are counted in the totals, never named.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import data, state
from ui import sites as sites_mod
from ui.auth import current_account
from ui.picker import communes_of, territory_label
from ui.tables import french

LEVELS = {"epci": "EPCI", "dep": "Département"}
LEVELS_PLURAL = {"epci": "EPCI", "dep": "Départements"}  # « EPCI » is invariable in French


def render() -> None:
    st.title("Qui fait quoi où")
    st.caption("Les adhérents présents par EPCI ou par département : opérateurs et réseaux, "
               "familles d'offre et publics, chevauchements et blancs. Vue publique : les sites "
               "confidentiels sont comptés, jamais nommés.")
    registry = sites_mod.registry()
    found = sites_mod.registry_sites()
    if registry is None or found is None:
        st.warning(sites_mod.unavailable_reason() or sites_mod.NOT_AVAILABLE)
        return
    if found.sites.empty:
        st.info("Le registre est vide : importez les fichiers des adhérents sur la page « Offre "
                "des membres », ou l'offre de démonstration (FICTIVE).")
        return
    spec = state.current_spec()
    _presence(found, spec)
    st.header("Évolutions entre deux dates")
    _snapshots(registry, spec)
    st.header("Bilan réseau")
    _bilan(registry, spec)


def _presence(found, spec: str | None) -> None:
    from models.network_presence import presence
    from operators import confidentiality as conf
    from operators import publics as pub

    communes = communes_of(spec)
    left, right = st.columns([1, 2])
    level = left.radio("Échelle", list(LEVELS), format_func=LEVELS.get, horizontal=True,
                       key=state.kept("reseaux_level", "epci", list(LEVELS)))
    chosen = right.multiselect(
        "Publics accueillis", list(pub.LABELS), format_func=pub.LABELS.get,
        key="reseaux_publics", placeholder="tous les publics",
        help="Ne garder que les sites qui accueillent au moins un de ces publics.",
    )
    sites = found.sites
    if chosen:
        sites = sites[pub.has_any(sites["publics"], chosen)]
    key = "epci_code" if level == "epci" else "dep_code"
    name_col = "epci_name" if level == "epci" else "dep_name"
    areas = sorted(communes[key].dropna().unique())
    if not spec:  # France: the areas where a member is present
        inside = sites_mod.in_territory(sites, found.coverage, communes["code"])
        present = set(communes.loc[communes["code"].isin(set(inside["commune_code"].dropna())),
                                   key])
        areas = [a for a in areas if a in present]
    names = dict(zip(communes[key], communes[name_col], strict=False))
    table = data.communes_table()[["code", "name", "epci_code", "dep_code"]]
    result = presence(sites, found.coverage, table, level, conf.PUBLIC, names, areas)
    st.subheader(f"{LEVELS_PLURAL[level]} — {territory_label(spec)}")
    if result.fictional:
        st.caption(f"{sites_mod.FICTIONAL_LABEL} : données de démonstration, pas des sites réels.")
    st.dataframe(french(result.areas), hide_index=True, width="stretch", height=320)
    if not areas:
        return
    area = st.selectbox(f"Détail d'un {LEVELS[level]}", areas, format_func=lambda a: names.get(a, a),
                        key="reseaux_area")
    column = LEVELS[level]
    tabs = st.tabs(["Opérateurs", "Chevauchements", "Blancs", "Offre par famille",
                    "Publics et familles"])
    frames = (result.operators, result.overlaps, result.blanks, result.totals)
    empty = ("Aucun opérateur nommé.", "Aucun chevauchement.", "Aucun blanc.", "Aucun site.")
    for tab, frame, message in zip(tabs[:4], frames, empty, strict=True):
        part = frame[frame[column] == area].drop(columns=[column, "Territoire"]) if len(frame) \
            else frame
        if part.empty:
            tab.caption(message)
        else:
            tab.dataframe(french(part), hide_index=True, width="stretch")
    tabs[4].dataframe(pub.mapping_table().drop(columns="Code"), hide_index=True, width="stretch")
    tabs[4].caption("Les familles d'offre tiennent lieu de catégories de besoin ; la "
                    "correspondance avec les publics est une lecture indicative.")
    st.caption("« Aucun adhérent déclaré » ne dit pas qu'aucune offre n'existe : le registre ne "
               "connaît que ses adhérents.")


def _snapshots(registry, spec: str | None) -> None:
    from operators import confidentiality as conf
    from operators import snapshots as snap

    listed = snap.list_snapshots(registry)
    left, right = st.columns([2, 1])
    day = right.date_input("Date de l'instantané", value=dt.date.today(), key="reseaux_snap_day",
                           format="DD/MM/YYYY")
    actor = current_account()
    if right.button("Prendre un instantané", key="reseaux_snap_go", disabled=not actor.is_admin,
                    help=None if actor.is_admin else "Réservé aux administrateurs (compte requis)."):
        try:
            info = snap.take_snapshot(registry, actor, day)
        except Exception as exc:  # the page keeps working; the message says why
            right.error(f"L'instantané n'a pas pu être pris : {exc}")
        else:
            right.success(f"Instantané du {info.snapshot_date} : {info.site_count} sites.")
            listed = snap.list_snapshots(registry)
    if len(listed) < 2:
        left.info("Deux instantanés datés au moins sont nécessaires pour comparer l'offre entre "
                  f"deux dates ({len(listed)} pour l'instant). Un par an — au 31 décembre par "
                  "exemple — ou à la demande.")
        return
    dates = listed["snapshot_date"].tolist()
    first = left.selectbox("Première date", dates, index=len(dates) - 2, key="reseaux_d1")
    second = left.selectbox("Seconde date", dates, index=len(dates) - 1, key="reseaux_d2")
    codes = None if not spec else communes_of(spec)["code"].tolist()
    try:
        date_a, date_b, changes = snap.compare_dates(registry, first, second, codes)
    except snap.SnapshotError as exc:
        st.warning(str(exc))
        return
    st.caption(f"Offre de {territory_label(spec)} : instantané du {date_a} → {date_b}.")
    if changes.empty:
        st.caption("Aucune évolution entre ces deux dates.")
        return
    summary = snap.summary(changes, conf.PUBLIC).rename(columns={
        "change": "Évolution", "depuis": "Depuis (conversion)", "famille": "Famille d'offre",
        "sites": "Sites", "capacite_logements": "Logements", "capacite_places": "Places",
        "capacite_mesures": "Mesures"}).drop(columns=["sites_n", "capacite_incomplete"])
    st.dataframe(french(summary), hide_index=True, width="stretch")


def _bilan(registry, spec: str | None) -> None:
    from diagnostics import network_report as nr
    from operators.schema import NETWORKS

    cols = st.columns(4)
    network = cols[0].selectbox("Réseau", ["", *NETWORKS], key="reseaux_bilan_net",
                                format_func=lambda n: n or "tous réseaux")
    scope = cols[1].radio("Périmètre", ["territoire", "france"], key="reseaux_bilan_scope",
                          format_func={"territoire": "territoire choisi",
                                       "france": "France"}.get)
    year = cols[2].number_input("Année", min_value=2000, max_value=dt.date.today().year,
                                value=dt.date.today().year - 1, step=1, key="reseaux_bilan_year")
    fmt = cols[3].selectbox("Format", ["xlsx", "pdf"], key="reseaux_bilan_fmt",
                            format_func={"xlsx": "Classeur XLSX", "pdf": "PDF"}.get)
    territory = spec if (scope == "territoire" and spec) else nr.FRANCE
    if st.button("Préparer le bilan réseau", key="reseaux_bilan_go", type="primary"):
        try:
            with st.spinner("Préparation du bilan réseau…"):
                report = nr.from_registry(registry, data.store(), network=network or None,
                                          territory=territory, year=int(year))
                content = nr.pdf_bytes(report) if fmt == "pdf" else nr.xlsx_bytes(report)
        except Exception as exc:  # the page keeps working; the message says why
            st.error(f"Le bilan n'a pas pu être préparé : {exc}")
            return
        st.session_state["reseaux_bilan"] = (fmt, content, f"{report.slug}.{fmt}")
    ready = st.session_state.get("reseaux_bilan")
    if ready and ready[0] == fmt:
        mime = "application/pdf" if fmt == "pdf" else (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        st.download_button(f"Télécharger {ready[2]}", ready[1], file_name=ready[2], mime=mime,
                           key="reseaux_bilan_dl")


if __name__ == "__main__":
    render()

