"""``python -m geodata build [--force]``: build the reference geography into the store."""

from __future__ import annotations

import argparse
import logging
import time

from geodata.build import build_reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geodata", description="Géographie de référence")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="construit communes, départements, régions, EPCI, passage COG")
    build.add_argument("--force", action="store_true", help="reconstruit même si rien n'a changé")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    results = build_reference(force=args.force)
    for result in results:
        state = "à jour" if result.skipped else "écrit"
        print(f"  {result.dataset:<24} {result.rows:>7} lignes  ({state})")
    print(f"Géographie de référence prête en {time.perf_counter() - start:.1f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
