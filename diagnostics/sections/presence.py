"""Section « Qui fait quoi où »: per EPCI of the territory, the members present (operators,
networks, families of offer, publics), the overlaps and the blanks.

The same computation as the app's page and the « bilan réseau »
(:func:`models.network_presence.presence`), public audience: the report's sites have already
lost their confidential rows (:func:`diagnostics.inputs.gather`), the presence model drops them
again, and the areas described are every EPCI of the territory — chosen from the reference
communes, never from where sites are — so that no row appears or disappears with a
confidential site.
"""

from __future__ import annotations

import pandas as pd

from diagnostics.document import Notice, Paragraph, Section, Table
from diagnostics.inputs import ReportInputs
from diagnostics.sections.common import FICTIF, plural
from models import network_presence as presence_model
from operators import confidentiality as conf

PDF_COLUMNS = ["Territoire", "Communes avec un adhérent présent", "Opérateurs",
               "Familles d'offre présentes", "Familles sans adhérent"]


def presence_section(inputs: ReportInputs) -> tuple[Section, dict[str, pd.DataFrame]]:
    """The section and its export tables (``qui_fait_quoi``, ``qui_fait_quoi_operateurs``)."""
    section = Section("qui_fait_quoi", "Qui fait quoi où")
    communes = pd.DataFrame(inputs.communes.drop(columns="geometry"))
    epcis = communes.dropna(subset=["epci_code"]).drop_duplicates("epci_code")
    names = dict(zip(epcis["epci_code"].astype(str), epcis["epci_name"].astype(str), strict=True))
    if inputs.sites is None:
        reason = inputs.missing.get("registre", "registre des adhérents indisponible")
        section.add(Notice(f"Qui fait quoi où : {reason}."))
        return section, {}
    found = presence_model.presence(
        inputs.sites, inputs.coverage, communes[["code", "name", "epci_code"]], "epci",
        conf.PUBLIC, names, sorted(names))
    areas = found.areas
    overlaps = int(areas["Chevauchements"].sum()) if len(areas) else 0
    covered = int((areas["Communes avec un adhérent présent"] > 0).sum()) if len(areas) else 0
    section.add(Paragraph(
        f"Par EPCI : les adhérents de tous les réseaux présents (un site dans une commune, ou "
        f"un service qui la couvre), leurs familles d'offre et leurs publics, les "
        f"chevauchements (même famille, mêmes communes, plusieurs opérateurs) et les blancs. "
        f"{plural(covered, 'EPCI', 'EPCI')} sur {len(areas)} compte(nt) au moins un adhérent "
        f"présent ; {plural(overlaps, 'chevauchement')} (détail dans le classeur). "
        f"« Sans adhérent » veut dire « {presence_model.NO_MEMBER} », jamais qu'aucune offre "
        "n'existe."
    ))
    if found.fictional:
        section.add(Notice(f"Registre de démonstration : opérateurs et sites {FICTIF}S."))
    pdf = areas[[c for c in PDF_COLUMNS if c in areas.columns]].copy()
    pdf["Communes avec un adhérent présent"] = (
        areas["Communes avec un adhérent présent"].astype(str) + " / "
        + areas["Communes"].astype(str))
    section.add(Table(
        "Qui fait quoi où, par EPCI", list(pdf.columns), pdf.astype(str).values.tolist(),
        source="Registre des adhérents, vue publique (sites ouverts)"
        + (f" — données {FICTIF}S" if found.fictional else ""),
        note="Règles de confidentialité du registre : un site confidentiel n'entre dans aucune "
        "ligne de ce tableau (ni opérateur, ni famille, ni commune, ni chevauchement).",
        numeric=[False, True, False, False, False], widths=[23, 11, 26, 20, 20],
    ))
    exports = {"qui_fait_quoi": areas}
    if len(found.operators):
        exports["qui_fait_quoi_operateurs"] = found.operators.drop(columns="area",
                                                                   errors="ignore")
    return section, exports
