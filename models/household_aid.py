"""Housing aid of a household (APL / AL / APL-foyer) from OpenFisca-France's dated parameters.

Why not the OpenFisca engine itself: ``openfisca-france`` 176.1.8 asks for ``numpy<2.4`` and the
project pins ``numpy==2.4.6``; the engine cannot be installed beside the project's pins. Its
parameters can: they are YAML files, dated, with the text each value comes from
(``parameters/prestations_sociales/aides_logement/...``). The package is installed without its
dependencies (``requirements-rules.txt``, ``pip install --no-deps``, see the Makefile) and this
module reads those files **without importing the package** (its ``__init__`` would import the
engine). No ceiling is copied by hand: every amount below is read from the package for the date
asked.

Simplified formulas (those of OpenFisca-France's ``model/prestations/aides_logement.py``, for a
household in metropolitan France, neither student nor co-tenant, rent below the degressivity
threshold; CRDS and rounding to the euro ignored):

* rented dwelling (« location », CCH D.823-16): ``L = min(loyer, plafond[zone][composition])``,
  ``C = forfait charges (cas général + majoration par enfant)``,
  ``P0 = max(taux P0 × (L + C), forfait P0)``, ``Tp = TF[composition] + TL(L / loyer de
  référence zone 2)``, ``Pp = P0 + Tp × max(0, R − R0[composition])``;
  aid = ``L + C − Pp − minoration forfaitaire``, nil under the payment threshold.
* logement-foyer conventionné (APL-foyer, CCH D.832-24): ``E = min(redevance,
  plafond d'équivalence de loyer et de charges[zone][composition])``,
  ``K = min(plafond K, plafond K − (R − r × N) / (CM1 × N))``,
  ``E0 = (barème E0 (R / N) × N + majoration × N) / 12``; aid = ``K × (E − E0) − minoration``,
  nil under the payment threshold. (The cap of K at the parameter « Plafond du coefficient K »
  is this model's reading of that parameter's name.)

``R`` is the household's yearly resources counted by the CAF for the aid (an input, 0 by
default). The default is a rule, not a simplification: the aid's resource base in OpenFisca-France
(``aide_logement_base_ressources`` and the variables it sums in ``model/prestations/
aides_logement.py``) is built from taxable income (wages, pensions, self-employment, unemployment
benefits); the AAH and the RSA, on which residents of pensions de famille mostly live (DIHAL
national survey: the AAH is the first income, 47 % of residents), are not part of it. A resident
with a taxable pension or wage enters it as ``R``.

What those households live on is shown beside the aid (:func:`minimum_income`): the AAH (single
person in a logement-foyer, the survey's most frequent income) or the RSA (other households, and
tenants of rented dwellings) in force at the date,
read from OpenFisca-France's parameters, the RSA less its « forfait logement » when a housing aid is
received (CASF R.262-10, as OpenFisca-France's ``rsa_forfait_logement`` computes it); hence the
share of that income left after paying the rent or redevance (taux d'effort).
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from catalogues.sources import SAFE_LOADER

PACKAGE = "openfisca_france"
AIDS = Path("prestations_sociales/aides_logement/allocations_logement")
ENGINE_NOTE = (
    "openfisca-france 176.1.8 demande numpy<2.4 (le projet épingle numpy 2.4.6) : le moteur n'est pas "
    "installé ; ses paramètres datés sont lus dans le paquet et l'aide est calculée par la formule "
    "simplifiée documentée dans models/household_aid.py."
)
SOURCE_LABEL = "OpenFisca-France (paramètres datés du paquet openfisca-france)"


class HouseholdAidUnavailable(RuntimeError):
    """OpenFisca-France's parameters are not installed (French message)."""


@dataclass(frozen=True)
class Household:
    key: str
    label: str
    couple: bool
    children: int
    income: str = "rsa"  # default minimum income: "aah" or "rsa"


HOUSEHOLDS: dict[str, Household] = {
    h.key: h
    for h in [
        Household("personne_seule", "Personne seule", False, 0, "aah"),
        Household("parent_isole_1_enfant", "Parent isolé avec 1 enfant", False, 1),
        Household("couple_sans_enfant", "Couple sans enfant", True, 0),
        Household("couple_2_enfants", "Couple avec 2 enfants", True, 2),
    ]
}


