"""Economic model of one operation of logement d'insertion: the owner's investment plan and yearly
account, the manager's yearly account, linked by the rent (or redevance, or management fees) one
pays the other; the verdict of each; break-even values and tornado sensitivity.

Public entry point (used by the « programme » module, the CLI, the page and the report)::

    run_operation(kind: str, commune: str, *, logements: float | None = None,
                  places: float | None = None, overrides: dict[str, float] | None = None,
                  day: date | str | None = None, store: Store | None = None,
                  params: Parameters | None = None) -> OperationResult

``OperationResult`` carries ``evaluation`` (every line), ``verdict``, ``households`` (the housing
aid and remaining charge of each household type, from OpenFisca-France's dated parameters), and:
``investment`` (€), ``subsidies_by_funder`` ({funder: €}), ``loan``, ``equity``,
``running_funding_by_funder`` ({funder: € a year}), ``owner_result`` and ``manager_result``
(€ a year), ``manager_deficit`` (≥ 0, € a year), ``places``, ``homes`` and ``to_json()`` (the
French document printed by ``python -m models operation``).

Lower-level functions stay public: ``load_parameters()``, ``inputs_for(kind, params, zone_apl,
acv_pvd, overrides, day=...)``, ``evaluate(kind, values, params)``, ``verdict(evaluation)``,
``tornado``, ``break_even``, ``saved_operation`` / ``evaluate_saved``, ``used_parameters``.

``context`` (a ``LocalContext.to_dict()``) may be passed to skip the store; the commune's APL
zone is taken from OpenFisca-France's zoning file when the commune is listed there. Funders are
the ``funder`` of each line: « État (FNAP) — PLAI », « État (FNAP) — PLAI adapté », « Anah »,
« Collectivités », « Collectivités (ACV / PVD) », « Action Logement » for the investment;
« État — forfait pension de famille », « État — AGLS », « État — IML », « CAF »,
« Accompagnement (FNAVDL, FSL) », « Autres » for the running account.

Plain functions over plain data. Amounts, rates and dated series come from
``models/operation_parameters.yaml`` (read by :mod:`models.operation_params`: each value with
its date, its source, or « hypothèse à confirmer »); the APL ceilings and the households' aid
come from OpenFisca-France (:mod:`models.household_aid`). The structure of each kind (which
lines apply, in which account) is :mod:`models.operation_lines`. Every line is a formula of
:mod:`models.operation_formulas`, evaluated in Python and exported as a spreadsheet formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import settings
from models import household_aid as ha
from models import operation_formulas as fx
from models.operation_lines import (
    ACCOUNT_LABELS,
    ANNUITY,
    DERIVED,
    G_IN,
    G_OUT,
    INFO_LINES,
    KIND_EXTRA_INPUTS,
    KIND_LINES,
    LEGAL_MIN_DURATION,
    LINES,
    LOCAL_INPUTS,
    MANAGER,
    MANAGER_GROUPS,
    OWNER,
    OWNER_GROUPS,
    P_IN,
    P_OUT,
    PLAN_GROUPS,
    RESULT_GROUPS,
    Line,
    OperationError,
    _lines,
    ha_family,
    kind_inputs,
    kind_lines,
)
from models.operation_params import (
    ASSUMPTION_LABEL,
    PARAMETERS_FILE,
    Dated,
    Kind,
    Parameter,
    Parameters,
    _day,
    _number,
    load_parameters,
)

if TYPE_CHECKING:  # pragma: no cover
    from geodata.store import Store

__all__ = [  # the public names (several come from the two modules above)
    "ACCOUNT_LABELS",
    "ANNUITY",
    "ASSUMPTION_LABEL",
    "DERIVED",
    "G_IN",
    "G_OUT",
    "INFO_LINES",
    "KIND_EXTRA_INPUTS",
    "KIND_LINES",
    "LEGAL_MIN_DURATION",
    "LINES",
    "LOCAL_INPUTS",
    "MANAGER",
    "MANAGER_GROUPS",
    "OWNER",
    "OWNER_GROUPS",
    "PARAMETERS_FILE",
    "PLAN_GROUPS",
    "P_IN",
    "P_OUT",
    "RESULT_GROUPS",
    "TOLERANCE_EUR",
    "ZONES_APL",
    "Dated",
    "Evaluation",
    "Kind",
    "Line",
    "OperationError",
    "OperationResult",
    "Parameter",
    "Parameters",
    "Swing",
    "Verdict",
    "as_day",
    "break_even",
    "check_inputs",
    "compute",
    "euros",
    "evaluate",
    "evaluate_saved",
    "ha_family",
    "inputs_for",
    "kind_inputs",
    "kind_lines",
    "legal_checks",
    "load_parameters",
    "local_rows",
    "reference_aid",
    "run_operation",
    "saved_operation",
    "tornado",
    "used_parameters",
]

ZONES_APL = (1, 2, 3)
TOLERANCE_EUR = 0.5


# -- inputs ------------------------------------------------------------------------------------
def apl_ceiling_key(family: str, zone_apl: int) -> str:
    """Kept for compatibility: the ceiling now comes from OpenFisca-France (``apl_plafond``)."""
    return "apl_plafond"


def as_day(day: date | str | None) -> date:
    if day is None or day == "":
        return date.today()
    return _day(day, "Date de l'opération")


NON_NEGATIVE_MESSAGE = "doit être positif ou nul"
MAX_HOMES = settings.OPERATION_MAX_DWELLINGS  # one ceiling, in settings.py
MAX_AMOUNT = 1e9
RATE_PREFIXES = ("taux_", "quotite_", "decote_")


def inputs_for(
    kind: str,
    params: Parameters,
    zone_apl: int = 2,
    acv_pvd: bool = False,
    overrides: dict[str, float] | None = None,
    day: date | str | None = None,
) -> dict[str, float]:
    """Every input of ``kind`` at ``day``: dated values in force, the kind's sizing, the commune's
    (zone, programmes), the household's aid from OpenFisca-France, and the user's overrides."""
    if kind not in params.kinds:
        raise OperationError(f"Type d'opération absent du fichier de paramètres : « {kind} ».")
    try:
        zone = int(zone_apl)
    except (TypeError, ValueError):
        raise OperationError(f"Zone APL « {zone_apl} » : 1, 2 ou 3 attendu.") from None
    if zone not in ZONES_APL:
        raise OperationError(f"Zone APL « {zone_apl} » : 1, 2 ou 3 attendu.")
    when = as_day(day)
    needed = set(kind_inputs(kind))
    if "taux_pret" in (overrides or {}):
        needed -= {"taux_livret_a", "marge_pret_plai"}
    values = {}
    for key, p in params.general.items():  # a dated series the kind does not read may start later
        if key in needed or not p.series:
            values[key] = p.at(when).value
    values.update(params.kinds[kind].values)
    overrides = overrides or {}
    for key, value in overrides.items():
        values[key] = _number(value, f"Paramètre « {params.describe(key, kind).label} »")
    values["zone_apl"] = float(zone)
    values["commune_acv_pvd"] = 1.0 if acv_pvd else 0.0
    if "taux_pret" not in overrides and "taux_pret" in needed:
        values["taux_pret"] = values["taux_livret_a"] + values["marge_pret_plai"]
    check_inputs(kind, values, params)
    aid = reference_aid(kind, params, values, when)
    values["apl_plafond"] = float(overrides.get("apl_plafond", aid.ceiling))
    values["apl_menage_mensuelle"] = float(aid.aid)
    values["charges_menage"] = float(aid.charges)
    return values


def reference_aid(
    kind: str, params: Parameters, values: dict[str, float], when: date, household: str | None = None
) -> ha.Aid:
    """The aid of the kind's reference household (or ``household``) at ``when``."""
    family = params.kinds[kind].apl_family
    household = household or params.kinds[kind].households[0]
    charges = values.get("charges_locatives_menage_mensuelles", 0.0) if family == "location" else 0.0
    try:
        return ha.household_aid(
            family,
            when,
            int(values["zone_apl"]),
            household,
            values["loyer_mensuel"],
            charges,
            values.get("ressources_annuelles_menage", 0.0),
        )
    except (ha.HouseholdAidUnavailable, ValueError) as exc:
        raise OperationError(str(exc)) from None


