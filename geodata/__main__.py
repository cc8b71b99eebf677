"""``python -m geodata build [--force] [--etalab-cog FILE]``: build the reference geography into
the store from the files handed to it (``make data`` has the connectors obtain them first).

``python -m geodata sceller``: record the sha256 of every stored file built before digests
were recorded (``geodata.store.Store.seal``), so that reads check it from then on; ``make
data`` runs it last."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from geodata.build import build_reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geodata", description="Géographie de référence")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="construit communes, départements, régions, EPCI, passage COG")
    build.add_argument("--force", action="store_true", help="reconstruit même si rien n'a changé")
    build.add_argument("--etalab-cog", metavar="FICHIER", default="",
                       help="communes.json d'Etalab (anciens codes) ; par défaut celui du dossier local")
    sub.add_parser("sceller", help="inscrit l'empreinte sha256 des fichiers du stock qui n'en "
                   "ont pas encore dans leur manifeste")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "sceller":
        return seal_store()
    start = time.perf_counter()
    etalab = Path(args.etalab_cog) if args.etalab_cog else None
    if etalab is not None and not etalab.is_file():
        print(f"Erreur : le fichier {etalab} n'existe pas.")
        return 2
    results = build_reference(force=args.force, etalab_file=etalab)
    for result in results:
        state = "à jour" if result.skipped else "écrit"
        print(f"  {result.dataset:<24} {result.rows:>7} lignes  ({state})")
    print(f"Géographie de référence prête en {time.perf_counter() - start:.1f} s.")
    return 0


def seal_store() -> int:
    """Seal the datasets without a digest; a damaged one is named, not sealed."""
    from geodata.store import CorruptDataset, Store

    store, sealed, damaged = Store(), 0, []
    for dataset in store.datasets():
        if store._recorded_sha256(dataset):
            continue
        try:
            store.seal(dataset)
            sealed += 1
        except CorruptDataset as error:
            damaged.append(str(error))
    print(f"Empreintes inscrites : {sealed} fichier(s) du stock {store.root}.")
    for message in damaged:
        print(f"Erreur : {message}")
    return 1 if damaged else 0


if __name__ == "__main__":
    raise SystemExit(main())