@cache
def package_root() -> Path:
    """The installed package's folder, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HouseholdAidUnavailable(
            "Paramètres d'OpenFisca-France absents : installer « requirements-rules.txt » "
            "(make install) pour calculer l'APL des ménages."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def parameters_root() -> Path:
    return package_root() / "parameters"


def package_version() -> str:
    root = package_root()
    for info in root.parent.glob("openfisca_france-*.dist-info"):
        return info.name.removeprefix("openfisca_france-").removesuffix(".dist-info")
    return "version inconnue"


@cache
def _read(relative: str) -> dict:
    path = parameters_root() / relative
    try:
        # libyaml's loader where PyYAML has it: an operation reads some thirty of these files
        # (0.6 s with the pure-Python loader, 0.1 s with libyaml).
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except OSError as exc:
        raise HouseholdAidUnavailable(
            f"Paramètre d'OpenFisca-France illisible : {relative} ({exc})."
        ) from None


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class RuleValue:
    """One dated parameter value as read in the package."""

    path: str
    value: float
    since: date
    reference: str


@cache
def _series(relative: str) -> tuple[tuple[date, float | None], ...]:
    raw = _read(relative).get("values") or {}
    out = []
    for start, entry in raw.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        out.append((_as_date(start), None if value is None else float(value)))
    return tuple(sorted(out))


def _reference(relative: str, since: date) -> str:
    refs = ((_read(relative).get("metadata") or {}).get("reference")) or {}
    best = None
    for start, entry in refs.items():
        if _as_date(start) <= since and (best is None or _as_date(start) >= best[0]):
            best = (_as_date(start), entry)
    if best is None:
        return ""
    entries = best[1] if isinstance(best[1], list) else [best[1]]
    texts = []
    for entry in entries:
        if isinstance(entry, dict):
            title, href = entry.get("title", ""), entry.get("href", "")
            texts.append(f"{title} {href}".strip())
        elif entry:
            texts.append(str(entry))
    return " ; ".join(texts)


@cache
def rule(relative: str, day: date) -> RuleValue:
    """The value of an OpenFisca-France parameter in force at ``day``."""
    chosen = None
    for start, value in _series(relative):
        if start <= day:
            chosen = (start, value)
    if chosen is None or chosen[1] is None:
        raise HouseholdAidUnavailable(
            f"OpenFisca-France : aucune valeur en vigueur le {day:%d/%m/%Y} pour « {relative} »."
        )
    return RuleValue(relative, chosen[1], chosen[0], _reference(relative, chosen[0]))


def optional_rule(relative: str, day: date) -> RuleValue:
    """A deduction or threshold that did not exist yet at ``day`` counts as 0 (e.g. the 5 €
    « minoration forfaitaire », from 1 Oct 2017)."""
    series = _series(relative)
    if series and day < series[0][0]:
        return RuleValue(relative, 0.0, day, f"sans objet avant le {series[0][0]:%d/%m/%Y}")
    return rule(relative, day)


@cache
def _bracket_scale(relative: str, day: date) -> tuple[tuple[float, float], ...]:
    brackets = []
    for bracket in _read(relative).get("brackets") or []:
        picks = []
        for name in ("threshold", "rate"):
            chosen = None
            for start, entry in sorted((bracket.get(name) or {}).items(), key=lambda kv: _as_date(kv[0])):
                if _as_date(start) <= day:
                    chosen = entry.get("value") if isinstance(entry, dict) else entry
            picks.append(chosen)
        if None not in picks:
            brackets.append((float(picks[0]), float(picks[1])))
    return tuple(sorted(brackets))


def _marginal(scale: tuple[tuple[float, float], ...], amount: float) -> float:
    total = 0.0
    for i, (threshold, rate) in enumerate(scale):
        upper = scale[i + 1][0] if i + 1 < len(scale) else float("inf")
        if amount > threshold:
            total += (min(amount, upper) - threshold) * rate
    return total


# -- the APL zone of a commune --------------------------------------------------------------------
@cache
def _zones() -> dict[str, int]:
    path = package_root() / "assets" / "apl" / "20110914_zonage.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["CODGEO"]: int(row["Zonage"][0]) for row in csv.DictReader(handle)}


def zone_apl_of(code: str) -> int | None:
    """APL zone (1, 2, 3) of a commune in OpenFisca-France's zoning file, None if absent."""
    try:
        return _zones().get(str(code))
    except (OSError, HouseholdAidUnavailable):
        return None


