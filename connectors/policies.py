"""The public-policy frame of each territory: one record per territory × policy.

No national open dataset lists the territories of accelerated implementation of the Logement
d'abord plan, the délégataires des aides à la pierre, the PLH in force or the PDALHPD and their
periods. They come from CSV files a network maintains, in the layout of
``catalogues/politiques/modele_cadre_politiques.csv``; the project ships its own compilation
(``catalogues/politiques/``), one source address per row.

:func:`read_policy_csv` validates a file: every refused row is kept with its line, field,
value and a French reason, never dropped silently. :func:`build_policy_layer` writes the
accepted rows of every file as the stored dataset ``cadre_politiques`` (and the refused ones as
``cadre_politiques_rejets``), with the files' sha256 and names in the manifest.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from catalogues.policies import (  # noqa: F401 (the layout, re-exported for the connector's users)
    COLUMNS,
    DATASET,
    FOLDER,
    LEVELS,
    POLICIES,
    PROJECT_FILES,
    REJECTS_DATASET,
    REQUIRED,
    STATUSES,
    TO_COMPLETE,
    parse_date,
)
from geodata.store import Manifest, Store, StoreError, sha256_of_files

BUILDER_VERSION = "1"


class PolicyFileError(ValueError):
    """A policy file cannot be read at all (French message)."""


@dataclass(frozen=True)
class Reference:
    """Codes a row may name: communes (INSEE), EPCI (SIREN), départements."""

    communes: frozenset[str]
    epci: frozenset[str]
    departements: frozenset[str]

    @classmethod
    def from_store(cls, store: Store) -> Reference:
        return cls(
            frozenset(store.read_frame("communes", columns=["code"])["code"].astype(str)),
            frozenset(store.read_frame("epci", columns=["code"])["code"].astype(str)),
            frozenset(store.read_frame("departements", columns=["code"])["code"].astype(str)),
        )

    def knows(self, level: str, code: str) -> bool:
        return code in {"commune": self.communes, "epci": self.epci,
                        "departement": self.departements}[level]


@dataclass
class PolicyImport:
    """Accepted rows (the columns of :data:`COLUMNS` plus ``fichier`` and ``ligne``) and
    refused ones (``fichier, ligne, champ, valeur, motif`` and the row's own cells)."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    files: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [f"{r.fichier}, ligne {r.ligne}, champ « {r.champ} » : {r.motif}"
                for r in self.rejects.itertuples()]


