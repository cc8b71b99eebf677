"""The need brick by brick (``models.target_households``), beside the State's method (OTELO).

Blocks shared by the report (section « Écarts », and « Méthode et sources ») and the Méthode
page of the app: the bricks of the territory (central, low – high, OTELO counterpart, source),
the per-commune sheet « Briques du besoin » of the XLSX, the comparison with OTELO brick by
brick, what the figures cannot see, and the national totals next to published orders of
magnitude.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from diagnostics.document import Bullets, Paragraph, Table
from diagnostics.sections.common import count_interval
from models import target_households as th

# The State's method: bricks of the DGALN/Cerema method guide « Territorialisation des besoins
# en logements » (OTELO; public repository otelo-besoinlogement/otelo, static/
# Guide_methodologique.pdf and outil/models.py), and what this tool does with each.
OTELO_BRICKS: list[dict[str, str]] = [
    {"brick": "B11", "otelo": "Ménages hors logement : sans-abri, habitat de fortune, "
     "hôtel (recensement détaillé ou SNE) et occupants de l'hébergement social (places FINESS × "
     "part du public en besoin de logement)",
     "ours": "Hébergés en structure, sortie vers le logement (places FINESS des CHRS et autres "
     "centres d'accueil × occupation 96 % × part 80 %, 50–100 %) ; sans logement personnel (SNE, "
     "DALO)",
     "computed": "en ligne seulement (FINESS avec places) ; SNE et DALO : non",
     "left_out": "Sans-abri et hôtel : fichiers détaillés du recensement sur commande, SNE non "
     "ouvert par commune. Les pensions de famille et résidences sociales de FINESS (258, 259) sont "
     "de l'offre ici, du besoin dans OTELO : les compter aux deux serait un double compte."},
    {"brick": "B12", "otelo": "Ménages hébergés chez des tiers ou cohabitation subie (SNE, "
     "Filocom)",
     "ours": "Jeunes à bas revenus (en partie)", "computed": "non (en partie)",
     "left_out": "SNE non ouvert par commune, Filocom non ouvert (conventions)."},
    {"brick": "B13", "otelo": "Inadéquation financière du parc privé : taux d'effort net "
     "au-delà de 30 % (CNAF par commune) ; accédants",
     "ours": "Locataires pauvres du privé (Filosofi × statut d'occupation × tension du marché, "
     "partout ; loyer relatif là où les loyers communaux sont connus)",
     "computed": "oui", "left_out": "Allocataires par tranche de taux d'effort (CNAF) : non "
     "ouverts par commune ; les accédants ne sont pas isolés."},
    {"brick": "B14", "otelo": "Logement de mauvaise qualité (recensement : sans confort "
     "sanitaire ; fichiers fonciers) ; propriétaires occupants comptés en besoin de réhabilitation",
     "ours": "Propriétaires occupants pauvres à maintenir dans leur logement (Filosofi TP60TOL1, "
     "recensement) ; copropriétés anciennes (RNIC, en ligne)",
     "computed": "oui (propriétaires) ; copropriétés : en ligne",
     "left_out": "Le parc indigne (PPPI, Filocom) n'est pas ouvert : la qualité du logement n'est "
     "pas mesurée, seule la pauvreté du propriétaire l'est."},
    {"brick": "B15", "otelo": "Suroccupation accentuée (recensement détaillé, Filocom)",
     "ours": "—", "computed": "non",
     "left_out": "Indicateur sur commande à l'INSEE ; pas de source ouverte par commune."},
    {"brick": "B16", "otelo": "Retrait des doubles comptes (ratios de l'ENL 2013)",
     "ours": "Ordre des briques et parts communes déclarées (paramètres), « dont » jamais "
     "ajoutés, ménages logés par l'offre des membres retirés",
     "computed": "oui", "left_out": "Les parts communes sont des hypothèses de travail."},
    {"brick": "B17", "otelo": "Demandes de mutation dans le parc social (SNE)",
     "ours": "—", "computed": "non",
     "left_out": "Hors du champ de l'offre d'insertion ; SNE absent."},
    {"brick": "B21", "otelo": "Évolutions démographiques : ménages supplémentaires à N+6 "
     "(projections Omphale)",
     "ours": "Nouveaux ménages pauvres à 6 ans (tendance 2018-2021 des résidences principales × "
     "part de ménages pauvres)",
     "computed": "oui (flux montré à part)",
     "left_out": "Omphale absent : tendance prolongée ; une commune qui perd des ménages a un "
     "flux nul."},
    {"brick": "B22", "otelo": "Évolution du parc : renouvellement, disparitions, "
     "vacance, résidences secondaires",
     "ours": "—", "computed": "non",
     "left_out": "Besoin de construction, pas de places d'insertion ; la vacance est un levier "
     "(mobilisation du parc), pas un besoin."},
]

LIMITS_FR = [
    "Filosofi ne couvre que les ménages fiscaux ordinaires : les personnes en logement collectif "
    "(foyers, résidences sociales, pensions de famille, centres d'hébergement) et les personnes "
    "sans domicile en sont exclues. Les publics les plus proches des pensions de famille et de "
    "l'hébergement ne sont donc vus que par FINESS (places) et, en ligne, par le SNE et le DALO.",
    "Hors ligne, les briques qui demandent FINESS avec places (sorties d'hébergement), le RNIC "
    "(copropriétés), le SNE et le DALO (sans logement personnel) sont « non disponibles » : "
    "elles ne valent pas 0.",
    "Les taux de pauvreté de Filosofi sont secrets dans la plupart des petites communes : ils y "
    "sont estimés (modèle de besoin ; rapport TP60TOL1 / TP60 des communes de même densité pour "
    "les propriétaires), et la fourchette bas – haut le dit.",
    "Les parts par catégorie, les parts communes entre briques et le partage des briques entre "
    "familles d'offre sont des hypothèses de travail à confirmer avec les réseaux et les "
    "services de l'État.",
]


def _suffix(bound: str) -> str:
    return "" if bound == "central" else f"_{bound}"


def commune_bricks(targets: pd.DataFrame, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The sheet « Briques du besoin »: one row per commune, per brick central, low, high and
    source (« non disponible » and the reason where the brick is not computed)."""
    params = params or th.load_params()
    availability = targets.attrs.get("availability", {})
    out = pd.DataFrame({"Code commune": targets["code"].astype(str).to_numpy()})
    if "name" in targets.columns:
        out["Commune"] = targets["name"].to_numpy()
    for name in th.CATEGORIES:
        spec = params["categories"][name]
        label = spec.get("short_label", spec["label"])
        reason = availability.get(name, "")
        for bound, word in (("central", "central"), ("low", "bas"), ("high", "haut")):
            column = f"target_{name}{_suffix(bound)}"
            values = (targets[column].astype("Float64") if column in targets.columns and not reason
                      else pd.array([pd.NA] * len(targets), dtype="Float64"))
            out[f"{label} — {word}"] = np.asarray(values, dtype=object)
        out[f"{label} — source"] = (f"non disponible : {reason}" if reason
                                    else f"{spec['source_fr']} ({spec.get('brick', '')})")
        if name == "poor_owners" and not reason:
            for column, word in (("poor_owners_old", "dont âgés (65 ans ou plus)"),
                                 ("poor_owners_rural", "dont communes rurales")):
                if column in targets.columns:
                    out[f"{label} — {word}"] = targets[column].round(1).to_numpy()
    return out


