"""The report as data: sections made of blocks, independent of the output format.

:mod:`diagnostics.territory_diagnostic` fills a :class:`Diagnostic`; :mod:`diagnostics.report`
renders it to HTML, PDF or DOCX and :mod:`diagnostics.exports` writes its tables. Every text
here is final French text; numbers are already formatted (``1 234``, ``12,3 %``). Text coming
from users (operators' and sites' names) is kept raw here and escaped by each renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd


@dataclass
class Paragraph:
    text: str


@dataclass
class Subtitle:
    """A sub-heading inside a section."""

    text: str


@dataclass
class Notice:
    """A warning in the text: a missing input, a limit of the figures."""

    text: str


@dataclass
class Bullets:
    items: list[str]
    title: str = ""


@dataclass
class KeyFigure:
    """A headline figure (« 18,2 % » — « des personnes sous le seuil de pauvreté »)."""

    value: str
    label: str
    note: str = ""


@dataclass
class KeyMessage:
    """One of the synthesis' three to five messages."""

    title: str
    text: str
    figure: str = ""


@dataclass
class Table:
    """A formatted table (strings) and, for exports, the raw frame behind it.

    ``numeric`` says which columns are right-aligned; ``key`` names the export sheet.
    """

    title: str
    columns: list[str]
    rows: list[list[str]]
    source: str = ""
    note: str = ""
    numeric: list[bool] = field(default_factory=list)
    key: str = ""
    data: pd.DataFrame | None = None
    widths: list[float] = field(default_factory=list)  # percent of the text width

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [False] * len(self.columns)


@dataclass
class Chart:
    """A chart drawn once as PNG (e.g. the tornado of an operation), shown by every renderer."""

    key: str
    title: str
    png: bytes
    source: str = ""
    note: str = ""

    @property
    def data_uri(self) -> str:
        import base64

        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class MapSpec:
    """A commune map: one colour per commune code, a legend, optional points.

    Attributes
    ----------
    colours
        Hex colour per commune code (grey for missing values).
    legend
        ``[(label, colour)]`` in display order.
    tooltip
        French text per commune code (interactive map).
    points
        Optional ``lon, lat, label, colour`` rows (public sites only).
    hatched
        Communes (code → True) whose value rests on an estimate (a poverty rate under statistical
        secrecy, imputed by the need model): hatched on the map, named in its legend.
    """

    key: str
    title: str
    legend_title: str
    colours: pd.Series
    legend: list[tuple[str, str]]
    source: str
    tooltip: pd.Series | None = None
    note: str = ""
    points: pd.DataFrame | None = None
    points_legend: list[tuple[str, str]] = field(default_factory=list)
    missing_label: str = "donnée absente ou secrète"
    hatched: pd.Series | None = None
    hatched_label: str = "valeur estimée (taux de pauvreté sous secret, estimé par le modèle)"

    def hatched_codes(self) -> list[str]:
        """Codes of the hatched communes (none when nothing is estimated)."""
        if self.hatched is None or not len(self.hatched):
            return []
        flags = self.hatched.fillna(False).astype(bool)
        return [str(c) for c in flags.index[flags.to_numpy()]]


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    def maps(self) -> list[MapSpec]:
        return [b for b in self.blocks if isinstance(b, MapSpec)]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


@dataclass
class Diagnostic:
    """A territory's whole report.

    Attributes
    ----------
    geo
        One row per commune (``code``, ``name``, WGS84 outline) with every indicator, the
        map's base.
    context
        Neighbouring départements' outlines (map background).
    sources
        :class:`diagnostics.inputs.SourceRef` of every dataset read.
    exports
        Export tables ``{sheet name: frame}`` with French column names, public-audience safe.
    sites_points
        Public sites as points (``lon, lat`` …), for the GeoPackage and the maps.
    fictional
        The offer holds FICTIONAL demo sites: a banner runs on every page of the PDF and at the
        top of the HTML, beside the « (FICTIF) » mark of each figure.
    """

    spec: str
    title: str
    subtitle: str
    generated_on: str
    audience: str
    sections: list[Section]
    geo: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    sources: list[Any]
    missing: dict[str, str]
    exports: dict[str, pd.DataFrame] = field(default_factory=dict)
    sites_points: pd.DataFrame | None = None
    raster_writer: Any = None  # path -> path: the accessibility GeoTIFF, when computed
    slug: str = "territoire"
    fictional: bool = False  # the members' offer holds FICTIONAL demo sites: every page says so

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)

    def maps(self) -> list[MapSpec]:
        return [m for s in self.sections for m in s.maps()]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables()]
