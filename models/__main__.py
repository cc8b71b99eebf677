"""``python -m models build [--force]``: compute the national need index into the store.
``python -m models operation KIND --commune CODE …``: economic model of one operation
(:mod:`models.operation_cli`).

``python -m models programme TERRITOIRE [--horizon N] [--famille famille=type:taille …]
[--set nom=valeur …] [--json]``: the production programme that would close the territory's
missing places, and its cost (``models.programme``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from geodata.store import StoreError
from models.results import ResultsUnavailable, build_need_index


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description="Modèles du diagnostic")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="calcule l'indice de besoin national dans le stock local")
    build.add_argument("--force", action="store_true", help="recalcule même si rien n'a changé")
    from models import operation_cli

    operation_cli.add_parser(sub)
    add_programme_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "programme":
        return programme_command(args)
    if getattr(args, "handler", None) is not None:
        return args.handler(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        outcome = build_need_index(force=args.force)
    except (ResultsUnavailable, StoreError) as exc:  # a missing or damaged input: say which
        print(f"Indice de besoin non calculé : {exc}", file=sys.stderr)
        return 1
    state = "à jour" if outcome.skipped else f"calculé en {outcome.seconds:.1f} s"
    print(f"  {outcome.dataset:<24} {outcome.rows:>7} lignes  ({state})")
    return 0


# -- programme ---------------------------------------------------------------------------------
def add_programme_parser(sub: argparse._SubParsersAction) -> None:
    prog = sub.add_parser(
        "programme", help="programme de production qui comblerait les places manquantes, et son coût")
    prog.add_argument("territoire", help="dep:23, com:23096, epci:…, reg:75, une liste, ou france")
    prog.add_argument("--horizon", type=int, default=None, help="horizon en années (défaut : 6)")
    prog.add_argument("--famille", action="append", default=[], metavar="FAMILLE=TYPE:TAILLE",
                      help="type et taille d'opération d'une famille, par exemple "
                           "pension_de_famille=pension_famille_acquisition:20 (ou =aucun)")
    prog.add_argument("--set", action="append", default=[], metavar="NOM=VALEUR",
                      help="paramètre du modèle économique, par exemple "
                           "forfait_pension_famille_jour=21")
    prog.add_argument("--json", action="store_true", help="sortie JSON (clés en français)")
    prog.add_argument("--operations", action="store_true",
                      help="détail des opérations aussi pour la France")


def _overrides(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value.replace(",", "."))
        except ValueError:
            raise ValueError(f"--set « {pair} » : la forme nom=valeur (nombre) est attendue.") from None
    return out


def programme_command(args: argparse.Namespace) -> int:
    """The ``programme`` subcommand (French errors, never a traceback)."""
    from geodata.territory import TerritoryError
    from models import programme as pg
    from models import programme_costs as pc
    from models import programme_run as run

    try:
        options = pg.load_options(horizon=args.horizon, mix=args.famille,
                                  overrides=_overrides(args.set))
        result = run.run(args.territoire, options=options)
        summary = run.summary_fr(result, args.territoire,
                                 with_operations=True if args.operations else None)
    except (ValueError, TerritoryError, pg.ProgrammeError, pc.ProgrammeCostError,
            ResultsUnavailable, StoreError, OSError) as exc:
        print(f"Programme non calculé : {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        print(programme_text(summary))
    return 0


def programme_text(summary: dict) -> str:
    """A short French reading of the summary (without ``--json``)."""
    def euros(value: float) -> str:
        return f"{value:,.0f}".replace(",", "\u202f") + " €"

    def places(value: float) -> str:
        return f"{value:g}".replace(".", ",")

    fictif = " [FICTIF]" if summary["FICTIF"] else ""
    lines = [f"Programme — {summary['territoire']} — horizon {summary['horizon_annees']} ans{fictif}"]
    if summary.get("avertissement"):
        lines.append(summary["avertissement"])
    for family in summary["familles"]:
        missing = family["places_manquantes"]
        lines.append(
            f"  {family['famille']} : {places(missing['centrale'])} places manquantes{fictif} "
            f"({places(missing['basse'])} à {places(missing['haute'])}) ; "
            f"{family['nombre_operations']} opération(s) « {family['type_operation']} », "
            f"{places(family['places_programmees']['centrale'])} places ; investissement "
            f"{euros(family['investissement']['centrale'])}{fictif}")
    invest = summary["investissement"]
    lines.append(f"Investissement : {euros(invest['centrale'])} ({euros(invest['basse'])} à "
                 f"{euros(invest['haute'])}){fictif}")
    for funder, value in summary["subventions"].items():
        lines.append(f"  subventions {funder} : {euros(value['centrale'])}{fictif}")
    running = summary["fonctionnement_annuel_en_regime"]["total"]
    lines.append(f"Fonctionnement annuel en régime : {euros(running['centrale'])}{fictif}")
    lines.extend(f"Note : {n}" for n in summary["notes"])
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(cli())
