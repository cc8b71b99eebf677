"""INSEE « grille communale de densité » 2025 (geography of 1 January 2025).

Sheet « Maille communale » of ``fichier_diffusion_2025.xlsx``: three title lines, a line
of long labels, then the line of variable names (``CODGEO``, ``DENS``, ``DENS_AAV``,
``DENS7`` …) found by pattern. Levels are kept with their official labels:

* ``density_3``: 1 dense, 2 intermediate, 3 rural (European degree of urbanisation);
* ``density_4``: the same crossed with the functional urban areas (AAV): urbain dense,
  urbain intermédiaire, rural périurbain, rural non périurbain;
* ``density_7``: grands centres urbains … rural à habitat très dispersé.
"""

from __future__ import annotations

from pathlib import Path

from connectors.parsing import Col, read_excel_text
from connectors.sources.base import CarrySpec, Parsed, extract

SHEET = "Maille communale"

COLUMNS: dict[str, Col] = {
    "code": Col(r"codgeo", "CODGEO"),
    "density_3": Col(r"dens", "DENS"),
    "density_3_label": Col(r"libdens", "LIBDENS"),
    "density_4": Col(r"dens_aav", "DENS_AAV"),
    "density_4_label": Col(r"libdens_aav", "LIBDENS_AAV"),
    "density_7": Col(r"dens7", "DENS7"),
    "density_7_label": Col(r"libdens7", "LIBDENS7"),
    "population_municipale": Col(r"pmun(?P<year>\d{2})", "PMUN<aa>"),
}
NUMBERS = ("density_3", "density_4", "density_7", "population_municipale")
CLASSES = ("density_3", "density_3_label", "density_4", "density_4_label", "density_7",
           "density_7_label")
# Already on the 2025 geography; if a commune merges later, its class is the one of the
# current commune's own row (the grid is not additive).
CARRY = CarrySpec(counts=("population_municipale",), first=CLASSES)


def parse(path: Path) -> Parsed:
    """Parse the commune sheet of the density grid workbook."""
    name = Path(path).name
    frame = read_excel_text(path, sheet=SHEET, header=r"codgeo", name=name)
    frame = frame.astype(object).where(frame.notna(), "")
    table, rejects, found, years = extract(frame, COLUMNS, source=name, numbers=NUMBERS)
    for column in ("density_3", "density_4", "density_7"):
        table[column] = table[column].astype("Int64")
    return Parsed(
        table=table,
        rejects=rejects,
        columns=found,
        notes={"millesime_population": years.get("population_municipale"),
               "lignes_lues": len(frame)},
    )
