"""A territory's programme from the store: the gap model on the national need and the
registry's public sites, the territory parsed (``france`` included), the programme built, and
its French summary (the JSON of ``python -m models programme``, the app, the report and the
national board sheet all read :func:`summary_fr`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from geodata.store import Store
from geodata.territory import Territory, TerritoryError, parse_territory
from models import programme as pg
from models import programme_costs as pc
from models import results

FRANCE_SPECS = ("france", "fr", "france entière")
FICTIF_NOTE = ("FICTIF : l'offre des adhérents est celle de la démonstration ; les places "
               "manquantes et tous les montants qui en découlent sont fictifs.")


@dataclass
class ProgrammeTerritory:
    spec: str
    name: str
    codes: list[str]
    by_region: bool
    region_names: dict[str, str]


def registry_public_sites() -> tuple[pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """Every site of the operators' registry and its coverage (confidential sites are left
    out by :func:`models.results.gap_model`), or the French reason they are not readable."""
    from pathlib import Path

    from operators.repository import Registry, default_url

    url = default_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None, None, "registre des opérateurs absent : offre des adhérents non comptée"
    try:
        registry = Registry(url)
        try:
            return pd.DataFrame(registry.sites()), registry.coverage(), None
        finally:
            registry.dispose()
    except Exception as exc:  # the programme still runs on the public offer
        return None, None, f"registre des opérateurs illisible ({exc})"


def gap_model(store: Store, sites: pd.DataFrame | None = None,
              coverage: pd.DataFrame | None = None) -> tuple[Any, list[str]]:
    """The national gap model of the store (need, registry) and notes on what is missing."""
    notes: list[str] = []
    need = results.national_need(store)
    if sites is None:
        sites, coverage, reason = registry_public_sites()
        if reason:
            notes.append(reason)
    return results.gap_model(store, need.frame, sites, coverage=coverage), notes


def territory(spec: str, store: Store) -> ProgrammeTerritory:
    """``dep:23``, ``com:…``, ``epci:…``, ``reg:…``, a list, or ``france`` (by région)."""
    stamp = tuple((store.root / f"{d}.manifest.json").stat().st_mtime_ns
                  if (store.root / f"{d}.manifest.json").exists() else 0
                  for d in ("communes", "regions", "departements", "epci"))
    communes, departements, regions, epci = _layers(str(store.root), stamp)
    region_names = ({} if regions is None else
                    dict(zip(regions["code"].astype(str), regions["name"].astype(str),
                             strict=True)))
    if str(spec).strip().lower() in FRANCE_SPECS:
        return ProgrammeTerritory("france", "France", communes["code"].astype(str).tolist(), True,
                                  region_names)
    parsed: Territory = parse_territory(spec, communes, departements, regions, epci)
    return ProgrammeTerritory(parsed.spec, parsed.name, parsed.codes, False, region_names)


@lru_cache(maxsize=2)
def _layers(root: str, _stamp: tuple) -> tuple:
    """The reference layers a territory is parsed against (read once per state of the store)."""
    from pathlib import Path

    store = Store(Path(root))
    communes = store.read("communes", columns=["code", "name", "dep_code", "reg_code",
                                               "epci_code"])
    layers = [store.read(name, columns=["code", "name"]) if store.exists(name) else None
              for name in ("departements", "regions", "epci")]
    return (communes, *layers)


def run(spec: str, store: Store | None = None, options: pg.ProgrammeOptions | None = None,
        model: Any = None) -> pg.ProgrammeResult:
    """The programme of ``spec`` (raises :class:`TerritoryError`, :class:`ProgrammeError`,
    :class:`models.results.ResultsUnavailable` with French messages)."""
    store = store or Store()
    place = territory(spec, store)
    notes: list[str] = []
    if model is None:
        model, notes = gap_model(store)
    result = pg.build_programme(model, place.codes, options, name=place.name,
                                by_region=place.by_region, region_names=place.region_names,
                                store=store)
    result.notes = [*notes, *result.notes]
    return result


# -- the French summary ------------------------------------------------------------------------
def _euros(value: float) -> float:
    return float(round(value))


def _three(result: pg.ProgrammeResult, key: str, group: str | None = None,
           family: str | None = None, rounding=_euros) -> dict[str, Any]:
    out: dict[str, Any] = {pg.VARIANTS_FR[v]: rounding(result.totals(v, group, family)[key])
                           for v in pg.VARIANTS}
    if result.offer_fictional:
        out["FICTIF"] = True
    return out


def _places(value: float) -> float:
    return float(round(value, 1))


def _money_block(result: pg.ProgrammeResult, group: str | None = None,
                 family: str | None = None) -> dict[str, Any]:
    def three(key: str) -> dict[str, Any]:
        return _three(result, key, group, family)

    return {
        "investissement": three("investment"),
        "subventions": {f: three(f"subsidy:{f}") for f in pc.SUBSIDY_FUNDERS},
        "subvention_etat_FNAP": three("state_subsidy"),
        "prets": three("loans"),
        "fonds_propres": three("equity"),
        "reste_a_financer": three("unfunded"),
        "fonctionnement_annuel_en_regime": {
            "total": three("running_total"),
            "par_financeur": {f: three(f"running:{f}") for f in pc.RUNNING_FUNDERS},
            "dont_etat": three("state_running"),
        },
        "deficit_annuel_des_gestionnaires": three("deficit"),
    }


def _missing_block(result: pg.ProgrammeResult, row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {"centrale": _places(row["missing"]), "basse": _places(row["missing_low"]),
                           "haute": _places(row["missing_high"])}
    if result.offer_fictional:
        out["FICTIF"] = True
    return out


def _family_rows(result: pg.ProgrammeResult, group: str | None) -> pd.DataFrame:
    fam = result.families if group is None else result.families[result.families["group"] == group]
    return fam.groupby("family", sort=False, as_index=False).agg(
        kind=("kind", "first"), size=("size", "first"), missing=("missing", "sum"),
        missing_low=("missing_low", "sum"), missing_high=("missing_high", "sum"),
        placed=("placed", "sum"), unplaced=("unplaced", "sum"),
        n_operations=("n_operations", "sum"))


def _operation_fr(row: dict) -> dict[str, Any]:
    return {
        "commune": row["code"], "nom": row["name"], "type_operation": row["kind_label"],
        "places": _places(row["places"]), "annee_ouverture": int(row["year"]),
        "places_manquantes_a_portee_comblees": _places(row["need_answered"]),
        "investissement": _euros(row["investment"]),
        "subventions": {f: _euros(row[f"subsidy:{f}"]) for f in pc.SUBSIDY_FUNDERS},
        "fonctionnement_annuel": {f: _euros(row[f"running:{f}"]) for f in pc.RUNNING_FUNDERS},
        "deficit_annuel_du_gestionnaire": _euros(row["deficit"]),
    }


def _families_fr(result: pg.ProgrammeResult, group: str | None,
                 with_operations: bool) -> list[dict[str, Any]]:
    out = []
    for row in _family_rows(result, group).to_dict("records"):
        family = row["family"]
        kind = row["kind"]
        entry: dict[str, Any] = {
            "famille": pg.family_label(family),
            "code_famille": family,
            "type_operation": pc.kinds().get(kind, "non chiffré") if isinstance(kind, str)
            else "non chiffré (pas de modèle économique)",
            "taille_operation_places": float(row["size"]),
            "places_manquantes": _missing_block(result, pd.Series(row)),
            "places_programmees": _three(result, "places", group, family, _places),
            "places_non_placees": _places(row["unplaced"]),
            "nombre_operations": int(row["n_operations"]),
            **_money_block(result, group, family),
        }
        if with_operations:
            ops = result.operations[result.operations["family"] == family]
            if group is not None:
                ops = ops[ops["group"] == group]
            entry["operations"] = [_operation_fr(r) for r in ops.to_dict("records")]
        out.append(entry)
    return out


def _yearly_fr(result: pg.ProgrammeResult, group: str | None = None) -> list[dict[str, Any]]:
    tables = {v: result.yearly(v, group) for v in pg.VARIANTS}
    rows = []
    for year in tables["central"].index:
        def three(column: str, year: int = year) -> dict[str, Any]:
            out: dict[str, Any] = {pg.VARIANTS_FR[v]: _euros(tables[v].loc[year, column])
                                   for v in pg.VARIANTS}
            if result.offer_fictional:
                out["FICTIF"] = True
            return out

        rows.append({
            "annee": int(year),
            "places_ouvertes_dans_l_annee": _places(tables["central"].loc[year, "places_opened"]),
            "places_en_service": _places(tables["central"].loc[year, "places_open"]),
            "investissement": three("investment"),
            "subventions": {f: three(f"subsidy:{f}") for f in pc.SUBSIDY_FUNDERS},
            "fonctionnement": {"total": three("running_total"),
                               "par_financeur": {f: three(f"running:{f}")
                                                 for f in pc.RUNNING_FUNDERS}},
            "deficit_des_gestionnaires": three("deficit"),
        })
    return rows


def summary_fr(result: pg.ProgrammeResult, spec: str = "",
               with_operations: bool | None = None) -> dict[str, Any]:
    """The programme with French keys (JSON of the command line, app, exports)."""
    by_region = len(result.groups) > 1 or any(result.groups)
    if with_operations is None:
        with_operations = not by_region
    out: dict[str, Any] = {
        "territoire": result.name,
        "specification": spec,
        "horizon_annees": int(result.options.horizon),
        "FICTIF": bool(result.offer_fictional),
    }
    if result.offer_fictional:
        out["avertissement"] = FICTIF_NOTE
    out.update({
        "offre_utilisee": result.offer_used,
        "reference": {pg.family_label(k): v for k, v in result.reference.items()},
        "unites": ("places ; montants en euros (investissement et subventions : total du "
                   "programme ; fonctionnement : euros par an) ; centrale / basse / haute : "
                   "incertitude du besoin"),
        "familles": _families_fr(result, None, with_operations),
        **_money_block(result),
        "fonctionnement": {
            "par_an": _yearly_fr(result),
            "cumul_sur_l_horizon": _three(result, "horizon:running_total"),
        },
    })
    if by_region:
        out["regions"] = [
            {"code": code, "nom": name,
             "familles": [{k: f[k] for k in ("famille", "places_manquantes",
                                             "places_programmees", "nombre_operations")}
                          for f in _families_fr(result, code, False)],
             **_money_block(result, code)}
            for code, name in result.groups.items()
        ]
    out["methode"] = [
        "Places manquantes : écart à la référence par famille d'offre (places pour 1 000 "
        "ménages cibles), sur le territoire.",
        "Opérations placées là où elles comblent le plus de places manquantes à portée "
        "(couverture maximale gloutonne, models/siting.py), au plus "
        f"{result.options.max_share_of_target * 100:.0f}\u00a0% des ménages cibles d'une "
        f"commune, ouvertes régulièrement sur {result.options.horizon} ans.",
        "Montants : modèle économique d'une opération (models/operation_economics.py) évalué "
        "dans la commune de chaque opération, par models/programme_costs.py.",
        "Bornes basse et haute : montants de l'estimation centrale × (places manquantes de la "
        "borne / places manquantes centrales), par famille.",
    ]
    out["notes"] = list(dict.fromkeys(result.notes))
    out["sources"] = list(result.sources)
    return out


__all__ = ["FRANCE_SPECS", "ProgrammeTerritory", "TerritoryError", "gap_model", "run",
           "summary_fr", "territory"]
