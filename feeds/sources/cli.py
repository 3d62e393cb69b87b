"""``python main.py import --profile NAME|PATH [--dry-run] [--json] FILE...``

Loads exports into the console's journal (its history) and a store, prints progress on
stderr, and ends with the line ``read N, imported N, rejected N`` (or, with ``--json``,
``{"read": N, "imported": N, "rejected": {"reason": N, ...}}``) on stdout. Exit status:
0 when every file was read, 1 when a file could not be read, 2 for a bad profile.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feeds.sources.profile import ProfileError, load_profile, shipped_profiles


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="main.py import",
        description="Import exports of another system (CSV, XLSX, XLS, JSON, NDJSON) into the "
        "console's history, mapped by a source profile (docs/sources.md).",
    )
    ap.add_argument("--profile", required=True, metavar="NAME|PATH",
                    help=f"a shipped profile ({', '.join(shipped_profiles())}) or a .toml file")  # fmt: skip
    ap.add_argument("--dry-run", action="store_true", help="validate only: nothing is imported")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON")
    ap.add_argument("--journal", metavar="PATH", type=Path,
                    help="the journal to import into (default: the console's)")  # fmt: skip
    ap.add_argument("files", nargs="+", type=Path, metavar="FILE")
    return ap


def _progress(stage: str, done: int, total: int) -> None:
    if not total:
        return
    width = 30
    filled = int(width * done / total)
    end = "\n" if done >= total or not sys.stderr.isatty() else ""
    print(f"\r{stage} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end,
          file=sys.stderr, flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        profile = load_profile(args.profile)
    except ProfileError as err:
        print(f"profile error: {err}", file=sys.stderr)
        return 2
    from commandcenter.journal import Journal
    from commandcenter.settings import state_dir
    from commandcenter.store import Store
    from feeds.journal_codec import journal_codec
    from feeds.sources.importer import import_files

    journal = None
    if not args.dry_run:
        path = args.journal or state_dir() / "journal.sqlite3"
        journal = Journal(path, journal_codec())  # imported history is never pruned
    try:
        result = import_files(profile, args.files, Store(), journal, dry_run=args.dry_run,
                              progress=_progress)  # fmt: skip
    finally:
        if journal is not None:
            journal.close()
    for problem in result.problems:
        print(f"note: {problem}", file=sys.stderr)
    for skipped in result.already_imported:
        print(f"{skipped}: already imported into this journal, skipped", file=sys.stderr)
    for rej in result.rejects_files:
        print(f"rejected rows: {rej}", file=sys.stderr)
    for reason, n in result.rejected.most_common():
        print(f"  {n:>8}  {reason}", file=sys.stderr)
    print(json.dumps(result.as_json(), ensure_ascii=False) if args.json else result.summary())
    return 1 if result.rejected.get("unreadable_file") else 0
