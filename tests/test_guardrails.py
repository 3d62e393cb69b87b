"""Guard rails: things that must stay true whatever else changes.

- The core (commandcenter, feeds) imports without PySide6 or any Qt package.
- PySide6 signals do not eat references to True (the Python 3.11 crash of
  ../shared/design/QT_NOTES.md #1); the interpreter is >= 3.12.
- The import-linter contracts in pyproject.toml hold.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CORE_PACKAGES = ("commandcenter", "feeds")

# Run in a fresh interpreter: refuse every Qt import, then import every module
# of the given packages. Writes a JSON report to argv[3]; exit status 0 = clean.
CORE_IMPORT_CHECK = textwrap.dedent(
    r'''
    import ast, importlib, importlib.abc, importlib.util, json, os, pkgutil, sys, traceback

    BLOCKED = {"PySide6", "shiboken6", "pyqtgraph", "qasync", "PySide6QtAds"}
    packages, extra_path, report_path = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    sys.path[:0] = extra_path
    attempts = []


    class QtBlocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                attempts.append(name)
                raise ModuleNotFoundError(
                    f"guard rail: the Qt-free core must not import {name!r}", name=name
                )
            return None


    sys.meta_path.insert(0, QtBlocker())
    errors = {}


    def record(name):
        errors[name] = traceback.format_exc()


    def module_names(pkg_name):
        """Every module of the package: pkgutil, plus the .py files pkgutil skips
        (it does not enter folders without __init__.py)."""
        pkg = importlib.import_module(pkg_name)
        names = {pkg_name}
        names.update(
            info.name for info in pkgutil.walk_packages(pkg.__path__, pkg_name + ".", onerror=record)
        )
        for root in pkg.__path__:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d.isidentifier())
                rel = os.path.relpath(dirpath, root)
                prefix = pkg_name if rel == "." else ".".join([pkg_name, *rel.split(os.sep)])
                for f in filenames:
                    stem, ext = os.path.splitext(f)
                    if ext == ".py" and stem.isidentifier():
                        names.add(prefix if stem == "__init__" else f"{prefix}.{stem}")
        return names


    def import_statically(name):
        """A __main__ module runs its program when imported: import what it
        imports (anywhere in the file) instead of executing it."""
        spec = importlib.util.find_spec(name)
        tree = ast.parse(open(spec.origin, encoding="utf-8").read(), spec.origin)
        package = name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                module = importlib.import_module(base)
                for alias in node.names:
                    if alias.name != "*" and not hasattr(module, alias.name):
                        importlib.import_module(f"{base}.{alias.name}")


    imported = []
    for pkg_name in packages:
        try:
            names = module_names(pkg_name)
        except BaseException:
            record(pkg_name)
            continue
        for name in sorted(names):
            try:
                if name.rpartition(".")[2] == "__main__":
                    import_statically(name)
                else:
                    importlib.import_module(name)
                imported.append(name)
            except BaseException:
                record(name)

    qt_loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    with open(report_path, "w", encoding="utf-8") as fh:
        json.dump({"imported": imported, "errors": errors, "qt_loaded": qt_loaded,
                   "qt_attempts": attempts}, fh)
    sys.exit(1 if errors or qt_loaded else 0)
    '''
)


def run_core_import_check(packages, extra_path, tmp_path: Path) -> tuple[int, dict]:
    report = tmp_path / "core-import-report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CORE_IMPORT_CHECK,
            json.dumps(list(packages)),
            json.dumps([str(p) for p in extra_path]),
            str(report),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), f"the check itself crashed:\n{proc.stdout}\n{proc.stderr}"
    return proc.returncode, json.loads(report.read_text(encoding="utf-8"))


def describe(result: dict) -> str:
    lines = [f"imported: {', '.join(result['imported']) or '(nothing)'}"]
    if result["qt_loaded"]:
        lines.append(f"Qt modules loaded: {', '.join(result['qt_loaded'][:10])}")
    for name, tb in result["errors"].items():
        lines.append(f"--- {name} failed to import:\n{tb}")
    return "\n".join(lines)


@pytest.mark.slow
def test_core_imports_without_qt(tmp_path):
    rc, result = run_core_import_check(CORE_PACKAGES, [REPO_ROOT], tmp_path)
    assert rc == 0 and not result["errors"] and not result["qt_loaded"], describe(result)
    for pkg in CORE_PACKAGES:
        assert pkg in result["imported"], describe(result)


# Planted packages prove the check above can fail: each maps file -> source.
PLANTED = {
    "clean": (
        {"__init__.py": "", "a.py": "import json\n", "sub/__init__.py": "", "sub/b.py": "X = 1\n"},
        None,
    ),
    "direct": (
        {"__init__.py": "", "leak.py": "from PySide6 import QtCore\n"},
        "planted.leak",
    ),
    "transitive": (
        {
            "__init__.py": "",
            "a.py": "from planted import helper\n",
            "helper.py": "import pyqtgraph\n",
        },
        "planted.helper",
    ),
    # pkgutil does not enter folders without __init__.py; the file walk must.
    "namespace-folder": (
        {"__init__.py": "", "sub/deep.py": "import shiboken6\n"},
        "planted.sub.deep",
    ),
    # __main__ is checked statically (its imports), even behind the name guard.
    "main-module": (
        {"__init__.py": "", "__main__.py": "if __name__ == '__main__':\n    import qasync\n"},
        "planted.__main__",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PLANTED))
def test_core_import_check_catches_planted_qt_imports(case, tmp_path):
    files, culprit = PLANTED[case]
    src = tmp_path / "src"
    for rel, text in files.items():
        path = src / "planted" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    rc, result = run_core_import_check(["planted"], [src], tmp_path)

    if culprit is None:
        assert rc == 0, describe(result)
        assert {"planted", "planted.a", "planted.sub", "planted.sub.b"} <= set(result["imported"])
    else:
        assert rc != 0, describe(result)
        assert culprit in result["errors"], describe(result)
        assert "guard rail: the Qt-free core must not import" in result["errors"][culprit]
        assert not result["qt_loaded"]


CANARY = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Emitter(QObject):
        fired = Signal(int)

    app = QCoreApplication(sys.argv[:1])
    emitter = Emitter()
    hits = 0

    def slot(value):
        global hits
        hits += 1

    before = sys.getrefcount(True)
    emitter.fired.connect(slot)
    for i in range(100_000):
        emitter.fired.emit(i)
    emitter.fired.disconnect(slot)
    after = sys.getrefcount(True)
    print(json.dumps({"hits": hits, "before": before, "after": after,
                      "version": list(sys.version_info[:3])}))
    """
)


def test_python_is_at_least_3_12():
    assert sys.version_info >= (3, 12), (
        f"Python {sys.version.split()[0]}: PySide6 6.12 on 3.11 aborts the interpreter; "
        "rebuild .venv with `make clean test`"
    )


@pytest.mark.slow
def test_true_refcount_canary(tmp_path):
    """QT_NOTES #1: on 3.11 every Python-side emit/disconnect dropped a reference
    to True until the process aborted (bool_dealloc)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", CANARY],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"canary died ({proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert tuple(result["version"]) >= (3, 12)
    assert result["hits"] == 100_000
    lost = result["before"] - result["after"]
    assert lost < 1000, f"sys.getrefcount(True) fell by {lost} over 100,000 emits"


def _lint_imports() -> str | None:
    local = Path(sys.executable).with_name("lint-imports")
    return str(local) if local.exists() else shutil.which("lint-imports")


@pytest.mark.slow
def test_import_contracts_hold():
    exe = _lint_imports()
    if exe is None:
        pytest.skip("lint-imports not installed (pip install -e '.[dev]')")
    proc = subprocess.run([exe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"lint-imports failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    )
