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


def reports_available() -> str | None:
    """None when the reports module is installed, else a French reason."""
    try:
        from diagnostics import produce  # noqa: F401
    except ImportError as exc:
        return f"Les rapports ne sont pas encore disponibles ({exc})."
    return None


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


def report_download(container, spec: str, name: str, key: str | None = None) -> None:
    """A format selector, a « Préparer » button, then the download button."""
    key = key or f"report_{spec}"
    reason = reports_available()
    if reason:
        container.caption(reason)
        return
    with container.popover("Rapport et données", icon=":material/download:"):
        fmt = st.selectbox("Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.get,
                           key=f"{key}_fmt")
        ready = st.session_state.get(f"{key}_ready")
        if st.button("Préparer le fichier", key=f"{key}_go", type="primary"):
            from diagnostics.produce import report_bytes

            try:
                with st.spinner(f"Préparation de « {FORMAT_LABELS[fmt]} » pour {name}…"):
                    content, file_name, mime = report_bytes(spec, fmt, **_model_outputs())
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
        "Télécharger (CSV)",
        lambda: safe_frame(frame).to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig"),
        file_name=f"{stem}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:",
    )
    right.download_button(
        "Télécharger (XLSX)", lambda: xlsx_bytes(sheets), file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx", icon=":material/download:",
    )


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name[:31], index=False)
    return buffer.getvalue()
