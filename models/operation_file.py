"""Operations described in a YAML file, for the report's command line.

```yaml
operations:
  - type: pension_famille_neuf
    commune: "59350"
    nom: Pension de famille de Wazemmes
    parametres: {logements: 22, loyer_mensuel: 410}
  - type: moi_bail_rehabilitation
    commune: "23096"
    zone_apl: 3            # facultatif : sinon zone de la commune (OpenFisca-France) ou estimée
    date: 2026-03-01       # facultatif : date de l'opération (valeurs datées en vigueur), sinon aujourd'hui
```
"""

from __future__ import annotations

from pathlib import Path

import yaml

from geodata.store import Store
from models import operation_economics as oe
from models.operation_context import local_context


def read_operations_file(path: Path | str, params: oe.Parameters, store: Store | None = None) -> list[dict]:
    """Saved-operation dicts (French error naming the entry and the field)."""
    path = Path(path)
    if not path.is_file():
        raise oe.OperationError(f"Fichier d'opérations introuvable : {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as exc:
        raise oe.OperationError(f"Fichier d'opérations illisible ({path.name}) : {exc}") from None
    entries = raw.get("operations") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise oe.OperationError(f"{path.name} : une liste « operations » est attendue.")
    out = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name}, opération {number}"
        if not isinstance(entry, dict):
            raise oe.OperationError(f"{where} : entrée mal formée.")
        kind = str(entry.get("type", ""))
        if kind not in params.kinds:
            raise oe.OperationError(f"{where}, champ « type » : « {kind} » inconnu "
                                    f"(types possibles : {', '.join(params.kinds)}).")
        code = str(entry.get("commune", "")).strip()
        try:
            ctx = local_context(code, store).to_dict()
        except ValueError as exc:
            raise oe.OperationError(f"{where}, champ « commune » : {exc}") from None
        overrides = entry.get("parametres") or {}
        if not isinstance(overrides, dict):
            raise oe.OperationError(f"{where}, champ « parametres » : dictionnaire attendu.")
        unknown = sorted(set(overrides) - set(oe.kind_inputs(kind)) - {"apl_plafond", "taux_pret"})
        if unknown:
            raise oe.OperationError(f"{where}, champ « parametres » : paramètre(s) inconnu(s) pour ce type : "
                                    f"{', '.join(unknown)}.")
        from models import household_aid

        own_zone = household_aid.zone_apl_of(code)
        if own_zone is not None:
            ctx["zone_apl"], ctx["zone_apl_note"] = own_zone, household_aid.ZONE_SOURCE
        zone = entry.get("zone_apl", ctx["zone_apl"])
        try:
            saved = oe.saved_operation(kind, ctx, overrides, zone_apl=zone, label=str(entry.get("nom", "")),
                                       day=entry.get("date"))
        except oe.OperationError as exc:
            raise oe.OperationError(f"{where}, champ « date » : {exc}") from None
        try:
            oe.evaluate_saved(saved, params)
        except oe.OperationError as exc:
            raise oe.OperationError(f"{where} : {exc}") from None
        out.append(saved)
    return out