def check_inputs(kind: str, values: dict[str, float], params: Parameters) -> None:
    """French error naming the field when an input cannot make sense."""
    needed = [
        n
        for n in kind_inputs(kind)
        if n not in ("apl_plafond", "apl_menage_mensuelle", "charges_menage")
        and not (n in ("taux_livret_a", "marge_pret_plai") and n not in values)
    ]  # taux_pret given
    missing = [n for n in needed if n not in values]
    if missing:
        raise OperationError(
            "Valeur(s) absente(s) : " + ", ".join(params.describe(n, kind).label for n in missing) + "."
        )
    homes = values["logements"]
    if homes < 1:
        raise OperationError("Nombre de logements : au moins 1.")
    if homes > MAX_HOMES:
        raise OperationError(
            f"Nombre de logements : {homes:,.0f} est hors de portée d'une opération "
            f"(au plus {MAX_HOMES:,}).".replace(",", " ")
        )
    for name in needed:
        value = values[name]
        label = params.describe(name, kind).label
        if not math.isfinite(value):
            raise OperationError(f"{label} : valeur non finie refusée.")
        if name == "marge_pret_plai":
            if abs(value) > 0.05:
                raise OperationError(f"{label} : {value} est hors de l'intervalle plausible (± 5 points).")
            continue
        if value < 0:
            raise OperationError(f"{label} : {NON_NEGATIVE_MESSAGE}.")
        if name.startswith(RATE_PREFIXES) and value > 1:
            raise OperationError(
                f"{label} : un taux s'écrit entre 0 et 1 (ex. 0,03 pour 3 %), « {value} » reçu."
            )
        if value > MAX_AMOUNT:
            raise OperationError(
                f"{label} : {value:,.0f} est une valeur absurde pour une opération.".replace(",", " ")
            )
    if values.get("taux_pret", 0) > 0.2:
        raise OperationError("Taux du prêt : au-delà de 20 % par an, la valeur est refusée.")
    if "duree_pret" in needed and not 1 <= values["duree_pret"] <= 80:
        raise OperationError("Durée du prêt : entre 1 et 80 ans.")
    if values.get("personnes_par_logement", 1) <= 0:
        raise OperationError("Personnes logées par logement : plus de 0 attendu.")


