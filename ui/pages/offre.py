"""Page « Offre des membres »: import an operator's file into the registry.

1. the file is read (CSV, XLSX or GeoJSON) and its columns matched to the registry's fields;
   the user can correct every match;
2. « Vérifier » validates and locates every row without writing: the rows that would be
   rejected are listed with a French reason naming the row and the field, and can be
   downloaded to be corrected;
3. « Importer » writes the valid rows in one transaction (all or nothing).

The page also shows the registry's content for the territory, by the public confidentiality
rules (confidential sites never counted below whole départements, never named; totals under
three sites « < 3 »). Importing needs an operator or administrator account (sidebar « Compte »);
an operator sees its own sites, confidential ones included, and its own imports. The
repository checks every write again against the account (``operators.accounts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pandas as pd
import streamlit as st

import settings
from diagnostics.exports import csv_bytes
from diagnostics.formatting import MISSING, fr_bytes, fr_number
from diagnostics.sections.common import plural
from geodata.codes import is_among
from operators.exports import FICTIONAL_MARK
from operators.schema import (
    CONFIDENTIALITY,
    REJECT_REASON_COLUMN,
    REJECT_ROW_COLUMN,
    STATUSES,
)
from ui import data, state
from ui import sites as sites_mod
from ui.auth import current_account
from ui.picker import communes_of, territory_label
from ui.tables import french

NONE = "— aucune —"
# The uploader's own English texts, replaced or hidden. ``display: none`` and ``visibility:
# hidden`` take a text out of what a screen reader reads too (``font-size: 0`` did not: the
# button read « Upload Parcourir »). The browse button keeps only its French « Parcourir »; the
# file input, 0 × 0 and out of the tab order, named « file upload » by Streamlit, is hidden
# (the button still opens it). The last rule hides the size Streamlit writes after the file's
# name (« 0.7KB »: English unit, decimal point; in 1.67 that element has no test id of its own,
# it follows ``stFileChipName``): the page's own caption gives the name and the size in French
# (« 0,7 ko »). Streamlit 1.67 offers no way to change the rest, ``aria-label`` texts written
# by its frontend that a screen reader may still read in English: « Add files » (the browse
# button once a file is chosen), « Remove <file> » (the delete button) and « <file>, 0.7KB »
# (the file's chip: a plain container, whose name screen readers usually skip).
UPLOADER_FR = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::before {
  content: "Glissez-déposez le fichier ici"; display: block; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {
  content: "CSV, XLSX ou GeoJSON · 50 Mo au plus"; display: block; font-size: 0.85em;
  color: rgba(49, 51, 63, 0.6); }
[data-testid="stFileUploaderDropzoneInput"] { visibility: hidden; }
[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChipDeleteBtn"] *) * {
  display: none !important; }
[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChipDeleteBtn"] *)::after {
  content: "Parcourir"; font-size: 0.9rem !important; }
[data-testid="stFileChip"] [data-testid="stFileChipName"] ~ * { display: none; }
</style>
"""
# The registry's import log: French titles, without the server's paths and internal ids.
IMPORT_LOG_COLUMNS = {
    "started_at": "Début", "finished_at": "Fin", "imported_by": "Par", "file_name": "Fichier",
    "file_format": "Format", "operator_hint": "Opérateur", "rows_read": "Lignes lues",
    "imported": "Sites nouveaux", "updated": "Sites modifiés", "unchanged": "Sites inchangés",
    "rejected": "Lignes rejetées", "duplicates": "Doublons probables", "status": "État",
    "message": "Message",
}
OUTCOME_COLUMNS = {
    "ligne": "Ligne", "issue": "Issue", "detail": "Détail", "commune_code": "Commune",
    "geocode_method": "Localisation", "doublon_de": "Doublon probable de",
    "signalements": "Signalements",
}


def public_description(description: str) -> str:
    """The registry's description without a file path of the server."""
    text = re.sub(r"\s+(?:/|[A-Za-z]:\\)\S*", "", description)
    text = re.sub(r"[\w+.-]+://\S+", "", text).strip()  # postgresql+psycopg://… too
    return text[:1].upper() + text[1:]