def bricks_table(targets: pd.DataFrame, source: str, params: Mapping[str, Any] | None = None
                 ) -> Table:
    """The bricks of the territory: total (low – high), OTELO counterpart, families, source; its
    export is the per-commune sheet."""
    params = params or th.load_params()
    availability = targets.attrs.get("availability", {})
    bricks = th.brick_table(params).set_index("category")
    rows = []
    for name in th.CATEGORIES:
        row = bricks.loc[name]
        reason = availability.get(name, "")
        column = f"target_{name}"
        if reason or column not in targets.columns:
            total = f"non disponible ({reason})" if reason else "non disponible"
        else:
            total = count_interval(float(targets[column].sum()),
                                   float(targets[f"{column}_low"].sum()),
                                   float(targets[f"{column}_high"].sum()))
        label = row["label"] + (" (flux à 6 ans)" if row["kind"] == "flow" else "") + (
            " — « dont » des propriétaires pauvres" if row["subset_of"] else "")
        rows.append([label, total, row["otelo_fr"], row["families_fr"], row["source_fr"]])
    return Table(
        "Briques du besoin : ménages que chaque famille d'offre accueille",
        ["Brique", "Ménages (bas – haut)", "Équivalent OTELO", "Familles d'offre (part)",
         "Source"],
        rows, source=source, numeric=[False, True, False, False, False],
        key="briques_besoin", data=commune_bricks(targets, params),
        widths=[24, 14, 22, 20, 20],
        note=("Ménages entiers, nets des doubles comptes (une brique partagée entre familles "
              "l'est selon les parts indiquées ; un ménage n'est compté qu'une fois). Le flux "
              "n'entre pas dans l'écart, qui porte sur le stock. Le détail par commune (central, "
              "bas, haut, source) est dans la feuille « Briques du besoin » de l'export XLSX."),
    )