# -- evaluation --------------------------------------------------------------------------------
def compute(kind: str, values: dict[str, float]) -> dict[str, float]:
    """Every line's value (fast path: no checks, no text)."""
    scope = dict(values)
    for line in _lines(kind):
        scope[line.key] = fx.evaluate(line.formula, scope)
    return {line.key: scope[line.key] for line in _lines(kind)}


@dataclass
class Evaluation:
    """One operation computed: lines, verdict and the inputs used."""

    kind: str
    inputs: dict[str, float]
    lines: list[Line]
    values: dict[str, float]
    checks: list[str] = field(default_factory=list)
    day: date | None = None

    def value(self, key: str) -> float:
        return self.values[key]

    @property
    def funded(self) -> bool:
        return self.values["ecart_financement"] <= TOLERANCE_EUR

    @property
    def owner_balanced(self) -> bool:
        return self.values[f"resultat_{OWNER}"] >= -TOLERANCE_EUR

    @property
    def manager_balanced(self) -> bool:
        return self.values[f"resultat_{MANAGER}"] >= -TOLERANCE_EUR

    @property
    def balanced_year(self) -> bool:
        """Both accounts balance (a surplus of one never hides the deficit of the other)."""
        return self.owner_balanced and self.manager_balanced

    @property
    def balanced(self) -> bool:
        return self.funded and self.balanced_year

    def account_lines(self, account: str) -> list[Line]:
        groups = OWNER_GROUPS if account == OWNER else MANAGER_GROUPS
        return [line for line in self.lines if line.group in groups]


def evaluate(
    kind: str, values: dict[str, float], params: Parameters | None = None, context: dict | None = None
) -> Evaluation:
    """The operation's plan, accounts and legal checks."""
    result = compute(kind, values)
    broken = [k for k, v in result.items() if not math.isfinite(v)]
    if broken:  # never « il manque nan € »: inputs too large for a meaningful account
        raise OperationError(
            "Calcul impossible : les valeurs saisies donnent un résultat non fini "
            f"({', '.join(broken[:3])}) ; vérifiez les montants, taux et nombres de places.")
    return Evaluation(kind, dict(values), _lines(kind), result, legal_checks(kind, values, params, context))


LEASE_END = {
    "moi_bail_rehabilitation": (
        "Fin du bail à réhabilitation (CCH L.252-1 et suivants, L.252-4) : le bail cesse de plein droit à "
        "l'expiration de sa durée ; le propriétaire retrouve la pleine propriété de l'immeuble et des "
        "travaux "
        "réalisés, qui doit lui être rendu libre de toute occupation."
    ),
    "moi_bail_construction": (
        "Fin du bail à construction (CCH L.251-2) : « Les parties conviennent de leurs droits respectifs de "
        "propriété sur les constructions existantes et sur les constructions édifiées. A défaut d'une telle "
        "convention, le bailleur en devient propriétaire en fin de bail et profite des améliorations. »"
    ),
}


