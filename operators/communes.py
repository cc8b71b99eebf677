"""Commune codes of member files: repair, check against the COG 2025, carry old codes.

Excel turns ``01001`` into ``1001``; old files use the code of a commune since merged into a
commune nouvelle; some give a postcode where the INSEE code was asked. Codes are repaired when
the repair is certain, carried onto the current COG with :func:`geodata.cog.carry_to_current`
(via the store's ``cog_passage``), and every change is said in the row's flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
from pyarrow import ArrowException

from geodata.cog import KIND_ARRONDISSEMENT, carry_to_current
from geodata.store import Store
from operators.schema import normalize_text

_CODE_RE = re.compile(r"^(\d{4,5}|2[AB]\d{3})$")


def repair_code(raw: object) -> tuple[str | None, str | None]:
    """A well-formed commune code from a cell, and what was repaired (French), if anything.

    ``"1001"`` → ``("01001", "zéro initial restitué")``; ``"1001.0"`` (an Excel number) likewise;
    ``"2a004"`` → ``"2A004"``. Returns ``(None, None)`` when the cell is not a commune code.
    """
    if raw is None:
        return None, None
    text = str(raw).strip().upper().replace(" ", "").replace("\u00a0", "")
    text = re.sub(r"[.,]0+$", "", text)
    if not _CODE_RE.match(text):
        return None, None
    if len(text) == 4:
        return "0" + text, f"zéro initial restitué ({text} → 0{text})"
    return text, None


@dataclass
class CommuneIndex:
    """The current communes and the passage table, for fast lookups."""

    communes: pd.DataFrame  # code, name, dep_code, epci_code, rep_lon, rep_lat
    passage: pd.DataFrame
    current: set[str] = field(init=False)
    _by_name: dict[str, list[str]] = field(init=False)
    _old: dict[str, tuple[str, str]] = field(init=False)
    _epci: dict[str, list[str]] = field(init=False)
    _names: dict[str, str] = field(init=False)
    _deps: dict[str, str] = field(init=False)
    _epci_names: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.communes = self.communes.set_index("code", drop=False)
        self.current = set(self.communes["code"])
        self._names = dict(zip(self.communes["code"], self.communes["name"], strict=True))
        self._deps = dict(zip(self.communes["code"], self.communes["dep_code"], strict=True))
        self._by_name = {}
        for code, name in zip(self.communes["code"], self.communes["name"], strict=True):
            for key in _name_keys(name):
                self._by_name.setdefault(key, []).append(code)
        self._old = {
            old: (new, kind)
            for old, new, kind in self.passage[["old_code", "code", "kind"]].itertuples(index=False)
        }
        self._epci = {}
        if "epci_code" in self.communes:
            for code, epci in zip(self.communes["code"], self.communes["epci_code"], strict=True):
                if isinstance(epci, str) and epci:
                    self._epci.setdefault(epci, []).append(code)
        self._epci_names = {}
        if "epci_name" in self.communes:
            pairs = self.communes[["epci_code", "epci_name"]].dropna().drop_duplicates()
            for epci, name in pairs.itertuples(index=False):
                for key in _name_keys(name):
                    self._epci_names.setdefault(key, epci)

    @classmethod
    def from_store(cls, store: Store | None = None) -> CommuneIndex:
        store = store or Store()
        columns = ["code", "name", "dep_code", "epci_code", "rep_lon", "rep_lat"]
        try:  # the EPCI's name lets a service name its area (« Métropole Européenne de Lille »)
            communes = store.read("communes", columns=[*columns, "epci_name"])
        except (KeyError, ValueError, ArrowException):
            communes = store.read("communes", columns=columns)
        return cls(pd.DataFrame(communes), store.read("cog_passage"))

    def name_of(self, code: str) -> str:
        return self._names[code]

    def dep_of(self, code: str) -> str:
        return self._deps[code]

    def epci_members(self, epci: str) -> list[str]:
        return sorted(self._epci.get(epci, []))

    def epci_by_name(self, name: str) -> str | None:
        """The SIREN of the EPCI named ``name`` (accents, case and article ignored), or None."""
        for key in _name_keys(name):
            if key in self._epci_names:
                return self._epci_names[key]
        return None

    def is_known(self, code: str) -> bool:
        return code in self.current or code in self._old

    def by_name(self, name: str, dep_hint: str | None = None) -> list[str]:
        """Current codes whose name matches, restricted to a département when given."""
        found: list[str] = []
        for key in _name_keys(name):
            found.extend(c for c in self._by_name.get(key, []) if c not in found)
        if dep_hint:
            found = [c for c in found if self.dep_of(c).startswith(dep_hint)]
        return found


def _name_keys(name: object) -> list[str]:
    """Spellings of a commune name to look it up by: with and without article, St/Saint."""
    key = normalize_text(name)
    key = re.sub(r"\bst\b", "saint", re.sub(r"\bste\b", "sainte", key))
    keys = [key]
    for article in ("l ", "le ", "la ", "les "):
        if key.startswith(article):
            keys.append(key[len(article) :])
    return keys


def dep_hint_from_postcode(postcode: str | None) -> str | None:
    """The département a postcode points to (``"20"`` for Corsica, 3 digits overseas)."""
    text = (postcode or "").strip()
    if not re.fullmatch(r"\d{5}", text):
        return None
    if text.startswith("97"):
        return text[:3]
    if text.startswith("20"):
        return "2"  # 2A or 2B
    return text[:2]


def carry_codes(
    codes: list[str], index: CommuneIndex
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Map well-formed codes onto current codes with :func:`geodata.cog.carry_to_current`.

    Returns
    -------
    (mapping old → current for every resolvable code, kind of change per recoded code,
    set of codes neither current nor in the passage table).
    """
    unique = sorted(set(codes))
    table = pd.DataFrame({"code": unique, "source_code": unique, "sites": 1})
    carried, report = carry_to_current(
        table,
        index.passage,
        pd.Series(sorted(index.current)),
        code_column="code",
        counts=["sites"],
        first=["source_code"],
    )
    mapping: dict[str, str] = {}
    merged_sources = {old for olds in report.merged_codes.values() for old in olds}
    for current, source in zip(carried["code"], carried["source_code"], strict=True):
        if source not in merged_sources:
            mapping[source] = current
    for current, olds in report.merged_codes.items():
        for old in olds:
            mapping[old] = current
    # Arrondissements dropped as redundant (their commune is also in the list) map to it too.
    for code in unique:
        if code not in mapping and code in index._old:
            mapping[code] = index._old[code][0]
    kinds = {
        code: index._old[code][1] for code in mapping if code != mapping[code] and code in index._old
    }
    unmatched = set(report.unmatched["code"]) if len(report.unmatched) else set()
    return mapping, kinds, unmatched


