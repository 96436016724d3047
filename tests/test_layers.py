"""The package's layers and internal faces, checked on its import graph.

Layers go one way: model ← graph, runtime ← comparison, profiling, analysis ← precision ← widgets ←
display (the contract is in ``pyproject.toml``, checked by import-linter's ``lint-imports``).
And a package uses another's private modules only through that package's ``internal`` face
(``workbench/model/internal.py``, ``workbench/runtime/internal.py``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_layers_go_one_way() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def _private_imports_across_packages() -> list[str]:
    """``importer -> imported`` for each direct import of another package's private module
    (``workbench.<package>._<name>``) from outside that package."""
    graph = grimp.build_graph("workbench", exclude_type_checking_imports=True)
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            parts = imported.split(".")
            if len(parts) < 3 or not parts[2].startswith("_"):
                continue  # not a package's private module
            package = ".".join(parts[:2])
            if importer != package and not importer.startswith(package + "."):
                found.append(f"{importer} -> {imported}")
    return found


def test_packages_use_each_others_private_modules_only_through_their_internal_face() -> None:
    assert _private_imports_across_packages() == []


def test_other_packages_use_only_a_models_named_members() -> None:
    """Outside ``workbench/model/``, code reads a ``Model`` through its documented members
    (``records``, ``node_scopes``, ``initializers``, ``with_dims``, ...), never its underscored ones."""
    package = ROOT / "workbench"
    # model._x, self.model._x, dbg.model._x; not the module path workbench.model._scopes
    private = re.compile(r"(?<![\w.])(?:(?!workbench\.)\w+\.)?model\._[a-z]\w*")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted(package.rglob("*.py")) if "model" not in path.relative_to(package).parts[:1]
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if private.search(line)]
    assert found == []