ZONE_SOURCE = (
    "OpenFisca-France, assets/apl/20110914_zonage.csv "
    "(zonage APL par commune, arrêté du 17 mars 1978 modifié)"
)


# -- what the household lives on -------------------------------------------------------------------
MINIMA = "prestations_sociales/solidarite_insertion/minima_sociaux/rsa"
AAH_AMOUNT = "prestations_sociales/prestations_etat_de_sante/invalidite/aah/montant.yaml"
INCOME_LABELS = {"aah": "AAH (allocation aux adultes handicapés), montant maximal",
                 "rsa": "RSA (revenu de solidarité active), montant forfaitaire"}


@dataclass(frozen=True)
class Income:
    """Monthly minimum income of a household type, read from OpenFisca-France's parameters."""

    kind: str  # "aah" or "rsa"
    gross: float  # €/month before the RSA « forfait logement »
    forfait_logement: float  # €/month deducted from the RSA when a housing aid is received
    rules: tuple[RuleValue, ...]

    @property
    def net(self) -> float:
        return max(0.0, self.gross - self.forfait_logement)


def minimum_income(day: date, household: str, housing_aid: float = 0.0, kind: str | None = None) -> Income:
    """The AAH (maximal amount, one adult) or the RSA of ``household`` at ``day``.

    RSA: base amount × (1 + 50 % for a 2nd person + 30 % for a 3rd + 40 % per further child, the
    ``rsa_maj.maj_montant_max`` rates), less the forfait logement when a housing aid is received:
    min(aid, base × rate for 1, 2, 3+ persons × the household's multiplier), as in
    OpenFisca-France's ``rsa_forfait_logement``. The isolation majoration of a single parent
    (RSA majoré) is not applied. AAH: the monthly maximum (no forfait logement); a couple gets one.
    """
    h = HOUSEHOLDS[household]
    kind = kind or h.income
    if kind == "aah":
        amount = rule(AAH_AMOUNT, day)
        return Income("aah", amount.value, 0.0, (amount,))
    if kind != "rsa":
        raise ValueError(f"Revenu minimum inconnu : « {kind} » (aah ou rsa).")
    base = rule(f"{MINIMA}/rsa_m/montant_de_base_du_rsa.yaml", day)
    second = rule(f"{MINIMA}/rsa_maj/maj_montant_max/couples_celibataire_avec_enfant.yaml", day)
    third = rule(f"{MINIMA}/rsa_maj/maj_montant_max/couple_1_enfant_ou_2e_enfant.yaml", day)
    further = rule(f"{MINIMA}/rsa_maj/maj_montant_max/par_enfant_supplementaire.yaml", day)
    persons = (2 if h.couple else 1) + h.children
    factor = 1.0 + (second.value if persons >= 2 else 0.0) + (third.value if persons >= 3 else 0.0)
    factor += further.value * max(0, persons - 3)
    key = {1: "taux_1_personne", 2: "taux_2_personnes"}.get(persons, "taux_3_personnes_ou_plus")
    fl_rate = rule(f"{MINIMA}/rsa_fl/forfait_logement/{key}.yaml", day)
    fl_factor = {1: 1.0, 2: 1.0 + second.value}.get(persons, 1.0 + second.value + third.value)
    forfait = min(housing_aid, base.value * fl_rate.value * fl_factor) if housing_aid > 0 else 0.0
    return Income("rsa", base.value * factor, forfait, (base, second, third, further, fl_rate))