@dataclass
class CommuneResolution:
    code: str | None
    flags: list[str]
    error: str | None = None  # French, for the field « code commune »
    pending: bool = False  # no commune yet: to be found from the point or the address


def normalize_code(raw_code: str, index: CommuneIndex) -> tuple[str | None, list[str]]:
    """Repaired code of a cell (leading zero, Corsica's old ``20xxx``) and what was done."""
    flags: list[str] = []
    code, repair = repair_code(raw_code)
    if repair:
        flags.append(f"code commune : {repair}")
    if code and code.startswith("20") and not index.is_known(code):
        corsica = [c for c in (f"2A{code[2:]}", f"2B{code[2:]}") if index.is_known(c)]
        if len(corsica) == 1:
            flags.append(f"code commune : Corse, {code} → {corsica[0]}")
            code = corsica[0]
    return code, flags


def resolve_commune(
    raw_code: str,
    raw_name: str,
    postcode: str,
    index: CommuneIndex,
    carried: dict[str, str],
    kinds: dict[str, str],
) -> CommuneResolution:
    """The current commune of one row, from its code (repaired, carried) or its name.

    ``carried`` and ``kinds`` come from :func:`carry_codes` over the file's normalized codes.
    """
    code, flags = normalize_code(raw_code, index)
    hint = dep_hint_from_postcode(postcode)
    if code and code in carried:
        current = carried[code]
        if current != code:
            # A former code whose commune is not the one named, while the name is a current
            # commune: most often a postcode typed as the INSEE code ("75010" for Paris 10e is
            # the pre-1968 code of a Seine commune, now 93010). The name wins, flagged.
            if raw_name and not _same_name(raw_name, index.name_of(current)):
                found = index.by_name(raw_name, hint)
                if len(found) == 1 and found[0] != current:
                    flags.append(
                        f"code commune : « {raw_code} » est l'ancien code de {current} "
                        f"({index.name_of(current)}), mais la commune indiquée est « {raw_name} » : "
                        f"commune retrouvée par son nom ({found[0]}), à vérifier"
                    )
                    return CommuneResolution(found[0], flags)
            kind = kinds.get(code, "")
            what = "arrondissement municipal" if kind == KIND_ARRONDISSEMENT else "ancienne commune"
            flags.append(f"code commune : {what} {code} rapporté à {current} (COG 2025)")
        elif raw_name and not _same_name(raw_name, index.name_of(current)):
            flags.append(
                f"commune : nom « {raw_name} » différent de celui du code {current} "
                f"(« {index.name_of(current)} »)"
            )
        return CommuneResolution(current, flags)
    if raw_name:
        found = index.by_name(raw_name, hint)
        if len(found) == 1:
            if raw_code:
                flags.append(
                    f"code commune : « {raw_code} » inconnu du COG 2025, commune retrouvée par "
                    f"son nom « {raw_name} » ({found[0]})"
                )
            else:
                flags.append(f"code commune : retrouvé par le nom « {raw_name} » ({found[0]})")
            return CommuneResolution(found[0], flags)
        if len(found) > 1 and not raw_code:
            shown = ", ".join(found[:6])
            return CommuneResolution(
                None, flags,
                error=f"commune « {raw_name} » ambiguë ({shown}) : indiquez le code INSEE ou le "
                "code postal",
                pending=True,
            )
    if raw_code:
        return CommuneResolution(
            None, flags,
            error=f"« {raw_code} » n'est pas un code commune du COG 2025 (ni un ancien code connu)",
        )
    if raw_name:
        return CommuneResolution(
            None, flags, error=f"commune « {raw_name} » introuvable dans le COG 2025", pending=True
        )
    return CommuneResolution(None, flags, error="code commune absent", pending=True)


def _same_name(given: str, official: str) -> bool:
    return bool(set(_name_keys(given)) & set(_name_keys(official)))


def parse_code_list(text: str) -> list[str]:
    """Codes from a cell such as ``"59350, 59009;1001"`` (order kept, duplicates removed)."""
    parts = [p for p in re.split(r"[\s,;|/+]+", text or "") if p]
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return seen
