"""What-if: add or remove a site and see the gap change, incrementally; compare two scenarios.

A :class:`Scenario` starts from a :class:`models.gap.GapModel` (the current offer) and keeps
its own copy of the floating-catchment state. Adding a site changes only the ratio of the
provider it joins (in the 2SFCA a provider's ratio depends on its own places and on the demand
in its catchment, not on the other providers), so only the communes within reach of that
provider are recomputed: a what-if for a département takes milliseconds.

Exactness: the places of a provider are always recomputed as the exactly rounded sum
(``math.fsum``) of its active sites, a removed provider keeps its column with zero places
(adding ``0.0`` is exact), and the affected rows are recomputed with the same sparse kernel as
the reference. Adding a site then removing it therefore gives back the reference gap bit for
bit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from itertools import count

import numpy as np
import pandas as pd

from models import accessibility as acc
from models import supply as sup
from models.gap import GapError, GapModel


@dataclass
class Change:
    """One action of a scenario (French labels for the app)."""

    action: str  # "ajout" or "retrait"
    site_id: str
    offer_type: str
    capacity: float
    code: str
    covered: tuple[str, ...] = ()


@dataclass
class Comparison:
    """Two scenarios side by side: per commune, and totals for the territory."""

    communes: pd.DataFrame
    summary: pd.DataFrame
    changes: dict[str, list[Change]] = field(default_factory=dict)


class Scenario:
    """A variant of the offer over the same need and geography."""

    _ids = count(1)

    def __init__(self, model: GapModel, name: str = "situation actuelle") -> None:
        self.model = model
        self.name = name
        self.fca = copy.deepcopy(model.fca)
        self.point_sites = model.point_sites.copy()
        self.provider_of_code: dict[str, int] = {c: i for i, c in enumerate(model.point_codes)}
        offset = len(model.point_codes)
        self.services: dict[str, dict] = {
            record["site_id"]: {**record, "provider": offset + i, "active": True}
            for i, record in enumerate(model.services.to_dict("records"))
        }
        self.changes: list[Change] = []

    def copy(self, name: str) -> Scenario:
        """An independent scenario starting from this one."""
        other = copy.copy(self)
        other.name = name
        other.fca = copy.deepcopy(self.fca)
        other.point_sites = self.point_sites.copy()
        other.provider_of_code = dict(self.provider_of_code)
        other.services = {k: dict(v) for k, v in self.services.items()}
        other.changes = list(self.changes)
        return other

    # -- actions -----------------------------------------------------------------------------
    def add_site(
        self,
        offer_type: str,
        capacity: float,
        code: str,
        site_id: str | None = None,
        covered: list[str] | tuple[str, ...] | None = None,
    ) -> str:
        """Add a planned site (or an accompaniment service covering ``covered`` communes).

        Returns the site identifier (``projet-N`` unless given).
        """
        offer = sup.offer_family(offer_type)
        if offer is None:
            raise GapError(f"Ajout d'un site : type d'offre « {offer_type} » non reconnu.")
        value = pd.to_numeric(pd.Series([capacity]), errors="coerce").iloc[0]
        if pd.isna(value) or value <= 0:
            raise GapError(f"Ajout d'un site : capacité « {capacity} » invalide (nombre > 0).")
        code = str(code).strip()
        position = self.model.locations.positions([code])[0]
        if position < 0:
            raise GapError(f"Ajout d'un site : commune {code} inconnue du COG 2025.")
        if not self.model.locations.valid[position]:
            raise GapError(f"Ajout d'un site : la commune {code} n'a pas de coordonnées.")
        site_id = site_id or f"projet-{next(self._ids)}"
        if site_id in set(self.point_sites["site_id"]) or site_id in self.services:
            raise GapError(f"Ajout d'un site : l'identifiant {site_id} existe déjà.")
        covered_codes = tuple(sup.parse_codes(covered)) if covered else ()
        if covered_codes:
            if offer != sup.AREA_TYPE:
                raise GapError("Ajout d'un site : seuls les services d'accompagnement couvrent "
                               "une liste de communes.")
            positions = self.model.positions(covered_codes)
            row = np.zeros(len(self.model.types))
            row[self.model.types.index(offer)] = float(value)
            pairs = acc.coverage_pairs([positions])
            provider = self.fca.add_provider(pairs, row)
            self.services[site_id] = {
                "site_id": site_id, "code": code, "offer_type": offer, "capacity": float(value),
                "covered": covered_codes, "provider": provider, "active": True,
            }
        else:
            new = pd.DataFrame(
                [{"site_id": site_id, "code": code, "offer_type": offer,
                  "capacity": float(value), "source": f"scénario « {self.name} »"}]
            )
            self.point_sites = pd.concat([self.point_sites, new], ignore_index=True)
            self._refresh_commune(code)
        self.changes.append(Change("ajout", site_id, offer, float(value), code, covered_codes))
        return site_id

    def open_planned(self, site_ids: list[str] | None = None) -> list[str]:
        """Add the registry's planned sites (all, or ``site_ids``) as if they opened."""
        planned = self.model.planned_sites
        if site_ids is not None:
            unknown = sorted(set(site_ids) - set(planned["site_id"]))
            if unknown:
                raise GapError("Sites en projet introuvables : " + ", ".join(unknown))
            planned = planned[planned["site_id"].isin(site_ids)]
        added = []
        for record in planned.to_dict("records"):
            added.append(
                self.add_site(record["offer_type"], record["capacity"], record["code"] or
                              (record["covered"][0] if record["covered"] else ""),
                              site_id=record["site_id"], covered=record["covered"] or None)
            )
        return added

    def remove_site(self, site_id: str) -> None:
        """Remove a site (existing or added) from the scenario."""
        if site_id in self.services and self.services[site_id]["active"]:
            service = self.services[site_id]
            service["active"] = False
            self.fca.set_supply(service["provider"], np.zeros(len(self.model.types)))
            self.changes.append(Change("retrait", site_id, service["offer_type"],
                                       service["capacity"], service["code"], service["covered"]))
            return
        match = self.point_sites["site_id"] == site_id
        if not match.any():
            raise GapError(f"Retrait : site {site_id} introuvable dans le scénario « {self.name} ».")
        record = self.point_sites[match].iloc[0]
        self.point_sites = self.point_sites[~match].reset_index(drop=True)
        self._refresh_commune(str(record["code"]))
        self.changes.append(Change("retrait", site_id, record["offer_type"],
                                   float(record["capacity"]), str(record["code"])))

    def _refresh_commune(self, code: str) -> np.ndarray:
        sites = self.point_sites[self.point_sites["code"] == code]
        row = self.model.capacity_matrix(sites, [code])[0]
        if code in self.provider_of_code:
            return self.fca.set_supply(self.provider_of_code[code], row)
        position = self.model.locations.positions([code])
        pairs = acc.distance_pairs(self.model.locations, position, self.model.weight)
        self.provider_of_code[code] = self.fca.add_provider(pairs, row, int(position[0]))
        return self.fca.rows_reached_by(self.provider_of_code[code])

    # -- reading -----------------------------------------------------------------------------
    def gap(self, codes: list[str] | None = None) -> pd.DataFrame:
        """Gap per commune of the territory ``codes`` (all communes when None)."""
        return self.model.frame(codes, fca=self.fca)


