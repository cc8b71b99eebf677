"""Which public policies frame a commune, an EPCI or a département, and who carries them.

One record per territory × policy, from two kinds of data:

* the policy layer (stored by ``connectors.policies``, layout in ``catalogues.policies``):
  Logement d'abord territories, délégataires des aides à la pierre, PLH, PDALHPD — each row
  with its source address, the date it was read and
  its validity; a policy without a row is « à compléter », never « non »;
* the commune columns already in the store: QPV 2024, Action cœur de ville, Petites villes de
  demain (ANCT) and the SRU inventory (commune carencée; rate and target as context: the SRU
  deficit is an obligation of the commune, not a need of its households).

A commune is in a Logement d'abord territory when the commune itself, its EPCI or its
département is in the compiled list. That list is incomplete (see
``catalogues/politiques/LISEZMOI.md``): absence reads « non recensé dans la liste compilée »,
not « non ».
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from catalogues.policies import LDA_2021_MISSING, LEVELS, POLICIES, TO_COMPLETE, parse_date

LDA = "logement_d_abord"
DELEGATAIRE = "delegataire_aides_pierre"
PLH = "plh"
PDALHPD = "pdalhpd"
LDA_ABSENT = ("non recensé dans la liste compilée par le projet (liste incomplète : "
              f"{LDA_2021_MISSING} des 23 territoires de 2021 n'y sont pas identifiés)")
LIST_INCOMPLETE = "liste incomplète"
COLUMNS = ["Échelle", "Code", "Territoire", "Politique", "Situation", "Porteur", "Validité",
           "Statut", "Source", "Lu le"]
# Where each policy of the layer is looked for, from a commune: its own code, its EPCI's, its
# département's (the délégataire may be the EPCI or, failing it, the département).
LOOKUP = {LDA: ("commune", "epci", "departement"), DELEGATAIRE: ("epci", "departement"),
          PLH: ("epci",), PDALHPD: ("departement",)}
STORE_SOURCES = {
    "qpv": "ANCT, quartiers prioritaires de la politique de la ville 2024",
    "programmes": "ANCT, programmes par commune (COG 2023)",
    "sru": "DHUP, inventaire SRU des logements sociaux",
}


@dataclass(frozen=True)
class Place:
    """A commune and the areas it belongs to."""

    code: str
    name: str
    epci_code: str | None
    epci_name: str | None
    dep_code: str
    dep_name: str

    def area(self, level: str) -> tuple[str | None, str | None]:
        return {"commune": (self.code, self.name), "epci": (self.epci_code, self.epci_name),
                "departement": (self.dep_code, self.dep_name)}[level]


def _french(text: str) -> str:
    """« 2019-12-18 » → « 18/12/2019 »; a bare year or other text unchanged."""
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y") if len(text) == 10 else text
    except ValueError:
        return text


def validity(row: pd.Series | dict, today: date) -> str:
    """« 2022 – 2028 (en vigueur) », « depuis 2018 », « 2019 – 2024 (échu) » or « — »."""
    start, end = str(row.get("debut") or ""), str(row.get("fin") or "")
    if not start and not end:
        return "—"
    if not end:
        return f"depuis {start}"
    try:
        first = parse_date(start) if start else None
        last = parse_date(end, end=True)
    except ValueError:
        return f"{start} – {end}"
    state = ("échu" if last < today else "à venir" if first and first > today else "en vigueur")
    return f"{_french(start) or '?'} – {_french(end)} ({state})"


_POSITIONS: dict[int, tuple[weakref.ref, dict[tuple[str, str, str], np.ndarray]]] = {}


def _positions(layer: pd.DataFrame) -> dict[tuple[str, str, str], np.ndarray]:
    """The layer's row positions by (policy, level, code), built once per layer object: a
    report asks for hundreds of places, and filtering the whole layer each time took half a
    second. Kept by the object's identity while it lives (a DataFrame has no hash)."""
    known = _POSITIONS.get(id(layer))
    if known is not None and known[0]() is layer:
        return known[1]
    keys = pd.DataFrame({"p": layer["politique"].astype(str).to_numpy(),
                         "n": layer["niveau"].astype(str).to_numpy(),
                         "c": layer["code_territoire"].astype(str).to_numpy()})
    positions = {tuple(key): rows for key, rows in keys.groupby(["p", "n", "c"]).indices.items()}
    key = id(layer)
    _POSITIONS[key] = (weakref.ref(layer, lambda _ref: _POSITIONS.pop(key, None)), positions)
    return positions


