"""The report's static maps drawn on the second core while the PDF is laid out.

A département's report spends about a second drawing its eleven maps (matplotlib) and three
laying out and writing its pages (WeasyPrint), one after the other on one core. WeasyPrint
needs a map's pixels only when it builds the page boxes, after parsing the document and
computing every element's style: :class:`BackgroundMaps` draws the maps in a forked child
meanwhile (:mod:`diagnostics.forked`: only where that is safe), and the PDF's URL fetcher
waits for them (``diagmap:<clé>`` addresses in the document). Where no child can be used, the
maps are drawn in the process itself when first needed. The pages are the same either way
(their images compared pixel for pixel in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from diagnostics.document import Diagnostic, MapSpec
from diagnostics.forked import ForkedCall

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


def _draw(diag: Diagnostic, dpi: int) -> dict[str, bytes]:
    from diagnostics.static_maps import render_maps

    return render_maps(diag.maps(), diag.geo, diag.context, dpi=dpi)


class BackgroundMaps(Mapping[str, bytes]):
    """The PNG of each map of ``diag`` by ``MapSpec.key``, drawn in a child when possible.

    The keys are known at once; reading a value waits for the drawing. :meth:`uri` gives the
    placeholder address that the report's URL fetcher resolves for WeasyPrint.
    """

    def __init__(self, diag: Diagnostic, dpi: int = 150) -> None:
        specs = diag.maps()
        self._keys = [spec.key for spec in specs]
        self._same = drawing_of(specs)  # one address for a map repeated under another key
        self._call = ForkedCall(_draw, diag, dpi, label="cartes du rapport")

    def drawing(self, key: str) -> str:
        """The key under which ``key``'s map is drawn (itself, or the map it repeats)."""
        return self._same.get(key, key)

    def uri(self, key: str) -> str:
        return f"{SCHEME}:{self.drawing(key)}"

    def close(self) -> None:
        self._call.close()

    def __getitem__(self, key: str) -> bytes:
        if key not in self._keys:
            raise KeyError(key)
        return self._call.result()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)
