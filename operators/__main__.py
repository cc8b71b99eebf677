"""Command line of the operators' registry.

``python -m operators import FICHIER [--operator NOM] …`` imports a file and ends with the
line ``importés: N, mis à jour: N, rejetés: N, doublons: N`` (plus the rejected-rows file when
there are rejects); ``export`` writes the registry to CSV, XLSX or GeoPackage; ``demo`` imports
the fictional demo offer (``--regenerer`` writes the demo file again from the store).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from geodata import files
from geodata.store import StoreError
from operators.columns import ColumnMappingError
from operators.confidentiality import INTERNAL, PUBLIC
from operators.demo import DEMO_FILE, write_demo_file
from operators.exports import export_registry
from operators.importer import AUTO, ImportFileError, ImportResult, import_file
from operators.repository import Registry, RegistryError

MAX_REASONS_SHOWN = 15


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m operators",
        description="Registre de l'offre des opérateurs : import, export, démonstration",
    )
    parser.add_argument(
        "--base", help="URL de la base ou chemin d'un fichier .gpkg (par défaut DATABASE_URL, "
        "sinon data/registre.gpkg)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="importe un fichier CSV, XLSX ou GeoJSON")
    imp.add_argument("fichier", type=Path)
    imp.add_argument("--operator", "--operateur", dest="operator",
                     help="opérateur des lignes sans colonne « opérateur »")
    imp.add_argument("--network", "--reseau", dest="network", help="réseau (FAPIL, SOLIHA, UNAFO…)")
    imp.add_argument("--siren", help="SIREN de l'opérateur")
    imp.add_argument("--colonne", action="append", default=[], metavar="\"COLONNE=champ\"",
                     help="correspondance explicite d'une colonne (répétable)")
    imp.add_argument("--feuille", help="feuille du classeur XLSX à lire")
    imp.add_argument("--sans-geocodage", action="store_true",
                     help="ne pas interroger la BAN (points des communes)")
    imp.add_argument("--fictif", action="store_true", help="marque tous les sites comme fictifs")
    imp.add_argument("--utilisateur", help="nom inscrit au journal des imports")
    imp.add_argument("--rejets", type=Path, help="dossier du fichier des lignes rejetées")

    exp = sub.add_parser("export", help="exporte le registre (.csv, .xlsx ou .gpkg)")
    exp.add_argument("fichier", type=Path)
    audience = exp.add_mutually_exclusive_group()
    audience.add_argument("--public", dest="audience", action="store_const", const=PUBLIC,
                          help="diffusion large : sites confidentiels exclus (par défaut)")
    audience.add_argument("--interne", dest="audience", action="store_const", const=INTERNAL,
                          help="usage interne au réseau : tous les sites")
    exp.set_defaults(audience=PUBLIC)

    demo = sub.add_parser("demo", help="importe l'offre de démonstration FICTIVE")
    demo.add_argument("--regenerer", action="store_true",
                      help="réécrit le fichier de démonstration depuis la géographie de référence")
    demo.add_argument("--sans-import", action="store_true", help="n'importe pas le fichier")
    demo.add_argument("--rejets", type=Path, help="dossier du fichier des lignes rejetées")
    return parser


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        if "=" not in item:
            raise ColumnMappingError(
                f"Correspondance « {item} » illisible : écrivez \"Nom de colonne=champ\"."
            )
        column, field = item.rsplit("=", 1)
        mapping[column.strip()] = field.strip()
    return mapping


def print_result(result: ImportResult) -> None:
    for message in result.messages:
        print(message)
    rejected = result.outcomes[result.outcomes["issue"] == "rejeté"]
    for reason in rejected["detail"].head(MAX_REASONS_SHOWN):
        print(f"  rejet — {reason}")
    if len(rejected) > MAX_REASONS_SHOWN:
        print(f"  … et {len(rejected) - MAX_REASONS_SHOWN} autres rejets (voir le fichier)")
    print(result.summary_line())
    if result.rejects_path:
        print(f"lignes rejetées : {result.rejects_path}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        # A plain file path is a SQLite/GeoPackage file (an URL has a scheme).
        base = Path(args.base) if args.base and "://" not in args.base else args.base
        registry = Registry(base)
        if args.command == "import":
            if not args.fichier.is_file():
                raise ImportFileError(f"Fichier introuvable : {args.fichier}")
            result = import_file(
                args.fichier, registry, operator=args.operator, network=args.network,
                siren=args.siren, fictional=args.fictif, mapping=parse_mapping(args.colonne),
                sheet=args.feuille, geocoder=None if args.sans_geocodage else AUTO,
                user=args.utilisateur, rejects_dir=args.rejets,
            )
            print_result(result)
        elif args.command == "export":
            from geodata.store import Store

            rep_points = Store().read("communes", columns=["code", "rep_lon", "rep_lat"])
            paths = export_registry(registry, args.fichier, args.audience, rep_points)
            for path in paths:
                print(f"export {args.audience} écrit : {path}")
        else:
            if args.regenerer:
                print(f"fichier de démonstration écrit : {write_demo_file()}")
            if not args.sans_import:
                print(f"Import de l'offre de démonstration FICTIVE ({DEMO_FILE.name}) dans le "
                      f"{registry.describe_fr()}")
                result = import_file(DEMO_FILE, registry, fictional=True, geocoder=None,
                                     user="démonstration", rejects_dir=args.rejets)
                print_result(result)
    except (ImportFileError, RegistryError, ColumnMappingError, StoreError, ValueError,
            OSError) as error:
        message = files.os_error_fr(error) if isinstance(error, OSError) else error
        print(f"Erreur : {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
