"""Command line of the reports.

``python -m diagnostics report dep:59 --format pdf --out rapport_nord.pdf``
``python -m diagnostics report dep:59 dep:23 --format pdf,xlsx --out rapports/``
``python -m diagnostics report --liste territoires.txt --format html --out rapports/``

Several territories, or several formats, are written into the folder given by ``--out``
(``diagnostic_<territoire>.<format>``). A progress bar follows each territory; the command ends
with one line per file written, and exits with 1 if any territory failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from diagnostics.produce import FORMATS, FormatError, check_formats, produce
from geodata import files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m diagnostics",
        description="Rapports de diagnostic territorial du logement d'insertion et exports de données",
        add_help=False,
    )
    _french(parser)
    sub = parser.add_subparsers(dest="command", required=True, title="commandes")
    rep = sub.add_parser("report", help="produit le rapport et les exports d'un ou plusieurs territoires",
                         add_help=False)
    _french(rep)
    rep.add_argument("territoires", nargs="*",
                     help="territoire(s) : dep:59, epci:245900410, com:59350, voisins:59350 "
                     "(« dep:59,dep:62 » forme un seul territoire)")
    rep.add_argument("--liste", type=Path, help="fichier texte : un territoire par ligne (# commentaire)")
    rep.add_argument("--format", "-f", action="append", default=None,
                     help=f"format(s) : {', '.join(FORMATS)} (répétable ou séparés par des virgules ; "
                     "pdf par défaut)")
    rep.add_argument("--out", "-o", type=Path,
                     help="fichier de sortie (un territoire, un format) ou dossier (sinon)")
    rep.add_argument("--registre", help="URL de la base du registre (par défaut DATABASE_URL ou "
                     "data/registre.gpkg)")
    rep.add_argument("--sans-registre", action="store_true", help="ne pas lire le registre des opérateurs")
    rep.add_argument("--sans-modeles", action="store_true",
                     help="ne pas calculer les modèles de besoin et d'écart (rapport partiel, plus rapide)")
    rep.add_argument("--sans-barre", action="store_true", help="sans barre de progression")
    rep.add_argument("--operations", type=Path,
                     help="fichier YAML d'opérations étudiées (section « Modèle économique » ; "
                     "format : models/operation_file.py)")
    return parser


def _french(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-h", "--help", action="help", help="affiche cette aide et quitte")
    parser._positionals.title = "arguments"
    parser._optionals.title = "options"


def read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"Liste de territoires introuvable : {path}")
    specs = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            specs.append(text)
    return specs


def _return_freed_memory() -> None:
    """Give freed memory back to the system in this short-lived process (lower peak).

    pyarrow's default pool (mimalloc) keeps the memory of every national table read and
    dropped (about 80 MB for a département's report): Parquet is read with the system
    allocator instead. glibc's malloc then raises its mmap threshold after the first large
    frees and keeps later large blocks in its heap; a fixed 128 KiB threshold (glibc's
    initial value) returns them on free (about 25 MB less at the peak of a dep:23 report).
    Same data, same speed within noise; the second step is skipped where there is no glibc.
    """
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -4  # <malloc.h>
    mallopt(m_mmap_threshold, 128 * 1024)
    mallopt(m_trim_threshold, 128 * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    _return_freed_memory()
    try:
        specs = list(args.territoires) + (read_list(args.liste) if args.liste else [])
        formats = check_formats(args.format or ["pdf"])
    except (FormatError, FileNotFoundError) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 2
    if not specs:
        print("Erreur : indiquez au moins un territoire (ex. dep:59) ou --liste FICHIER.", file=sys.stderr)
        return 2
    several = len(specs) > 1 or len(formats) > 1
    out = args.out or Path(".")
    if several and out.exists() and not out.is_dir():
        print(f"Erreur : {out} doit être un dossier pour plusieurs territoires ou formats.",
              file=sys.stderr)
        return 2
    if several or args.out is None:
        out.mkdir(parents=True, exist_ok=True)

    import tqdm as tqdm_module
    from tqdm import tqdm

    from geodata.territory import TerritoryError

    # No monitor thread: a report's steps run in forked children only from a single-threaded
    # process (models.forked), and the bars are updated at each step anyway.
    tqdm_module.tqdm.monitor_interval = 0

    failures = 0
    options = {"use_registry": not args.sans_registre, "registry_url": args.registre,
               "use_models": not args.sans_modeles}
    if args.operations:
        from models.operation_economics import OperationError, load_parameters
        from models.operation_file import read_operations_file

        try:
            options["operations"] = read_operations_file(args.operations, load_parameters())
        except OperationError as error:
            print(f"Erreur : {error}", file=sys.stderr)
            return 2
    total = 8 + 1 + 1 + len(formats)  # gather's steps, assembly, maps, one per format
    for spec in specs:
        bar = tqdm(total=total, desc=spec, unit="étape", disable=args.sans_barre, leave=False,
                   file=sys.stderr)

        def step(label: str, _bar=bar) -> None:
            _bar.set_postfix_str(label)
            _bar.update(1)

        try:
            produced = produce(spec, formats, out, out_is_dir=several or args.out is None or out.is_dir(),
                               progress=step, **options)
        except (TerritoryError, FormatError, OSError, RuntimeError, ValueError) as error:
            bar.close()
            failures += 1
            message = files.os_error_fr(error) if isinstance(error, OSError) else error
            print(f"Erreur pour « {spec} » : {message}", file=sys.stderr)
            continue
        bar.close()
        for paths in produced.files.values():
            for path in paths:
                print(f"écrit : {path}")
        missing = produced.diagnostic.missing
        if missing:
            print("  données non disponibles (détail dans « Méthode et sources ») : "
                  + ", ".join(missing))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
