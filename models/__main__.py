"""``python -m models build [--force]``: compute the national need index into the store."""

from __future__ import annotations

import argparse

from models.build import main


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description="Modèles du diagnostic")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="calcule l'indice de besoin national dans le stock local")
    build.add_argument("--force", action="store_true", help="recalcule même si rien n'a changé")
    args = parser.parse_args(argv)
    return main(force=args.force)


if __name__ == "__main__":
    raise SystemExit(cli())