def _match(layer: pd.DataFrame, policy: str, level: str, code: str | None) -> pd.DataFrame:
    if code is None or layer.empty:
        return layer.iloc[0:0]
    found = _positions(layer).get((policy, level, str(code)))
    if found is None:
        return layer.iloc[0:0]
    rows = layer.iloc[found]
    if len(rows) > 1:  # a verified row first, then the latest read, then the earliest start
        # (a territory retained in 2018 and extended in 2021 reads « appel 2018 »)
        rows = rows.assign(_todo=rows["statut"].eq(TO_COMPLETE),
                           _read=rows.get("lu_le", pd.Series("", index=rows.index)).fillna(""),
                           _start=rows.get("debut", pd.Series("", index=rows.index)).fillna(""))
        rows = rows.sort_values(["_todo", "_read", "_start"], ascending=[True, False, True],
                                kind="stable").drop(columns=["_todo", "_read", "_start"])
    return rows


def _record(level: str, code: str, name: str, policy: str, situation: str, row=None,
            today: date | None = None) -> dict:
    row = row if row is not None else {}
    status = row.get("statut") or (LIST_INCOMPLETE if policy == LDA else TO_COMPLETE)
    return {
        "Échelle": LEVELS.get(level, level), "Code": code, "Territoire": name,
        "Politique": POLICIES.get(policy, policy), "Situation": situation,
        "Porteur": row.get("porteur") or "", "Validité": validity(row, today or date.today())
        if row else "—", "Statut": status,
        "Source": row.get("source") or "", "Lu le": _french(row.get("lu_le") or ""),
        "_policy": policy,
    }


def layer_policies(place: Place, layer: pd.DataFrame, today: date) -> list[dict]:
    """The layer's four policies for one commune, each found at its level (or « à compléter »)."""
    records = []
    for policy, levels in LOOKUP.items():
        found = None
        for level in levels:
            code, name = place.area(level)
            rows = _match(layer, policy, level, code)
            if len(rows):
                found = (level, code, name, rows.iloc[0].to_dict())
                break
        if found is not None:
            level, code, name, row = found
            situation = _situation(policy, row, level, name)
            records.append(_record(level, code, name, policy, situation, row, today))
        else:
            level = levels[0]
            code, name = place.area(level)
            situation = LDA_ABSENT if policy == LDA else TO_COMPLETE
            records.append(_record(level, code or "", name or "sans EPCI", policy, situation))
    return records


def _situation(policy: str, row: dict, level: str, name: str) -> str:
    if row.get("statut") == TO_COMPLETE:
        return TO_COMPLETE
    if policy == LDA:
        title = {"commune": "de la commune", "epci": "de l'EPCI", "departement": "du département"}
        return (f"oui : {row.get('porteur') or name} (appel {row.get('debut')}, au titre "
                f"{title[level]})")
    if policy == DELEGATAIRE:
        return f"délégataire : {row.get('porteur') or name}"
    if policy == PLH:
        return f"PLH de {row.get('porteur') or name}"
    return f"PDALHPD : {row.get('porteur') or name}"


def _flag(value) -> bool | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return bool(value)


