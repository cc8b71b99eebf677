"""``python -m models operation KIND --commune CODE [--set name=value …] [--date AAAA-MM-JJ] [--json]``

Prints both accounts of an operation (the owner's « propriétaire » with its investment plan, the
manager's « gestionnaire »), the places, the verdict, the break-even values, the households' aid
(OpenFisca-France) and every parameter used with its value, unit, « validite », « source » and
status. Errors are French sentences on stderr (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from models import operation_economics as oe


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``operation`` subcommand (its own module: other subcommands merge beside it)."""
    parser = sub.add_parser(
        "operation", help="modèle économique d'une opération (propriétaire et gestionnaire)"
    )
    parser.add_argument("kind", metavar="TYPE", help="type d'opération (ex. pension_famille_neuf)")
    parser.add_argument("--commune", required=True, help="code commune INSEE (ex. 23096)")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="nom=valeur",
        help="remplace un paramètre (répétable)",
    )
    parser.add_argument("--date", default=None, help="date de l'opération, AAAA-MM-JJ (défaut : aujourd'hui)")
    parser.add_argument("--json", action="store_true", help="sortie JSON (clés françaises)")
    parser.set_defaults(handler=run)


def parse_sets(items: list[str]) -> dict[str, float]:
    overrides: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise oe.OperationError(f"--set « {item} » : la forme nom=valeur est attendue.")
        try:
            value = float(raw.strip().replace(",", "."))
        except ValueError:
            raise oe.OperationError(f"--set {name} : « {raw} » n'est pas un nombre.") from None
        overrides[name] = value
    return overrides


def run(args: argparse.Namespace) -> int:
    try:
        params = oe.load_parameters()
        overrides = parse_sets(args.sets)
        if args.kind in params.kinds:
            known = set(oe.kind_inputs(args.kind)) | {"taux_pret", "apl_plafond"}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise oe.OperationError(
                    f"Paramètre(s) inconnu(s) pour « {args.kind} » : {', '.join(unknown)}."
                )
        result = oe.run_operation(args.kind, args.commune, overrides=overrides, day=args.date, params=params)
    except oe.OperationError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    document = result.to_json()
    if args.json:
        with contextlib.suppress(BrokenPipeError):  # output piped to a pager that closed early
            print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{document['libelle']} — {document['commune']['nom']} ({document['commune']['code']}), "
        f"{document['date']}, zone APL {document['commune']['zone_apl']}"
    )
    print(f"{document['logements']:.0f} logements, {document['places']:.1f} places")
    for key in ("propriétaire", "gestionnaire"):
        account = document[key]
        print(f"\nCompte du {key} :")
        for line in account["produits"] + account["charges"]:
            print(f"  {line['poste']:<72} {_amount(line['montant']):>14}")
        print(f"  {'Résultat':<72} {_amount(account['resultat']):>14}")
    print("\n" + document["verdict"]["texte"])
    for note in document["controles"]:
        print(f"- {note}")
    return 0


def _amount(value: float) -> str:
    return f"{value:,.0f} €".replace(",", "\u202f")
