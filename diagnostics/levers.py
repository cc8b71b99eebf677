"""Levers the sector can use, per type of commune, derived from the territory's data.

A lever is proposed for a commune only when a measured condition holds (long-term vacancy,
need without a pension de famille within reach, a commune carencée …); its text gives the
figures that triggered it and the communes concerned, its legal basis and what it needs
locally. A lever whose data are missing is not proposed but reported as « non évaluable » with
the missing source, never guessed.

Legal bases are cited only where the text was read (Code de la construction et de
l'habitation, loi n° 90-449 du 31 mai 1990); where a point could not be checked, the lever says
less rather than more.

Types of commune: the project's grouping of the INSEE grille communale de densité (7 levels,
official labels: 1 grands centres urbains, 2 centres urbains intermédiaires, 3 petites villes,
4 ceintures urbaines, 5 bourgs ruraux, 6 and 7 rural dispersé) into four types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from catalogues import datasets
from diagnostics.formatting import fr_number, fr_percent

# Levels of the INSEE grid (DENS7): 3 = petites villes, 4 = ceintures urbaines, 5 = bourgs ruraux.
COMMUNE_TYPES: dict[int, str] = {
    1: "Pôles urbains",
    2: "Pôles urbains",
    3: "Petites villes et bourgs",
    4: "Ceintures urbaines",
    5: "Petites villes et bourgs",
    6: "Rural dispersé",
    7: "Rural dispersé",
}
TYPE_ORDER = ["Pôles urbains", "Ceintures urbaines", "Petites villes et bourgs", "Rural dispersé",
              "Type inconnu"]

# Thresholds (working assumptions, listed in « Méthode et sources »).
VACANCY_MARGIN_PTS = 1.0  # vacancy above the national rate by at least this many points
MIN_VACANT_DWELLINGS = 20  # ... and at least this many vacant dwellings
MIN_NEED_HOUSEHOLDS = 10  # a lever answers a need: at least this many households in need
HIGH_NEED_SCORE = 60  # or a need index at least this high
COPRO_OLD_SHARE = 50.0  # co-ownerships built before 1975, percent of those of known period
MIN_COPRO = 10


@dataclass
class Lever:
    """One lever and where it applies."""

    id: str
    title: str
    rationale: str
    communes: pd.DataFrame  # code, name, commune_type, population, need, + trigger figures
    figures: str = ""
    evaluable: bool = True
    reason: str = ""
    legal_basis: str = ""
    local_needs: str = ""

    @property
    def count(self) -> int:
        return len(self.communes)


@dataclass
class LeverRule:
    id: str
    title: str
    rule_fr: str
    requires: tuple[str, ...]
    select: Callable[[pd.DataFrame, dict], pd.Series]
    describe: Callable[[pd.DataFrame, dict], str]
    sources: tuple[str, ...] = field(default_factory=tuple)
    needs_offer: bool = False  # the rule reads the offer (gap model or registry)
    legal_basis: str = ""  # texts read, cited by article; nothing unchecked
    local_needs: str = ""  # what the lever needs on the territory to be used
    needs_need: bool = True  # the rule answers a measured need (not the SRU carence)


def commune_types(frame: pd.DataFrame) -> pd.Series:
    """Type of each commune from ``density_7`` (« Type inconnu » when missing)."""
    if "density_7" not in frame.columns:
        return pd.Series("Type inconnu", index=frame.index)
    level = pd.to_numeric(frame["density_7"], errors="coerce")
    return level.map(COMMUNE_TYPES).fillna("Type inconnu")


def need_measure(frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """Households in need per commune: the need model's estimate, else the published proxy."""
    if "need_households" in frame.columns and frame["need_households"].notna().any():
        return pd.to_numeric(frame["need_households"], errors="coerce"), "modèle de besoin"
    if {"households_fiscal", "poverty_rate"} <= set(frame.columns):
        proxy = frame["households_fiscal"] * frame["poverty_rate"] / 100.0
        return proxy, "ménages pauvres (Filosofi 2021, communes où le taux est publié)"
    return pd.Series(np.nan, index=frame.index), ""


