"""Shared fixtures: the real models onnx ships, and sample models written to disk. A session
hook fails the run if the tests changed files git tracks, or left files git would add (see
``pytest_sessionfinish``)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from helpers import DOCS_SCREENSHOTS, LIGHT_MODELS, REPO_ROOT, SCREENSHOT_DIR

import workbench as wb


@pytest.fixture(scope="session")
def light_models() -> list[Path]:
    assert LIGHT_MODELS, "onnx ships its light models in onnx/backend/test/data/light"
    return LIGHT_MODELS


@pytest.fixture
def sample_path(tmp_path: Path):
    """Writes a sample model to a temporary folder and returns its path."""

    def write(name: str) -> Path:
        return wb.samples.save(name, tmp_path)

    return write


@pytest.fixture(scope="module")
def cnn() -> wb.Model:
    """The tiny_cnn sample, opened once per module."""
    return wb.samples.open("tiny_cnn")


# ---- the clone stays clean -----------------------------------------------------------------------

#: The files git reported changed or untracked when the session started (see :func:`_clone_state`).
_CLONE_AT_START = pytest.StashKey["dict[Path, str | None] | str"]()


def _clone_state() -> dict[Path, str | None] | str:
    """The files ``git status`` reports — tracked ones changed, untracked ones not ignored — each
    with a digest of its content now (None: deleted, or not a file), or why there is nothing to
    check (no git, not a work tree). The digests catch a file the developer had changed (or
    made) before the run and the tests changed again."""
    git = ["git", "--no-optional-locks", "-C", str(REPO_ROOT)]  # no index lock: someone may be committing
    try:
        top = subprocess.run([*git, "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=60)
        if top.returncode != 0:
            return f"{REPO_ROOT} is not in a git work tree ({top.stderr.strip()})"
        listed = subprocess.run([*git, "status", "--porcelain", "-z", "--untracked-files=all"],
                                capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"git did not run ({exc})"
    root, fields, state = Path(top.stdout.strip()), listed.stdout.split(b"\0"), {}
    i = 0
    while i < len(fields) and fields[i]:
        code, path = fields[i][:2], root / os.fsdecode(fields[i][3:])  # porcelain paths: from the top
        i += 2 if b"R" in code or b"C" in code else 1  # a rename or copy is followed by its source
        state[path] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return state


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_CLONE_AT_START] = _clone_state()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fails the run if it changed or deleted files git tracks, or left new files git does not
    ignore: a fresh clone must stay clean (``git status`` empty) after the tests. It compares
    with the session's start, so a clone the developer had changed passes as long as the tests
    change nothing more. Screenshots for the
    docs (``WORKBENCH_DOCS_SCREENSHOTS=1``, scripts/refresh-screenshots.sh) may change docs/img/."""
    if _CLONE_AT_START not in session.config.stash:  # the session did not get as far as starting
        return
    before = session.config.stash[_CLONE_AT_START]
    after = before if isinstance(before, str) else _clone_state()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if isinstance(after, str):
        if reporter is not None:
            reporter.line("")  # after the progress line
            reporter.write_line(f"check that the tests leave the clone clean: skipped, {after}")
        return
    clean = ""  # what a file git did not report compares as (a digest or None otherwise)
    changed = sorted(path for path in before.keys() | after.keys()
                     if before.get(path, clean) != after.get(path, clean)
                     and not (DOCS_SCREENSHOTS and SCREENSHOT_DIR in path.parents))
    if not changed:
        return
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    lines = [
        f"{len(changed)} file(s) changed or left during the test run (by the tests, or by an edit meanwhile); "
        "tests must write into temporary folders or git-ignored ones such as build/:",
        *(f"  {os.path.relpath(path, REPO_ROOT)}" for path in changed),
    ]
    if reporter is None:
        print("\n".join(lines))
        return
    reporter.line("")  # after the progress line
    reporter.write_sep("=", "the test run changed the clone", red=True, bold=True)
    for line in lines:
        reporter.write_line(line)
