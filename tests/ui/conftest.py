"""Fixtures for the browser tests: a throwaway JupyterLab server and a headless Chromium page.

Every test in this folder is marked ``ui``; deselect them with ``pytest -m "not ui"``.
They need Debian's Chromium at ``/usr/bin/chromium`` (``scripts/setup.sh test`` installs it);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import sync_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_TIMEOUT_S = 90.0
SERVER_STOP_TIMEOUT_S = 10.0
# JupyterLab user settings for the test server. Autosave off: running the tour must leave the
# notebook in the repository untouched. News off: its toast would cover part of the screenshot.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab server: where it listens, the token that opens it, what it serves."""

    base_url: str
    token: str
    root: Path
    log_path: Path

    def url(self, path: str) -> str:
        """The address of ``path`` (relative to the server root URL) with the token attached."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{separator}token={self.token}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test collected from this folder with ``ui``."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ui)


def _free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """Writes ``LAB_SETTINGS`` as JupyterLab user settings under ``settings_dir``."""
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _wait_until_up(server: subprocess.Popen[bytes], status_url: str, log_path: Path) -> None:
    """Polls ``/api/status`` until the server answers; fails if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S:.0f} s; see {log_path}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Ends the server's whole process group (the server and its kernels)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Starts JupyterLab on loopback, rooted at the repository, with token authentication.

    Workspaces, user settings and checkpoints go to a temporary folder, so the tests neither
    see nor change the user's layout and settings, and write nothing into the repository.
    """
    work = tmp_path_factory.mktemp("jupyterlab")
    _write_settings(work / "settings")
    port = _free_port()
    token = secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        f"--LabApp.user_settings_dir={work / 'settings'}",
        f"--FileCheckpoints.root_dir={work / 'checkpoints'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True
        )
    server_info = LabServer(
        base_url=f"http://127.0.0.1:{port}", token=token, root=REPO_ROOT, log_path=log_path
    )
    try:
        _wait_until_up(server, server_info.url("api/status"), log_path)
        yield server_info
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the session's tests."""
    if not CHROMIUM.is_file():
        pytest.skip(reason=f"{CHROMIUM} is missing; run `scripts/setup.sh test` to install Chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors() -> list[str]:
    """The console errors and uncaught exceptions the test's page reported, in order."""
    return []


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    """A fresh browser page whose console errors and page errors go to ``page_errors``."""
    context = browser.new_context(viewport=VIEWPORT)
    new_page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            source = message.location.get("url", "")
            page_errors.append(f"console error: {message.text} ({source})")

    def on_page_error(error: Error) -> None:
        page_errors.append(f"page error: {error.message}\n{error.stack or ''}")

    new_page.on("console", on_console)
    new_page.on("pageerror", on_page_error)
    try:
        yield new_page
    finally:
        context.close()