def _needy(frame: pd.DataFrame) -> pd.Series:
    need = frame["_need"].fillna(0) >= MIN_NEED_HOUSEHOLDS
    if "score" in frame.columns:
        need |= frame["score"].fillna(0) >= HIGH_NEED_SCORE
    return need


def _no_offer_in_reach(frame: pd.DataFrame, offer_type: str) -> pd.Series:
    column = f"providers_in_reach_{offer_type}"
    if column in frame.columns:
        return frame[column].fillna(0).eq(0)
    return frame.get(f"_sites_{offer_type}", pd.Series(0, index=frame.index)).fillna(0).eq(0)


def _vacancy(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    national = ctx.get("vacancy_rate", np.nan)
    threshold = (national if np.isfinite(national) else 8.0) + VACANCY_MARGIN_PTS
    high = frame["vacancy_rate"].ge(threshold) & frame["vacant_dwellings"].ge(MIN_VACANT_DWELLINGS)
    if "private_vacancy_long_rate" in frame.columns:
        long_term = frame["private_vacancy_long_rate"].ge(3.0)
        high |= long_term & frame["private_vacant_long"].ge(MIN_VACANT_DWELLINGS)
    return high & _needy(frame)


def _vacancy_text(frame: pd.DataFrame, ctx: dict) -> str:
    vacant = frame["vacant_dwellings"].sum()
    text = (
        f"{fr_number(vacant)} logements vacants au recensement 2021 dans ces communes (taux "
        f"{fr_percent(100 * vacant / frame['dwellings'].sum())}, France "
        f"{fr_percent(ctx.get('vacancy_rate'))})"
    )
    if "private_vacant_long" in frame.columns and frame["private_vacant_long"].notna().any():
        text += (f", dont {fr_number(frame['private_vacant_long'].sum(min_count=1))} logements "
                 "privés vacants depuis plus de deux ans (LOVAC)")
    if "rent_m2_app" in frame.columns and frame["rent_m2_app"].notna().any():
        rents = frame["rent_m2_app"].dropna()
        text += (f" ; loyer d'annonce prédit des appartements de {fr_number(rents.min(), 1)} à "
                 f"{fr_number(rents.max(), 1)} €/m² charges comprises (Carte des loyers), à "
                 "rapprocher des plafonds de loyer applicables pour juger de la captation")
    return (
        text + f", face à {fr_number(frame['_need'].sum())} ménages pauvres estimés : la vacance est "
        "un parc à mobiliser, pas un besoin. Capter des logements vacants en intermédiation "
        "locative (mandat de gestion, sous-location) et remettre en état les plus dégradés par "
        "bail à réhabilitation."
    )


def _copro(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    return (frame["copro_before_1975_share"].ge(COPRO_OLD_SHARE)
            & frame["copro_count"].ge(MIN_COPRO) & _needy(frame))


def _copro_text(frame: pd.DataFrame, ctx: dict) -> str:
    return (
        f"{fr_number(frame['copro_count'].sum())} copropriétés immatriculées, dont "
        f"{fr_percent(100 * frame['copro_before_1975'].sum() / frame['copro_period_known'].sum())} "
        "construites avant 1975 : portage de lots et maîtrise d'ouvrage d'insertion dans les "
        "copropriétés fragiles (le bail à réhabilitation peut porter sur un ou plusieurs lots "
        "d'une copropriété), en lien avec les dispositifs publics de redressement des "
        "copropriétés."
    )


def _pension(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    centre = frame["_type"].eq("Petites villes et bourgs")
    if "pvd" in frame.columns:
        centre |= frame["pvd"].fillna(False).astype(bool)
    return centre & _needy(frame) & _no_offer_in_reach(frame, "pension_de_famille")


def _pension_text(frame: pd.DataFrame, ctx: dict) -> str:
    pvd = int(frame["pvd"].fillna(False).astype(bool).sum()) if "pvd" in frame.columns else 0
    return (
        f"{fr_number(frame['_need'].sum())} ménages pauvres estimés dans des centres ruraux sans pension "
        "de famille à portée"
        + (f" ({fr_number(pvd)} commune(s) « Petites villes de demain », dont l'opération de "
           "revitalisation peut accueillir le projet)" if pvd else "")
        + " : une pension de famille de 15 à 25 places en centre-bourg, près des services."
    )


def _accompaniment(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    return _needy(frame) & _no_offer_in_reach(frame, "accompagnement")


def _accompaniment_text(frame: pd.DataFrame, ctx: dict) -> str:
    return (
        f"{fr_number(frame['_need'].sum())} ménages pauvres estimés dans des communes où aucun adhérent "
        "déclaré n'assure d'accompagnement (AVDL, mesures FSL/ASLL) : le registre ne dit rien "
        "des services portés par d'autres acteurs. Le fonds de solidarité pour le logement existe "
        "dans chaque département : la question est la place des adhérents dans ses mesures "
        "d'accompagnement et dans les appels à projets d'accompagnement vers et dans le "
        "logement (AVDL), condition du maintien dans le logement des ménages relogés."
    )


def _tension(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    tense = frame["zone_abc"].isin(["Abis", "A", "B1"])
    if "zone_tendue" in frame.columns:
        tense |= frame["zone_tendue"].fillna(False).astype(bool)
    return tense & _needy(frame)


def _tension_text(frame: pd.DataFrame, ctx: dict) -> str:
    partnership = ""
    if ("social_dwellings_associations" in frame.columns
            and frame["social_dwellings_associations"].notna().any()):
        partnership = (
            f" Le parc social de ces communes compte déjà "
            f"{fr_number(frame['social_dwellings_associations'].sum(min_count=1))} logements loués "
            "à des associations (RPLS) : le partenariat avec les bailleurs sociaux est à étendre."
        )
    return (
        f"{fr_number(frame['_need'].sum())} ménages pauvres estimés dans des communes en marché tendu "
        "(zones Abis, A, B1 ou zone tendue) : résidences sociales et pensions de famille en "
        "maîtrise d'ouvrage d'insertion (financement PLAI) ; intermédiation locative dans le parc "
        "privé avec Loc'Avantages (qui a remplacé « Louer abordable » en 2022 ; seuls les "
        "niveaux Loc2 et Loc3 en intermédiation relèvent de l'offre d'insertion) et la garantie "
        "Visale d'Action Logement ; dans le parc social, propositions de ménages sur les droits "
        "de réservation (contingent préfectoral, Action Logement, collectivités)."
        + partnership
    )


def _carence(frame: pd.DataFrame, ctx: dict) -> pd.Series:
    return frame["sru_carence"].fillna(False).astype(bool)


def _carence_text(frame: pd.DataFrame, ctx: dict) -> str:
    need = frame["_need"].sum(min_count=1)
    gap = ""
    if "sru_rate" in frame.columns and frame["sru_rate"].notna().any():
        gap = (f" (taux de logements sociaux de {fr_percent(frame['sru_rate'].min())} à "
               f"{fr_percent(frame['sru_rate'].max())})")
    return (
        f"{fr_number(len(frame))} commune(s) carencée(s) au titre de la loi SRU{gap}"
        + (f", {fr_number(need)} ménages pauvres estimés" if pd.notna(need) else "")
        + " : pendant la carence, le droit de préemption urbain est exercé par le préfet, qui "
        "peut le déléguer ; des acquisitions-améliorations en maîtrise d'ouvrage d'insertion "
        "peuvent y être proposées. L'obligation SRU est celle de la commune : elle n'est pas "
        "comptée comme un besoin des ménages."
    )


BAIL_REHABILITATION = ("bail à réhabilitation : Code de la construction et de l'habitation "
                       "(CCH), art. L. 252-1 et suivants (preneur : organisme HLM, SEM, "
                       "collectivité ou organisme agréé au titre de l'art. L. 365-2 ; durée "
                       "d'au moins douze ans)")
AGREMENTS = ("agréments des organismes : CCH art. L. 365-2 (maîtrise d'ouvrage), L. 365-3 "
             "(ingénierie sociale, financière et technique), L. 365-4 (intermédiation locative "
             "et gestion locative sociale)")
RULES: tuple[LeverRule, ...] = (
    LeverRule(
        "vacance", "Mobiliser les logements vacants : intermédiation locative et bail à "
        "réhabilitation",
        f"taux de vacance (recensement 2021) supérieur d'au moins {fr_number(VACANCY_MARGIN_PTS)} point "
        f"au taux national et au moins {MIN_VACANT_DWELLINGS} logements vacants (ou vacance privée "
        f"de plus de 2 ans ≥ 3 % dans LOVAC), avec un besoin mesuré",
        ("vacancy_rate", "vacant_dwellings", "dwellings"), _vacancy, _vacancy_text,
        (datasets.CENSUS_IRIS, datasets.LOVAC_COMMUNES),
        legal_basis=f"{BAIL_REHABILITATION} ; {AGREMENTS}",
        local_needs="un organisme agréé pour l'intermédiation locative (L. 365-4) ou la "
        "maîtrise d'ouvrage (L. 365-2) présent sur le territoire ; des propriétaires de "
        "logements vacants à convaincre ; un accompagnement des ménages financé",
    ),
    LeverRule(
        "coproprietes", "Action sur les copropriétés dégradées",
        f"au moins {MIN_COPRO} copropriétés immatriculées dont plus de {fr_number(COPRO_OLD_SHARE)} % "
        "construites avant 1975 (RNIC), avec un besoin mesuré",
        ("copro_before_1975_share", "copro_count"), _copro, _copro_text, (datasets.RNIC,),
        legal_basis=f"{BAIL_REHABILITATION}, applicable à un ou plusieurs lots de copropriété ; "
        "agrément de maîtrise d'ouvrage : CCH art. L. 365-2",
        local_needs="un opérateur agréé en maîtrise d'ouvrage ; l'accord des copropriétaires "
        "vendeurs ou bailleurs ; le lien avec les dispositifs publics de la commune",
    ),
    LeverRule(
        "pension_de_famille", "Pensions de famille en centre rural",
        "petite ville ou bourg rural (grille de densité niveaux 3 et 5) ou commune « Petites "
        "villes de demain », avec un besoin mesuré et aucune pension de famille à portée",
        ("density_7",), _pension, _pension_text, (datasets.DENSITY_GRID, datasets.ANCT_PROGRAMMES),
        needs_offer=True,
        legal_basis="agrément de maîtrise d'ouvrage : CCH art. L. 365-2",
        local_needs="un bâti ou un terrain en centre-bourg, près des services ; un gestionnaire ; "
        "le financement de l'investissement (PLAI) et de la gestion, à confirmer avec les "
        "services de l'État",
    ),
    LeverRule(
        "accompagnement", "Accompagnement vers et dans le logement",
        "besoin mesuré et aucun service d'accompagnement d'un adhérent déclaré couvrant la commune",
        (), _accompaniment, _accompaniment_text, (), needs_offer=True,
        legal_basis="fonds de solidarité pour le logement créé dans chaque département : loi "
        "n° 90-449 du 31 mai 1990, art. 6 ; agrément d'ingénierie sociale : CCH art. L. 365-3",
        local_needs="une place des adhérents dans les mesures du FSL du département et dans "
        "les appels à projets de l'État pour l'AVDL",
    ),
    LeverRule(
        "marche_tendu", "Produire en marché tendu",
        "commune en zone Abis, A ou B1 (zonage ABC 2024) ou en zone tendue, avec un besoin mesuré",
        ("zone_abc",), _tension, _tension_text, (datasets.ZONAGE_ABC, datasets.ZONE_TENDUE),
        legal_basis=AGREMENTS,
        local_needs="du foncier ou du bâti à acquérir ; des bailleurs privés volontaires ; des "
        "conventions avec les réservataires de logements sociaux",
    ),
    LeverRule(
        "carence", "Communes carencées (SRU)",
        "commune faisant l'objet d'un arrêté de carence (inventaire SRU, « Commune carencée »)",
        ("sru_carence",), _carence, _carence_text, (datasets.SRU,), needs_need=False,
        legal_basis="constat de carence : CCH art. L. 302-9-1 ; pendant la carence, le droit de "
        "préemption urbain est exercé par le représentant de l'État (Code de l'urbanisme, "
        "art. L. 210-1), qui peut le déléguer (établissement public foncier, société "
        "d'économie mixte, organisme HLM…)",
        local_needs="des biens à acquérir et un opérateur pour les porter (organisme HLM ou "
        "organisme agréé en maîtrise d'ouvrage) ; un échange avec la préfecture (DDT) sur les "
        "délégations du droit de préemption",
    ),
)


def prepare(frame: pd.DataFrame, sites_by_commune: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add the commune type, the need measure and the registry's sites per family."""
    out = frame.copy()
    out["_type"] = commune_types(out)
    out["_need"], _ = need_measure(out)
    if sites_by_commune is not None and len(sites_by_commune):
        wide = sites_by_commune.pivot_table(index="code", columns="offer_family", values="n_sites",
                                            aggfunc="sum", fill_value=0)
        for family in wide.columns:
            out[f"_sites_{family}"] = out["code"].map(wide[family]).fillna(0)
    return out


def derive_levers(
    frame: pd.DataFrame,
    national: dict[str, float],
    sites_by_commune: pd.DataFrame | None = None,
    missing: dict[str, str] | None = None,
) -> list[Lever]:
    """The levers whose condition holds somewhere in ``frame`` (one row per commune).

    Parameters
    ----------
    frame
        Commune table with the report's indicators and, when available, the need model's
        ``need_households``/``score`` and the gap model's ``providers_in_reach_<type>``.
    national
        National reference values (``vacancy_rate`` …).
    sites_by_commune
        ``code, offer_family, n_sites`` (registry), used when the gap model is absent.
    missing
        ``{dataset: reason}`` to explain a lever that cannot be evaluated.
    """
    missing = missing or {}
    data = prepare(frame, sites_by_commune)
    offer_known = sites_by_commune is not None or any(
        c.startswith("providers_in_reach_") for c in data.columns
    )
    levers: list[Lever] = []
    for rule in RULES:
        absent = [c for c in rule.requires if c not in data.columns or data[c].isna().all()]
        no_offer = rule.needs_offer and not offer_known
        no_need = rule.needs_need and not data["_need"].notna().any()
        if absent or no_offer or no_need:
            reasons = [missing[s] for s in rule.sources if s in missing]
            if no_need:
                reasons.append("besoin non mesuré (modèle de besoin et taux de pauvreté absents)")
            if no_offer:
                reasons.append(missing.get("registre", "offre des adhérents inconnue"))
            levers.append(Lever(rule.id, rule.title, rule.rule_fr, data.iloc[0:0], evaluable=False,
                                reason=" ; ".join(reasons) or "indicateurs absents : " + ", ".join(absent),
                                legal_basis=rule.legal_basis, local_needs=rule.local_needs))
            continue
        chosen = data[rule.select(data, national).fillna(False).astype(bool)]
        if chosen.empty:
            continue
        columns = ["code", "name", "_type", "population", "_need"]
        communes = chosen[[c for c in columns if c in chosen.columns]].rename(
            columns={"_type": "commune_type", "_need": "need_households"}
        ).sort_values("need_households", ascending=False)
        levers.append(Lever(rule.id, rule.title, rule.rule_fr, communes.reset_index(drop=True),
                            figures=rule.describe(chosen, national),
                            legal_basis=rule.legal_basis, local_needs=rule.local_needs))
    return levers


def levers_by_type(levers: list[Lever], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per type of commune: communes, population, need, and the levers that apply."""
    data = prepare(frame)
    grouped = data.groupby("_type").agg(
        communes=("code", "size"), population=("population", "sum"),
        need=("_need", lambda s: s.sum(min_count=1)),
    )
    applied: dict[str, list[str]] = {t: [] for t in grouped.index}
    for lever in levers:
        if not lever.evaluable:
            continue
        counts = lever.communes["commune_type"].value_counts()
        for commune_type, n in counts.items():
            applied.setdefault(commune_type, []).append(f"{lever.title} ({n})")
    grouped["levers"] = [" ; ".join(applied.get(t, [])) for t in grouped.index]
    order = [t for t in TYPE_ORDER if t in grouped.index]
    return grouped.reindex(order).reset_index().rename(columns={"_type": "commune_type"})


# -- whom to address: the policy frame of the lever's communes ----------------------------------
# Which policies of the frame each lever meets (models.policy_frame keys; "prefet" for the
# commune carencée, where the State's representative holds the pre-emption right).
LEVER_POLICIES: dict[str, tuple[str, ...]] = {
    "vacance": ("delegataire_aides_pierre", "plh", "logement_d_abord"),
    "coproprietes": ("delegataire_aides_pierre", "plh"),
    "pension_de_famille": ("delegataire_aides_pierre", "plh", "pdalhpd", "logement_d_abord"),
    "accompagnement": ("pdalhpd", "logement_d_abord"),
    "marche_tendu": ("delegataire_aides_pierre", "plh"),
    "carence": ("prefet", "plh"),
}
POLICY_ROLES = {
    "delegataire_aides_pierre": "programmation des PLAI (délégataire des aides à la pierre)",
    "plh": "programme local de l'habitat en vigueur",
    "pdalhpd": "PDALHPD (plan co-piloté par l'État et le département)",
    "logement_d_abord": "territoire de mise en œuvre accélérée du Logement d'abord",
}
PREFET = ("le préfet : pendant la carence, il exerce le droit de préemption urbain de la "
          "commune (constat de carence : CCH art. L. 302-9-1)")


def addressees(lever: Lever, communes: pd.DataFrame, layer: pd.DataFrame | None,
               today=None) -> list[str]:
    """« À qui s'adresser » for the lever's communes, from the policy frame.

    Parameters
    ----------
    communes
        The territory's communes (``code, name, epci_code, epci_name, dep_code, dep_name``).
    layer
        The policy layer (``connectors.policies``); None gives the « à compléter » answers.
    """
    from models import policy_frame as pf

    wanted = LEVER_POLICIES.get(lever.id, ())
    if not wanted or not lever.count:
        return []
    layer = layer if layer is not None else pd.DataFrame(
        columns=["politique", "niveau", "code_territoire"])
    chosen = communes[communes["code"].isin(set(lever.communes["code"]))]
    known: dict[str, list[str]] = {p: [] for p in wanted}
    unknown: dict[str, list[str]] = {p: [] for p in wanted}
    named = set(layer.loc[layer["niveau"] == "commune", "code_territoire"]) if len(layer) else set()
    places = pd.concat([chosen.drop_duplicates(["epci_code", "dep_code"]),
                        chosen[chosen["code"].isin(named)]]).drop_duplicates("code")
    for _, area in places.iterrows():
        for record in pf.layer_policies(pf.place_of(area), layer, today or _today()):
            policy = record["_policy"]
            if policy not in known:
                continue
            if record["Situation"] == pf.TO_COMPLETE:
                unknown[policy].append(record["Territoire"])
            elif not record["Situation"].startswith("non recensé"):
                validity = "" if record["Validité"] == "—" else f", {record['Validité']}"
                text = f"{record['Porteur'] or record['Territoire']}{validity}"
                if record["Statut"] != "confirmé":
                    text += f" ({record['Statut']})"
                known[policy].append(text)
    items = [PREFET] if "prefet" in wanted else []
    for policy in wanted:
        if policy == "prefet":
            continue
        texts = list(dict.fromkeys(known[policy]))
        missing = list(dict.fromkeys(unknown[policy]))
        if missing:
            texts.append(f"à compléter pour {', '.join(missing)}" if len(missing) <= 2 else
                         f"à compléter pour {len(missing)} territoires")
        if texts:
            items.append(f"{POLICY_ROLES[policy]} : {' ; '.join(texts)}")
    return items


def _today():
    from datetime import date

    return date.today()
