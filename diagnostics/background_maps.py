"""The report's static maps drawn on the second core while the report is built and laid out.

A département's report draws ten maps (matplotlib, about 0.12 s each), which the PDF needs
only once its document is parsed. They are drawn in forked children (:mod:`models.forked`:
only where that is safe): those that need no gap while the territory's gap is computed
(:class:`EarlyMaps`), the gap's own as soon as it is known, while the parent builds the
sections; :class:`BackgroundMaps` takes each early map whose appearance (:func:`appearance`)
is the finished report's, and draws the others in children. The PDF engine reads a map through
its address and waits for it when needed. Where no child can be used, the maps are drawn in the
process itself when first needed. The pages are the same either way (their images compared
pixel for pixel in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from diagnostics.document import Diagnostic, MapSpec
from models.forked import ForkedCall, ForkedSteps

SCHEME = "diagmap"


def drawing_of(specs: list[MapSpec]) -> dict[str, str]:
    """Each map's key → the key of the first map drawn the same (the synthesis repeats a map
    of its section: same objects, another key and title, which the PNG does not show)."""
    first: dict[tuple, str] = {}
    same: dict[str, str] = {}
    for spec in specs:
        signature = (id(spec.colours), id(spec.hatched), id(spec.points), id(spec.legend),
                     id(spec.points_legend), spec.legend_title, spec.missing_label,
                     spec.hatched_label)
        same[spec.key] = first.setdefault(signature, spec.key)
    return same


def appearance(spec: MapSpec, geo_codes: list[str], dpi: int) -> str:
    """A digest of everything that decides a map's pixels (not its title, which the PNG does
    not show): two specs with the same digest over the same communes draw the same PNG."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256()

    def add(value) -> None:
        digest.update(repr(value).encode("utf-8"))
        digest.update(b"\x00")

    add((dpi, spec.legend_title, spec.legend, spec.points_legend, spec.missing_label,
         spec.hatched_label))
    add(list(geo_codes))
    add(list(pd.Series(spec.colours).astype(str).items()))
    add(sorted(spec.hatched_codes()))
    points = spec.points
    add(None if points is None else
        points[[c for c in ("lon", "lat", "colour") if c in points.columns]].to_csv(index=False))
    return digest.hexdigest()


def _plan(codes: list[str], specs: list[MapSpec], dpi: int) -> dict[str, MapSpec]:
    """The maps of ``specs`` to draw over the communes ``codes``, by :func:`appearance` (a map
    drawn twice under two keys is drawn once)."""
    plan: dict[str, MapSpec] = {}
    for spec in specs:
        plan.setdefault(appearance(spec, codes, dpi), spec)
    return plan


def _early_steps(inputs, dpi: int, stage: str) -> Iterator:
    """The steps of an early child: first what it will draw (the appearances of its maps) and,
    for the stage :data:`GAP_FREE`, the sections they come from (sent without their inputs,
    which the parent has); then the maps."""
    from dataclasses import replace

    from diagnostics.static_maps import map_base, render_map
    from diagnostics.territory_diagnostic import gap_free_sections, gap_maps, map_geo

    sections = gap_free_sections(inputs) if stage == GAP_FREE else None
    geo = map_geo(inputs)
    plan = _plan(geo["code"].tolist(),
                 sections.maps() if sections is not None else gap_maps(inputs), dpi)
    yield (None if sections is None else replace(sections, inputs=None)), set(plan)
    base = map_base(geo, inputs.context)
    yield {key: render_map(spec, base, dpi) for key, spec in plan.items()}


GAP_FREE, GAP = "sans écart", "écart"  # the stages: while the gap is computed, once it is known