def legal_checks(
    kind: str, values: dict[str, float], params: Parameters | None, context: dict | None = None
) -> list[str]:
    """Plain French warnings: lease shorter than the law's minimum, loan longer than the lease, PLAI
    adapté condition, IML rents (sub-tenant ≤ main rent, owner's rent within Loc'Avantages)."""
    notes = []
    minimum_key = LEGAL_MIN_DURATION.get(kind)
    if minimum_key and "duree_bail" in values:
        minimum = values.get(minimum_key)
        name = (
            "bail à réhabilitation (CCH L.252-1)"
            if kind == "moi_bail_rehabilitation"
            else "bail à construction (CCH L.251-1)"
        )
        if minimum is not None and values["duree_bail"] < minimum:
            notes.append(
                f"La durée du bail ({values['duree_bail']:.0f} ans) est inférieure au minimum "
                f"légal du {name} : {minimum:.0f} ans."
            )
        if values.get("duree_pret", 0) > values["duree_bail"]:
            notes.append(
                f"Le prêt ({values['duree_pret']:.0f} ans) dure plus longtemps que le bail "
                f"({values['duree_bail']:.0f} ans) : le preneur rembourserait après avoir rendu "
                "l'immeuble. Ramener la durée du prêt à celle du bail."
            )
        notes.append(LEASE_END[kind])
    uses_adapte = "subv_plai_adapte" in KIND_LINES.get(kind, [])
    adapte_wanted = uses_adapte and values.get("subvention_plai_adapte_logement", 0) > 0
    if adapte_wanted and values["loyer_mensuel"] > values.get("apl_plafond", float("inf")) + 1e-9:
        notes.append(
            f"PLAI adapté non retenu : la redevance ou le loyer ({values['loyer_mensuel']:.2f} €) "
            f"dépasse le plafond APL du ménage de référence ({values['apl_plafond']:.2f} €)."
        )
    if kind == "iml_sous_location":
        if values["loyer_mensuel"] > values["loyer_proprietaire_mensuel"] + 1e-9:
            notes.append(
                f"Sous-location : la redevance du sous-locataire ({values['loyer_mensuel']:.2f} €) dépasse "
                f"le loyer principal ({values['loyer_proprietaire_mensuel']:.2f} €) ; elle doit lui être "
                "inférieure ou égale."
            )
        market = (context or {}).get("market_rent_m2")
        if market:
            cap = market * values["surface_logement"] * (1 - values.get("decote_loc_avantages", 0.3))
            if values["loyer_proprietaire_mensuel"] > cap + 1e-9:
                notes.append(
                    "Loc'Avantages : le loyer au propriétaire "
                    f"({values['loyer_proprietaire_mensuel']:.2f} €) "
                    f"dépasse le plafond approché ({cap:.2f} € = Carte des loyers × surface × "
                    f"(1 − {values.get('decote_loc_avantages', 0.3):.2f})) ; vérifier le plafond "
                    "communal de l'arrêté en vigueur."
                )
        else:
            notes.append("Loc'Avantages : loyer de marché de la commune non disponible, plafond non vérifié.")
    return notes


# -- sensitivity and break-even ------------------------------------------------------------------
SENSITIVITY_CANDIDATES = [
    "loyer_mensuel",
    "loyer_proprietaire_mensuel",
    "forfait_pension_famille_jour",
    "agls_par_logement_an",
    "pse_caf_an",
    "iml_sous_location_par_place_an",
    "iml_mandat_par_place_an",
    "gla_par_logement_an",
    "cout_etp_accompagnement",
    "etp_par_logement",
    "charges_locatives_logement_an",
    "cout_espaces_collectifs_m2_an",
    "budget_activites_place_an",
    "renouvellement_mobilier_logement_an",
    "gestion_logement_an",
    "taux_frais_siege",
    "provision_gros_entretien_logement_an",
    "taxe_fonciere_logement_an",
    "frais_proprietaire_logement_an",
    "taux_vacance",
    "taux_impayes",
    "cout_travaux_m2",
    "foncier_logement",
    "subvention_plai_logement",
    "subvention_plai_adapte_logement",
    "subvention_collectivites_logement",
    "taux_anah_travaux",
    "taux_pret",
    "taux_honoraires_gestion",
    "frais_gestion_logement_an",
    "redevance_bail_an",
    "autres_produits_an",
]


@dataclass(frozen=True)
class Swing:
    key: str
    low_value: float
    high_value: float
    result_low: float
    result_high: float

    @property
    def width(self) -> float:
        return abs(self.result_high - self.result_low)


def tornado(kind: str, values: dict[str, float], delta: float = 0.2, target: str = "resultat") -> list[Swing]:
    """``target`` when each parameter moves by ±``delta`` (relative), widest first.

    Only the parameters the kind reads and whose value is not zero are varied.
    """
    used = set(kind_inputs(kind))
    swings = []
    for key in SENSITIVITY_CANDIDATES:
        base = values.get(key, 0.0)
        if key not in used or base == 0:
            continue
        low, high = base * (1 - delta), base * (1 + delta)
        r_low = compute(kind, {**values, key: low})[target]
        r_high = compute(kind, {**values, key: high})[target]
        if abs(r_high - r_low) > 1e-6:
            swings.append(Swing(key, low, high, r_low, r_high))
    return sorted(swings, key=lambda s: s.width, reverse=True)