def store_policies(place: Place, values: dict) -> list[dict]:
    """QPV 2024, ACV, PVD and SRU of one commune from its store columns (absent column:
    « donnée absente du stock »)."""
    records = []

    def add(policy: str, situation: str, source: str) -> None:
        records.append({"Échelle": "commune", "Code": place.code, "Territoire": place.name,
                        "Politique": policy, "Situation": situation, "Porteur": "",
                        "Validité": "—", "Statut": "donnée publique", "Source": source,
                        "Lu le": "", "_policy": policy})

    absent = "donnée absente du stock local"
    qpv = values.get("qpv_count")
    if qpv is None or pd.isna(qpv):
        add("Quartiers prioritaires 2024", absent, STORE_SOURCES["qpv"])
    else:
        names = values.get("qpv_names") or ""
        add("Quartiers prioritaires 2024", f"{int(qpv)} quartier(s)" + (f" : {names}" if qpv
                                                                           and names else ""),
            STORE_SOURCES["qpv"])
    for column, label in (("programme_acv", "Action cœur de ville"),
                          ("programme_pvd", "Petites villes de demain")):
        flag = _flag(values.get(column, values.get(column.removeprefix("programme_"))))
        add(label, absent if flag is None else "oui" if flag else "non",
            STORE_SOURCES["programmes"])
    subject = _flag(values.get("sru_subject"))
    if subject is None:
        add("Loi SRU (art. 55)", "inventaire SRU absent du stock local", STORE_SOURCES["sru"])
    elif not subject:
        add("Loi SRU (art. 55)", "commune non soumise", STORE_SOURCES["sru"])
    else:
        carence = _flag(values.get("sru_carence"))
        rate, target = values.get("sru_rate"), values.get("sru_target")
        context = ""
        if rate is not None and not pd.isna(rate):
            context = f" ; taux de logements sociaux {rate:.1f} %".replace(".", ",")
            if target is not None and not pd.isna(target):
                context += f" pour un taux cible de {target:.0f} %"
        add("Loi SRU (art. 55)", ("commune carencée" if carence else "commune soumise, non "
                                  "carencée") + context + " (obligation de la commune, pas un "
            "besoin des ménages)", STORE_SOURCES["sru"])
    return records


def commune_frame(place: Place, values: dict, layer: pd.DataFrame,
                  today: date | None = None) -> pd.DataFrame:
    """Every policy framing one commune (layer policies first, then the store's)."""
    today = today or date.today()
    records = layer_policies(place, layer, today) + store_policies(place, values)
    return pd.DataFrame(records, columns=[*COLUMNS, "_policy"])


def place_of(row: pd.Series | dict) -> Place:
    def text(key):
        value = row.get(key)
        return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

    return Place(str(row["code"]), str(row["name"]), text("epci_code"), text("epci_name"),
                 str(row["dep_code"]), text("dep_name") or str(row["dep_code"]))


def areas_frame(communes: pd.DataFrame, layer: pd.DataFrame,
                today: date | None = None) -> pd.DataFrame:
    """One row per area (département(s), EPCI, communes named in the layer) × layer policy.

    ``communes`` holds ``code, name, epci_code, epci_name, dep_code, dep_name``.
    """
    today = today or date.today()
    records: list[dict] = []
    seen: set[tuple[str, str]] = set()
    deps = communes.drop_duplicates("dep_code")
    epcis = communes.dropna(subset=["epci_code"]).drop_duplicates("epci_code")
    named = set(layer.loc[layer["niveau"] == "commune", "code_territoire"]) if len(layer) else set()
    listed = communes[communes["code"].astype(str).isin(named)]
    for frame, levels in ((deps, ("departement",)), (epcis, ("epci",)), (listed, ("commune",))):
        for _, row in frame.iterrows():
            place = place_of(row)
            for policy, where in LOOKUP.items():
                for level in levels:
                    if level not in where:
                        continue
                    code, name = place.area(level)
                    if (level, code, policy) in seen or code is None:
                        continue
                    seen.add((level, code, policy))
                    rows = _match(layer, policy, level, code)
                    if len(rows):
                        row_ = rows.iloc[0].to_dict()
                        records.append(_record(level, code, name, policy,
                                               _situation(policy, row_, level, name), row_, today))
                    elif level != "commune":
                        records.append(_record(level, code, name, policy,
                                               "non recensé dans la liste compilée"
                                               if policy == LDA else TO_COMPLETE))
    return pd.DataFrame(records, columns=[*COLUMNS, "_policy"])


def in_logement_d_abord(communes: pd.DataFrame, layer: pd.DataFrame) -> pd.Series:
    """Per commune (index of ``communes``): whether it lies in a Logement d'abord territory
    (the commune, its EPCI or its département in the compiled list)."""
    lda = layer[layer["politique"] == LDA] if len(layer) else layer
    if lda is None or lda.empty:
        return pd.Series(False, index=communes.index)
    codes = {level: set(lda.loc[lda["niveau"] == level, "code_territoire"])
             for level in ("commune", "epci", "departement")}
    return (communes["code"].astype(str).isin(codes["commune"])
            | communes["epci_code"].astype(str).isin(codes["epci"])
            | communes["dep_code"].astype(str).isin(codes["departement"]))
