"""Mutation testing of the core, one module at a time: `make mutate [MODULES="sla queue"]`.

Why per module: a mutant of ``sla.py`` only has to face the tests that pin the SLA rules,
and a run over the whole suite would take hours on a shared machine. Each module gets its
own staging folder (build/mutate/<module>/) holding links to the checkout and a copy of
pyproject.toml with a ``[tool.mutmut]`` section naming that one module and its test files;
mutmut writes its mutated copies under the staging folder, never into the checkout.

At the end a table says, per module, how many mutants were killed and which survived.
Survivors that are equivalent (no test can tell them apart) are listed, with the reason,
in docs/testing.md; every other survivor is a missing test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / "build" / "mutate"

# module -> the test files that pin it. Core tests only (no Qt); a few start a loopback
# server (the outbox's sender). Slow end-to-end files (child servers, the whole app) are
# left out: mutmut runs, per mutant, only the tests that reached the mutated function,
# and those files would reach everything.
MODULES: dict[str, list[str]] = {
    "sla": ["tests/test_sla.py", "tests/test_sla_oracle.py"],
    "lifecycle": ["tests/test_lifecycle.py", "tests/test_lifecycle_oracle.py"],
    "actions": [
        "tests/test_outbox.py",
        "tests/test_audit.py",
        # the salvage of a damaged outbox; the file's other tests start the whole app
        "tests/test_corrupt_state.py::test_a_damaged_outbox_is_kept_aside_and_its_readable_actions_queued_again",
        "tests/test_corrupt_state.py::test_actions_on_destroyed_pages_are_queued_again_from_the_audit_log",
        "tests/test_corrupt_state.py::test_a_random_file_gives_a_fresh_outbox_and_a_report",
    ],
    "store": [
        "tests/test_store.py",
        "tests/test_sla_oracle.py",
        # bulk loads of imported cases into the store
        "tests/test_sources_import.py::test_imported_months_outlive_the_live_window_and_time_travel_reaches_them",
        "tests/test_sources_import.py::test_each_bad_row_is_rejected_with_its_reason_while_the_rest_imports",
    ],
    "queue": ["tests/test_queue.py"],
    "dispatch": ["tests/test_dispatch.py"],
    "privacy": ["tests/test_privacy.py"],
    "journal": [
        "tests/test_journal.py",
        "tests/test_timetravel.py",
        # imported history in the journal (the file's other tests drive dialogs or the app)
        "tests/test_sources_import.py::test_imported_months_outlive_the_live_window_and_time_travel_reaches_them",
        "tests/test_sources_import.py::test_a_masking_journal_keeps_no_personal_data_of_an_import",
    ],
    "metrics": ["tests/test_metrics.py"],
}


# Tests left out of a module's run: a verdict on time, not on behaviour (a mutant that
# only slows the code down "fails" it by the machine's load, and it costs seconds a run),
# and Qt tests (a QApplication in the process mutmut forks its mutants from).
DESELECT: dict[str, list[str]] = {
    "queue": ["tests/test_queue.py::test_100k_rows_sort_and_filter_within_50_ms"],
    "journal": [
        "tests/test_journal.py::test_burst_far_above_the_frame_rate_drops_nothing",
        "tests/test_timetravel.py::test_time_slider_drives_the_controller_and_cleans_up",
    ],
}


# A module is a file commandcenter/<name>.py or a package commandcenter/<name>/.
def source_of(module: str) -> str:
    """The only_mutate pattern of a module: its file, or every file of its package."""
    if (ROOT / "commandcenter" / module).is_dir():
        return f"commandcenter/{module}/*"
    return f"commandcenter/{module}.py"


# What the tests need beside the module under test; linked, not copied.
LINKED = ["feeds", "widgets", "layouts", "resources", "bench", "main.py"]


def stage(module: str, tests: list[str]) -> Path:
    where = STAGE / module
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for name in [*LINKED, "commandcenter", "tests"]:
        if (ROOT / name).exists():
            (where / name).symlink_to(ROOT / name)
    tests = [t for t in tests if (ROOT / t.partition("::")[0]).exists()]
    conf = {
        "source_paths": ["commandcenter"],
        "only_mutate": [source_of(module)],
        "also_copy": LINKED,
        "pytest_add_cli_args": ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"]
        + [f"--deselect={t}" for t in DESELECT.get(module, [])],
        "pytest_add_cli_args_test_selection": tests,
    }
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text += "\n[tool.mutmut]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in conf.items())
    (where / "pyproject.toml").write_text(text, encoding="utf-8")
    return where


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"'


def run(module: str, children: int, names: list[str], again: bool, minutes: float = 0) -> dict:
    """Run mutmut over one module. ``names`` (mutant names or globs) restricts the run;
    ``again`` keeps the last run's staging folder and its verdicts and runs only its
    survivors (and what a stopped run did not reach), so tests added since face just the mutants they are meant to kill (mutmut
    collects coverage for the new tests and keeps every other verdict). ``minutes`` stops
    the run after that long (0: no limit): a partial run, reported as such."""
    where = STAGE / module
    if again:
        if not (where / "mutants").is_dir():
            raise SystemExit(f"{module}: no earlier run under {where}; run without --again")
        last = tally(where)
        names = [n.split(" ")[0] for n in [*last["survivors"], *last["unrun"]]]
        if not names:
            return tally(where)
    else:
        where = stage(module, MODULES[module])
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    log = where / "run.log"
    with log.open("a" if again else "w") as out:
        proc = subprocess.Popen(
            [mutmut, "run", "--max-children", str(children), *names],
            cwd=where,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers
        )
        try:
            proc.wait(timeout=minutes * 60 if minutes else None)
        except subprocess.TimeoutExpired:
            # mutmut saves each verdict as it comes; stopping it (and the mutant it is
            # running) keeps them, the rest count as "not run" and stay out of the score.
            # SIGTERM, not Ctrl-C: a job started in the background ignores SIGINT.
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    return tally(where)


def tally(where: Path) -> dict[str, int | list[str]]:
    """Count outcomes from mutmut's own result files (mutants/**/*.meta), read with
    mutmut's own exit-code table."""
    import json

    from mutmut.stats import status_by_exit_code

    counts = {"killed": 0, "survived": 0, "timeout": 0, "no tests": 0, "other": 0, "not run": 0}
    survivors: list[str] = []
    unrun: list[str] = []
    for meta in (where / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text())
        for name, code in data.get("exit_code_by_key", {}).items():
            status = status_by_exit_code[code]
            if status in ("killed", "caught by type check"):
                counts["killed"] += 1
            elif status in ("timeout", "segfault"):
                counts["timeout"] += 1  # a mutant that hangs or crashes is caught, slowly
            elif status in ("not checked", "check was interrupted by user"):
                counts["not run"] += 1  # left out of a restricted run: not in the score
                unrun.append(name)
            elif status in ("survived", "no tests"):
                counts[status] += 1
                survivors.append(name)
            else:
                counts["other"] += 1
                survivors.append(f"{name} ({status})")
    return {**counts, "survivors": sorted(survivors), "unrun": sorted(unrun)}


