"""Cached access to the store for the app (heavy reads happen once per server).

Everything returned here is shared by every session: treat it as read-only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

import settings
from catalogues import datasets
from geodata.store import Store, StoreError


@st.cache_resource(show_spinner=False)
def _store(root: str) -> Store:
    return Store(root)


def store() -> Store:
    """The local store of ``settings.data_dir()`` (one per folder)."""
    return _store(str(settings.data_dir()))


# Datasets computed from the others (their rebuild does not change what the pages read).
DERIVED_PREFIXES = ("need", "gap")


def store_fingerprint(root: Path) -> str:
    """Hash of the manifests of the store's source and reference datasets."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).glob("*.manifest.json")):
        if path.name.startswith(DERIVED_PREFIXES):
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@st.cache_data(ttl=5, show_spinner=False)
def store_key() -> str:
    """Changes when a dataset of the store is rebuilt (re-read at most every few seconds)."""
    return store_fingerprint(store().root)


@st.cache_resource(show_spinner="Lecture de la géographie de référence…", max_entries=32)
def _layer(name: str, key: str) -> gpd.GeoDataFrame | pd.DataFrame:
    return store().read(name)


def layer(name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """A store dataset, read once per version of the store."""
    return _layer(name, store_key())


@st.cache_resource(show_spinner=False, max_entries=4)
def _communes_table(key: str) -> pd.DataFrame:
    frame = store().read_frame(
        "communes",
        columns=[
            "code", "name", "dep_code", "dep_name", "reg_code", "reg_name", "epci_code",
            "epci_name", "population", "area_km2", "rep_lon", "rep_lat", "geometry_source",
        ],
    )
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce").astype(float)
    return frame


def communes_table() -> pd.DataFrame:
    """Communes without geometry (codes, names, parents, population, area, point)."""
    return _communes_table(store_key())


@st.cache_resource(show_spinner=False, max_entries=128)
def _column(dataset: str, column: str, key: str) -> pd.Series:
    frame = store().read_frame(dataset, columns=["code", column])
    frame["code"] = frame["code"].astype(str)
    return frame.drop_duplicates("code").set_index("code")[column]


def column(dataset: str, name: str) -> pd.Series:
    """One column of a per-commune dataset, indexed by commune code."""
    return _column(dataset, name, store_key())


@st.cache_resource(show_spinner=False, max_entries=4)
def _household_weights(key: str) -> pd.Series:
    codes = pd.Index(communes_table()["code"])
    weights = pd.Series(np.nan, index=codes)
    for dataset, name in ((datasets.FILOSOFI_COMMUNES, "households"),
                          (datasets.CENSUS_IRIS, "main_residences"),
                          (datasets.COMPARATEUR, "census_households")):
        if store().exists(dataset):
            try:
                values = pd.to_numeric(column(dataset, name), errors="coerce").reindex(codes)
            except (KeyError, ValueError):
                continue
            weights = weights.fillna(values)
    population = communes_table().set_index("code")["population"]
    return weights.fillna(population / 2.2)


def household_weights() -> pd.Series:
    """Households per commune for weighted means (Filosofi, else census, else population / 2,2)."""
    return _household_weights(store_key())


def available(name: str) -> bool:
    return store().exists(name)


@st.cache_data(ttl=60, show_spinner=False, max_entries=4)
def _damaged(root: str, key: str) -> dict[str, str]:
    found = {}
    for name in store().datasets():
        try:
            store().check(name)
        except FileNotFoundError:
            continue
        except StoreError as exc:
            found[name] = str(exc)
    return found


def damaged_datasets() -> dict[str, str]:
    """Damaged files of the store: dataset → French message naming the file and the command
    rebuilding it."""
    return _damaged(str(store().root), store_key())


def manifest(name: str):
    return store().manifest(name)


__all__ = [
    "StoreError", "available", "column", "communes_table", "damaged_datasets", "household_weights",
    "layer",
    "manifest", "store", "store_key",
]
