"""SDES RPLS, répertoire des logements locatifs des bailleurs sociaux: results per commune.

Workbook ``resultats_rpls_<yyyy>[_v<n>].xlsx`` (≈ 32 MB), sheet « COMMUNES » (found by
pattern): title lines, French labels, then the technical column names (row 6 of the published
file, found by the technical name of the key ``DEPCOM_ARM``, never by a French label), then
one row per commune — Paris, Lyon and Marseille by arrondissement, carried to their commune
by the COG passage (counts summed, rates re-weighted). The variables kept: social dwellings
(``nb_ls``), of which let to associations (``nb_asso``: the HLM partnership of the insertion
networks), financed by a PLAI loan (``nb_ls_plai``), in a QPV (``nb_ls_en_qpv``), vacant
(``nb_vacants``); vacancy rate (``tx_vac``), vacancy over three months (``tx_vac3``), mobility
rate (``tx_mob``), density per 100 main residences (``densite``). Rates are in percent, as
published. A code stored as a number by the spreadsheet (``1004``) gets its leading zero back.

The 2025 edition ships as a zip of per-territory workbooks: every workbook of the archive is
read the same way and the rows put together (a commune found in two workbooks is reported and
its first row kept).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from connectors.parsing import Col, ParseError, Rejects, find_sheet, read_excel_text
from connectors.sources.base import CarrySpec, Parsed, extract

# The key by its technical name only: the French label row above it says « Code commune ».
HEADER = r"depcom_arm|depcom"
COLUMNS: dict[str, Col] = {
    "code": Col(HEADER, "DEPCOM_ARM"),
    "name": Col(r"libcom", "LIBCOM", required=False),
    "social_dwellings": Col(r"nb_ls", "nb_ls"),
    "social_dwellings_associations": Col(r"nb_asso", "nb_asso", required=False),
    "social_dwellings_plai": Col(r"nb_ls_plai", "nb_ls_plai", required=False),
    "social_dwellings_qpv": Col(r"nb_ls_en_qpv", "nb_ls_en_qpv", required=False),
    "social_vacant": Col(r"nb_vacants", "nb_vacants", required=False),
    "social_vacancy_rate": Col(r"tx_vac", "tx_vac"),
    "social_vacancy_3m_rate": Col(r"tx_vac_?3", "tx_vac3", required=False),
    "social_mobility_rate": Col(r"tx_mob", "tx_mob"),
    "social_density": Col(r"densite", "densite", required=False),
}
NUMBERS = tuple(c for c in COLUMNS if c not in {"code", "name"})
COUNTS = ("social_dwellings", "social_dwellings_associations", "social_dwellings_plai",
          "social_dwellings_qpv", "social_vacant")
# Vacancy and mobility rates are shares of the social stock: weighted by it on merges.
# The density (per 100 main residences) has no weight here: missing on merged communes.
CARRY = CarrySpec(
    counts=COUNTS,
    rates=(
        ("social_vacancy_rate", "social_dwellings"),
        ("social_vacancy_3m_rate", "social_dwellings"),
        ("social_mobility_rate", "social_dwellings"),
    ),
    first=("name",),
)


def _workbooks(path: Path) -> list[tuple[str, object]]:
    """``(name, readable)`` of each workbook: the file itself, or every xlsx of a zip."""
    path = Path(path)
    if not path.exists():
        raise ParseError(f"Fichier introuvable : {path}")
    if not zipfile.is_zipfile(path) or path.suffix.lower() == ".xlsx":
        return [(path.name, path)]
    with zipfile.ZipFile(path) as archive:
        members = sorted(n for n in archive.namelist()
                         if n.lower().endswith(".xlsx") and not n.rsplit("/", 1)[-1].startswith("~"))
        if not members:
            raise ParseError(f"L'archive « {path.name} » ne contient aucun classeur .xlsx "
                             f"(contenu : {', '.join(archive.namelist()[:20])}).")
        return [(m.rsplit("/", 1)[-1], io.BytesIO(archive.read(m))) for m in members]


def _read_sheet(name: str, readable: object) -> tuple[pd.DataFrame, str]:
    sheet = find_sheet(readable, r".*communes?.*", name=name)
    frame = read_excel_text(readable, sheet=sheet, header=HEADER, name=name)
    frame = frame.astype(object).where(frame.notna(), "")
    return frame, sheet


def parse(path: Path) -> Parsed:
    """Parse the commune sheet of the RPLS results workbook (or of each workbook of a zip)."""
    books = _workbooks(path)
    several = len(books) > 1
    rejects = Rejects(Path(path).name)
    tables, found, sheets, read = [], {}, [], 0
    for name, readable in books:
        frame, sheet = _read_sheet(name, readable)
        table, book_rejects, book_found, _ = extract(
            frame, COLUMNS, source=f"{name} / {sheet}", numbers=NUMBERS
        )
        for line, field_name, value, reason in book_rejects.rows:
            # In a zip, each reject names its workbook and sheet beside the line.
            rejects.add(line, f"{name} / {sheet} : {field_name}" if several else field_name,
                        value, reason)
        tables.append(table.assign(_book=f"{name} / {sheet}"))
        found = {**book_found, **found}
        sheets.append(sheet)
        read += len(frame)
    table = pd.concat(tables, ignore_index=True)
    duplicated = table["code"].duplicated(keep="first")
    for index in table.index[duplicated.to_numpy()]:
        rejects.add(None, f"{table.at[index, '_book']} : {found['code']}", table.at[index, "code"],
                    "commune déjà lue dans un autre classeur de l'archive, ligne écartée")
    table = table.loc[~duplicated.to_numpy()].drop(columns="_book").reset_index(drop=True)
    missing = [c for c in COLUMNS if c not in table.columns]
    for column in missing:
        table[column] = float("nan") if column != "name" else None
    return Parsed(
        table=table[list(COLUMNS)],
        rejects=rejects,
        columns=found,
        notes={"onglet": sheets[0] if not several else sorted(set(sheets)),
               "classeurs": len(books), "lignes_lues": read, "colonnes_absentes": missing},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Shares of PLAI-financed dwellings and of dwellings let to associations, in percent."""
    out = table.copy()
    stock = out["social_dwellings"].where(out["social_dwellings"] > 0)
    out["social_plai_share"] = 100 * out["social_dwellings_plai"] / stock
    out["social_associations_share"] = 100 * out["social_dwellings_associations"] / stock
    return out