def summary(frame: pd.DataFrame) -> dict[str, float]:
    """Territory totals of a gap frame (sums over communes with a computed gap)."""
    computed = frame[frame["gap_households"].notna()]
    out = {
        "communes": float(len(frame)),
        "need_households": float(computed["need_households"].sum()),
        "places_allocated": float(computed["places_allocated"].sum()),
        "gap_households": float(computed["gap_households"].sum()),
        "gap_households_low": float(computed["gap_households_low"].sum()),
        "gap_households_high": float(computed["gap_households_high"].sum()),
    }
    if "missing_total" in frame.columns:
        # The gap against the reference (models.gap_reference): places, on target households.
        out["missing_total"] = float(frame["missing_total"].sum())
        out["surplus_total"] = float(frame["surplus_total"].sum())
        classes = frame["reference_class"]
    else:
        classes = frame["gap_class"]
    for name, n in classes.value_counts().items():
        out[f"communes « {name} »"] = float(n)
    return out


def compare(a: Scenario, b: Scenario, codes: list[str] | None = None) -> Comparison:
    """Scenarios ``a`` and ``b`` side by side over the territory ``codes``."""
    if a.model is not b.model:
        raise GapError("Comparaison : les deux scénarios doivent partir du même modèle.")
    gap_a = a.gap(codes)
    gap_b = b.gap(codes)
    keep = ["code", *[c for c in ("name", "dep_code") if c in gap_a.columns], "need_households"]
    out = gap_a[keep].copy()
    for label, frame in (("a", gap_a), ("b", gap_b)):
        out[f"places_allocated_{label}"] = frame["places_allocated"].to_numpy()
        out[f"gap_households_{label}"] = frame["gap_households"].to_numpy()
        out[f"gap_households_low_{label}"] = frame["gap_households_low"].to_numpy()
        out[f"gap_households_high_{label}"] = frame["gap_households_high"].to_numpy()
        out[f"gap_class_{label}"] = frame["gap_class"].to_numpy()
    out["delta_gap_households"] = out["gap_households_b"] - out["gap_households_a"]
    out["class_changed"] = out["gap_class_a"] != out["gap_class_b"]
    name_a, name_b = (a.name, b.name) if a.name != b.name else (f"{a.name} (a)", f"{b.name} (b)")
    totals = pd.DataFrame({name_a: summary(gap_a), name_b: summary(gap_b)}).fillna(0.0)
    totals["différence (b − a)"] = totals[name_b] - totals[name_a]
    return Comparison(communes=out, summary=totals, changes={name_a: a.changes, name_b: b.changes})


