"""Cached access to the store for the app (heavy reads happen once per server)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from geodata.store import Store, StoreError


@st.cache_resource(show_spinner=False)
def store() -> Store:
    return Store()


@st.cache_resource(show_spinner="Lecture de la géographie de référence…")
def layer(name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """A store dataset, read once and shared by every session (treat as read-only)."""
    return store().read(name)


@st.cache_resource(show_spinner=False)
def communes_table() -> pd.DataFrame:
    """Communes without geometry (codes, names, parents, population, area)."""
    frame = store().read(
        "communes",
        columns=[
            "code", "name", "dep_code", "dep_name", "reg_code", "reg_name", "epci_code",
            "epci_name", "population", "area_km2", "rep_lon", "rep_lat",
        ],
    )
    return pd.DataFrame(frame)


def available(name: str) -> bool:
    return store().exists(name)


def manifest(name: str):
    return store().manifest(name)


__all__ = ["StoreError", "available", "communes_table", "layer", "manifest", "store"]
