"""Names of the stored datasets, and the current vintage of each theme.

A source id names a vintage (``filosofi_2021_com``); the rest of the project asks for a *theme*
(the current Filosofi by commune). When INSEE publishes a new year, the new source is declared
in ``sources.yaml`` and this file is the one line to change.
"""

from __future__ import annotations

import settings

# Current vintage of each theme (ids of ``sources.yaml``, names of the stored datasets).
FILOSOFI_COMMUNES = "filosofi_2021_com"
FILOSOFI_COMMUNES_EARLIER = "filosofi_2019_com"  # the earlier vintage of the change over time
FILOSOFI_COMMUNES_2020 = "filosofi_2020_com"
FILOSOFI_IRIS = "filosofi_2021_iris"
CENSUS_IRIS = "census_iris_2021"
COMPARATEUR = "comparateur"
DENSITY_GRID = "grille_densite_2025"
ZONAGE_ABC = "zonage_abc_2024"
ZRR = "zrr_2017"
ZONE_TENDUE = "tlv_zone_tendue"
QPV_COMMUNES = "qpv2024_communes"
QPV_OUTLINES = "qpv2024_contours"
ANCT_PROGRAMMES = "anct_programmes"
ANCT_RURALITE = "anct_ruralite"
ANCT_CENTRALITE = "anct_centralite"
ANCT_MONTAGNE = "anct_montagne"
ORT = "ort"
ETALAB_COG = "etalab_cog"  # old commune codes of the COG passage table
LOVAC_COMMUNES = "lovac_com"
LOVAC_DEPARTEMENTS = "lovac_dep"
RNIC = "rnic"
RPLS = "rpls"
SRU = "sru"
FINESS = "finess"
FINESS_EQUIPMENTS = "finess_equipements"  # capacities, joined on the FINESS number
FINESS_ANS = "finess_ans"  # the ANS daily JSON feed, successor of the Etalab extract
RENTS_FLATS = "loyers_appartements"
RENTS_HOUSES = "loyers_maisons"
RENTS_FLATS_SMALL = "loyers_appartements_t1_t2"
RENTS_FLATS_LARGE = "loyers_appartements_t3_plus"
RENTS = (RENTS_FLATS, RENTS_HOUSES, RENTS_FLATS_SMALL, RENTS_FLATS_LARGE)
CARTE_LOYERS = RENTS_FLATS  # the rent of a flat: what intermediation captures

# Datasets of the reference geography (built by ``python -m geodata build``) and the derived
# contiguity table: copied as a whole when a temporary store is made for tests and benches.
REFERENCE_LAYERS = ("communes", "departements", "regions", "epci")
REFERENCE_BASE = (*REFERENCE_LAYERS, "cog_passage")
REFERENCE_SIMPLIFIED = tuple(
    f"{layer}_{level}" for layer in REFERENCE_LAYERS for level in settings.SIMPLIFY_LEVELS_M
)
REFERENCE_DATASETS = (*REFERENCE_BASE, *REFERENCE_SIMPLIFIED)
CONTIGUITY = "communes_contiguite"

# Results of the models (``python -m models build``).
NEED_INDEX = "need_index"