def break_even(
    kind: str, values: dict[str, float], key: str, target: str = "resultat", upper: float | None = None
) -> float | None:
    """The value of ``key`` (≥ 0) at which ``target`` is zero, other inputs unchanged.

    None when no non-negative value balances it. Secant step, then bisection when the result is
    not linear in the parameter (loan capped by its quotité, PLAI adapté condition).
    """

    def f(x: float) -> float:
        return compute(kind, {**values, key: x})[target]

    base = values.get(key, 0.0)
    step = abs(base) * 0.1 or 1.0
    f0, f1 = f(base), f(base + step)
    if abs(f1 - f0) < 1e-12:
        return None
    guess = base - f0 * step / (f1 - f0)
    if guess >= 0 and abs(f(guess)) <= TOLERANCE_EUR:
        return guess
    hi = upper if upper is not None else max(base * 100, 1e6)
    lo_val, hi_val = f(0.0), f(hi)
    if lo_val == 0:
        return 0.0
    if lo_val * hi_val > 0:
        return None
    lo = 0.0
    for _ in range(80):
        mid = (lo + hi) / 2
        m = f(mid)
        if abs(m) <= TOLERANCE_EUR / 10:
            return mid
        if (m > 0) == (lo_val > 0):
            lo, lo_val = mid, m
        else:
            hi = mid
    return (lo + hi) / 2


# Break-even parameters per account: the owner's rent, the State's funding of the manager.
OWNER_LEVERS = ("loyer_proprietaire_mensuel", "loyer_mensuel")
MANAGER_LEVERS = (
    "forfait_pension_famille_jour",
    "agls_par_logement_an",
    "iml_sous_location_par_place_an",
    "iml_mandat_par_place_an",
    "gla_par_logement_an",
    "loyer_mensuel",
)


@dataclass
class Verdict:
    balanced: bool
    funded: bool
    balanced_year: bool
    gap: float
    gap_per_home: float
    result: float
    result_per_home: float
    text: str
    deciding: list[tuple[str, float, float | None]]  # (key, current value, break-even value)
    swings: list[Swing]
    owner_result: float = 0.0
    manager_result: float = 0.0
    manager_result_per_place: float = 0.0
    break_evens: list[tuple[str, str, float, float | None]] = field(
        default_factory=list
    )  # (account, key, now, be)


def _account_phrase(who: str, result: float, per: float, unit: str) -> str:
    if result >= -TOLERANCE_EUR:
        return f"le {who} dégage {euros(result)} par an ({euros(per)} {unit})"
    return f"le {who} perd {euros(-result)} par an ({euros(-per)} {unit})"


def verdict(evaluation: Evaluation, n_deciding: int = 2) -> Verdict:
    """Balanced or not, for each account, and the break-even of the deciding parameters."""
    v = evaluation.values
    kind, inputs = evaluation.kind, evaluation.inputs
    homes, places = inputs["logements"], v["places"]
    swings = tornado(kind, inputs)
    deciding = [(s.key, inputs[s.key], break_even(kind, inputs, s.key)) for s in swings[:n_deciding]]
    used = set(kind_inputs(kind))
    evens = []
    for account, levers in ((OWNER, OWNER_LEVERS), (MANAGER, MANAGER_LEVERS)):
        target = f"resultat_{account}"
        for key in levers:
            if (
                key in used
                and abs(compute(kind, {**inputs, key: inputs[key] + 1})[target] - v[target]) > 1e-9
            ):
                evens.append((account, key, inputs[key], break_even(kind, inputs, key, target=target)))
                break
    gap = v["ecart_financement"]
    parts = []
    if v["cout_total"] > 0:
        if evaluation.funded:
            surplus = f" (financements supérieurs au coût de {euros(-gap)})" if gap < -TOLERANCE_EUR else ""
            parts.append(f"le plan de financement est bouclé{surplus}")
        else:
            parts.append(f"il manque {euros(gap)} au plan de financement ({euros(gap / homes)} par logement)")
    owner, manager = v[f"resultat_{OWNER}"], v[f"resultat_{MANAGER}"]
    parts.append(_account_phrase("propriétaire", owner, owner / homes, "par logement et par an"))
    parts.append(_account_phrase("gestionnaire", manager, manager / places, "par place et par an"))
    head = "Opération équilibrée" if evaluation.balanced else "Opération non équilibrée"
    text = f"{head} : " + " ; ".join(parts) + "."
    result = v["resultat"]
    return Verdict(
        evaluation.balanced,
        evaluation.funded,
        evaluation.balanced_year,
        gap,
        gap / homes,
        result,
        result / homes,
        text,
        deciding,
        swings,
        owner,
        manager,
        manager / places,
        evens,
    )


def euros(value: float) -> str:
    """« 12 345 € » (narrow no-break space between thousands)."""
    return f"{value:,.0f}".replace(",", "\u202f").replace("-", "−") + "\u00a0€"


# -- saved operations (plain dicts kept by the app and handed to the report) ------------------------
def saved_operation(
    kind: str,
    context: dict,
    overrides: dict[str, float] | None = None,
    zone_apl: int | None = None,
    label: str = "",
    day: date | str | None = None,
) -> dict:
    """A plain, serialisable description of an operation the user keeps."""
    return {
        "kind": kind,
        "label": label,
        "code": str(context.get("code", "")),
        "name": str(context.get("name", "")),
        "zone_apl": int(zone_apl if zone_apl is not None else context.get("zone_apl", 2)),
        "acv_pvd": bool(context.get("acv")) or bool(context.get("pvd")),
        "context": dict(context),
        "overrides": {k: float(v) for k, v in (overrides or {}).items()},
        "date": as_day(day).isoformat(),
    }