def bricks_table_frame(params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The bricks as a French table (definition, OTELO counterpart, families, source)."""
    table = th.brick_table(params)
    return pd.DataFrame({
        "Brique": table["label"], "Nature": table["kind"].map({"stock": "stock", "flow": "flux"}),
        "Équivalent OTELO": table["otelo_fr"], "Définition": table["formula_fr"],
        "Familles d'offre (part de la brique)": table["families_fr"],
        "Offre qui y répond": table["offer_fr"], "Source": table["source_fr"],
    })


def otelo_table() -> Table:
    """Each OTELO brick: whether this tool computes it, from which source, what it leaves out
    and why."""
    rows = [[b["brick"], b["otelo"], b["ours"], b["computed"], b["left_out"]]
            for b in OTELO_BRICKS]
    return Table(
        "Comparaison avec la méthode de l'État (OTELO), brique par brique",
        ["Brique OTELO", "Ce que compte OTELO", "Ce que compte ce diagnostic", "Calculé ?",
         "Ce qui est laissé de côté, et pourquoi"],
        rows, source="DGALN / Cerema, « Territorialisation des besoins en logements », guide "
        "méthodologique (dépôt public otelo-besoinlogement/otelo) ; paramètres du modèle",
        key="otelo", data=pd.DataFrame(OTELO_BRICKS), widths=[10, 24, 24, 12, 30],
        note=("OTELO raisonne à la zone d'emploi, résorbe le stock sur un horizon (20 ans par "
              "défaut) et y ajoute les flux à 6 ans ; ce diagnostic compare le stock aux places "
              "de l'offre d'insertion, commune par commune, et montre le flux à part."),
    )


def limits_blocks() -> list:
    """What the figures cannot see, said once."""
    return [Paragraph("Ce que les chiffres ne voient pas :"), Bullets(list(LIMITS_FR))]


def national_table(national: pd.DataFrame) -> Table:
    """National totals of each brick with their range, next to published orders of magnitude."""
    rows = []
    for _, r in national.iterrows():
        value = count_interval(r["central"], r["low"], r["high"]) if r["available"] else "non disponible"
        rows.append([r["label"], r["unit"], value, r["comparison_fr"], r["reference_source"]])
    return Table(
        "Totaux nationaux des briques et ordres de grandeur publiés",
        ["Brique", "Unité", "France (bas – haut)", "Comparaison", "Source publiée"],
        rows, source="Modèle des ménages cibles sur toutes les communes ; sources publiées citées",
        numeric=[False, False, True, False, False], key="briques_nationales", data=national,
        widths=[24, 10, 18, 28, 20],
    )
