"""The levels of INSEE's density grid, as named in every file of the project that labels them.

Reads the real grid (``fichier_diffusion_2025.xlsx``, sheet « Maille communale »): the official
label of each DENS7 level comes from the file itself (LIBDENS7), not from this test. Then every
text file of the project that writes a level next to an official label (``3: … # petites
villes``, ``3 = petites villes``, ``3 petites villes``, a dict ``{3: "Petites villes"}``) must
give the level INSEE gives. The 2025 grid has 3 = petites villes, 4 = ceintures urbaines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRID = ROOT.parent / "shared" / "data" / "insee" / "grille_densite" / "fichier_diffusion_2025.xlsx"
SKIP_DIRS = {".venv", "data", ".git", "node_modules", "__pycache__", ".pytest_cache",
             ".ruff_cache"}


@pytest.fixture(scope="module")
def official() -> dict[int, str]:
    if not GRID.exists():
        pytest.skip(f"grille de densité absente : {GRID}")
    grid = pd.read_excel(GRID, sheet_name="Maille communale", header=4,
                         usecols=["DENS7", "LIBDENS7"], dtype=str)
    pairs = grid.dropna().drop_duplicates()
    labels = {int(level): label.strip() for level, label in pairs.itertuples(index=False)}
    assert len(pairs) == 7, "un libellé par niveau attendu dans la grille"
    return labels


def _project_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        if any(part in SKIP_DIRS for part in path.relative_to(ROOT).parts):
            continue
        if path.suffix in {".py", ".yaml", ".yml", ".md", ".toml", ".html", ".j2"} \
                and path.is_file():
            out.append(path)
    return out


def test_grid_levels_are_the_2025_ones(official: dict[int, str]) -> None:
    assert official[3] == "Petites villes"
    assert official[4] == "Ceintures urbaines"


def test_every_file_that_labels_a_level_uses_insee_levels(official: dict[int, str]) -> None:
    names = {label.lower(): level for level, label in official.items()}
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    # A level, a separator (« : », « = », a comma, a quote, a YAML value and comment) and a label.
    pattern = re.compile(
        rf"(?<![\d.,])([1-7])\s*(?:[:=]\s*)?(?:\d+\s*)?(?:#\s*)?[\"']?\s*({alternation})\b",
        re.IGNORECASE)
    checked, wrong = 0, []
    for path in _project_files():
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                after = line[match.end():match.end() + 12].lower()
                if "de demain" in after or "et bourgs" in after:
                    continue  # a programme, or the project's grouping 3 + 5 (checked below)
                checked += 1
                level, label = int(match.group(1)), match.group(2).lower()
                if names[label] != level:
                    wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert checked >= 10, "les fichiers qui nomment les niveaux doivent être trouvés"
    assert not wrong, "niveaux de la grille mal nommés :\n" + "\n".join(wrong)


def test_catchment_parameters_follow_the_labels(official: dict[int, str]) -> None:
    """access.yaml: the catchment of each level, its comment the official label; small towns
    reach farther than urban belts."""
    path = ROOT / "models" / "access.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_level = config["catchment_m"]["by_density_7"]
    comments = dict(re.findall(r"^\s+([1-7]):\s*\d+\s*#\s*(.+?)\s*$",
                               path.read_text(encoding="utf-8"), re.MULTILINE))
    assert set(by_level) == set(official)
    for level, label in official.items():
        assert comments[str(level)].lower() == label.lower()
    assert by_level[3] > by_level[4], "petites villes : aire plus large que ceintures urbaines"


def test_python_label_tables_follow_the_grid(official: dict[int, str]) -> None:
    """Tables keyed by level (catalogues.density, read by the Méthode page and the report) and
    ordered by level (portrait colours)."""
    from catalogues.density import DENSITY7_LABELS
    from ui.pages import methode

    assert official == DENSITY7_LABELS
    assert official == methode.DENSITY_LABELS
    tree = ast.parse((ROOT / "ui" / "pages" / "methode.py").read_text(encoding="utf-8"))
    literals = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)
                and any(getattr(t, "id", "") == "DENSITY_LABELS" for t in node.targets)
                and isinstance(node.value, ast.Dict)]
    assert not literals, "la page Méthode lit les libellés dans catalogues/density.py"
    from diagnostics.sections import portrait

    assert list(portrait.DENSITY_7_COLOURS) == [official[k] for k in sorted(official)]
    from diagnostics import levers

    assert levers.COMMUNE_TYPES[3] == levers.COMMUNE_TYPES[5] == "Petites villes et bourgs"
    assert levers.COMMUNE_TYPES[4] == "Ceintures urbaines"
