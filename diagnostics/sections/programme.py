"""Section « Programme »: what closing the territory's missing places would take and cost —
the operations placed where the gap is, their investment, subsidies by funder and yearly
running funding (``models.programme``, through ``models.programme_costs``).

Every figure comes from the one programme object of the gap output; FICTIF stands beside each
figure when the gap rests on the demo offer.
"""

from __future__ import annotations

import pandas as pd

from diagnostics.document import Bullets, Notice, Paragraph, Section, Table
from diagnostics.formatting import fr_number
from diagnostics.inputs import ReportInputs
from models import programme as pg
from models import programme_costs as pc

NBSP = "\u00a0"
MAX_OPERATIONS = 15
SOURCE = ("Calcul du projet : écart à la référence (section « Écarts »), opérations placées par "
          "le programme du projet, montants du modèle économique (section « Modèle "
          "économique », paramètres datés et sourcés) évalué dans la commune de chaque opération")


def _euros(value: float, fictif: bool) -> str:
    text = f"{fr_number(value)}{NBSP}€"
    return f"{text} FICTIF" if fictif else text


def _n(value: float, fictif: bool, decimals: int = 0) -> str:
    text = fr_number(value, decimals)
    return f"{text} FICTIF" if fictif else text


def programme_section(inputs: ReportInputs) -> Section | None:
    """The section, or None when the gap output holds no programme."""
    result = getattr(inputs.gap, "programme", None) if inputs.gap is not None else None
    if result is None:
        return None
    fic = bool(result.offer_fictional)
    horizon = result.options.horizon
    blocks: list = []
    if fic:
        blocks.append(Notice("FICTIF — l'écart repose sur l'offre de démonstration : places "
                             "manquantes, opérations et montants de cette section sont fictifs."))
    central, low, high = (result.totals(v) for v in pg.VARIANTS)
    blocks.append(Paragraph(
        f"Pour combler les places manquantes du territoire sur {horizon} ans, le programme "
        f"compte {fr_number(central['operations'])} opération(s) et "
        f"{_n(central['places'], fic)} places : investissement de "
        f"{_euros(central['investment'], fic)} (de {_euros(low['investment'], False)} à "
        f"{_euros(high['investment'], False)} selon l'incertitude du besoin), dont "
        f"{_euros(central['state_subsidy'], fic)} de subvention de l'État (FNAP), puis "
        f"{_euros(central['running_total'], fic)} de financements de fonctionnement par an une "
        "fois toutes les opérations ouvertes."))
    fam_rows, fam_data = [], []
    for row in result.families.groupby("family", sort=False, as_index=False).agg(
            kind=("kind", "first"), size=("size", "first"), missing=("missing", "sum"),
            missing_low=("missing_low", "sum"), missing_high=("missing_high", "sum"),
            unplaced=("unplaced", "sum"), n=("n_operations", "sum")).to_dict("records"):
        totals = result.totals("central", family=row["family"])
        kind = pc.kinds().get(row["kind"], "non chiffré") if isinstance(row["kind"], str) \
            else "non chiffré (pas de modèle économique)"
        fam_rows.append([
            pg.family_label(row["family"]), _n(row["missing"], fic, 0),  # whole places
            f"{fr_number(row['missing_low'], 0)} à {fr_number(row['missing_high'], 0)}",
            f"{fr_number(row['n'])} × {kind}", _n(totals["places"], fic),
            _euros(totals["investment"], fic), _euros(totals["state_subsidy"], fic),
            _euros(totals["running_total"], fic)])
        fam_data.append({"famille": pg.family_label(row["family"]),
                         "places_manquantes": row["missing"],
                         "places_manquantes_basse": row["missing_low"],
                         "places_manquantes_haute": row["missing_high"],
                         "type_operation": kind, "operations": row["n"],
                         "places_programmees": totals["places"],
                         "places_non_placees": row["unplaced"],
                         "investissement": totals["investment"],
                         "subvention_etat_fnap": totals["state_subsidy"],
                         "fonctionnement_annuel": totals["running_total"],
                         "FICTIF": "FICTIF" if fic else ""})
    blocks.append(Table(
        "Places manquantes et opérations par famille d'offre",
        ["Famille", "Places manquantes", "Fourchette", "Opérations", "Places prévues",
         "Investis­sement", "Subvention État (FNAP)", "Fonction­nement par an"],
        fam_rows, source=SOURCE, numeric=[False, True, True, False, True, True, True, True],
        key="programme_familles", data=pd.DataFrame(fam_data),
        widths=[12, 9, 10, 15, 8, 16, 15, 15]))
    funders = [[f, _euros(central[f"subsidy:{f}"], fic),
                f"{_euros(low[f'subsidy:{f}'], False)} à {_euros(high[f'subsidy:{f}'], False)}"]
               for f in pc.SUBSIDY_FUNDERS]
    funders += [["Emprunts", _euros(central["loans"], fic), ""],
                ["Fonds propres", _euros(central["equity"], fic), ""],
                ["Reste à financer", _euros(central["unfunded"], fic), ""]]
    funders += [[f"Fonctionnement — {f} (par an)", _euros(central[f"running:{f}"], fic), ""]
                for f in pc.RUNNING_FUNDERS]
    funders.append(["Déficit restant des gestionnaires (par an)",
                    _euros(central["deficit"], fic), ""])
    blocks.append(Table("Financement par financeur", ["Financeur", "Estimation centrale",
                                                       "Fourchette"],
                        funders, source=SOURCE, numeric=[False, True, True]))
    yearly = result.yearly("central")
    year_rows = [[str(year), _n(row["places_open"], fic), _euros(row["investment"], fic),
                  _euros(sum(row[f"subsidy:{f}"] for f in pc.SUBSIDY_FUNDERS), fic),
                  _euros(row["running_total"], fic)]
                 for year, row in yearly.iterrows()]
    blocks.append(Table("Année par année (estimation centrale)",
                        ["Année", "Places en service", "Investissement", "Subventions",
                         "Fonctionnement"], year_rows, source=SOURCE,
                        numeric=[False, True, True, True, True]))
    ops = result.operations.sort_values(["year", "family", "rank"])
    if len(ops):
        op_rows = [[f"{r['name']} ({r['code']})", pg.family_label(r["family"]), r["kind_label"],
                    _n(r["places"], fic), str(int(r["year"])), _euros(r["investment"], fic),
                    _euros(r["running_total"], fic)]
                   for r in ops.head(MAX_OPERATIONS).to_dict("records")]
        data = ops.rename(columns={"code": "commune", "name": "nom", "family": "famille",
                                   "kind_label": "type_operation", "year": "annee",
                                   "investment": "investissement",
                                   "running_total": "fonctionnement_annuel"})[
            ["commune", "nom", "famille", "type_operation", "places", "annee",
             "investissement", "fonctionnement_annuel"]].assign(FICTIF="FICTIF" if fic else "")
        more = (f" ({len(ops) - MAX_OPERATIONS} autres dans le classeur)"
                if len(ops) > MAX_OPERATIONS else "")
        blocks.append(Table(f"Opérations placées{more}",
                            ["Commune", "Famille", "Type", "Places", "Année", "Investissement",
                             "Fonctionnement par an"], op_rows, source=SOURCE,
                            numeric=[False, False, False, True, True, True, True],
                            key="programme_operations", data=data,
                            widths=[18, 16, 16, 9, 7, 17, 17]))
    notes = [
        f"Offre comparée au besoin : {result.offer_used}.",
        "Opérations placées là où elles comblent le plus de places manquantes à portée, sans "
        f"dépasser {result.options.max_share_of_target * 100:.0f}{NBSP}% des ménages cibles "
        "d'une commune ; taille et type modifiables sur la page « Programme » de l'application.",
        "Bornes basse et haute : montants de l'estimation centrale × (places manquantes de la "
        "borne / places manquantes centrales), par famille.",
        *[n for n in dict.fromkeys(result.notes)],
    ]
    blocks.append(Bullets(notes, title="Méthode et limites"))
    return Section("programme", "Programme pour combler l'écart", blocks)
