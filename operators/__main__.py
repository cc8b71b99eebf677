"""Command line of the operators' registry.

``python -m operators import FICHIER [--operator NOM] …`` imports a file and ends with the
line ``importés : N, mis à jour : N, rejetés : N, doublons : N`` (plus the rejected-rows file when
there are rejects); ``export`` writes the registry to CSV, XLSX or GeoPackage; ``demo`` imports
the fictional demo offer (``--regenerer`` writes the demo file again from the store);
``comptes`` (or ``accounts``) creates accounts and resets passwords.

Who runs a command: ``--compte LOGIN`` (or ``REGISTRE_COMPTE``), the password read from
``REGISTRE_MOT_DE_PASSE`` or asked without echo. Every write is checked by the repository
against that account. As long as the registry has no administrator account (a fresh
installation: ``make data``), the command line acts as the installation, an administrator
recorded as such in the import log; the first account created must be an administrator.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from geodata import files
from geodata.store import StoreError
from operators import cli_auth
from operators.accounts import (
    ROLES,
    AccessDenied,
    Account,
    Accounts,
    require_admin,
)
from operators.cli_auth import INSTALLATION, secret
from operators.columns import ColumnMappingError
from operators.confidentiality import INTERNAL, PUBLIC
from operators.demo import DEMO_FILE, load_demo, write_demo_file
from operators.exports import export_registry
from operators.importer import AUTO, ImportFileError, ImportResult, import_file
from operators.limits import InputTooLarge
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
    parser.add_argument(
        "--compte", default=os.environ.get("REGISTRE_COMPTE"),
        help="identifiant du compte (mot de passe : REGISTRE_MOT_DE_PASSE, sinon demandé)",
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
    imp.add_argument("--confirmer-levee-confidentialite", dest="confirm", action="store_true",
                     help="confirme qu'un site confidentiel devient public (ou localisé à la "
                          "commune) ; sans elle, un tel import est refusé")
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

    shot = sub.add_parser("instantane", help="prend un instantané daté du registre")
    shot.add_argument("--date", help="date de l'instantané AAAA-MM-JJ (aujourd'hui par défaut)")
    shot.add_argument("--libelle", default="", help="libellé (ex. « bilan annuel »)")

    diff = sub.add_parser("comparer", help="compare l'offre entre deux instantanés datés")
    diff.add_argument("date1")
    diff.add_argument("date2")
    diff.add_argument("--territoire", help="dep:59, reg:32, epci:… (toute la France par défaut)")
    diff.add_argument("--interne", action="store_true",
                      help="usage interne : liste aussi les sites (confidentiels compris)")
    acc = sub.add_parser("comptes", aliases=["accounts"], help="comptes et mots de passe")
    acc_sub = acc.add_subparsers(dest="action", required=True)
    add = acc_sub.add_parser("ajouter", aliases=["add"], help="crée un compte")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=[r for r in ROLES if r != "public"])
    add.add_argument("--nom", default="", help="nom affiché")
    add.add_argument("--email", help="adresse vérifiée par le fournisseur OpenID Connect")
    add.add_argument("--operateur", "--operator", dest="operator",
                     help="opérateur du compte (rôle operateur)")
    add.add_argument("--reseau", "--network", dest="network", help="réseau (rôle delegue)")
    reset = acc_sub.add_parser("mot-de-passe", aliases=["reset-password"],
                               help="change le mot de passe d'un compte")
    reset.add_argument("login")
    acc_sub.add_parser("liste", aliases=["list"], help="liste les comptes")
    off = acc_sub.add_parser("desactiver", aliases=["disable"], help="désactive un compte")
    off.add_argument("login")
    return parser


def cli_actor(args, registry: Registry) -> Account:
    """The account running the command (see the module docstring)."""
    return cli_auth.cli_actor(args.compte, registry)


def run_accounts(args, registry: Registry, actor: Account) -> None:
    accounts = Accounts(registry)
    action = {"add": "ajouter", "reset-password": "mot-de-passe", "list": "liste",
              "disable": "desactiver"}.get(args.action, args.action)
    if action == "ajouter":
        password = secret("REGISTRE_NOUVEAU_MOT_DE_PASSE", f"Mot de passe de {args.login} : ")
        made = accounts.add(None if actor is INSTALLATION else actor, args.login, args.role,
                            password, name=args.nom, email=args.email, operator=args.operator,
                            network=args.network)
        print(f"compte créé : {made.describe_fr()}")
    elif action == "mot-de-passe":
        password = secret("REGISTRE_NOUVEAU_MOT_DE_PASSE", f"Nouveau mot de passe de {args.login} : ")
        accounts.set_password(actor, args.login, password)
        print(f"mot de passe changé : {args.login}")
    elif action == "liste":
        print(accounts_table(accounts.listing(actor)))
    else:
        accounts.deactivate(actor, args.login)
        print(f"compte désactivé : {args.login}")


ACCOUNT_COLUMNS = {"login": "Identifiant", "name": "Nom", "email": "Courriel", "role": "Rôle",
                   "operator_name": "Opérateur", "network": "Réseau", "active": "Actif",
                   "created_at": "Créé le", "updated_at": "Modifié le"}


def accounts_table(listing) -> str:
    """The accounts as a French table for the terminal (« Aucun compte. » when there is none)."""
    if listing.empty:
        return "Aucun compte."
    from operators.accounts import ROLES

    shown = listing.rename(columns=ACCOUNT_COLUMNS).copy()
    shown["Rôle"] = listing["role"].map(ROLES).fillna(listing["role"])
    shown["Actif"] = listing["active"].map(lambda v: "oui" if bool(v) else "non")
    for column in ("Créé le", "Modifié le"):
        shown[column] = [_french_datetime(v) for v in shown[column]]
    shown = shown.astype(object).where(shown.notna(), "—").replace("", "—")
    return shown.to_string(index=False)


def _french_datetime(value) -> str:
    import pandas as pd

    stamp = pd.to_datetime(value, errors="coerce", utc=True)
    return "—" if pd.isna(stamp) else stamp.strftime("%d/%m/%Y %H:%M")


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
        actor = cli_actor(args, registry)
        if actor is INSTALLATION and args.command != "comptes" and args.command != "accounts":
            print("Aucun compte administrateur : commande exécutée comme installation locale "
                  "(créez un administrateur : python -m operators comptes ajouter …).",
                  file=sys.stderr)
        if args.command in ("comptes", "accounts"):
            run_accounts(args, registry, actor)
        elif args.command == "import":
            if not args.fichier.is_file():
                raise ImportFileError(f"Fichier introuvable : {args.fichier}")
            result = import_file(
                args.fichier, registry, operator=args.operator, network=args.network,
                siren=args.siren, fictional=args.fictif, mapping=parse_mapping(args.colonne),
                sheet=args.feuille, geocoder=None if args.sans_geocodage else AUTO,
                actor=actor, confirm_disclosure=args.confirm, rejects_dir=args.rejets,
            )
            print_result(result)
        elif args.command == "export":
            from geodata.store import Store

            if args.audience == INTERNAL:
                require_admin(actor, "Export interne (tous les sites, confidentiels compris)")
            rep_points = Store().read("communes", columns=["code", "rep_lon", "rep_lat"])
            paths = export_registry(registry, args.fichier, args.audience, rep_points)
            for path in paths:
                print(f"export {args.audience} écrit : {path}")
        elif args.command in ("instantane", "comparer"):
            from operators.snapshot_cli import run_snapshot_command

            if args.command == "comparer" and args.interne:
                require_admin(actor, "Comparaison interne (sites confidentiels compris)")
            run_snapshot_command(args, registry, actor)
        else:
            if args.regenerer:
                print(f"fichier de démonstration écrit : {write_demo_file()}")
            if not args.sans_import:
                print(f"Import de l'offre de démonstration FICTIVE ({DEMO_FILE.name}) dans le "
                      f"{registry.describe_fr()}")
                result = load_demo(registry, actor, rejects_dir=args.rejets)
                print_result(result)
    except (ImportFileError, RegistryError, ColumnMappingError, StoreError, ValueError, OSError,
            AccessDenied, InputTooLarge) as error:
        message = files.os_error_fr(error) if isinstance(error, OSError) else error
        print(f"Erreur : {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
