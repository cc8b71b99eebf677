"""``python -m models build [--force]``: compute the national need index into the store.
``python -m models operation KIND --commune CODE …``: economic model of one operation
(:mod:`models.operation_cli`)."""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(cli())
