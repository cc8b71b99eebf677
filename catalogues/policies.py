"""The declared layout of the public-policy frame (one record per territory × policy).

What a policy file must hold and how its values read, shared by the connector that validates
and stores the files (:mod:`connectors.policies`), the model that gives each territory its frame
(:mod:`models.policy_frame`) and the reports. The project's own compilation lives beside this
module, in ``catalogues/politiques/``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

DATASET = "cadre_politiques"
REJECTS_DATASET = "cadre_politiques_rejets"
FOLDER = Path(__file__).resolve().parent / "politiques"
PROJECT_FILES = (FOLDER / "logement_d_abord.csv", FOLDER / "cadre_politiques.csv")

COLUMNS = ("politique", "niveau", "code_territoire", "nom_territoire", "porteur", "debut", "fin",
           "source", "lu_le", "statut", "commentaire")
REQUIRED = ("politique", "niveau", "code_territoire", "statut")
POLICIES = {
    "logement_d_abord": "Territoire de mise en œuvre accélérée du plan Logement d'abord",
    "delegataire_aides_pierre": "Délégataire des aides à la pierre",
    "plh": "Programme local de l'habitat (PLH)",
    "pdalhpd": "Plan départemental d'action pour le logement et l'hébergement des personnes "
               "défavorisées (PDALHPD)",
}
LEVELS = {"commune": "commune", "epci": "EPCI", "departement": "département"}
STATUSES = ("confirmé", "à confirmer", "à compléter")
TO_COMPLETE = "à compléter"
# Territories of the 2021 Logement d'abord call (23 in all) that the project's compilation does
# not name yet (see politiques/LISEZMOI.md); said wherever an absence from the list is shown.
LDA_2021_MISSING = 5


def parse_date(text: str, end: bool = False) -> date | None:
    """``AAAA``, ``AAAA-MM-JJ`` or ``JJ/MM/AAAA``; a bare year is its first (or, for an end,
    last) day. Raises ``ValueError`` on anything else."""
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 12, 31) if end else date(int(text), 1, 1)
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if match:
        return date(int(match[3]), int(match[2]), int(match[1]))
    return date.fromisoformat(text)  # AAAA-MM-JJ, ValueError otherwise