def table(rows: dict[str, dict]) -> str:
    head = (
        f"{'module':<11}{'mutants':>8}{'killed':>8}{'timeout':>8}{'survived':>9}"
        f"{'no test':>8}{'score':>8}{'not run':>8}"
    )
    lines = [head, "-" * len(head)]
    for module, r in rows.items():
        total = sum(r[k] for k in ("killed", "survived", "timeout", "no tests", "other"))
        caught = r["killed"] + r["timeout"]
        score = f"{100 * caught / total:.1f}%" if total else "-"
        lines.append(
            f"{module:<11}{total:>8}{r['killed']:>8}{r['timeout']:>8}{r['survived']:>9}"
            f"{r['no tests']:>8}{score:>8}{r['not run'] or '':>8}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--children", type=int, default=1, help="parallel mutants (default 1)")
    parser.add_argument(
        "--report-only", action="store_true", help="tally the last run, do not run again"
    )
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument(
        "--again",
        action="store_true",
        help="rerun only the last run's survivors and unrun mutants, keep other verdicts",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="mutate only mutants whose name matches, e.g. 'commandcenter.store.xǁStoreǁapply__*'",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=0,
        help="stop each module's run after this long; what did not run is counted 'not run'",
    )
    args = parser.parse_args()
    modules = args.modules or [m for m in MODULES if (ROOT / source_of(m).rstrip("/*")).exists()]
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; known: {list(MODULES)}")
    tomllib.loads((ROOT / "pyproject.toml").read_text())  # fail early on a broken file
    rows = {}
    for module in modules:
        if args.report_only:
            rows[module] = tally(STAGE / module)
        else:
            print(f"mutating {source_of(module)} ...", flush=True)
            rows[module] = run(module, args.children, args.only, args.again, args.minutes)
        print(table({module: rows[module]}).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    if args.survivors:
        for module, r in rows.items():
            for name in r["survivors"]:
                print(f"survived  {module}: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