# -- the aid ---------------------------------------------------------------------------------------
@dataclass
class Aid:
    """Monthly aid of one household type, with what it was computed from."""

    household: Household
    family: str  # "location" or "foyer"
    day: date
    zone: int
    rent: float  # rent (location, excl. charges) or redevance (foyer, incl. charges), €/month
    charges: float  # real charges paid on top of the rent (location), €/month
    resources: float  # yearly resources counted, €
    ceiling: float  # rent (or equivalence) ceiling of the household, €/month
    aid: float  # €/month
    rules: list[RuleValue] = field(default_factory=list)

    @property
    def income_kind(self) -> str:
        """AAH for a single person in a logement-foyer (the first income of pension de famille
        residents in the Dihal survey), RSA otherwise."""
        return "aah" if self.family == "foyer" and self.household.income == "aah" else "rsa"

    @property
    def income(self) -> Income | None:
        """The household's default minimum income at the aid's date (None when OpenFisca-France
        has no value for that date)."""
        try:
            return minimum_income(self.day, self.household.key, self.aid, self.income_kind)
        except HouseholdAidUnavailable:
            return None

    @property
    def effort_rate(self) -> float | None:
        """Remaining charge as a share of that income (taux d'effort)."""
        income = self.income
        return self.remaining / income.net if income is not None and income.net > 0 else None

    @property
    def remaining(self) -> float:
        """What the household pays each month once the aid is deducted."""
        return max(0.0, self.rent + self.charges - self.aid)

    @property
    def within_ceiling(self) -> bool:
        """Rent at or below the household's ceiling (the PLAI adapté condition)."""
        return self.rent <= self.ceiling + 1e-9

    @property
    def tres_social(self) -> bool:
        return self.within_ceiling

    def as_dict(self) -> dict:
        income = self.income
        effort = self.effort_rate
        return {
            "menage": self.household.label,
            "famille_aide": "APL-foyer (logement-foyer)" if self.family == "foyer" else "APL/AL (location)",
            "date": self.day.isoformat(),
            "zone_apl": self.zone,
            "loyer_ou_redevance_mensuel": round(self.rent, 2),
            "charges_mensuelles": round(self.charges, 2),
            "ressources_annuelles": round(self.resources, 2),
            "plafond_mensuel": round(self.ceiling, 2),
            "aide_mensuelle": round(self.aid, 2),
            "reste_a_charge_mensuel": round(self.remaining, 2),
            "tres_social": self.tres_social,
            "revenu_mensuel": None if income is None else {
                "nature": INCOME_LABELS[income.kind],
                "montant_avant_forfait_logement": round(income.gross, 2),
                "forfait_logement_deduit": round(income.forfait_logement, 2),
                "montant_percu": round(income.net, 2),
                "taux_effort": None if effort is None else round(effort, 4),
                "compte_dans_ressources_apl": False,
                "note": "AAH et RSA ne font pas partie des ressources retenues pour l'aide au logement "
                "(base de ressources d'OpenFisca-France : revenus imposables) ; une pension ou un "
                "salaire imposable se saisit dans « ressources annuelles du ménage ».",
                "parametres_openfisca": [
                    {"parametre": r.path, "valeur": r.value, "validite": r.since.isoformat(),
                     "source": r.reference}
                    for r in income.rules
                ],
            },
            "calcul": "OpenFisca-France (paramètres datés), formule simplifiée",
            "parametres_openfisca": [
                {
                    "parametre": r.path,
                    "valeur": r.value,
                    "validite": r.since.isoformat(),
                    "source": r.reference,
                }
                for r in self.rules
            ],
        }


def _location_ceiling(day: date, zone: int, h: Household) -> list[RuleValue]:
    base = f"{AIDS}/locatif/formule/l_plafonds_loyers/par_zone/zone_{zone}"
    if h.children == 0:
        return [rule(f"{base}/{'couples' if h.couple else 'personnes_seules'}.yaml", day)]
    out = [rule(f"{base}/un_enfant.yaml", day)]
    if h.children > 1:
        out.append(rule(f"{base}/majoration_par_enf_supp.yaml", day))
    return out


