"""XLSX workbook of one or several operations: parameters, investment plan, running account and
verdict, with the formulas visible (a finance officer changes a parameter and the workbook
recomputes).

The formulas come from the model's own expressions (:func:`models.operation_formulas.to_excel`),
so the workbook and the app compute the same figures. Column D repeats the app's value for
comparison. Every text that could come from a user (operation label, commune name) is written
as text and neutralised when it starts with ``= + - @`` (no formula injection).
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from models import operation_economics as oe
from models import operation_formulas as fx

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
ASSUMPTION_FILL = PatternFill("solid", fgColor="FFF2CC")
BOLD = Font(bold=True)
EURO_FORMAT = '#,##0 "€"'
NUMBER_FORMAT = "#,##0.00"
SECTIONS = [
    ("2. Plan de financement du propriétaire", ("dimension", *oe.PLAN_GROUPS)),
    ("3. Compte annuel du propriétaire", oe.OWNER_GROUPS),
    ("4. Compte annuel du gestionnaire", oe.MANAGER_GROUPS),
    ("5. Résultat de l'opération (propriétaire + gestionnaire)", oe.RESULT_GROUPS),
    ("6. Côté des ménages (information, hors totaux ; APL d'après OpenFisca-France)", ("info",)),
]
BOLD_GROUPS = {g for _, groups in SECTIONS for g in groups
               if g.startswith(("total_", "resultat")) or g == "ecart"}


def safe_text(value: object) -> str:
    """Text that a spreadsheet never reads as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _put_text(ws, cell: str, value: object, bold: bool = False) -> None:
    target = ws[cell]
    target.value = safe_text(value)
    target.data_type = "s"
    if bold:
        target.font = BOLD


def sheet_title(index: int, saved: dict) -> str:
    name = re.sub(r"[\[\]:*?/\\']", " ", str(saved.get("name") or saved.get("code") or ""))
    return f"{index} {name}"[:31].strip() or f"Opération {index}"