def evaluate_saved(saved: dict, params: Parameters) -> tuple[Evaluation, Verdict]:
    """Recompute a saved operation (the figures always follow the current parameters file)."""
    when = as_day(saved.get("date"))
    values = inputs_for(
        saved["kind"],
        params,
        zone_apl=saved.get("zone_apl", 2),
        acv_pvd=bool(saved.get("acv_pvd")),
        overrides=saved.get("overrides") or {},
        day=when,
    )
    evaluation = evaluate(saved["kind"], values, params, saved.get("context"))
    evaluation.day = when
    return evaluation, verdict(evaluation)


def used_parameters(
    kind: str,
    values: dict[str, float],
    params: Parameters,
    overrides: dict[str, float] | None = None,
    day: date | str | None = None,
) -> list[tuple[Parameter, bool]]:
    """The parameters an operation used, as shown to users, with « modifié par l'utilisateur »."""
    overrides = overrides or {}
    when = as_day(day)
    keys = [k for k in kind_inputs(kind) if k not in LOCAL_INPUTS]
    keys += [k for k in (LEGAL_MIN_DURATION.get(kind),) if k]
    rate_given = "taux_pret" in overrides
    if rate_given:  # the livret A does not enter: the user's rate replaces it
        keys = [k for k in keys if k not in ("taux_livret_a", "marge_pret_plai")]
    rows = []
    for key in dict.fromkeys(keys):
        base = params.describe(key, kind, when)
        value = values.get(key, base.value)
        shown = Parameter(base.key, base.label, value, base.unit, base.valid, base.source, base.url,
                          base.assumption, base.note)
        rows.append((shown, key in overrides))
    if "taux_pret" in values and "taux_pret" in kind_inputs(kind):
        label, unit = DERIVED["taux_pret"]
        if rate_given:
            rate = Parameter("taux_pret", label, values["taux_pret"], unit, when.isoformat(),
                             "saisi par l'utilisateur", "", True)
        else:
            livret = params.describe("taux_livret_a", kind, when)
            rate_fr = f"{100 * float(livret.value):.2f}".rstrip("0").rstrip(".").replace(".", ",")
            since = ".".join(reversed(str(livret.valid).split("-"))).replace(".", "/")
            source = (f"taux du livret A en vigueur ({rate_fr}\u00a0%, depuis le {since}) "
                      "+ écart du prêt PLAI")
            rate = Parameter("taux_pret", label, values["taux_pret"], unit, livret.valid, source, livret.url,
                             params.describe("marge_pret_plai").assumption)
        rows.append((rate, rate_given))
    return rows


def local_rows(evaluation: Evaluation, params: Parameters, context: dict | None = None) -> list[tuple]:
    """The inputs that come from the commune, the date or OpenFisca-France: (key, label, value, unit,
    source) — rows of the XLSX and the JSON."""
    inputs = evaluation.inputs
    kind = params.kinds[evaluation.kind]
    day = evaluation.day or date.today()
    household = ha.HOUSEHOLDS[kind.households[0]].label.lower()
    family = (
        "équivalence de loyer et de charges, logement-foyer"
        if kind.apl_family == "foyer"
        else "loyer, location"
    )
    aid_source = f"{ha.SOURCE_LABEL} {_rules_version()}, en vigueur le {day:%d/%m/%Y}"
    rows = [
        (
            "zone_apl",
            "Zone APL retenue (1, 2 ou 3)",
            inputs["zone_apl"],
            "zone",
            (context or {}).get("zone_apl_note", ""),
        ),
        (
            "commune_acv_pvd",
            "Commune Action cœur de ville ou Petites villes de demain (1 = oui)",
            inputs["commune_acv_pvd"],
            "oui/non",
            "ANCT, programmes",
        ),
        ("apl_plafond", f"Plafond APL ({family}), {household}", inputs["apl_plafond"], "€/mois", aid_source),
        (
            "apl_menage_mensuelle",
            f"APL mensuelle, {household}",
            inputs["apl_menage_mensuelle"],
            "€/mois",
            aid_source + " ; formule simplifiée du projet (décrite dans le guide du modèle)",
        ),
        (
            "charges_menage",
            "Charges payées par le ménage en plus du loyer",
            inputs["charges_menage"],
            "€/mois",
            "paramètre « charges_locatives_menage_mensuelles » (location) ; 0 pour une redevance",
        ),
    ]
    if "taux_pret" in inputs and "taux_pret" in kind_inputs(evaluation.kind):
        rows.append(
            (
                "taux_pret",
                DERIVED["taux_pret"][0],
                inputs["taux_pret"],
                "taux annuel",
                "livret A en vigueur + écart du prêt PLAI",
            )
        )
    return rows


