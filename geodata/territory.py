"""Territories: named sets of communes, parsed from short specifications.

A specification is one or several terms separated by commas, semicolons or ``+``:
``dep:59``, ``reg:32``, ``epci:245900410``, ``com:59350``, or ``voisins:59350`` (a commune and the
communes that touch it). Examples: ``"dep:59"``, ``"dep:59, dep:62"``, ``"com:59350 + com:59009"``.

Name search (``search_places``) ignores accents, case, hyphens and apostrophes: "saint etienne"
finds Saint-Étienne.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from unidecode import unidecode

KINDS = {
    "dep": "département",
    "reg": "région",
    "epci": "EPCI",
    "com": "commune",
    "voisins": "commune et ses voisines",
}
_TERM = re.compile(r"^\s*(?P<kind>[a-z]+)\s*:\s*(?P<code>[0-9AaBb]+)\s*$")


SLUG_MAX = 80


class TerritoryError(ValueError):
    """A territory specification that cannot be understood (French message)."""


@dataclass
class Territory:
    """A named set of current communes."""

    spec: str
    name: str
    codes: list[str]
    parts: list[tuple[str, str]] = field(default_factory=list)  # (kind, code)

    @property
    def slug(self) -> str:
        """File-name part: the name in ASCII, cut (with a digest, to stay unique) when long —
        a file name has at most 255 bytes and a list of territories can name hundreds."""
        slug = re.sub(r"[^a-z0-9]+", "_", normalise_name(self.name)).strip("_")
        if len(slug) <= SLUG_MAX:
            return slug
        digest = hashlib.sha1(slug.encode()).hexdigest()[:8]
        return f"{slug[: SLUG_MAX - 9].rstrip('_')}_{digest}"

    def __len__(self) -> int:
        return len(self.codes)


def normalise_name(text: str) -> str:
    """Lower-case ASCII words: accents, case, hyphens and apostrophes ignored."""
    ascii_text = unidecode(str(text)).lower()
    ascii_text = re.sub(r"\bst\b", "saint", ascii_text)
    ascii_text = re.sub(r"\bste\b", "sainte", ascii_text)
    return re.sub(r"[^a-z0-9]+", " ", ascii_text).strip()


def parse_territory(
    spec: str,
    communes: pd.DataFrame,
    departements: pd.DataFrame | None = None,
    regions: pd.DataFrame | None = None,
    epci: pd.DataFrame | None = None,
) -> Territory:
    """Parse ``spec`` into a :class:`Territory`.

    Parameters
    ----------
    spec
        e.g. ``"dep:59"`` or ``"epci:245900410, com:62041"``.
    communes
        The reference communes (``code``, ``name``, ``dep_code``, ``reg_code``, ``epci_code``;
        a geometry is needed only for ``voisins:``).
    departements, regions, epci
        Layers with ``code`` and ``name`` (for the territory's name).

    Raises
    ------
    TerritoryError
        With a French message naming the term that is not understood or the unknown code.
    """
    if not spec or not str(spec).strip():
        raise TerritoryError("Territoire vide : indiquez par exemple « dep:59 » ou « com:59350 ».")
    terms = [t for t in re.split(r"[,;+]", str(spec)) if t.strip()]
    codes: list[str] = []
    names: list[str] = []
    parts: list[tuple[str, str]] = []
    for term in terms:
        match = _TERM.match(term)
        if not match or match["kind"] not in KINDS:
            raise TerritoryError(
                f"Terme de territoire incompris : « {term.strip()} ». Formes acceptées : "
                "dep:59, reg:32, epci:245900410, com:59350, voisins:59350 "
                "(plusieurs termes séparés par des virgules)."
            )
        kind, code = match["kind"], match["code"].upper()
        selected, label = _select(kind, code, communes, departements, regions, epci)
        codes.extend(selected)
        names.append(label)
        parts.append((kind, code))
    unique = list(dict.fromkeys(codes))
    return Territory(spec=str(spec).strip(), name=" + ".join(names), codes=unique, parts=parts)


def _select(kind, code, communes, departements, regions, epci) -> tuple[list[str], str]:
    if kind == "dep":
        code = code.zfill(2) if code.isdigit() and len(code) < 2 else code
        selected = communes.loc[communes["dep_code"] == code, "code"].tolist()
        label = _layer_name(departements, code, f"département {code}")
        if not selected:
            raise TerritoryError(f"Département inconnu : « {code} » (exemples : 59, 2A, 974).")
        return selected, label
    if kind == "reg":
        selected = communes.loc[communes["reg_code"] == code, "code"].tolist()
        if not selected:
            raise TerritoryError(f"Région inconnue : « {code} » (code INSEE, par exemple 32).")
        return selected, _layer_name(regions, code, f"région {code}")
    if kind == "epci":
        selected = communes.loc[communes["epci_code"] == code, "code"].tolist()
        if not selected:
            raise TerritoryError(f"EPCI inconnu : « {code} » (numéro SIREN à 9 chiffres).")
        return selected, _layer_name(epci, code, f"EPCI {code}")
    # commune or commune and neighbours
    code = code.zfill(5) if code.isdigit() else code
    row = communes.loc[communes["code"] == code]
    if row.empty:
        raise TerritoryError(
            f"Commune inconnue : « {code} » (code INSEE à 5 caractères, par exemple 59350 ; "
            "un ancien code de commune fusionnée est à remplacer par celui de la commune nouvelle)."
        )
    name = str(row["name"].iat[0])
    if kind == "com":
        return [code], name
    return neighbours(code, communes), f"{name} et communes voisines"


def neighbours(code: str, communes: pd.DataFrame) -> list[str]:
    """The commune and the communes whose outline touches it (itself first)."""
    if not isinstance(communes, gpd.GeoDataFrame):
        raise TerritoryError("Les contours des communes sont nécessaires pour « voisins: ».")
    target = communes.loc[communes["code"] == code].geometry.iat[0]
    if target is None:
        return [code]
    candidates = communes.iloc[communes.sindex.query(target, predicate="intersects")]
    others = sorted(c for c in candidates["code"] if c != code)
    return [code, *others]


def _layer_name(layer: pd.DataFrame | None, code: str, default: str) -> str:
    if layer is None:
        return default
    row = layer.loc[layer["code"] == code, "name"]
    return str(row.iat[0]) if len(row) else default


def search_places(
    query: str,
    communes: pd.DataFrame,
    departements: pd.DataFrame | None = None,
    epci: pd.DataFrame | None = None,
    limit: int = 20,
) -> pd.DataFrame:
    """Places whose name matches ``query`` (accent- and case-insensitive).

    Returns a frame ``spec, kind, code, name, label, population`` sorted by match quality
    (exact name, then prefix, then contains) and population, at most ``limit`` rows.
    """
    needle = normalise_name(query)
    if not needle:
        return pd.DataFrame(columns=["spec", "kind", "code", "name", "label", "population"])
    frames = [
        pd.DataFrame({
            "spec": "com:" + communes["code"],
            "kind": "commune",
            "code": communes["code"],
            "name": communes["name"],
            "label": communes["name"] + " (" + communes["dep_code"] + ")",
            "population": communes["population"].astype("Float64"),
        })
    ]
    if departements is not None:
        frames.append(pd.DataFrame({
            "spec": "dep:" + departements["code"],
            "kind": "département",
            "code": departements["code"],
            "name": departements["name"],
            "label": departements["name"] + " (département " + departements["code"] + ")",
            "population": departements.get("population", pd.Series(pd.NA)).astype("Float64"),
        }))
    if epci is not None:
        frames.append(pd.DataFrame({
            "spec": "epci:" + epci["code"],
            "kind": "EPCI",
            "code": epci["code"],
            "name": epci["name"],
            "label": epci["name"] + " (EPCI)",
            "population": epci.get("population", pd.Series(pd.NA)).astype("Float64"),
        }))
    places = pd.concat(frames, ignore_index=True)
    keys = places["name"].map(normalise_name)
    quality = pd.Series(0, index=places.index)
    quality[keys.str.contains(needle, regex=False)] = 1
    quality[keys.str.startswith(needle)] = 2
    quality[keys == needle] = 3
    found = places[quality > 0].assign(_q=quality[quality > 0])
    found = found.sort_values(["_q", "population"], ascending=[False, False], na_position="last")
    return found.drop(columns="_q").head(limit).reset_index(drop=True)