def _ceiling_value(rules: list[RuleValue], children: int) -> float:
    return rules[0].value + (rules[1].value * (children - 1) if len(rules) > 1 else 0.0)


def location_ceiling(day: date, zone: int, household: str = "personne_seule") -> float:
    h = HOUSEHOLDS[household]
    return _ceiling_value(_location_ceiling(day, zone, h), h.children)


FOYER_KEYS = {
    0: "personne_isolee_sans_enfant",
    1: "menage_ou_isole_avec_1_enfant",
    2: "menage_ou_isole_avec_2_enfants",
    3: "menage_ou_isole_avec_3_enfants",
    4: "menage_ou_isole_avec_4_enfants",
}


def _foyer_ceiling_rule(day: date, zone: int, h: Household) -> RuleValue:
    base = f"{AIDS}/foyer/apl/formule/e_equiv_loyers_eligible/zone_{zone}"
    key = "menage_seul" if (h.couple and h.children == 0) else FOYER_KEYS[min(h.children, 4)]
    return rule(f"{base}/{key}.yaml", day)


def foyer_ceiling(day: date, zone: int, household: str = "personne_seule") -> float:
    return _foyer_ceiling_rule(day, zone, HOUSEHOLDS[household]).value


def ceiling(family: str, day: date, zone: int, household: str = "personne_seule") -> float:
    """The household's ceiling: rent (location) or equivalence of rent and charges (foyer)."""
    return (
        foyer_ceiling(day, zone, household) if family == "foyer" else location_ceiling(day, zone, household)
    )


def _check(zone: int, household: str, *amounts: float) -> Household:
    if zone not in (1, 2, 3):
        raise ValueError(f"Zone APL « {zone} » : 1, 2 ou 3 attendu.")
    if household not in HOUSEHOLDS:
        raise ValueError(f"Type de ménage inconnu : « {household} » ({', '.join(HOUSEHOLDS)}).")
    for amount in amounts:
        if not (amount == amount) or amount in (float("inf"), float("-inf")) or amount < 0:
            raise ValueError("Loyer, charges et ressources du ménage : nombres finis positifs attendus.")
    return HOUSEHOLDS[household]


def location_aid(
    day: date, zone: int, household: str, rent: float, charges: float = 0.0, resources: float = 0.0
) -> Aid:
    """APL/AL of a tenant (rented dwelling)."""
    h = _check(zone, household, rent, charges, resources)
    f = f"{AIDS}/locatif/formule"
    ceilings = _location_ceiling(day, zone, h)
    plafond = _ceiling_value(ceilings, h.children)
    rules = list(ceilings)
    c_base = rule(f"{f}/c_forfait_charges/cas_general/cas_general.yaml", day)
    c_child = rule(f"{f}/c_forfait_charges/cas_general/majoration_par_enfant.yaml", day)
    p0_rate = rule(f"{f}/pp_particip_perso/p0_particip_min/p0_taux.yaml", day)
    p0_flat = rule(f"{f}/pp_particip_perso/p0_particip_min/p0_forfait.yaml", day)
    tf_key = {0: "couples_0_enfant" if h.couple else "personnes_isolees"}.get(
        h.children, f"avec_{h.children}_enfant" + ("s" if h.children > 1 else "")
    )
    tf = rule(f"{f}/pp_particip_perso/tp_taux/tf_taille_famille/metropole/{tf_key}.yaml", day)
    r0_key = {0: "taux_couple" if h.couple else "taux_seul"}.get(h.children, f"taux{h.children}pac")
    r0 = rule(f"{f}/pp_particip_perso/r0_abattement/cas_general/{r0_key}.yaml", day)
    tl_s1 = rule(f"{f}/pp_particip_perso/tp_taux/tl_loyer/seuils/seuil_1.yaml", day)
    tl_s2 = rule(f"{f}/pp_particip_perso/tp_taux/tl_loyer/seuils/seuil_2.yaml", day)
    tl_t2 = rule(f"{f}/pp_particip_perso/tp_taux/tl_loyer/taux/tl_taux_2.yaml", day)
    tl_t3 = rule(f"{f}/pp_particip_perso/tp_taux/tl_loyer/taux/tl_taux_3.yaml", day)
    ref_h = Household("ref", "", h.couple, h.children)
    reference = _ceiling_value(_location_ceiling(day, 2, ref_h), h.children)
    minoration = optional_rule(f"{AIDS}/locatif/minoration_forfaitaire.yaml", day)
    threshold = optional_rule(f"{AIDS}/locatif/seuils_minimum_versement/apl.yaml", day)
    rules += [c_base, c_child, p0_rate, p0_flat, tf, r0, tl_s1, tl_s2, tl_t2, tl_t3, minoration, threshold]

    retained = min(rent, plafond)
    forfait = c_base.value + h.children * c_child.value
    p0 = max(p0_rate.value * (retained + forfait), p0_flat.value)
    rl = round(retained / reference * 100, 2) / 100 if reference else 0.0
    if rl >= tl_s2.value:
        tl = tl_t3.value * (rl - tl_s2.value) + tl_t2.value * (tl_s2.value - tl_s1.value)
    else:
        tl = max(0.0, tl_t2.value * (rl - tl_s1.value))
    pp = p0 + (tf.value + round(tl, 5)) * max(0.0, resources - r0.value)
    amount = max(0.0, retained + forfait - pp)
    amount = amount if amount >= threshold.value else 0.0
    amount = max(0.0, amount - minoration.value)
    return Aid(h, "location", day, zone, rent, charges, resources, plafond, amount, rules)