def write_operation(ws, saved: dict, params: oe.Parameters) -> None:
    """One operation on one sheet (parameters at the top, then the formulas)."""
    evaluation, verdict = oe.evaluate_saved(saved, params)
    kind = params.kinds[saved["kind"]]
    overrides = saved.get("overrides") or {}
    label = saved.get("label") or kind.label
    _put_text(ws, "A1", f"{label} — {saved.get('name', '')} ({saved.get('code', '')})", bold=True)
    ws["A1"].font = Font(bold=True, size=13)
    _put_text(ws, "A2", f"Type d'opération : {kind.label}. Les cellules de la colonne C sont des formules "
                        "ou des paramètres modifiables ; la colonne D donne la valeur calculée par "
                        "l'application.")
    row = 4
    _put_text(ws, f"A{row}", "1. Paramètres utilisés", bold=True)
    row += 1
    headers = ["Code", "Libellé", "Valeur", "Unité", "Statut", "Validité", "Source", "Adresse"]
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col)
        cell.value, cell.font, cell.fill = text, BOLD, HEADER_FILL
    refs: dict[str, str] = {}
    for parameter, changed in oe.used_parameters(saved["kind"], evaluation.inputs, params, overrides,
                                                 evaluation.day):
        if parameter.key in oe.LOCAL_INPUTS:
            continue
        row += 1
        ws.cell(row=row, column=1, value=parameter.key)
        _put_text(ws, f"B{row}", parameter.label)
        ws.cell(row=row, column=3, value=float(parameter.value)).number_format = NUMBER_FORMAT
        _put_text(ws, f"D{row}", parameter.unit)
        status = "valeur saisie par l'utilisateur" if changed else parameter.status
        _put_text(ws, f"E{row}", status)
        _put_text(ws, f"F{row}", parameter.valid)
        _put_text(ws, f"G{row}", parameter.source)
        _put_text(ws, f"H{row}", parameter.url)
        if parameter.assumption or changed:
            ws.cell(row=row, column=5).fill = ASSUMPTION_FILL
        refs[parameter.key] = f"$C${row}"
    for key, text, value, unit, source in oe.local_rows(evaluation, params, saved.get("context")):
        row += 1
        ws.cell(row=row, column=1, value=key)
        _put_text(ws, f"B{row}", text)
        ws.cell(row=row, column=3, value=float(value)).number_format = NUMBER_FORMAT
        _put_text(ws, f"D{row}", unit)
        _put_text(ws, f"F{row}", (evaluation.day.isoformat() if evaluation.day else ""))
        _put_text(ws, f"G{row}", source)
        refs[key] = f"$C${row}"

    for title, groups in SECTIONS:
        lines = [line for line in evaluation.lines if line.group in groups]
        if not lines:
            continue
        row += 2
        _put_text(ws, f"A{row}", title, bold=True)
        row += 1
        for col, text in enumerate(["Ligne", "Libellé", "Formule", "Valeur calculée (application)"], start=1):
            cell = ws.cell(row=row, column=col)
            cell.value, cell.font, cell.fill = text, BOLD, HEADER_FILL
        for line in lines:
            row += 1
            refs[line.key] = f"$C${row}"
            ws.cell(row=row, column=1, value=line.key)
            _put_text(ws, f"B{row}", line.label, bold=line.group in BOLD_GROUPS)
            cell = ws.cell(row=row, column=3, value=fx.to_excel(line.formula, refs))
            cell.number_format = EURO_FORMAT
            app_value = ws.cell(row=row, column=4, value=round(evaluation.values[line.key], 2))
            app_value.number_format = EURO_FORMAT
            if line.group in BOLD_GROUPS:
                cell.font = BOLD

    row += 2
    _put_text(ws, f"A{row}", "7. Verdict", bold=True)
    row += 1
    _put_text(ws, f"B{row}", "Équilibre (formule)")
    ws.cell(row=row, column=3, value=(
        f'=IF(AND({refs["ecart_financement"]}<={oe.TOLERANCE_EUR},'
        f'{refs["resultat_proprietaire"]}>=-{oe.TOLERANCE_EUR},'
        f'{refs["resultat_gestionnaire"]}>=-{oe.TOLERANCE_EUR}),"Équilibrée","Non équilibrée")'))
    row += 1
    _put_text(ws, f"B{row}", "Verdict de l'application")
    _put_text(ws, f"C{row}", verdict.text)
    for account, key, current, value in verdict.break_evens:
        row += 1
        described = params.describe(key, saved["kind"])
        _put_text(ws, f"E{row}", f"compte du {oe.ACCOUNT_LABELS[account]}")
        _put_text(ws, f"B{row}", f"Point d'équilibre : {described.label} ({described.unit})")
        ws.cell(row=row, column=3, value=round(value, 2) if value is not None else None)
        _put_text(ws, f"D{row}", f"valeur actuelle {current:,.2f}".replace(",", " ") if value is not None
                  else "aucune valeur positive n'équilibre l'opération")
    for note in evaluation.checks:
        row += 1
        _put_text(ws, f"B{row}", "Contrôle")
        _put_text(ws, f"C{row}", note)
    for col, width in zip("ABCDEFGH", (26, 60, 18, 22, 24, 40, 60, 40), strict=True):
        ws.column_dimensions[col].width = width
    for line_row in ws.iter_rows(min_row=1, max_row=2):
        for cell in line_row:
            cell.alignment = Alignment(wrap_text=False)
    ws.freeze_panes = "A4"
    ws.sheet_view.zoomScale = 90
    _ = get_column_letter  # columns are fixed above


def operations_xlsx(operations: list[dict], params: oe.Parameters | None = None) -> bytes:
    """The workbook of ``operations`` (saved operation dicts), one sheet each."""
    if not operations:
        raise oe.OperationError("Aucune opération à exporter.")
    params = params or oe.load_parameters()
    workbook = Workbook()
    workbook.remove(workbook.active)
    used = set()
    for index, saved in enumerate(operations, start=1):
        title = sheet_title(index, saved)
        while title in used:
            title = title[:28] + f" {index}"
        used.add(title)
        write_operation(workbook.create_sheet(title), saved, params)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
