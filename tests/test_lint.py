"""Style is enforced: ruff, with the rules in ``pyproject.toml`` (the ones the code's ``# noqa``
comments name), over the package, the tests, the benchmarks and the scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", "workbench", "tests",
                           "benchmarks", "scripts"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