def foyer_aid(day: date, zone: int, household: str, redevance: float, resources: float = 0.0) -> Aid:
    """APL-foyer of a resident of a logement-foyer conventionné (pension de famille, résidence
    sociale): the redevance is the equivalence of rent and charges."""
    h = _check(zone, household, redevance, resources)
    k = f"{AIDS}/foyer/k_coef_prise_en_charge"
    e0p = f"{AIDS}/foyer/apl/formule/e0_equiv_loyers_minimale/apl1"
    ceiling_rule = _foyer_ceiling_rule(day, zone, h)
    n_key = (
        ("menage_0_personnes_a_charge" if h.couple else "isole_0_personne_a_charge")
        if h.children == 0
        else f"{min(h.children, 4)}_personne{'s' if h.children > 1 else ''}_a_charge"
    )
    n = rule(f"{k}/n_nombre_parts/apl/{n_key}.yaml", day)
    k_cap = rule(f"{k}/plafonds/plafond_apl1.yaml", day)
    r_small = rule(f"{k}/cm_et_r/r_apl1.yaml", day)
    cm1 = rule(f"{k}/cm_et_r/cm1_apl1.yaml", day)
    majoration = rule(f"{e0p}/majoration.yaml", day)
    minoration = optional_rule(f"{AIDS}/foyer/apl/minoration_forfaitaire.yaml", day)
    threshold = optional_rule(f"{AIDS}/foyer/apl/seuil_minimum_versement.yaml", day)
    rules = [ceiling_rule, n, k_cap, r_small, cm1, majoration, minoration, threshold]

    parts = n.value
    coefficient = min(k_cap.value, k_cap.value - (resources - r_small.value * parts) / (cm1.value * parts))
    scale = _bracket_scale(f"{e0p}/bareme.yaml", day)
    e0 = (_marginal(scale, resources / parts) * parts + majoration.value * parts) / 12
    retained = min(redevance, ceiling_rule.value)
    amount = max(0.0, coefficient * (retained - e0))
    amount = amount if amount >= threshold.value else 0.0
    amount = max(0.0, amount - minoration.value)
    return Aid(h, "foyer", day, zone, redevance, 0.0, resources, ceiling_rule.value, amount, rules)


def household_aid(
    family: str,
    day: date,
    zone: int,
    household: str,
    rent: float,
    charges: float = 0.0,
    resources: float = 0.0,
) -> Aid:
    """The aid of one household type for a kind's family (« foyer » or « location »)."""
    if family == "foyer":
        return foyer_aid(day, zone, household, rent, resources)
    return location_aid(day, zone, household, rent, charges, resources)
