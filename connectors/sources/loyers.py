"""Carte des loyers (ANIL / DHUP): predicted advertised rents per commune.

Four files share one layout, one per kind of dwelling: ``pred-app-mef-dhup.csv``
(appartements), ``pred-mai-mef-dhup.csv`` (maisons), ``pred-app12-mef-dhup.csv`` (appartements
d'une ou deux pièces), ``pred-app3-mef-dhup.csv`` (trois pièces et plus). Header
``id_zone;INSEE_C;LIBGEO;EPCI;DEP;REG;loypredm2;lwr.IPm2;upr.IPm2;TYPPRED;nbobs_com;nbobs_mail;
R2_adj``, ``;`` separated, decimal comma. ``loypredm2`` is the predicted advertised rent per
m² (charges included), ``lwr.IPm2`` / ``upr.IPm2`` the bounds of its prediction interval,
``TYPPRED`` the level the prediction was made at, ``nbobs_com`` / ``nbobs_mail`` the
advertisements observed in the commune / in its mesh.

The stored columns carry the kind as suffix (``rent_m2_app``, ``rent_m2_low_app`` …) so that
the four tables can sit side by side. On merged communes the rents are weighted by the
advertisements observed in the commune (an approximation, flagged by ``cog_merged``).
"""

from __future__ import annotations

from pathlib import Path

from connectors.parsing import Col, read_csv_text, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

KINDS: dict[str, str] = {
    "app": "appartements",
    "mai": "maisons",
    "app12": "appartements d'une ou deux pièces",
    "app3": "appartements de trois pièces et plus",
}


def columns(kind: str) -> dict[str, Col]:
    return {
        "code": Col(r"insee_c", "INSEE_C"),
        "name": Col(r"libgeo", "LIBGEO", required=False),
        f"rent_m2_{kind}": Col(r"loypredm2", "loypredm2"),
        f"rent_m2_low_{kind}": Col(r"lwr_ipm2", "lwr.IPm2", required=False),
        f"rent_m2_high_{kind}": Col(r"upr_ipm2", "upr.IPm2", required=False),
        f"rent_level_{kind}": Col(r"typpred", "TYPPRED", required=False),
        f"rent_observations_{kind}": Col(r"nbobs_com", "nbobs_com", required=False),
        f"rent_r2_{kind}": Col(r"r2_adj", "R2_adj", required=False),
    }


def parse(path: Path, kind: str = "app", member: str | None = None) -> Parsed:
    """Parse one file of the Carte des loyers (``kind``: app, mai, app12, app3)."""
    if kind not in KINDS:
        raise ValueError(f"Type de logement « {kind} » inconnu ({', '.join(KINDS)}).")
    raw, name = read_source_bytes(path, member or rf"pred-{kind}-.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=";", header=r"insee_c")
    spec = columns(kind)
    numbers = tuple(c for c in spec if c not in {"code", "name", f"rent_level_{kind}"})
    table, rejects, found, _ = extract(frame, spec, source=name, numbers=numbers)
    for column in spec:
        if column not in table.columns:
            table[column] = None if column in {"name", f"rent_level_{kind}"} else float("nan")
    for index in table.index[(table[f"rent_m2_{kind}"] <= 0).fillna(False).to_numpy()]:
        rejects.add(None, found[f"rent_m2_{kind}"], table.at[index, f"rent_m2_{kind}"],
                    f"loyer prédit nul ou négatif pour {table.at[index, 'code']}, laissé manquant")
        table.at[index, f"rent_m2_{kind}"] = float("nan")
    return Parsed(
        table=table[list(spec)],
        rejects=rejects,
        columns=found,
        notes={"logements": KINDS[kind], "lignes_lues": len(frame), "fichier": name},
    )


def carry_spec(kind: str) -> CarrySpec:
    weight = f"rent_observations_{kind}"
    return CarrySpec(
        counts=(weight,),
        rates=tuple((f"{measure}_{kind}", weight)
                    for measure in ("rent_m2", "rent_m2_low", "rent_m2_high")),
        first=("name",),
    )


def approximate(kind: str) -> tuple[str, ...]:
    return tuple(f"{measure}_{kind}" for measure in ("rent_m2", "rent_m2_low", "rent_m2_high"))
