"""How each catalogued source is built into a stored dataset: parser, level, carry onto the COG.

The catalogue (``catalogues/sources.yaml``) says *where* a file comes from and what it is
(title, producer, vintage, licence); this module says *what to do with it*: which parser,
whether the table is per commune (carried onto the current COG), per département, or a layer
of points / outlines, how merged communes are combined, which rates are derived afterwards,
and, for exhaustive lists, which value a commune absent from the list gets. Source ids are the
catalogue ids and the names of the stored datasets.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from connectors import parsing as parsing_module
from connectors.sources import (
    anct,
    census_iris,
    comparateur,
    density,
    filosofi,
    finess,
    lovac,
    loyers,
    qpv_outlines,
    rnic,
    rpls,
    sru,
    zoning,
)
from connectors.sources import base as base_module
from connectors.sources.base import CarrySpec, Parsed
from geodata import cog as cog_module

Level = Literal["commune", "departement", "points", "polygons", "table"]

# Bump when the stored tables change for the same input (forces a rebuild everywhere).
REGISTRY_VERSION = "1"


@dataclass(frozen=True)
class Source:
    """How one catalogued source becomes a stored dataset.

    Attributes
    ----------
    id
        Catalogue id and stored dataset name.
    parse
        ``parse(path) -> Parsed`` on the obtained file.
    level
        ``commune`` (carried onto the current COG), ``departement``, ``points`` or
        ``polygons`` (one row per feature, commune code re-coded but rows never combined), or
        ``table`` (no geography: keyed by another identifier, e.g. FINESS capacities).
    carry
        How merged communes are combined (a function of the parsed table when the columns
        depend on the edition, as LOVAC's yearly series).
    derive
        Computed after the carry (rates from summed counts).
    fill
        For exhaustive lists: ``{column: value}`` given to current communes absent from the
        list (e.g. ``zone_tendue = False``); other columns stay missing.
    approximate
        Columns combined approximately on merged communes (flagged by ``cog_merged``).
    version
        Bump when this source's stored table changes for the same input.
    """

    id: str
    parse: Callable[[Path], Parsed]
    level: Level = "commune"
    carry: CarrySpec | Callable[[pd.DataFrame], CarrySpec] | None = None
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    fill: dict[str, Any] = field(default_factory=dict)
    approximate: tuple[str, ...] = ()
    version: str = "1"

    def carry_spec(self, table: pd.DataFrame) -> CarrySpec:
        spec = self.carry(table) if callable(self.carry) else self.carry
        return spec or CarrySpec()

    @property
    def builder_version(self) -> str:
        """Manual version plus a digest of the code that builds the table, so that a change of
        parser, carry rule or COG passage logic rebuilds the stored dataset by itself."""
        return f"{REGISTRY_VERSION}.{self.version}.{_code_digest(self.parse)}"


def _code_digest(parse: Callable) -> str:
    target = parse.func if isinstance(parse, partial) else parse
    files = {
        inspect.getsourcefile(target),
        inspect.getsourcefile(base_module),
        inspect.getsourcefile(parsing_module),
        inspect.getsourcefile(cog_module),
        __file__,
    }
    digest = hashlib.sha256()
    for name in sorted(f for f in files if f):
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:12]


def _rents(source_id: str, kind: str) -> Source:
    return Source(
        id=source_id,
        parse=partial(loyers.parse, kind=kind),
        carry=loyers.carry_spec(kind),
        approximate=loyers.approximate(kind),
    )


def _filosofi(vintage: int) -> Source:
    return Source(
        id=f"filosofi_{vintage}_com",
        parse=partial(filosofi.parse_commune, vintage=vintage),
        carry=filosofi.COMMUNE_CARRY,
        approximate=filosofi.APPROXIMATE_ON_MERGE,
    )


_SOURCES: list[Source] = [
    _filosofi(2019),
    _filosofi(2020),
    _filosofi(2021),
    Source("filosofi_2021_iris", filosofi.parse_iris, carry=filosofi.IRIS_CARRY),
    Source("comparateur", comparateur.parse, carry=comparateur.CARRY, derive=comparateur.derive),
    Source(
        "census_iris_2021", census_iris.parse, carry=census_iris.CARRY, derive=census_iris.derive
    ),
    Source("grille_densite_2025", density.parse, carry=density.CARRY),
    Source(
        "qpv2024_communes", anct.parse_qpv_communes, carry=anct.QPV_CARRY, fill=anct.QPV_FILL
    ),
    Source("anct_programmes", anct.parse_programmes, carry=anct.PROGRAMME_CARRY),
    Source("anct_ruralite", anct.parse_ruralite, carry=anct.TYPOLOGY_CARRY["anct_ruralite"]),
    Source(
        "anct_centralite", anct.parse_centralite, carry=anct.TYPOLOGY_CARRY["anct_centralite"]
    ),
    Source(
        "anct_montagne", anct.parse_montagne, carry=anct.TYPOLOGY_CARRY["anct_montagne"],
        fill=anct.MONTAGNE_FILL,
    ),
    Source("zonage_abc_2024", zoning.parse_zonage_abc, carry=zoning.ABC_CARRY),
    Source("zrr_2017", zoning.parse_zrr, carry=zoning.ZRR_CARRY),
    Source("tlv_zone_tendue", zoning.parse_tlv, carry=zoning.TLV_CARRY, fill=zoning.TLV_FILL),
    Source("ort", anct.parse_ort, carry=anct.ORT_CARRY, fill=anct.ORT_FILL),
    Source(
        "lovac_dep", lovac.parse_departements, level="departement", derive=lovac.derive
    ),
    Source("lovac_com", lovac.parse_communes, carry=lovac.carry_spec, derive=lovac.derive),
    Source("rnic", rnic.parse, carry=rnic.CARRY, derive=rnic.derive),
    Source("rpls", rpls.parse, carry=rpls.CARRY, derive=rpls.derive),
    Source("sru", sru.parse, carry=sru.CARRY, derive=sru.derive, fill=sru.FILL),
    Source("finess", finess.parse, level="points"),
    Source("finess_equipements", finess.parse_equipements, level="table"),
    Source("finess_ans", finess.parse_ans_json, level="points"),
    _rents("loyers_appartements", "app"),
    _rents("loyers_maisons", "mai"),
    _rents("loyers_appartements_t1_t2", "app12"),
    _rents("loyers_appartements_t3_plus", "app3"),
    Source("qpv2024_contours", qpv_outlines.parse, level="polygons"),
]

SOURCES: dict[str, Source] = {source.id: source for source in _SOURCES}


class UnknownSource(KeyError):
    """A source id that no builder is declared for (French message)."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_source(source_id: str) -> Source:
    """The registered source, or a French error listing the known ids."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise UnknownSource(
            f"Source « {source_id} » inconnue. Sources disponibles : {', '.join(SOURCES)}."
        ) from None


def source_ids() -> list[str]:
    """All registered source ids, in build order."""
    return list(SOURCES)
