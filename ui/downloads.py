"""Downloads: the territory's report (PDF, DOCX, HTML) and data exports (XLSX, CSV).

The report is built by ``diagnostics.produce`` from the same model results the app shows (the
weights chosen on « Méthode » included), so the document matches the screen. Building a PDF
takes a few seconds: it is prepared on request, then offered for download.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from operators.cells import safe_frame

FORMAT_LABELS = {
    "pdf": "Rapport PDF",
    "docx": "Rapport Word (DOCX)",
    "html": "Rapport HTML (autonome)",
    "xlsx": "Données (XLSX)",
    "csv": "Données des communes (CSV)",
}


def _model_outputs() -> dict:
    """The app's model results, handed to the report (same figures as on screen)."""
    from diagnostics.inputs import ModelOutput
    from ui import gap as gap_mod
    from ui import need
    from ui import sites as sites_mod

    options: dict = {}
    model = need.need_model(spinner=False)
    if model is not None:
        chosen = need.current_settings(model)
        options["need"] = ModelOutput(
            frame=need.with_explanations(model, chosen),
            meta={"log": model.result.log, "settings": chosen.label},
            source=f"modèle de besoin du projet ({chosen.label})",
        )
        bundle = gap_mod.gap_bundle(model)
        if bundle is not None:
            options["gap"] = ModelOutput(frame=bundle.frame.copy(), meta=dict(bundle.meta),
                                         source="modèle d'écart du projet")
    registry = sites_mod.registry_sites()
    if registry is not None:
        options["sites"] = registry.sites  # confidential sites already removed
        options["coverage"] = registry.coverage
        options["confidential"] = registry.confidential
    return options


def _operations(spec: str) -> dict:
    """The operations saved on « Montage d'opération » inside the territory (section « Modèle
    économique » of the report)."""
    from ui import operations, state

    try:
        codes = set(state.resolve(spec).codes)
    except Exception:  # an unreadable territory has no operation to carry
        return {}
    chosen = operations.in_territory(codes)
    return {"operations": chosen} if chosen else {}


def report_download(container, spec: str, name: str, key: str | None = None) -> None:
    """A format selector, a « Préparer » button, then the download button."""
    key = key or f"report_{spec}"
    with container.popover("Rapport et données", icon=":material/download:"):
        fmt = st.selectbox("Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.get,
                           key=f"{key}_fmt")
        ready = st.session_state.get(f"{key}_ready")
        if st.button("Préparer le fichier", key=f"{key}_go", type="primary"):
            from diagnostics.produce import report_bytes

            try:
                with st.spinner(f"Préparation de « {FORMAT_LABELS[fmt]} » pour {name}…"):
                    content, file_name, mime = report_bytes(spec, fmt, **_model_outputs(),
                                                            **_operations(spec))
            except Exception as exc:  # the app keeps working; the message says why
                st.error(f"Le fichier n'a pas pu être préparé : {exc}")
                return
            ready = (fmt, content, file_name, mime)
            st.session_state[f"{key}_ready"] = ready
        if ready and ready[0] == fmt:
            st.download_button(f"Télécharger {ready[2]}", ready[1], file_name=ready[2],
                               mime=ready[3], key=f"{key}_dl", type="primary")


def table_downloads(frame: pd.DataFrame, stem: str, key: str, sheet: str = "communes",
                    sources: pd.DataFrame | None = None) -> None:
    """CSV (UTF-8 with BOM, « ; », decimal comma: opens in a French Excel) and XLSX buttons.

    The files are written when a button is clicked, not on every run of the page.
    """
    left, right = st.columns(2)
    sheets = {sheet: frame} if sources is None else {sheet: frame, "sources": sources}
    left.download_button(
        "Télécharger (CSV)", lambda: french_csv(safe_frame(frame)),
        file_name=f"{stem}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:",
    )
    right.download_button(
        "Télécharger (XLSX)", lambda: xlsx_bytes(sheets), file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx", icon=":material/download:",
    )


def french_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as a French reader expects them in a file: « oui » / « non » for booleans (never
    True / False), whole numbers without « ,0 » (a count of 647 is not « 647,0 »), missing
    values left empty (never None or nan)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series):
            out[column] = series.map(lambda v: None if pd.isna(v) else ("oui" if v else "non"))
        elif pd.api.types.is_float_dtype(series):
            known = series.dropna()
            if len(known) and (known % 1 == 0).all() and known.abs().max() < 2**53:
                out[column] = series.round(0).astype("Int64")
        elif series.dtype == object:
            out[column] = series.map(lambda v: ("oui" if v else "non") if isinstance(v, bool)
                                     else (None if v is None else v))
    return out


def french_csv(frame: pd.DataFrame) -> bytes:
    """« ; »-separated, decimal comma, UTF-8 with BOM (opens right in a French Excel)."""
    from diagnostics.exports import csv_bytes

    return csv_bytes(french_values(frame))


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(french_values(frame)).to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()