def _read_table(data: bytes, name: str) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        frame = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
        if len(frame.columns) == 1 and "," in frame.columns[0]:
            frame = pd.read_csv(io.StringIO(text), sep=",", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PolicyFileError(f"Fichier « {name} » illisible comme tableau CSV ({exc}).") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise PolicyFileError(
            f"Fichier « {name} » : colonne(s) obligatoire(s) absente(s) : {', '.join(missing)} "
            f"(modèle : catalogues/politiques/modele_cadre_politiques.csv)."
        )
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame[list(COLUMNS)].apply(lambda s: s.str.strip())


def _row_errors(row: pd.Series, reference: Reference | None) -> list[tuple[str, str, str]]:
    """``(field, value, French reason)`` of each fault of one row."""
    errors = []
    policy, level, code = row["politique"], row["niveau"], row["code_territoire"]
    if policy not in POLICIES:
        errors.append(("politique", policy, "politique inconnue (attendu : "
                       + ", ".join(POLICIES) + ")"))
    if level not in LEVELS:
        errors.append(("niveau", level, "niveau inconnu (attendu : commune, epci ou departement)"))
    elif not code:
        errors.append(("code_territoire", code, "code du territoire manquant"))
    elif reference is not None and not reference.knows(level, code):
        what = {"commune": "commune inconnue du COG", "epci": "EPCI inconnu (SIREN absent de "
                "la liste des EPCI)", "departement": "département inconnu"}[level]
        errors.append(("code_territoire", code, what))
    if row["statut"] not in STATUSES:
        errors.append(("statut", row["statut"], "statut inconnu (attendu : "
                       + ", ".join(STATUSES) + ")"))
    dates = {}
    for column in ("debut", "fin", "lu_le"):
        if row[column]:
            try:
                dates[column] = parse_date(row[column], end=column == "fin")
            except ValueError:
                errors.append((column, row[column], "date illisible (attendu AAAA, AAAA-MM-JJ "
                               "ou JJ/MM/AAAA)"))
    if "debut" in dates and "fin" in dates and dates["fin"] < dates["debut"]:
        errors.append(("fin", row["fin"], f"fin antérieure au début ({row['debut']})"))
    if row["statut"] != TO_COMPLETE and row["statut"] in STATUSES:
        if not row["source"]:
            errors.append(("source", "", "adresse de la source manquante (obligatoire sauf pour "
                           "une ligne « à compléter »)"))
        if not row["lu_le"]:
            errors.append(("lu_le", "", "date de lecture de la source manquante"))
    return errors


def read_policy_csv(data: bytes | str | Path, reference: Reference | None = None,
                    name: str | None = None) -> PolicyImport:
    """Validate one policy file; refused rows are kept in ``rejects`` with French reasons.

    Parameters
    ----------
    data
        The file's bytes, or its path.
    reference
        Known codes; without it codes are not checked (only their presence).
    """
    if isinstance(data, str | Path):
        path = Path(data)
        name = name or path.name
        data = path.read_bytes()
    name = name or "fichier"
    frame = _read_table(data, name)
    kept, refused = [], []
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, row in frame.iterrows():
        line = int(index) + 2  # header is line 1
        errors = _row_errors(row, reference)
        key = (row["politique"], row["niveau"], row["code_territoire"], row["debut"])
        if not errors and key in seen:
            errors.append(("code_territoire", row["code_territoire"],
                           f"doublon de la ligne {seen[key]} (même politique, territoire et début)"))
        if errors:
            for column, value, reason in errors:
                refused.append({"fichier": name, "ligne": line, "champ": column, "valeur": value,
                                "motif": reason, **row.to_dict()})
            continue
        seen[key] = line
        kept.append({**row.to_dict(), "fichier": name, "ligne": line})
    rows = pd.DataFrame(kept, columns=[*COLUMNS, "fichier", "ligne"])
    rejects = pd.DataFrame(refused, columns=["fichier", "ligne", "champ", "valeur", "motif",
                                             *COLUMNS])
    return PolicyImport(rows, rejects, [name])


def read_policy_files(paths: list[Path], reference: Reference | None = None) -> PolicyImport:
    """Several files in one import (rows of every file; a row per file and line)."""
    parts = [read_policy_csv(p, reference) for p in paths]
    rows = pd.concat([p.rows for p in parts], ignore_index=True)
    rejects = pd.concat([p.rejects for p in parts], ignore_index=True)
    return PolicyImport(rows, rejects, [f for p in parts for f in p.files])


def build_policy_layer(store: Store, paths: list[Path] | None = None) -> PolicyImport:
    """Validate the files (the project's own by default) and store the accepted rows as
    ``cadre_politiques``, the refused ones as ``cadre_politiques_rejets``."""
    paths = [Path(p) for p in (paths or PROJECT_FILES)]
    result = read_policy_files(paths, Reference.from_store(store))
    manifest = Manifest(
        dataset=DATASET,
        source="Compilation du projet et fichiers des réseaux (cadre des politiques publiques)",
        producer="Projet (compilation de pages publiques lues, une source par ligne)",
        vintage=f"lu jusqu'au {max(result.rows['lu_le'].replace('', pd.NA).dropna(), default='—')}",
        licence="sans objet (compilation du projet ; chaque ligne cite sa source)",
        transport="local:" + ", ".join(str(p) for p in paths),
        input_sha256=sha256_of_files(paths),
        builder_version=BUILDER_VERSION,
        extra={"fichiers": [p.name for p in paths], "lignes_refusees": len(result.rejects)},
    )
    store.write(DATASET, result.rows, manifest)
    rejects_manifest = Manifest(
        dataset=REJECTS_DATASET, source=manifest.source, producer=manifest.producer,
        vintage=manifest.vintage, licence=manifest.licence, transport=manifest.transport,
        input_sha256=manifest.input_sha256, builder_version=BUILDER_VERSION,
        extra={"of": "politiques"},
    )
    store.write(REJECTS_DATASET, result.rejects.astype(str), rejects_manifest)
    return result


def policy_layer(store: Store) -> tuple[pd.DataFrame, Manifest | None]:
    """The stored layer, or the project's files validated in memory when it was not built
    (the app and the reports run either way)."""
    if store.exists(DATASET):
        return store.read_frame(DATASET), store.manifest(DATASET)
    try:
        reference = Reference.from_store(store)
    except (StoreError, OSError, KeyError):  # reference tables absent: codes not checked
        reference = None
    return read_policy_files(list(PROJECT_FILES), reference).rows, None