def _rules_version() -> str:
    try:
        return ha.package_version()
    except ha.HouseholdAidUnavailable:
        return ""


# -- the public entry point --------------------------------------------------------------------------
@dataclass
class OperationResult:
    """One operation in one commune at one date: both accounts, funders, households."""

    kind: str
    kind_label: str
    day: date
    context: dict
    evaluation: Evaluation
    verdict: Verdict
    households: list[ha.Aid]
    parameters: list[tuple[Parameter, bool]]
    local: list[tuple]
    overrides: dict[str, float]
    params: Parameters

    @property
    def homes(self) -> float:
        return self.evaluation.inputs["logements"]

    @property
    def places(self) -> float:
        return self.evaluation.values["places"]

    def _by_funder(self, groups: tuple[str, ...]) -> dict[str, float]:
        return by_funder(self.evaluation, groups)

    @property
    def investment(self) -> float:
        return self.evaluation.values["cout_total"]

    @property
    def subsidies_by_funder(self) -> dict[str, float]:
        return self._by_funder(("aide",))

    @property
    def loan(self) -> float:
        return self.evaluation.values["pret"]

    @property
    def equity(self) -> float:
        return self.evaluation.values.get("fonds_propres", 0.0)

    @property
    def running_funding_by_funder(self) -> dict[str, float]:
        return running_funding(self.evaluation)

    @property
    def owner_result(self) -> float:
        return self.evaluation.values[f"resultat_{OWNER}"]

    @property
    def manager_result(self) -> float:
        return self.evaluation.values[f"resultat_{MANAGER}"]

    @property
    def manager_deficit(self) -> float:
        return max(0.0, -self.manager_result)

    def to_json(self) -> dict:
        """The French document of ``python -m models operation … --json``."""
        v = self.evaluation.values

        def account(name: str) -> dict:
            shown = [
                line
                for line in self.evaluation.account_lines(name)
                if not line.group.startswith(("total_", "resultat"))
            ]

            def rows(prefix: str) -> list[dict]:
                return [
                    {
                        "poste": line.label,
                        "cle": line.key,
                        "montant": round(v[line.key], 2),
                        **({"financeur": line.funder} if line.funder else {}),
                    }
                    for line in shown
                    if line.group.startswith(prefix)
                ]

            return {
                "produits": rows("produit"),
                "charges": rows("charge"),
                "total_produits": round(v[f"produits_{name}"], 2),
                "total_charges": round(v[f"charges_{name}"], 2),
                "resultat": round(v[f"resultat_{name}"], 2),
            }

        plan = [
            {
                "poste": line.label,
                "cle": line.key,
                "montant": round(v[line.key], 2),
                **({"financeur": line.funder} if line.funder else {}),
            }
            for line in self.evaluation.lines
            if line.group in PLAN_GROUPS
        ]
        owner, manager = account(OWNER), account(MANAGER)
        owner["plan_de_financement"] = plan
        evens = [
            {
                "compte": ACCOUNT_LABELS[acc],
                "parametre": key,
                "libelle": self._describe(key).label,
                "unite": self._describe(key).unit,
                "valeur_actuelle": round(now, 4),
                "point_equilibre": None if be is None else round(be, 4),
            }
            for acc, key, now, be in self.verdict.break_evens
        ]
        params = [
            {
                "cle": p.key,
                "libelle": p.label,
                "valeur": p.value,
                "unite": p.unit,
                "validite": p.valid,
                "source": p.source,
                "url": p.url,
                "statut": "saisi par l'utilisateur" if changed else p.status,
            }
            for p, changed in self.parameters
        ]
        params += [
            {
                "cle": key,
                "libelle": label,
                "valeur": round(value, 4),
                "unite": unit,
                "validite": self.day.isoformat(),
                "source": source,
                "url": "",
                "statut": "calculé",
            }
            for key, label, value, unit, source in self.local
        ]
        return {
            "type": self.kind,
            "libelle": self.kind_label,
            "commune": {
                "code": self.context.get("code", ""),
                "nom": self.context.get("name", ""),
                "zone_apl": int(self.evaluation.inputs["zone_apl"]),
                "zone_apl_source": self.context.get("zone_apl_note", ""),
            },
            "date": self.day.isoformat(),
            "logements": self.homes,
            "places": round(self.places, 2),
            "propriétaire": owner,
            "gestionnaire": manager,
            "resultat_operation": round(v["resultat"], 2),
            "somme_des_comptes": round(owner["resultat"] + manager["resultat"], 2),
            "financements_investissement": {k: round(x, 2) for k, x in self.subsidies_by_funder.items()},
            "emprunt": round(self.loan, 2),
            "fonds_propres": round(self.equity, 2),
            "reste_a_financer": round(v["ecart_financement"], 2),
            "financements_fonctionnement": {
                k: round(x, 2) for k, x in self.running_funding_by_funder.items()
            },
            "deficit_gestionnaire": round(self.manager_deficit, 2),
            "verdict": {
                "equilibree": self.verdict.balanced,
                "plan_boucle": self.verdict.funded,
                "proprietaire_equilibre": self.evaluation.owner_balanced,
                "gestionnaire_equilibre": self.evaluation.manager_balanced,
                "resultat_gestionnaire_par_place": round(self.verdict.manager_result_per_place, 2),
                "texte": self.verdict.text,
            },
            "points_equilibre": evens,
            "menages": [a.as_dict() for a in self.households],
            "aides_menages": {
                "source": ha.SOURCE_LABEL,
                "version_openfisca_france": _rules_version(),
                "calcul": ha.ENGINE_NOTE,
                "lignes_calculees_avec_openfisca": [
                    "apl_plafond",
                    "apl_menage_mensuelle",
                    "apl_estimee",
                    "reste_a_charge_mensuel",
                    "subv_plai_adapte",
                ],
            },
            "controles": list(self.evaluation.checks),
            "parametres": params,
        }

    def _describe(self, key: str) -> Parameter:
        return self.params.describe(key, self.kind, self.day)


