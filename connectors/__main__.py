"""Command line of the connectors: ``python -m connectors list | refresh | fetch``.

``list`` shows every source (id, title, vintage, offline availability, stored rows and build
date); ``refresh`` builds the stored datasets, from a local folder of official files
(``--from-dir``, or ``DIAG_SOURCE_DIR``) or by download, and prints a summary table. The exit
code is 1 when a source built before fails (its previous dataset is kept) or when every
requested source failed, else 0. ``fetch ID`` obtains one catalogued file (local folder, cache or
download) and prints its local path, so that another floor can be handed it (``make data`` hands
Etalab's communes.json to ``python -m geodata build``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import settings
from connectors.builders import UnknownSource, source_ids
from connectors.refresh import exit_code, format_table, refresh, summary_table
from geodata.store import Store, StoreError


def list_rows(store: Store, catalogue: dict) -> list[tuple[str, ...]]:
    """One row per registered source: id, title, vintage, offline, stored rows, build date."""
    rows = []
    for source_id in source_ids():
        entry = catalogue.get(source_id)
        manifest = store.manifest(source_id)
        rows.append((
            source_id,
            _cut(entry.title if entry else "(absente du catalogue)", 58),
            _cut(entry.vintage if entry else "", 40),
            ("oui" if entry.available_offline else "non") if entry else "—",
            f"{manifest.rows:,}".replace(",", " ") if manifest else "—",
            manifest.built_at[:10] if manifest else "non construit",
        ))
    return rows


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def command_list(args: argparse.Namespace) -> int:
    from catalogues.sources import load_sources

    store = Store()
    headers = ("source", "titre", "millésime", "hors ligne", "lignes", "construit le")
    print(format_table(headers, list_rows(store, load_sources())))
    print(f"\nStock local : {store.root}")
    return 0


def command_refresh(args: argparse.Namespace) -> int:
    from_dir = Path(args.from_dir).expanduser().resolve() if args.from_dir else None
    if from_dir is not None and not from_dir.is_dir():
        print(f"Erreur : le dossier {from_dir} n'existe pas.", file=sys.stderr)
        return 2
    try:
        results = refresh(args.source or None, from_dir or settings.source_dir(),
                          force=args.force, progress=not args.quiet,
                          accept_fewer_rows=args.accept_fewer_rows)
    except UnknownSource as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    print(summary_table(results))
    return exit_code(results)


def command_fetch(args: argparse.Namespace) -> int:
    from catalogues.sources import CatalogueError
    from connectors.transport import SourceUnavailable, obtain

    from_dir = Path(args.from_dir).expanduser().resolve() if args.from_dir else settings.source_dir()
    try:
        obtained = obtain(args.id, from_dir=from_dir)
    except (SourceUnavailable, CatalogueError, OSError, RuntimeError) as exc:
        print(f"Source « {args.id} » non obtenue : {exc}", file=sys.stderr)
        return 1
    print(obtained.path)
    return 0


def command_policies(args: argparse.Namespace) -> int:
    from connectors import policies

    files = [Path(f).expanduser() for f in args.fichier]
    for path in files:
        if not path.is_file():
            print(f"Erreur : le fichier {path} n'existe pas.", file=sys.stderr)
            return 2
    try:
        result = policies.build_policy_layer(Store(), [*policies.PROJECT_FILES, *files])
    except (policies.PolicyFileError, StoreError, OSError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    print(f"Cadre des politiques publiques : {len(result.rows)} ligne(s) acceptée(s), "
          f"{result.rejects[['fichier', 'ligne']].drop_duplicates().shape[0]} refusée(s) "
          f"(fichiers : {', '.join(result.files)}).")
    for message in result.messages():
        print(f"  refusée — {message}")
    return 1 if len(result.rejects) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connectors",
        description="Sources de données du diagnostic : liste et mise à jour du stock local.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    commands = parser.add_subparsers(dest="command", required=True, metavar="commande")
    listing = commands.add_parser("list", help="liste des sources et état du stock local")
    listing.set_defaults(func=command_list)
    update = commands.add_parser("refresh", help="construit ou met à jour les jeux de données")
    update.add_argument(
        "--source", action="append", metavar="NOM",
        help=f"source à construire (répétable) ; toutes par défaut. Sources : "
        f"{', '.join(source_ids())}",
    )
    update.add_argument(
        "--from-dir", metavar="DOSSIER",
        help="dossier local des fichiers officiels (sinon DIAG_SOURCE_DIR, sinon téléchargement)",
    )
    update.add_argument("--force", action="store_true",
                        help="reconstruit même si les fichiers n'ont pas changé")
    update.add_argument("--accept-fewer-rows", action="store_true",
                        help="accepte un fichier plus court que celui de la construction "
                        "précédente (les minimums du catalogue restent vérifiés)")
    update.add_argument("--quiet", action="store_true", help="sans barre de progression")
    update.set_defaults(func=command_refresh)
    fetch = commands.add_parser("fetch", help="obtient un fichier du catalogue et affiche son chemin local")
    fetch.add_argument("id", metavar="ID", help="identifiant du catalogue (ex. etalab_cog)")
    fetch.add_argument("--from-dir", metavar="DOSSIER",
                       help="dossier local des fichiers officiels (sinon DIAG_SOURCE_DIR, "
                       "sinon téléchargement)")
    fetch.set_defaults(func=command_fetch)
    frame = commands.add_parser(
        "politiques", help="importe le cadre des politiques publiques (Logement d'abord, "
        "délégataires, PLH, PDALHPD) : fichiers du projet ou d'un réseau")
    frame.add_argument("--fichier", action="append", default=[], metavar="CSV",
                       help="fichier d'un réseau au format de catalogues/politiques/"
                       "modele_cadre_politiques.csv (répétable), importé en plus des fichiers "
                       "du projet ; une ligne vérifiée l'emporte sur une ligne « à compléter »")
    frame.set_defaults(func=command_policies)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s : %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