def import_log_fr(log: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in IMPORT_LOG_COLUMNS if c in log.columns]
    out = log[keep].rename(columns=IMPORT_LOG_COLUMNS)
    for column in ("Début", "Fin"):
        if column in out:
            out[column] = out[column].astype("string").str.slice(0, 16).str.replace("T", " à ")
    return out


def rejects_first(rejects: pd.DataFrame) -> pd.DataFrame:
    """The reason first, then the row of the file, then its cells (French titles)."""
    names = {REJECT_REASON_COLUMN: "Motif du rejet", REJECT_ROW_COLUMN: "Ligne du fichier"}
    order = [c for c in (REJECT_REASON_COLUMN, REJECT_ROW_COLUMN) if c in rejects.columns]
    rest = [c for c in rejects.columns if c not in order]
    return rejects[order + rest].rename(columns=names)


_PROBLEM = re.compile(r"champ « (?P<field>[^»]+?) » : (?P<message>.*?)(?= ; champ « |$)")


def errors_by_field(reasons: pd.Series, rows: pd.Series) -> pd.DataFrame:
    """One line per error, field first: « Ligne | Champ | Erreur » (a rejected row's reason
    « ligne 7 : champ « capacité » : … ; champ « type d'offre » : … » split). Within a row the
    short errors come first, so that a long list of accepted values never hides the others."""
    out = []
    for row, reason in zip(rows, reasons, strict=True):
        text = str(reason or "")
        found = [(m["field"], m["message"].strip()) for m in _PROBLEM.finditer(text)]
        if not found:
            found = [("ligne", text.split(" : ", 1)[-1] if " : " in text else text)]
        for field_name, message in sorted(found, key=lambda fm: len(fm[1])):
            out.append({"Ligne": row, "Champ": field_name, "Erreur": message})
    return pd.DataFrame(out, columns=["Ligne", "Champ", "Erreur"])


def show_errors(reasons: pd.Series, rows: pd.Series) -> None:
    """The rejected rows' errors, one per line, field first (above the detailed tables)."""
    errors = errors_by_field(reasons, rows)
    if errors.empty:
        return
    st.markdown(f"**Erreurs à corriger** ({fr_number(len(errors))}, une par ligne)")
    st.dataframe(errors, hide_index=True, width="stretch", height=min(38 + 35 * len(errors), 320),
                 column_config={"Ligne": st.column_config.TextColumn(width="small"),
                                "Champ": st.column_config.TextColumn(width="medium"),
                                "Erreur": st.column_config.TextColumn(width="large")})


# The outcome of the last write, kept across the rerun that follows it (see :func:`_written`).
DONE_KEY = "offre_import_fait"


@dataclass
class WriteOutcome:
    """What a write into the registry told the user: shown once, after the page is drawn again
    on the registry as it now is."""

    place: str  # "import" (the file's section) or "demo"
    summary: str
    messages: list[str] = field(default_factory=list)
    outcomes: pd.DataFrame | None = None
    rejects: bytes | None = None
    rejects_name: str = ""
    rejected: int = 0
    by_blocks: bool = False  # a large file: errors drawn from the outcomes, first 1 000 rows


def _written(outcome: WriteOutcome) -> None:
    """After a write: forget the registry's cached version and draw the page again.

    The page (its list of sites, counts and map, and the FICTIF banner above every page) is
    drawn before the import form in the same script run, so it showed the registry as it was
    before the write until the next click. The rerun redraws everything on the new version;
    the import's summary, messages, errors and rejected rows are kept for that rerun (as a
    plain dict: this page's file is executed afresh at every run, its classes with it)."""
    sites_mod._fingerprint.clear()
    st.session_state[DONE_KEY] = dict(vars(outcome))
    st.rerun()


def _take_written(place: str) -> WriteOutcome | None:
    """The outcome of the write made just before this run in ``place``, taken from the session
    (shown once, wherever the run stops)."""
    stored = st.session_state.get(DONE_KEY)
    if not isinstance(stored, dict) or stored.get("place") != place:
        return None
    del st.session_state[DONE_KEY]
    return WriteOutcome(**stored)


