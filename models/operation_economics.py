"""Economic model of one operation of logement d'insertion: investment plan, running account for
a full year, verdict, break-even values and tornado sensitivity.

Plain functions over plain data. Amounts, rates and ceilings come from
``models/operation_parameters.yaml`` (each with its source, or flagged « hypothèse à
confirmer »); the structure of each kind of operation (which lines apply) is code, here. Every
line is a formula of :mod:`models.operation_formulas`, evaluated in Python and exported as a
spreadsheet formula.

>>> params = load_parameters()
>>> op = evaluate("pension_famille_neuf", inputs_for("pension_famille_neuf", params, zone_apl=2))
>>> op.value("resultat")  # yearly surplus (+) or deficit (-), €
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import settings
from models import operation_formulas as fx

PARAMETERS_FILE = Path(__file__).with_name("operation_parameters.yaml")
ASSUMPTION_LABEL = "hypothèse à confirmer"
ZONES_APL = (1, 2, 3)
TOLERANCE_EUR = 0.5


class OperationError(ValueError):
    """Bad parameters or inputs (French message naming the field)."""


# -- parameters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    key: str
    label: str
    value: float
    unit: str
    valid: str = ""
    source: str = ""
    url: str = ""
    assumption: bool = True

    @property
    def status(self) -> str:
        return ASSUMPTION_LABEL if self.assumption else "vérifié"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    apl_family: str  # "foyer" (redevance, logement-foyer) or "location"
    values: dict[str, float]


@dataclass(frozen=True)
class Parameters:
    """The YAML file, read and checked."""

    general: dict[str, Parameter]
    kinds: dict[str, Kind]
    sizing: dict[str, tuple[str, str]]  # key -> (label, unit) of the per-kind assumptions

    def describe(self, key: str, kind: str | None = None) -> Parameter:
        """A parameter as shown to users (a kind's sizing value is always an assumption)."""
        if kind is not None and key in self.kinds[kind].values:
            label, unit = self.sizing.get(key, (key, ""))
            general = self.general.get(key)
            if general is not None:
                label, unit = general.label, general.unit
            return Parameter(
                key,
                label,
                self.kinds[kind].values[key],
                unit,
                valid="ordre de grandeur du type d'opération",
                source="hypothèse de dimensionnement du modèle",
                assumption=True,
            )
        if key in self.general:
            return self.general[key]
        label, unit = self.sizing.get(key, (key, ""))
        return Parameter(key, label, 0.0, unit, source="hypothèse", assumption=True)


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OperationError(f"{where} : la valeur « {value} » n'est pas un nombre.") from None
    if number != number:  # NaN
        raise OperationError(f"{where} : valeur manquante.")
    if not math.isfinite(number):
        raise OperationError(f"{where} : la valeur « {value} » n'est pas un nombre fini.")
    return number


def load_parameters(path: Path | str | None = None) -> Parameters:
    """Read and check the parameters file (French error naming the entry and the field)."""
    path = Path(path or PARAMETERS_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OperationError(f"Fichier de paramètres illisible ({path}) : {exc}") from None
    general = {}
    for key, entry in (raw.get("parametres") or {}).items():
        if not isinstance(entry, dict):
            raise OperationError(f"{path.name}, paramètre « {key} » : entrée mal formée.")
        for required in ("libelle", "valeur", "unite", "source"):
            if required not in entry:
                raise OperationError(f"{path.name}, paramètre « {key} » : champ « {required} » absent.")
        general[key] = Parameter(
            key=key,
            label=str(entry["libelle"]),
            value=_number(entry["valeur"], f"{path.name}, paramètre « {key} », champ « valeur »"),
            unit=str(entry["unite"]),
            valid=str(entry.get("validite", "")),
            source=str(entry["source"]),
            url=str(entry.get("url") or ""),
            assumption=bool(entry.get("hypothese_a_confirmer", True)),
        )
    sizing = {
        k: (str(v.get("libelle", k)), str(v.get("unite", "")))
        for k, v in (raw.get("hypotheses_types") or {}).items()
    }
    kinds = {}
    for key, entry in (raw.get("types") or {}).items():
        if key not in KIND_LINES:
            raise OperationError(f"{path.name}, type « {key} » : type d'opération inconnu du modèle.")
        values = {
            k: _number(v, f"{path.name}, type « {key} », valeur « {k} »")
            for k, v in (entry.get("valeurs") or {}).items()
        }
        family = str(entry.get("famille_apl", "location"))
        if family not in ("foyer", "location"):
            raise OperationError(
                f"{path.name}, type « {key} », champ « famille_apl » : « foyer » ou « location » attendu."
            )
        kinds[key] = Kind(key, str(entry.get("libelle", key)), family, values)
    params = Parameters(general, kinds, sizing)
    for kind in kinds:
        missing = sorted(
            n
            for n in kind_inputs(kind)
            if n not in general and n not in kinds[kind].values and n not in LOCAL_INPUTS
        )
        if missing:
            raise OperationError(
                f"{path.name}, type « {kind} » : valeur(s) absente(s) : {', '.join(missing)}."
            )
    return params


# -- lines -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    key: str
    label: str
    group: str  # cout, aide, financement, produit, charge, info
    formula: str


LINES: dict[str, Line] = {
    line.key: line
    for line in [
        # investment: cost
        Line("foncier", "Charge foncière ou acquisition", "cout", "logements * foncier_logement"),
        Line("travaux", "Travaux", "cout", "logements * surface_logement * cout_travaux_m2"),
        Line("honoraires", "Honoraires, études et frais annexes", "cout", "travaux * taux_honoraires"),
        Line("equipement", "Équipement, mobilier et captation", "cout", "logements * equipement_logement"),
        # investment: subsidies
        Line("subv_plai", "Subvention PLAI (État)", "aide", "logements * subvention_plai_logement"),
        Line(
            "subv_plai_adapte",
            "Subvention PLAI adapté",
            "aide",
            "logements * subvention_plai_adapte_logement",
        ),
        Line(
            "subv_anah",
            "Subvention Anah (travaux)",
            "aide",
            "min(travaux * taux_anah_travaux, logements * plafond_anah_logement)",
        ),
        Line(
            "subv_collectivites",
            "Subventions des collectivités",
            "aide",
            "logements * subvention_collectivites_logement",
        ),
        Line("action_logement", "Action Logement", "aide", "logements * action_logement_logement"),
        Line(
            "bonus_programme",
            "Cofinancement Action cœur de ville / Petites villes de demain",
            "aide",
            "logements * bonus_programme_acv_pvd_logement * commune_acv_pvd",
        ),
        # running account: income
        Line(
            "loyers",
            "Loyers ou redevances quittancés (année pleine)",
            "produit",
            "logements * loyer_mensuel * 12",
        ),
        Line(
            "honoraires_gestion",
            "Honoraires de gestion perçus (mandat)",
            "produit",
            "logements * loyer_mensuel * 12 * taux_honoraires_gestion",
        ),
        Line(
            "forfait_pf",
            "Forfait de fonctionnement pension de famille (État)",
            "produit",
            "logements * forfait_pension_famille_jour * 365",
        ),
        Line(
            "agls",
            "Aide à la gestion locative sociale (AGLS)",
            "produit",
            "agls_moins_50_logements if logements < 50 else "
            "(agls_50_100_logements if logements <= 100 else agls_plus_100_logements)",
        ),
        Line(
            "iml_sous_location",
            "Financement IML, sous-location (par mesure)",
            "produit",
            "logements * iml_sous_location_par_logement_an",
        ),
        Line(
            "iml_mandat",
            "Financement IML, mandat de gestion (par mesure)",
            "produit",
            "logements * iml_mandat_par_logement_an",
        ),
        Line(
            "gla", "Financement de la gestion locative adaptée", "produit", "logements * gla_par_logement_an"
        ),
        Line("autres_produits", "Autres financements de fonctionnement", "produit", "autres_produits_an"),
        # running account: costs
        Line(
            "loyer_proprietaire",
            "Loyers versés aux propriétaires",
            "charge",
            "logements * loyer_proprietaire_mensuel * 12",
        ),
        Line("redevance_bail", "Redevance du bail au propriétaire", "charge", "redevance_bail_an"),
        Line(
            "entretien",
            "Entretien et provision pour gros entretien",
            "charge",
            "logements * entretien_logement_an",
        ),
        Line(
            "gestion",
            "Gestion, assurances, taxes, charges non récupérées",
            "charge",
            "logements * gestion_logement_an",
        ),
        Line(
            "accompagnement",
            "Personnel d'accompagnement et d'animation",
            "charge",
            "logements * etp_par_logement * cout_etp_accompagnement",
        ),
        Line("provision_vacance", "Provision pour vacance", "charge", "loyers * taux_vacance"),
        Line("provision_impayes", "Provision pour impayés", "charge", "loyers * taux_impayes"),
        Line(
            "annuite",
            "Annuité d'emprunt",
            "charge",
            "(pret * taux_pret / (1 - (1 + taux_pret) ** (-duree_pret)))"
            " if taux_pret > 0 else pret / duree_pret",
        ),
    ]
}

INVESTMENT = ["foncier", "travaux", "honoraires"]
HOUSING_AIDS = ["subv_plai", "subv_plai_adapte", "subv_collectivites", "action_logement", "bonus_programme"]
OWNED_COSTS = ["entretien", "gestion", "accompagnement", "provision_vacance", "provision_impayes", "annuite"]

KIND_LINES: dict[str, list[str]] = {
    "pension_famille_neuf": [
        *INVESTMENT,
        *HOUSING_AIDS,
        "loyers",
        "forfait_pf",
        "autres_produits",
        *OWNED_COSTS,
    ],
    "pension_famille_acquisition": [
        *INVESTMENT,
        *HOUSING_AIDS,
        "loyers",
        "forfait_pf",
        "autres_produits",
        *OWNED_COSTS,
    ],
    "residence_sociale": [
        *INVESTMENT,
        "subv_plai",
        "subv_collectivites",
        "action_logement",
        "bonus_programme",
        "loyers",
        "agls",
        "autres_produits",
        *OWNED_COSTS,
    ],
    "iml_sous_location": [
        "equipement",
        "subv_collectivites",
        "loyers",
        "iml_sous_location",
        "autres_produits",
        "loyer_proprietaire",
        "entretien",
        "gestion",
        "accompagnement",
        "provision_vacance",
        "provision_impayes",
        "annuite",
    ],
    "iml_mandat": ["honoraires_gestion", "iml_mandat", "autres_produits", "gestion", "accompagnement"],
    "moi_diffus": [*INVESTMENT, *HOUSING_AIDS, "loyers", "gla", "autres_produits", *OWNED_COSTS],
    "moi_bail_rehabilitation": [
        "travaux",
        "honoraires",
        "subv_anah",
        "subv_collectivites",
        "bonus_programme",
        "loyers",
        "gla",
        "autres_produits",
        "redevance_bail",
        *OWNED_COSTS,
    ],
    "moi_bail_construction": [
        "travaux",
        "honoraires",
        *HOUSING_AIDS,
        "loyers",
        "gla",
        "autres_produits",
        "redevance_bail",
        *OWNED_COSTS,
    ],
}
# Inputs that come from the commune, not from the YAML (``apl_plafond`` is chosen by zone).
LOCAL_INPUTS = ("commune_acv_pvd", "apl_plafond", "zone_apl")
# Lines of the running account that do not enter the totals: the households' side.
INFO_LINES = [
    Line(
        "apl_estimee",
        "dont APL/AL estimées (tiers payant)",
        "info",
        "logements * 12 * taux_couverture_apl * min(loyer_mensuel, apl_plafond)",
    ),
    Line(
        "reste_a_charge_mensuel",
        "Reste à charge mensuel d'un ménage (estimation)",
        "info",
        "loyer_mensuel - taux_couverture_apl * min(loyer_mensuel, apl_plafond)",
    ),
    Line(
        "depassement_plafond_apl",
        "Part du loyer mensuel au-dessus du plafond APL",
        "info",
        "max(0, loyer_mensuel - apl_plafond)",
    ),
]


def kind_lines(kind: str) -> list[Line]:
    """The ordered lines of a kind of operation, with the generated totals."""
    if kind not in KIND_LINES:
        raise OperationError(f"Type d'opération inconnu : « {kind} ».")
    chosen = [LINES[k] for k in KIND_LINES[kind]]
    by_group = lambda g: [line for line in chosen if line.group == g]  # noqa: E731
    cost, aids = by_group("cout"), by_group("aide")
    income, charges = by_group("produit"), by_group("charge")
    total = lambda lines: " + ".join(line.key for line in lines) if lines else "0"  # noqa: E731
    lines = [
        *cost,
        Line("cout_total", "Coût total de l'opération", "total_cout", total(cost)),
        *aids,
        Line("aides_total", "Total des subventions", "total_aide", total(aids)),
    ]
    if cost:
        lines += [
            Line(
                "fonds_propres",
                "Fonds propres de l'organisme",
                "financement",
                "cout_total * taux_fonds_propres",
            ),
            Line(
                "pret",
                "Emprunt (dans la limite de la quotité)",
                "financement",
                "max(0, min(cout_total * quotite_pret_max, cout_total - aides_total - fonds_propres))",
            ),
            Line(
                "financement_total",
                "Total des financements",
                "total_financement",
                "aides_total + fonds_propres + pret",
            ),
        ]
    else:
        lines += [
            Line("pret", "Emprunt", "financement", "0"),
            Line("financement_total", "Total des financements", "total_financement", "aides_total"),
        ]
    lines += [
        Line(
            "ecart_financement",
            "Reste à financer (+) ou excédent (−)",
            "ecart",
            "cout_total - financement_total",
        ),
        *income,
        Line("produits_total", "Total des produits", "total_produit", total(income)),
        *[line for line in charges if line.key != "annuite" or cost],
        Line(
            "charges_total",
            "Total des charges",
            "total_charge",
            total([line for line in charges if line.key != "annuite" or cost]),
        ),
        Line(
            "resultat",
            "Résultat annuel (excédent + / déficit −)",
            "resultat",
            "produits_total - charges_total",
        ),
        Line("resultat_par_logement", "Résultat annuel par logement", "resultat", "resultat / logements"),
    ]
    if any(line.key == "loyers" for line in chosen) or any(
        line.key == "honoraires_gestion" for line in chosen
    ):
        lines += INFO_LINES
    return lines


_LINES_CACHE: dict[str, list[Line]] = {}


def _lines(kind: str) -> list[Line]:
    if kind not in _LINES_CACHE:
        _LINES_CACHE[kind] = kind_lines(kind)
    return _LINES_CACHE[kind]


def kind_inputs(kind: str) -> list[str]:
    """The input names (parameters) read by a kind's lines, in first-use order."""
    lines = _lines(kind)
    produced = {line.key for line in lines}
    seen: dict[str, None] = {}
    for line in lines:
        for name in sorted(fx.names(line.formula)):
            if name not in produced:
                seen.setdefault(name, None)
    if "duree_bail" in KIND_EXTRA_INPUTS.get(kind, ()):  # checked against the law, not in a formula
        seen.setdefault("duree_bail", None)
    return list(seen)


KIND_EXTRA_INPUTS = {"moi_bail_rehabilitation": ("duree_bail",), "moi_bail_construction": ("duree_bail",)}
LEGAL_MIN_DURATION = {
    "moi_bail_rehabilitation": "duree_min_bail_rehabilitation",
    "moi_bail_construction": "duree_min_bail_construction",
}


# -- inputs ------------------------------------------------------------------------------------
def apl_ceiling_key(family: str, zone_apl: int) -> str:
    return f"apl_plafond_{family}_isole_zone_{int(zone_apl)}"


def inputs_for(
    kind: str,
    params: Parameters,
    zone_apl: int = 2,
    acv_pvd: bool = False,
    overrides: dict[str, float] | None = None,
) -> dict[str, float]:
    """Every input of ``kind``: the YAML values, the kind's sizing, the commune's, the user's."""
    if kind not in params.kinds:
        raise OperationError(f"Type d'opération absent du fichier de paramètres : « {kind} ».")
    if int(zone_apl) not in ZONES_APL:
        raise OperationError(f"Zone APL « {zone_apl} » : 1, 2 ou 3 attendu.")
    values = {key: p.value for key, p in params.general.items()}
    values.update(params.kinds[kind].values)
    for key, value in (overrides or {}).items():
        values[key] = _number(value, f"Paramètre « {params.describe(key, kind).label} »")
    ceiling = apl_ceiling_key(params.kinds[kind].apl_family, zone_apl)
    values["zone_apl"] = float(zone_apl)
    values["apl_plafond"] = float((overrides or {}).get("apl_plafond", values[ceiling]))
    values["commune_acv_pvd"] = 1.0 if acv_pvd else 0.0
    check_inputs(kind, values, params)
    return values


NON_NEGATIVE_MESSAGE = "doit être positif ou nul"


def check_inputs(kind: str, values: dict[str, float], params: Parameters) -> None:
    """French error naming the field when an input cannot make sense."""
    needed = kind_inputs(kind)
    missing = [n for n in needed if n not in values]
    if missing:
        raise OperationError(
            "Valeur(s) absente(s) : " + ", ".join(params.describe(n, kind).label for n in missing) + "."
        )
    for name in needed:
        if not math.isfinite(values[name]):
            raise OperationError(f"{params.describe(name, kind).label} : la valeur doit être un "
                                 "nombre fini.")
    if values["logements"] < 1:
        raise OperationError("Nombre de logements (places) : au moins 1.")
    if values["logements"] > settings.OPERATION_MAX_DWELLINGS:
        raise OperationError(
            f"Nombre de logements (places) : {settings.OPERATION_MAX_DWELLINGS} au plus pour une "
            "opération.")
    for name in needed:
        if values[name] < 0:
            raise OperationError(f"{params.describe(name, kind).label} : {NON_NEGATIVE_MESSAGE}.")
    if "duree_pret" in needed and values["duree_pret"] < 1:
        raise OperationError("Durée du prêt : au moins 1 an.")


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

    def value(self, key: str) -> float:
        return self.values[key]

    @property
    def funded(self) -> bool:
        return self.values["ecart_financement"] <= TOLERANCE_EUR

    @property
    def balanced_year(self) -> bool:
        return self.values["resultat"] >= -TOLERANCE_EUR

    @property
    def balanced(self) -> bool:
        return self.funded and self.balanced_year


def evaluate(kind: str, values: dict[str, float], params: Parameters | None = None) -> Evaluation:
    """The operation's plan, account and legal checks."""
    result = compute(kind, values)
    broken = [k for k, v in result.items() if not math.isfinite(v)]
    if broken:  # never « il manque nan € »: inputs too large for a meaningful account
        raise OperationError(
            "Calcul impossible : les valeurs saisies donnent un résultat non fini "
            f"({', '.join(broken[:3])}) ; vérifiez les montants, taux et nombres de places.")
    return Evaluation(kind, dict(values), _lines(kind), result, legal_checks(kind, values, params))


def legal_checks(kind: str, values: dict[str, float], params: Parameters | None) -> list[str]:
    """Plain French warnings: lease shorter than the law's minimum, loan longer than the lease."""
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
                f"({values['duree_bail']:.0f} ans) : les travaux reviennent au propriétaire en fin "
                "de bail sans indemnité (L.252-1) avant la fin du remboursement."
            )
    return notes


# -- sensitivity and break-even ------------------------------------------------------------------
SENSITIVITY_CANDIDATES = [
    "loyer_mensuel",
    "forfait_pension_famille_jour",
    "agls_moins_50_logements",
    "agls_50_100_logements",
    "agls_plus_100_logements",
    "iml_sous_location_par_logement_an",
    "iml_mandat_par_logement_an",
    "gla_par_logement_an",
    "cout_etp_accompagnement",
    "etp_par_logement",
    "entretien_logement_an",
    "gestion_logement_an",
    "taux_vacance",
    "taux_impayes",
    "cout_travaux_m2",
    "foncier_logement",
    "subvention_plai_logement",
    "subvention_plai_adapte_logement",
    "subvention_collectivites_logement",
    "taux_anah_travaux",
    "taux_pret",
    "loyer_proprietaire_mensuel",
    "taux_honoraires_gestion",
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
    """Yearly result when each parameter moves by ±``delta`` (relative), widest first.

    Only the parameters the kind reads and whose value is not zero are varied (a zero has no
    relative range: the user sets it directly).
    """
    used = set(kind_inputs(kind))
    swings = []
    for key in SENSITIVITY_CANDIDATES:
        base = values.get(key, 0.0)
        if key not in used or base == 0:
            continue
        low, high = base * (1 - delta), base * (1 + delta)
        if key == "agls_moins_50_logements" and values["logements"] >= 50:
            continue
        r_low = compute(kind, {**values, key: low})[target]
        r_high = compute(kind, {**values, key: high})[target]
        if abs(r_high - r_low) > 1e-6:
            swings.append(Swing(key, low, high, r_low, r_high))
    return sorted(swings, key=lambda s: s.width, reverse=True)


def break_even(
    kind: str, values: dict[str, float], key: str, target: str = "resultat", upper: float | None = None
) -> float | None:
    """The value of ``key`` (≥ 0) at which ``target`` is zero, other inputs unchanged.

    None when no non-negative value balances it (e.g. a deficit no rent can close, or the
    parameter does not move the result). Secant step, then bisection when the result is not
    linear in the parameter (loan capped by its quotité).
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


def verdict(evaluation: Evaluation, n_deciding: int = 2) -> Verdict:
    """Balanced or not, by how much, and the break-even of the deciding parameters."""
    v = evaluation.values
    homes = evaluation.inputs["logements"]
    swings = tornado(evaluation.kind, evaluation.inputs)
    deciding = [
        (s.key, evaluation.inputs[s.key], break_even(evaluation.kind, evaluation.inputs, s.key))
        for s in swings[:n_deciding]
    ]
    gap = v["ecart_financement"]
    parts = []
    if evaluation.funded:
        surplus = f" (financements supérieurs au coût de {euros(-gap)})" if gap < -TOLERANCE_EUR else ""
        parts.append(f"le plan de financement est bouclé{surplus}")
    else:
        parts.append(f"il manque {euros(gap)} au plan de financement ({euros(gap / homes)} par logement)")
    result = v["resultat"]
    if evaluation.balanced_year:
        parts.append(
            f"l'exploitation dégage un excédent de {euros(result)} par an "
            f"({euros(result / homes)} par logement)"
        )
    else:
        parts.append(
            f"l'exploitation est en déficit de {euros(-result)} par an "
            f"({euros(-result / homes)} par logement)"
        )
    head = "Opération équilibrée" if evaluation.balanced else "Opération non équilibrée"
    text = f"{head} : " + " ; ".join(parts) + "."
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
    }


def evaluate_saved(saved: dict, params: Parameters) -> tuple[Evaluation, Verdict]:
    """Recompute a saved operation (the figures always follow the current parameters file)."""
    values = inputs_for(
        saved["kind"], params, zone_apl=saved.get("zone_apl", 2), acv_pvd=bool(saved.get("acv_pvd")),
        overrides=saved.get("overrides") or {},
    )
    evaluation = evaluate(saved["kind"], values, params)
    return evaluation, verdict(evaluation)


def used_parameters(kind: str, values: dict[str, float], params: Parameters,
                    overrides: dict[str, float] | None = None) -> list[tuple[Parameter, bool]]:
    """The parameters an operation used, as shown to users, with « modifié par l'utilisateur »."""
    overrides = overrides or {}
    keys = [k for k in kind_inputs(kind) if k not in LOCAL_INPUTS]
    keys += [k for k in (LEGAL_MIN_DURATION.get(kind),) if k]
    keys.append(apl_ceiling_key(params.kinds[kind].apl_family, int(values["zone_apl"])))
    rows = []
    for key in dict.fromkeys(keys):
        base = params.describe(key, kind)
        value = values.get(key, base.value)
        rows.append((Parameter(base.key, base.label, value, base.unit, base.valid, base.source, base.url,
                               base.assumption), key in overrides))
    return rows