RESIDENTS_FUNDER = "Résidents (dont APL)"


def by_funder(evaluation: Evaluation, groups: tuple[str, ...]) -> dict[str, float]:
    """Amounts of the lines of ``groups`` summed by their ``funder`` (« aide »: the investment
    subsidies; ``G_IN``: the manager's income, residents included)."""
    out: dict[str, float] = {}
    for line in evaluation.lines:
        if line.group in groups and line.funder:
            out[line.funder] = out.get(line.funder, 0.0) + evaluation.values[line.key]
    return out


def running_funding(evaluation: Evaluation) -> dict[str, float]:
    """The manager's yearly funding by funder, the residents' redevances left out."""
    funding = by_funder(evaluation, (G_IN,))
    funding.pop(RESIDENTS_FUNDER, None)
    return funding


def homes_for_places(kind: str, places: float, params: Parameters,
                     overrides: dict[str, float] | None = None) -> float:
    """Dwellings that house ``places`` persons in an operation of ``kind`` (the State counts
    IML and residences in places, the model in dwellings: persons per dwelling of the kind)."""
    per = _number(
        (overrides or {}).get(
            "personnes_par_logement", params.kinds[kind].values.get("personnes_par_logement", 1.0)
        ),
        "Personnes logées par logement",
    )
    places = _number(places, "Nombre de places")
    return max(1.0, math.ceil(places / per)) if per > 0 else places


def run_operation(
    kind: str,
    commune: str,
    *,
    logements: float | None = None,
    places: float | None = None,
    overrides: dict[str, float] | None = None,
    day: date | str | None = None,
    store: Store | None = None,
    params: Parameters | None = None,
    context: dict | None = None,
) -> OperationResult:
    """Cost one operation of ``kind`` in ``commune`` at ``day`` (today by default).

    ``logements`` or ``places`` (converted with the kind's persons per dwelling) set the size;
    ``overrides`` replace any parameter; ``context`` (a :class:`LocalContext` dict) skips the
    store lookup. French :class:`OperationError` on any bad input.
    """
    params = params or load_parameters()
    if kind not in params.kinds:
        raise OperationError(
            f"Type d'opération inconnu : « {kind} » (types possibles : {', '.join(params.kinds)})."
        )
    when = as_day(day)
    if context is None:
        from models.operation_context import local_context  # the store is read only here

        try:
            context = local_context(str(commune), store).to_dict()
        except ValueError as exc:
            raise OperationError(str(exc)) from None
    context = dict(context)
    zone = ha.zone_apl_of(str(commune))
    if zone is not None:
        context["zone_apl"] = zone
        context["zone_apl_note"] = ha.ZONE_SOURCE
    overrides = dict(overrides or {})
    if places is not None:
        overrides["logements"] = homes_for_places(kind, places, params, overrides)
    if logements is not None:
        overrides["logements"] = _number(logements, "Nombre de logements")
    saved = saved_operation(kind, context, overrides, zone_apl=context.get("zone_apl", 2), day=when)
    evaluation, decision = evaluate_saved(saved, params)
    households = [
        reference_aid(kind, params, evaluation.inputs, when, h) for h in params.kinds[kind].households
    ]
    return OperationResult(
        kind,
        params.kinds[kind].label,
        when,
        context,
        evaluation,
        decision,
        households,
        used_parameters(kind, evaluation.inputs, params, overrides, when),
        local_rows(evaluation, params, context),
        overrides,
        params,
    )
