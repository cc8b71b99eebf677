"""Housing-policy zonings of communes.

* ``zonage_abc_2024``: DGALN zonage A/B/C (Abis, A, B1, B2, C: housing-market tension) in force
  since 5 July 2024; ``;``, UTF-8, CRLF; the zone column's header is a sentence.
* ``zrr_2017``: zones de revitalisation rurale (2017 classification, COG 2021), replaced in
  2024 by France Ruralités Revitalisation; four title lines, a line of labels, then the line
  of variable names (``CODGEO``, ``ZRR_SIMP``, ``ZONAGE_ZRR``); empty lines at the end.
* ``tlv_zone_tendue``: communes where the tax on vacant dwellings applies ("zone tendue");
  UTF-8 with BOM, ``;``, cells padded with spaces. Exhaustive: absent = not in zone tendue.
"""

from __future__ import annotations

from pathlib import Path

from connectors.parsing import Col, read_csv_text, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

ABC_ZONES = ("Abis", "A", "B1", "B2", "C")
ABC_COLUMNS: dict[str, Col] = {
    "code": Col(r"codgeo", "CODGEO"),
    "zone_abc": Col(r"zone_en_vigueur.*", "Zone en vigueur depuis le …"),
    "zone_abc_reclassified": Col(r"reclassement.*", "Reclassement …", required=False),
}
ABC_CARRY = CarrySpec(first=("zone_abc", "zone_abc_reclassified"))


def parse_zonage_abc(path: Path, member: str | None = None) -> Parsed:
    """Zone A/B/C of each commune; an unknown zone label is reported."""
    raw, name = read_source_bytes(path, member or r"zonage.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    table, rejects, found, _ = extract(
        frame, ABC_COLUMNS, source=name, flags=("zone_abc_reclassified",)
    )
    known = table["zone_abc"].isin(ABC_ZONES)
    for index in table.index[~known.to_numpy()]:
        rejects.add(None, found["zone_abc"], table.at[index, "zone_abc"],
                    f"zone inconnue (attendu : {', '.join(ABC_ZONES)}), laissée manquante "
                    f"pour la commune {table.at[index, 'code']}")
    table["zone_abc"] = table["zone_abc"].where(known)
    return Parsed(table=table, rejects=rejects, columns=found, notes={"lignes_lues": len(frame)})


ZRR_COLUMNS: dict[str, Col] = {
    "code": Col(r"codgeo", "CODGEO"),
    "zrr_class": Col(r"zrr_simp", "ZRR_SIMP"),
    "zrr_detail": Col(r"zonage_zrr", "ZONAGE_ZRR"),
}
ZRR_CARRY = CarrySpec(first=("zrr_class", "zrr_detail", "zrr"))


def parse_zrr(path: Path, member: str | None = None) -> Parsed:
    """ZRR classification (``C`` classée, ``P`` partiellement, ``NC`` non classée)."""
    raw, name = read_source_bytes(path, member or r"zrr.*\.csv$")
    frame = read_csv_text(raw, name=name, header=r"codgeo")
    table, rejects, found, _ = extract(frame, ZRR_COLUMNS, source=name)
    short = table["zrr_class"].str.split(" - ", n=1).str[0].str.strip()
    table["zrr"] = short.map({"C": "classée", "P": "partiellement classée", "NC": "non classée"})
    return Parsed(
        table=table,
        rejects=rejects,
        columns={**found, "zrr": found["zrr_class"]},
        notes={"lignes_lues": len(frame), "remplace_par": "France Ruralités Revitalisation (2024)"},
    )


TLV_COLUMNS: dict[str, Col] = {
    "code": Col(r"code_insee", "CODE INSEE"),
    "commune_name": Col(r"communes?", "COMMUNES", required=False),
}
TLV_CARRY = CarrySpec(flags=("zone_tendue",))
TLV_FILL = {"zone_tendue": False}


def parse_tlv(path: Path, member: str | None = None) -> Parsed:
    """Communes in "zone tendue" (taxe sur les logements vacants)."""
    raw, name = read_source_bytes(path, member or r"tlv.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    table, rejects, found, _ = extract(frame, TLV_COLUMNS, source=name)
    table = table[["code"]].assign(zone_tendue=True)
    return Parsed(
        table=table,
        rejects=rejects,
        columns={"zone_tendue": found["code"]},
        notes={"lignes_lues": len(frame), "liste_exhaustive": "commune absente = hors zone tendue"},
    )
