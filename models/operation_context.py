"""What a commune brings to an operation's calculation: zone A/B/C (and the APL zone estimated
from it), QPV, programmes ACV / PVD, long-term private vacancy (LOVAC) and the Carte des loyers.

Each datum names its source and vintage; a dataset absent from the store is said « non
disponible », never counted as zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from catalogues import datasets
from geodata.store import Store

UNAVAILABLE = "non disponible"
IDF_DEPARTEMENTS = {"75", "77", "78", "91", "92", "93", "94", "95"}
RENT_COLUMNS = ("rent_m2_app", "loypredm2", "rent_m2")


@dataclass
class LocalContext:
    """Plain data (kept in the app's session and handed to the report)."""

    code: str
    name: str
    dep_code: str = ""
    zone_abc: str | None = None
    zone_apl: int = 2
    zone_apl_note: str = ""
    qpv_count: float | None = None
    qpv_names: str = ""
    acv: bool | None = None
    pvd: bool | None = None
    vacant_long: float | None = None
    vacant_long_rate: float | None = None
    vacant_level: str = ""  # "commune" or "département"
    market_rent_m2: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def acv_pvd(self) -> bool:
        return bool(self.acv) or bool(self.pvd)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LocalContext:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def estimated_apl_zone(zone_abc: str | None, dep_code: str) -> int:
    """APL zone (I, II, III of the arrêté du 17 mars 1978) estimated from zone A/B/C.

    The two zonings differ; this is an approximation the user can correct: A bis and A in
    Île-de-France → I; other Île-de-France, A and B1 → II; B2 and C → III.
    """
    zone = (zone_abc or "").upper().replace(" ", "")
    if dep_code in IDF_DEPARTEMENTS:
        return 1 if zone in ("ABIS", "A") else 2
    if zone in ("ABIS", "A", "B1"):
        return 2
    return 3


def _source(store: Store, dataset: str) -> str:
    manifest = store.manifest(dataset)
    if manifest is None:
        return dataset
    vintage = f", {manifest.vintage}" if manifest.vintage else ""
    return f"{manifest.producer}{vintage}"


def _row(
    store: Store, dataset: str, code: str, columns: list[str] | None = None, key: str = "code"
) -> pd.Series | None:
    frame = store.read(dataset, columns=[key, *columns] if columns else None)
    rows = frame[frame[key].astype(str) == code]
    return None if rows.empty else rows.iloc[0]


def _known(value) -> bool:
    return value is not None and not pd.isna(value)


def local_context(code: str, store: Store | None = None) -> LocalContext:
    """The commune's local data for an operation (French notes for missing data)."""
    store = store or Store()
    code = str(code)
    commune = _row(store, "communes", code, ["name", "dep_code"]) if store.exists("communes") else None
    if commune is None:
        raise ValueError(f"Commune « {code} » introuvable dans le stock local.")
    ctx = LocalContext(code=code, name=str(commune["name"]), dep_code=str(commune["dep_code"]))

    if store.exists(datasets.ZONAGE_ABC):
        row = _row(store, datasets.ZONAGE_ABC, code)
        ctx.zone_abc = str(row["zone_abc"]) if row is not None and _known(row["zone_abc"]) else None
        ctx.sources["zone_abc"] = _source(store, datasets.ZONAGE_ABC)
    if ctx.zone_abc is None:
        ctx.missing["zone_abc"] = f"Zonage A/B/C : {UNAVAILABLE}"
    ctx.zone_apl = estimated_apl_zone(ctx.zone_abc, ctx.dep_code)
    ctx.zone_apl_note = (
        "zone APL estimée à partir du zonage A/B/C (approximation : vérifier le classement "
        "de la commune, arrêté du 17 mars 1978)"
    )

    if store.exists(datasets.QPV_COMMUNES):
        row = _row(store, datasets.QPV_COMMUNES, code)
        if row is not None:
            ctx.qpv_count = float(row["qpv_count"]) if _known(row["qpv_count"]) else 0.0
            ctx.qpv_names = str(row["qpv_names"]) if _known(row["qpv_names"]) else ""
        ctx.sources["qpv"] = _source(store, datasets.QPV_COMMUNES)
    else:
        ctx.missing["qpv"] = f"Quartiers prioritaires : {UNAVAILABLE}"

    if store.exists(datasets.ANCT_PROGRAMMES):
        row = _row(store, datasets.ANCT_PROGRAMMES, code)
        if row is not None:
            ctx.acv = bool(row["programme_acv"]) if _known(row["programme_acv"]) else None
            ctx.pvd = bool(row["programme_pvd"]) if _known(row["programme_pvd"]) else None
        ctx.sources["programmes"] = _source(store, datasets.ANCT_PROGRAMMES)
    else:
        ctx.missing["programmes"] = f"Programmes ACV / PVD : {UNAVAILABLE}"

    if store.exists(datasets.LOVAC_COMMUNES):
        row = _row(store, datasets.LOVAC_COMMUNES, code)
        level, dataset = "commune", datasets.LOVAC_COMMUNES
    elif store.exists(datasets.LOVAC_DEPARTEMENTS):
        row = _row(store, datasets.LOVAC_DEPARTEMENTS, ctx.dep_code)
        level, dataset = "département", datasets.LOVAC_DEPARTEMENTS
        ctx.missing["lovac_com"] = f"LOVAC par commune : {UNAVAILABLE} (valeur du département)"
    else:
        row, level, dataset = None, "", ""
        ctx.missing["lovac"] = f"Vacance de longue durée (LOVAC) : {UNAVAILABLE}"
    if row is not None:
        ctx.vacant_long = (
            float(row["private_vacant_long"]) if _known(row.get("private_vacant_long")) else None
        )
        rate = row.get("private_vacancy_long_rate")
        ctx.vacant_long_rate = float(rate) if _known(rate) else None
        ctx.vacant_level = level
        ctx.sources["lovac"] = _source(store, dataset)

    if store.exists(datasets.CARTE_LOYERS):
        frame = store.read(datasets.CARTE_LOYERS)
        column = next((c for c in RENT_COLUMNS if c in frame.columns), None)
        rows = frame[frame["code"].astype(str) == code] if "code" in frame.columns else frame.iloc[0:0]
        if column and not rows.empty and _known(rows.iloc[0][column]):
            ctx.market_rent_m2 = float(rows.iloc[0][column])
            ctx.sources["carte_loyers"] = _source(store, datasets.CARTE_LOYERS)
    if ctx.market_rent_m2 is None:
        ctx.missing["carte_loyers"] = f"Carte des loyers : {UNAVAILABLE}"
    return ctx


@dataclass(frozen=True)
class RentComparison:
    """IML: the market rent of the dwelling against the rent of the operation and the APL
    ceiling a household can have counted."""

    market_rent: float  # €/month for the dwelling
    operation_rent: float
    owner_forgoes_year: float  # per dwelling and year, ≥ 0
    above_apl_ceiling: float  # €/month of market rent above the APL ceiling, ≥ 0


def market_comparison(
    ctx: LocalContext, surface_m2: float, operation_rent: float, apl_ceiling: float
) -> RentComparison | None:
    """None when the Carte des loyers is not available for the commune."""
    if ctx.market_rent_m2 is None:
        return None
    market = ctx.market_rent_m2 * surface_m2
    return RentComparison(
        market, operation_rent, max(0.0, (market - operation_rent) * 12), max(0.0, market - apl_ceiling)
    )


def market_for_inputs(ctx: LocalContext, inputs: dict[str, float]) -> RentComparison | None:
    """IML: the owner receives ``loyer_proprietaire_mensuel`` (sous-location) or the tenant's
    rent ``loyer_mensuel`` (mandat de gestion)."""
    rent = inputs.get("loyer_proprietaire_mensuel", inputs.get("loyer_mensuel", 0.0))
    return market_comparison(ctx, inputs.get("surface_logement", 0.0), rent, inputs.get("apl_plafond", 0.0))


def market_text(comparison: RentComparison | None) -> str:
    """French sentence for the app and the report."""
    if comparison is None:
        return (
            "Carte des loyers : non disponible dans le stock local — le loyer de marché, le manque à "
            "gagner du propriétaire et la compatibilité avec le plafond APL ne sont pas calculés."
        )
    ceiling = (
        "au-dessus du plafond APL de "
        + f"{comparison.above_apl_ceiling:,.0f}".replace(",", "\u202f")
        + "\u00a0€ par mois"
        if comparison.above_apl_ceiling > 0
        else "dans la limite du plafond APL"
    )
    forgone = f"{comparison.owner_forgoes_year:,.0f}".replace(",", "\u202f")
    market = f"{comparison.market_rent:,.0f}".replace(",", "\u202f")
    return (
        f"Loyer de marché estimé (Carte des loyers) : {market}\u00a0€ par mois, {ceiling} ; le "
        f"propriétaire renonce à {forgone}\u00a0€ par an et par logement au loyer de l'opération."
    )
