"""The levels of INSEE's communal density grid, with their official labels.

DENS7 / LIBDENS7 of the 2025 grid (``fichier_diffusion_2025.xlsx``, sheet « Maille communale »):
3 is « Petites villes » and 4 « Ceintures urbaines » (the order changed from earlier grids, so
every file that names a level reads it here; ``tests/test_density_labels.py`` checks them
against the real file).
"""

from __future__ import annotations

DENSITY7_LABELS: dict[int, str] = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Petites villes",
    4: "Ceintures urbaines",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