def _show_written(outcome: WriteOutcome | None) -> None:
    """The summary, messages, errors and rejected rows of a write (where its button was)."""
    if outcome is None:
        return
    st.success(outcome.summary)
    for message in outcome.messages:
        st.caption(message)
    if outcome.rejects:
        st.download_button(
            f"Télécharger les {fr_number(outcome.rejected)} ligne(s) rejetée(s) (CSV)",
            outcome.rejects, file_name=outcome.rejects_name, mime="text/csv",
            key="offre_large_rejects", icon=":material/download:", on_click="ignore")
    if outcome.outcomes is None:
        return
    outcomes = outcomes_fr(outcome.outcomes)
    if outcome.by_blocks:
        issues = outcomes.get("Issue", pd.Series("", index=outcomes.index))
        refused = outcomes[issues.eq("rejeté")]
        if len(refused):
            show_errors(refused["Détail"].head(1000), refused["Ligne"].head(1000))
        st.dataframe(french(outcomes.head(1000)), hide_index=True, width="stretch", height=240)
        if len(outcomes) > 1000:
            st.caption(f"Les 1 000 premières lignes sur {fr_number(len(outcomes))}.")
        return
    st.dataframe(french(outcomes), hide_index=True, width="stretch", height=240)


def outcomes_fr(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The rows' outcomes with French titles and the location method in words."""
    from operators.schema import GEO_SHORT

    keep = [c for c in OUTCOME_COLUMNS if c in outcomes.columns]
    out = outcomes[keep].rename(columns=OUTCOME_COLUMNS)
    if "Localisation" in out:
        out["Localisation"] = out["Localisation"].map(
            lambda v: GEO_SHORT.get(v, v) if isinstance(v, str) else v)
    # A rejected row has no commune nor location: « — » in the cells themselves (the browser
    # draws a missing cell as « None » whatever the table's display values say).
    return out.astype(object).where(out.notna(), MISSING)


def render() -> None:
    st.title("Offre des membres")
    registry = sites_mod.registry()
    if registry is None:
        st.warning(sites_mod.unavailable_reason() or sites_mod.NOT_AVAILABLE)
        return
    actor = current_account()
    _content(registry, actor)
    st.header("Importer un fichier d'opérateur")
    if not actor.can_write:
        st.session_state.pop(DONE_KEY, None)  # a write's outcome never outlives its account
        st.info("Consultation publique : connectez-vous avec un compte opérateur ou "
                "administrateur (barre latérale, « Compte ») pour importer un fichier.")
        return
    _import_form(registry, actor)
    if actor.is_admin:
        _demo(registry, actor)


def _content(registry, actor) -> None:
    spec = state.current_spec()
    found = sites_mod.registry_sites()
    if found is None:
        st.warning(sites_mod.unavailable_reason())
        return
    description = public_description(found.description)
    count = plural(len(found.sites), "site non confidentiel", "sites non confidentiels")
    st.caption(f"{description} : {count}.")
    if found.sites.empty:
        st.info("Le registre est vide : importez un fichier ci-dessous, ou chargez l'offre de "
                "démonstration (FICTIVE).")
        return
    codes = communes_of(spec)["code"].tolist()
    inside = sites_mod.in_territory(found.sites, found.coverage, codes)
    labels = sites_mod.publics_labels()
    chosen = st.multiselect("Publics accueillis", list(labels), format_func=labels.get,
                            key="offre_publics", placeholder="tous les publics",
                            help="Ne garder que les sites qui accueillent au moins un de ces "
                                 "publics.")
    inside = sites_mod.filter_publics(inside, chosen)
    view = sites_mod.public(inside, sites_mod.confidential_figure(found, spec))
    st.subheader(f"Sites — {territory_label(spec)}")
    if view is None or inside.empty:
        st.caption("Aucun site non confidentiel enregistré dans ce territoire.")
        _confidential_line(view.confidential if view is not None else None)
        return
    cols = st.columns(2)
    cols[0].metric("Sites nommés", sites_mod.count_text(len(view.listed)))
    _confidential_line(view.confidential, cols[1])
    listed = view.listed.copy()
    listed["name"] = [f"[{sites_mod.FICTIONAL_LABEL}] {n}" if f else n
                      for n, f in zip(listed["name"], listed["fictional"].fillna(False), strict=True)]
    listed["publics_label"] = [sites_mod.publics_text(c) for c in listed.get("publics", [])]
    listed = _french_site_labels(listed)
    shown = listed[["name", "operator_name", "network", "commune_name", "offer_type_label",
                    "publics_label", "capacity", "capacity_unit", "status",
                    "confidentiality"]].rename(columns={
        "name": "Site", "operator_name": "Opérateur", "network": "Réseau", "commune_name": "Commune",
        "offer_type_label": "Type", "publics_label": "Publics", "capacity": "Capacité",
        "capacity_unit": "Unité",
        "status": "Statut", "confidentiality": "Diffusion"})
    st.dataframe(french(shown), hide_index=True, width="stretch", height=300)
    if view.fictional:
        st.caption(f"{sites_mod.FICTIONAL_LABEL} : données de démonstration, pas des sites réels.")
    _own_sites(registry, actor)
    journal = registry.visible_import_log(actor)
    if len(journal.columns) > 2:
        with st.expander("Journal des imports" + ("" if actor.is_admin else " (les vôtres)")):
            st.dataframe(french(import_log_fr(journal)), hide_index=True, width="stretch")
    _public_offer(codes)


def _public_offer(codes: list[str]) -> None:
    """The public establishments (FINESS) of the territory by family, CADA/CPH apart."""
    from models import supply
    from ui import mapview

    with st.expander("Offre publique (FINESS) du territoire"):
        points, notes = mapview.public_points(codes)
        if points is None:
            st.caption(" ".join(notes))
            return
        offer = mapview._public_establishments(data.store_key())
        inside = offer.points[is_among(offer.points["code"].astype(str), codes)]
        table = supply.public_by_family(inside)
        st.dataframe(french(table[["family_label", "n_establishments", "capacity",
                                   "n_capacity_unknown"]].rename(columns={
            "family_label": "Famille", "n_establishments": "Établissements",
            "capacity": "Places", "n_capacity_unknown": "Sans capacité publiée"})),
            hide_index=True, width="stretch")
        st.caption(f"Source : {offer.source}. Les CADA et CPH relèvent du dispositif national "
                   "d'asile : montrés à part, hors de l'offre d'insertion. " + " ".join(notes))


def _french_site_labels(sites: pd.DataFrame) -> pd.DataFrame:
    """Whole capacities, French status and diffusion labels (public list and own sites)."""
    sites["capacity"] = pd.to_numeric(sites["capacity"], errors="coerce").round(0).astype("Int64")
    sites["status"] = sites["status"].map(lambda v: STATUSES.get(v, v))
    sites["confidentiality"] = sites["confidentiality"].map(
        lambda v: CONFIDENTIALITY.get(v, v).split(" :")[0] if isinstance(v, str) else v)
    return sites


def own_sites_table(registry, actor) -> tuple[str, pd.DataFrame] | None:
    """What an account sees beyond the public view, as a French table with its title: an
    operator its own sites (confidential ones included), a delegate its network's
    non-confidential sites in detail, an administrator every site; None for the public."""
    from operators.schema import CONF_CONFIDENTIAL

    table = registry.tables["sites"]
    if actor.operator_id is not None:
        where, title = table.c.operator_id == actor.operator_id, (
            f"Vos sites ({actor.operator_name}), confidentiels compris")
    elif actor.network:
        where, title = (table.c.network == actor.network) & (
            table.c.confidentiality != CONF_CONFIDENTIAL), (
            f"Sites non confidentiels du réseau {actor.network} (détail)")
    elif actor.is_admin:
        where, title = None, "Tous les sites du registre (administrateur), confidentiels compris"
    else:
        return None
    found = pd.DataFrame(registry.sites(where=where)).drop(columns="geometry", errors="ignore")
    if found.empty:
        return None
    found = _french_site_labels(found)
    found["offer_type"] = found["offer_type"].map(sites_mod.offer_type_labels()).fillna(
        found["offer_type"])
    found["fictional"] = found["fictional"].fillna(False).astype(bool).map(
        {True: FICTIONAL_MARK, False: "non"})
    shown = found[["name", "operator_name", "address", "commune_name", "offer_type", "capacity",
                   "capacity_unit", "status", "confidentiality", "fictional"]].rename(columns={
        "name": "Site", "operator_name": "Opérateur", "address": "Adresse",
        "commune_name": "Commune", "offer_type": "Type", "capacity": "Capacité",
        "capacity_unit": "Unité", "status": "Statut", "confidentiality": "Diffusion",
        "fictional": "Fictif (démonstration)"})
    return title, shown.astype(object).where(shown.notna(), "")


def _own_sites(registry, actor) -> None:
    found = own_sites_table(registry, actor)
    if found is None:
        return
    title, shown = found
    with st.expander(f"{title} : {fr_number(len(shown))}"):
        st.dataframe(french(shown), hide_index=True, width="stretch")
        # The export of what this account may see (a delegate: its network's non-confidential
        # sites), with its source and date; formula prefixes neutralised by csv_bytes.
        export = shown.assign(Source=f"Registre des opérateurs membres, extrait du "
                                     f"{pd.Timestamp.now():%d/%m/%Y}")
        st.download_button("Télécharger ce tableau (CSV)", csv_bytes(export),
                           file_name="sites_registre_detail.csv", mime="text/csv",
                           key="own_sites_csv")


def _confidential_line(figure, container=None) -> None:
    """The confidential sites: binned, for whole départements or régions only."""
    if figure is None:
        (container or st).caption(
            "Sites confidentiels : jamais comptés à l'échelle d'une commune, d'un EPCI ou d'une "
            "liste de communes ; leur nombre arrondi n'est publié que par département ou région.")
        return
    (container or st).metric(
        "Sites confidentiels (départements entiers, arrondi)", figure.sites_text(),
        help=f"Capacité : {figure.capacity_text()}. Nombre publié par tranche de cinq, par "
             "département ; jamais nommés ni placés sur la carte.")


def _import_form(registry, actor) -> None:
    from operators.accounts import AccessDenied
    from operators.columns import ColumnMappingError, match_columns
    from operators.importer import ImportFileError, field_labels
    from operators.limits import InputTooLarge, check_input
    from operators.readers import ReadError, read_table
    from operators.schema import INPUT_FIELD_BY_NAME

    st.markdown(UPLOADER_FR, unsafe_allow_html=True)
    upload = st.file_uploader("Fichier CSV, XLSX ou GeoJSON", type=["csv", "txt", "xlsx", "geojson", "json"],
                              key="offre_file")
    done = _take_written("import")
    if upload is None:
        return
    content = upload.getvalue()
    try:
        check_input(content, upload.name)
        # Counted once per uploaded file, not at every rerun of the page.
        counted = st.session_state.setdefault("offre_rows", {})
        if upload.file_id not in counted:
            counted.clear()
            counted[upload.file_id] = count_rows(content, upload.name)
        rows = counted[upload.file_id]
        large = rows > PREVIEW_MAX_ROWS
        # A large file is never held whole: its header alone gives the columns to map.
        raw = head_table(content, upload.name) if large else read_table(content, upload.name)
    except (ReadError, InputTooLarge) as exc:
        st.error(str(exc))
        return
    if large:
        st.caption(f"« {upload.name} » ({fr_bytes(len(content))}) : {fr_number(rows)} "
                   "lignes de données. Au-delà de "
                   f"{fr_number(PREVIEW_MAX_ROWS)} lignes, le fichier est vérifié et écrit par "
                   "blocs, sans aperçu ligne à ligne : les lignes rejetées restent "
                   "téléchargeables après l'import.")
    else:
        st.caption(f"« {upload.name} » ({fr_bytes(len(content))}) : {raw.describe_fr()}.")
    columns = [c for c in raw.frame.columns if not c.startswith("_")]
    try:
        auto = match_columns(columns)
    except ColumnMappingError as exc:
        st.error(str(exc))
        return
    labels = field_labels()
    st.markdown("**Correspondance des colonnes** (reconnue automatiquement, modifiable)")
    mapping: dict[str, str] = {}
    grid = st.columns(3)
    for n, (name, label) in enumerate(labels.items()):
        spec = INPUT_FIELD_BY_NAME[name]
        if name in raw.forced_columns:
            continue
        default = auto.fields.get(name)
        options = [NONE, *columns]
        chosen = grid[n % 3].selectbox(
            f"{label}{' *' if spec.required else ''}", options,
            index=options.index(default) if default in options else 0,
            key=f"offre_map_{upload.name}_{name}", help=spec.description or None,
        )
        if chosen != NONE:
            mapping[chosen] = name
    duplicated = [c for c in mapping if list(mapping).count(c) > 1]
    if duplicated:
        st.error("Une colonne ne peut alimenter qu'un champ : " + ", ".join(duplicated))
        return
    with st.form("offre_defaults"):
        cols = st.columns(3)
        if actor.operator_name:
            operator = actor.operator_name
            cols[0].text_input("Opérateur (votre compte)", value=operator, disabled=True,
                               key="offre_operator_fixed")
        else:
            operator = cols[0].text_input("Opérateur (lignes sans opérateur)",
                                          key="offre_operator")
        network = cols[1].text_input("Réseau (FAPIL, SOLIHA, UNAFO…)", key="offre_network")
        fictional = cols[2].checkbox("Données fictives (démonstration)", key="offre_fictional")
        geocode = cols[2].checkbox("Géocoder les adresses (BAN, réseau nécessaire)", key="offre_ban")
        if large:
            confirm = st.checkbox(
                "Je confirme que des sites confidentiels de ce fichier peuvent devenir publics "
                "(ou localisés à la commune)", key="offre_large_disclose",
                help="Sans cette case, un import qui rend un site moins confidentiel est refusé.")
        checked = st.form_submit_button(
            "Vérifier et importer le fichier" if large else "Vérifier le fichier", type="primary")
    if large:
        if checked:
            _import_large(content, upload.name, registry, actor, mapping, operator, network,
                          fictional, geocode, confirm)
        _show_written(done)
        return
    key = f"offre_prepared_{upload.file_id}"
    if checked:
        try:
            with st.spinner("Vérification et localisation des lignes…"):
                st.session_state[key] = _prepare(content, upload.name, mapping, operator, network,
                                                 fictional, geocode)
        except (ImportFileError, ColumnMappingError) as exc:
            st.error(str(exc))
            st.session_state.pop(key, None)
            return
        except AccessDenied as exc:  # checked against the stored sites before any geocoding
            st.error(f"Import refusé, rien n'a été écrit : {exc}")
            st.session_state.pop(key, None)
            return
    prepared = st.session_state.get(key)
    if prepared is None:
        _show_written(done)  # the file just written: its preview gave way to the outcome
        return
    _preview(prepared, registry, key, operator, actor)


# Files up to settings.PREVIEW_MAX_ROWS rows get the row-by-row preview before writing (read
# whole); beyond, operators.importer.import_file checks and writes them block by block
# (200,000 rows under 500 MB, `bench registry_import_200k_peak_mb`).
PREVIEW_MAX_ROWS = settings.PREVIEW_MAX_ROWS


def count_rows(content: bytes, name: str) -> int:
    """Data rows of the file, read block by block (nothing kept)."""
    from operators.readers import open_table

    stream = open_table(content, name)
    try:
        return sum(len(block) for block in stream.blocks)
    finally:
        stream.close()


def head_table(content: bytes, name: str):
    """The file's first block (its columns and first rows) for the column mapping."""
    from operators.readers import open_table

    stream = open_table(content, name, block_rows=200)
    try:
        first = next(iter(stream.blocks), None)
    finally:
        stream.close()
    if first is None:
        return stream.head
    return replace(first, forced_columns=stream.head.forced_columns)


def _import_large(content: bytes, name: str, registry, actor, mapping: dict[str, str],
                  operator: str, network: str, fictional: bool, geocode: bool,
                  confirm: bool) -> None:
    """Check and write a large file block by block; the outcome and the rejected rows."""
    import tempfile
    from pathlib import Path

    from operators.importer import default_geocoder, import_file

    with tempfile.TemporaryDirectory(prefix="rejets-") as folder:
        try:
            with st.spinner("Vérification, localisation et écriture par blocs…"):
                result = import_file(
                    content, registry, name=name, operator=operator or None,
                    network=network or None, fictional=fictional, mapping=mapping,
                    geocoder=default_geocoder() if geocode else None, actor=actor,
                    confirm_disclosure=confirm, rejects_dir=Path(folder),
                )
        except Exception as exc:  # one transaction: nothing was written
            st.error(f"Import refusé, rien n'a été écrit : {exc}")
            return
        rejects = result.rejects_path.read_bytes() if result.rejects_path else None
    _written(WriteOutcome("import", result.summary_line(), list(result.messages),
                          pd.DataFrame(result.outcomes), rejects,
                          f"{name.rsplit('.', 1)[0]}_rejets.csv", result.rejected, by_blocks=True))


def _prepare(content: bytes, name: str, mapping: dict[str, str], operator: str, network: str,
             fictional: bool, geocode: bool):
    from operators.importer import default_geocoder, prepare_import
    from operators.validation import Defaults

    defaults = Defaults(operator_name=operator or None, network=network or None,
                        fictional=fictional)
    geocoder = default_geocoder() if geocode else None
    registry = sites_mod.registry()
    # The stored sites are consulted before any address leaves for the BAN: the account is
    # checked against them, and a stored site keeps its level when the file omits it.
    return prepare_import(content, name, defaults=defaults, mapping=mapping, geocoder=geocoder,
                          cache=registry, registry=registry, actor=current_account())


def _preview(prepared, registry, key: str, operator: str, actor) -> None:
    from operators.cells import safe_frame
    from operators.importer import write_prepared

    valid = len(prepared.sites)
    rejected = len(prepared.rejects)
    cols = st.columns(3)
    cols[0].metric("Lignes lues", fr_number(prepared.rows_read))
    cols[1].metric("Sites valides", fr_number(valid))
    cols[2].metric("Lignes rejetées", fr_number(rejected))
    st.caption(prepared.match.describe_fr() + ". " + prepared.geocoding.summary_fr() + ".")
    if rejected:
        rejects = rejects_first(prepared.rejects_frame())
        if "Motif du rejet" in rejects.columns:
            show_errors(rejects["Motif du rejet"],
                        rejects.get("Ligne du fichier", pd.Series("", index=rejects.index)))
        st.markdown("**Lignes rejetées** (corrigez-les puis importez à nouveau le fichier des rejets)")
        st.dataframe(french(rejects), hide_index=True, width="stretch", height=240)
        st.download_button(
            "Télécharger les lignes rejetées (CSV)",
            csv_bytes(safe_frame(prepared.rejects_frame())),
            file_name=f"{prepared.file_name.rsplit('.', 1)[0]}_rejets.csv", mime="text/csv",
            key=f"{key}_rejects", icon=":material/download:",
        )
    confirm = st.checkbox(
        "Je confirme que des sites confidentiels de ce fichier peuvent devenir publics (ou "
        "localisés à la commune)", key=f"{key}_disclose",
        help="Sans cette case, un import qui rend un site moins confidentiel est refusé.")
    if valid and st.button(f"Importer {valid} site(s) dans le registre", type="primary",
                           key=f"{key}_write"):
        try:
            with st.spinner("Écriture dans le registre…"):
                result = write_prepared(prepared, registry, actor=actor,
                                        confirm_disclosure=confirm, operator=operator or None)
        except Exception as exc:  # one transaction: nothing was written
            st.error(f"Import refusé, rien n'a été écrit : {exc}")
            return
        st.session_state.pop(key, None)
        _written(WriteOutcome("import", result.summary_line(), list(result.messages),
                              pd.DataFrame(result.outcomes)))


def _demo(registry, actor) -> None:
    st.header("Offre de démonstration")
    st.caption("130 sites FICTIFS de trois réseaux dans le Nord, la Creuse, l'Ardèche et la "
               "Seine-Saint-Denis, pour essayer l'application sans données réelles.")
    done = _take_written("demo")
    if st.button("Charger l'offre de démonstration (FICTIVE)", key="offre_demo"):
        from operators.demo import load_demo

        try:
            with st.spinner("Import de l'offre de démonstration…"):
                result = load_demo(registry, actor)
        except Exception as exc:  # the registry stays as it was
            st.error(f"Import de démonstration impossible : {exc}")
            return
        _written(WriteOutcome("demo", result.summary_line()))
    _show_written(done)


if __name__ == "__main__":
    render()