class EarlyMaps:
    """Maps drawn in a child from the report's inputs before the report is built: those that
    need no gap while the territory's gap is computed in another child (``gather``'s
    ``while_waiting``; the child sends the sections they come from first, so that the parent
    need not build them: :meth:`sections`), those of the gap once it is known (``stage``
    :data:`GAP`). :class:`BackgroundMaps` takes those that the finished report shows
    unchanged."""

    def __init__(self, inputs, dpi: int = 150, stage: str = GAP_FREE) -> None:
        self.dpi = dpi
        self._inputs = inputs if stage == GAP_FREE else None
        self._call = ForkedSteps(_early_steps, inputs, dpi, stage, label=f"cartes ({stage})")
        self._forked = self._call.forked  # otherwise nothing is drawn early

    def sections(self):
        """The :class:`~diagnostics.territory_diagnostic.GapFreeSections` built by the child
        from the inputs it was given (None for the gap's stage, or without a child)."""
        if not self._forked or self._inputs is None:
            return None
        from dataclasses import replace

        return replace(self._call.step(0)[0], inputs=self._inputs)

    def planned(self) -> set[str]:
        """The appearances (:func:`appearance`) of the maps the child draws (waits only for
        the child's first step; empty without a child)."""
        return self._call.step(0)[1] if self._forked else set()

    def drawn(self) -> dict[str, bytes]:
        """PNG by :func:`appearance` (waits for the drawing; empty without a child)."""
        return self._call.step(1) if self._forked else {}

    def close(self) -> None:
        self._call.close()


def _draw(diag: Diagnostic, dpi: int, keys: list[str] | None = None) -> dict[str, bytes]:
    """The maps of ``diag`` (those of ``keys`` only, when given)."""
    from diagnostics.static_maps import render_maps

    specs = diag.maps()
    if keys is not None:
        specs = [spec for spec in specs if spec.key in keys]
    return render_maps(specs, diag.geo, diag.context, dpi=dpi)


def shares(keys: list[str], parts: int) -> list[list[str]]:
    """``keys`` dealt in turn into ``parts`` lists (maps of a report cost about the same)."""
    return [part for part in (keys[i::parts] for i in range(parts)) if part]


class BackgroundMaps(Mapping[str, bytes]):
    """The PNG of each map of ``diag`` by ``MapSpec.key``, drawn in a child when possible.

    The keys are known at once; reading a value waits for the drawing. :meth:`uri` gives the
    placeholder address that the report's URL fetcher resolves for WeasyPrint.
    """

    def __init__(self, diag: Diagnostic, dpi: int = 150, children: int = 2,
                 early: EarlyMaps | list[EarlyMaps] | None = None) -> None:
        specs = diag.maps()
        self._keys = [spec.key for spec in specs]
        self._same = drawing_of(specs)  # one address for a map repeated under another key
        # The maps an early child draws as the report shows them: read from it when asked for
        # (the child may still be drawing them), by their appearance.
        self._early: dict[str, tuple[EarlyMaps, str]] = {}
        planned = {key: one for one in ([early] if isinstance(early, EarlyMaps) else early or [])
                   if one.dpi == dpi for key in one.planned()}
        if planned:
            codes = diag.geo["code"].tolist()
            for spec in specs:
                look = appearance(spec, codes, dpi)
                if look in planned and self._same[spec.key] == spec.key:
                    self._early[spec.key] = (planned[look], look)
        drawn = [key for key in self._keys if self._same[key] == key and key not in self._early]
        # Two children where the machine has two cores: the parent mostly waits (Chromium
        # starts and parses the document meanwhile).
        parts = shares(drawn, children)
        self._calls = [ForkedCall(_draw, diag, dpi, part, label="cartes du rapport")
                       for part in parts]
        self._call_of = {key: call for call, part in zip(self._calls, parts, strict=True)
                         for key in part}

    def drawing(self, key: str) -> str:
        """The key under which ``key``'s map is drawn (itself, or the map it repeats)."""
        return self._same.get(key, key)

    def uri(self, key: str) -> str:
        return f"{SCHEME}:{self.drawing(key)}"

    def close(self) -> None:
        for call in self._calls:
            call.close()

    @property
    def forked(self) -> bool:
        """True while children draw the maps."""
        return any(call.forked for call in self._calls)

    def __getitem__(self, key: str) -> bytes:
        if key not in self._keys:
            raise KeyError(key)
        drawn = self.drawing(key)
        if drawn in self._early:
            one, look = self._early[drawn]
            return one.drawn()[look]
        return self._call_of[drawn].result()[drawn]

    def from_early(self) -> set[str]:
        """The keys whose map is taken from an early child."""
        return set(self._early)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