# Rows of a summary whose changes (b − a) are tied by an identity, as {row: coefficient} summing
# to zero: each place allocated either closes a missing place or goes beyond the reference,
# and each place allocated is one household less without a place within reach.
SUMMARY_IDENTITIES: tuple[dict[str, float], ...] = (
    {"places_allocated": 1.0, "missing_total": 1.0, "surplus_total": -1.0},
    {"places_allocated": 1.0, "gap_households": 1.0},
)
IDENTITY_TOLERANCE = 0.5  # an identity is kept only where the exact figures meet it this closely


def whole_summary(totals: pd.DataFrame) -> pd.DataFrame:
    """The summary of :func:`compare` in whole numbers that add up as the exact figures do.

    Rounding each cell alone can show « +25 » places allocated, « −0 » places missing and
    « +24 » beyond the reference. Here the change column is always the scenario's whole number
    minus the current one's, and the rows tied by :data:`SUMMARY_IDENTITIES` are rounded
    together (controlled rounding): each of their figures, changes included, is its exact value
    rounded down or up, the changes meet the identities, and the sum of the rounding errors is
    the smallest. An identity that the exact figures do not meet (an offer type outside the
    reference families) is not forced.

    Parameters
    ----------
    totals : pd.DataFrame
        ``Comparison.summary``: rows are indicators; columns the current situation, the
        scenario and their difference.

    Returns
    -------
    pd.DataFrame
        Same rows and columns, in ``int64``; the table and the sentence of the page read it.
    """
    before, after = totals.columns[0], totals.columns[1]
    change = totals.columns[2] if totals.shape[1] > 2 else "différence (b − a)"
    exact = totals[[before, after]].astype(float).fillna(0.0)
    shown = exact.round().astype("int64")
    delta = exact[after] - exact[before]
    identities = [i for i in SUMMARY_IDENTITIES if set(i) <= set(exact.index)
                  and abs(sum(c * delta[r] for r, c in i.items())) <= IDENTITY_TOLERANCE]
    rows = list(dict.fromkeys(r for i in identities for r in i))
    if rows:
        chosen = _controlled_rounding(exact.loc[rows, before].to_dict(),
                                      exact.loc[rows, after].to_dict(), identities)
        if chosen is not None:
            for row, (first, second) in chosen.items():
                shown.loc[row, before], shown.loc[row, after] = first, second
    shown[change] = shown[after] - shown[before]
    return shown


def _controlled_rounding(before: dict[str, float], after: dict[str, float],
                         identities: list[dict[str, float]]) -> dict[str, tuple[int, int]] | None:
    """Whole (before, after) per row: each rounded down or up, the changes rounded down or up
    and meeting ``identities``, with the smallest total rounding error (None when no choice
    meets them). Four rows give eight cells, hence at most 2⁸ choices."""
    from itertools import product

    rows = list(before)

    def ways(value: float) -> list[int]:
        return sorted({int(np.floor(value)), int(np.ceil(value))},
                      key=lambda v: (abs(v - value), v))

    cells = [ways(before[r]) for r in rows] + [ways(after[r]) for r in rows]
    best, best_cost = None, float("inf")
    for choice in product(*cells):
        firsts, seconds = choice[: len(rows)], choice[len(rows):]
        changes = {r: s - f for r, f, s in zip(rows, firsts, seconds, strict=True)}
        exact_changes = {r: after[r] - before[r] for r in rows}
        if any(abs(changes[r] - exact_changes[r]) >= 1 for r in rows):
            continue
        if any(sum(c * changes[r] for r, c in i.items()) != 0 for i in identities):
            continue
        cost = (sum(abs(f - before[r]) + abs(s - after[r])
                    for r, f, s in zip(rows, firsts, seconds, strict=True))
                + sum(abs(changes[r] - exact_changes[r]) for r in rows))
        if cost < best_cost - 1e-12:
            best, best_cost = {r: (f, s) for r, f, s in zip(rows, firsts, seconds, strict=True)}, cost
    return best
