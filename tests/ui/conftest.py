"""Fixtures for the browser tests: a throwaway JupyterLab server and a headless Chromium page.

Every test in this folder is marked ``ui`` and ``slow``; deselect them with ``pytest -m "not ui"``.
Screenshots go to build/screenshots/ (git ignores it); ``scripts/refresh-screenshots.sh``
writes them over the docs' images in docs/img/ instead.
They need Debian's Chromium at ``/usr/bin/chromium`` (``scripts/setup.sh test`` installs it);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest
from helpers import SCREENSHOT_DIR, free_port, wait_until_up
from playwright.sync_api import Locator, expect, sync_playwright

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
# How long `expect` waits for the page to match, for every test here: a loaded 2-core CI
# machine can take seconds to re-lay out or to deliver a kernel's message.
expect.set_options(timeout=15_000)
# The scratch pages are taller, so a notebook output (summary card and view) fits the screen.
SCRATCH_VIEWPORT = {"width": 1400, "height": 1150}
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
    """Marks every test collected from this folder with ``ui`` and ``slow`` (each starts or
    drives JupyterLab in a browser: seconds at least)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ui)
            item.add_marker(pytest.mark.slow)


def _write_settings(settings_dir: Path) -> None:
    """Writes ``LAB_SETTINGS`` as JupyterLab user settings under ``settings_dir``."""
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


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


@contextmanager
def _running_lab(root: Path, work: Path, *extra_args: str, app: str = "lab") -> Iterator[LabServer]:
    """Runs JupyterLab (or, with ``app="notebook"``, Notebook 7) on loopback, serving ``root``,
    with token authentication.

    Workspaces, user settings, checkpoints and the server log go to ``work``, so the server
    neither sees nor changes the user's layout and settings.
    """
    _write_settings(work / "settings")
    port = free_port()
    token = secrets.token_hex(24)
    application = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}[app]
    cmd = [
        sys.executable, "-m", "jupyter", app,
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--{application}.workspaces_dir={work / 'workspaces'}",
        f"--{application}.user_settings_dir={work / 'settings'}",
        f"--FileCheckpoints.root_dir={work / 'checkpoints'}",
        *(["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
          if app == "lab" else []),
        *extra_args,
    ]  # fmt: skip
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
        )
    server_info = LabServer(
        base_url=f"http://127.0.0.1:{port}", token=token, root=root, log_path=log_path
    )
    try:
        wait_until_up(server, server_info.url("api/status"), log_path, what="JupyterLab",
                      timeout_s=SERVER_START_TIMEOUT_S)
        yield server_info
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab rooted at the repository (it writes nothing into it)."""
    with _running_lab(REPO_ROOT, tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="session")
def scratch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab rooted at an empty temporary folder, for tests that write their own files.

    The page gets the application object as ``window.jupyterapp``, which the helpers use to
    run cells and to wait for kernels; each test module works in its own subfolder.
    """
    root = tmp_path_factory.mktemp("lab-root")
    work = tmp_path_factory.mktemp("jupyterlab-scratch")
    with _running_lab(root, work, "--LabApp.expose_app_in_browser=True") as server:
        yield server


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


@contextmanager
def _new_page(
    browser: Browser, errors: list[str], viewport: dict[str, int] = VIEWPORT
) -> Iterator[Page]:
    """A page in a fresh browser context whose console errors and page errors go to ``errors``."""
    context = browser.new_context(viewport=viewport)
    new_page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            source = message.location.get("url", "")
            errors.append(f"console error: {message.text} ({source})")

    def on_page_error(error: Error) -> None:
        errors.append(f"page error: {error.message}\n{error.stack or ''}")

    new_page.on("console", on_console)
    new_page.on("pageerror", on_page_error)
    try:
        yield new_page
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    """A fresh browser page whose console errors and page errors go to ``page_errors``."""
    with _new_page(browser, page_errors) as new_page:
        yield new_page


# ---- JupyterLab driven through its application object (scratch_lab) --------------------------

VIEWER = ".jp-OnnxWorkbench-viewer"
ITEM = "g.jp-OnnxWorkbench-item"
LAB_LOAD_TIMEOUT_MS = 90_000
KERNEL_TIMEOUT_MS = 90_000
CELL_TIMEOUT_MS = 60_000
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
VIEW_TIMEOUT_MS = 30_000

# Helpers for the page scripts below: the main-area widget of a document path (`app` is
# window.jupyterapp), and a promise that fails after `ms` (page.evaluate has no timeout).
_JS_HELPERS = """
const findWidget = (app, path) => {
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) return widget;
  }
  return null;
};
const withTimeout = (promise, ms, what) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms))
]);
"""


def _css_string(value: str) -> str:
    """``value`` as a quoted CSS string, for attribute selectors with model ids."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


class Viewer:
    """One graph viewer on the page (`.jp-OnnxWorkbench-viewer`) and what tests do with it."""

    def __init__(self, root: Locator) -> None:
        self.root = root

    def wait_ready(self, timeout_ms: int = VIEW_TIMEOUT_MS) -> Viewer:
        """Waits until the first layout is drawn: `data-state` is `ready`; returns itself."""
        expect(self.root).to_have_attribute("data-state", "ready", timeout=timeout_ms)
        return self

    @property
    def layout_count(self) -> int:
        """How many layouts the viewer has drawn (`data-layout-count`)."""
        return int(self.root.get_attribute("data-layout-count") or 0)

    @contextmanager
    def relayout(self) -> Iterator[None]:
        """Waits, after the block, until the viewer has drawn a new layout and is ready."""
        before = self.layout_count
        yield
        expect(self.root).not_to_have_attribute(
            "data-layout-count", str(before), timeout=VIEW_TIMEOUT_MS
        )
        expect(self.root).to_have_attribute("data-state", "ready", timeout=VIEW_TIMEOUT_MS)

    def state(self, name: str) -> re.Pattern[str]:
        """Matches a class attribute that holds `jp-OnnxWorkbench-<name>` (for `to_have_class`)."""
        return re.compile(rf"(^|\s)jp-OnnxWorkbench-{re.escape(name)}(\s|$)")

    def part(self, name: str) -> Locator:
        """The viewer's element of class `jp-OnnxWorkbench-<name>` (toolbar, details, ...)."""
        return self.root.locator(f".jp-OnnxWorkbench-{name}")

    @property
    def items(self) -> Locator:
        """Every drawn item."""
        return self.root.locator(ITEM)

    def item(self, item_id: str) -> Locator:
        """The drawn item whose `data-id` is ``item_id``."""
        return self.root.locator(f"{ITEM}[data-id={_css_string(item_id)}]")

    def node(self, node_id: str) -> Locator:
        """The drawn node item of the model node ``node_id``."""
        return self.root.locator(f"{ITEM}[data-kind='node'][data-node={_css_string(node_id)}]")

    def group(self, group_id: str) -> Locator:
        """The drawn item (box or frame) of the group ``group_id``."""
        return self.root.locator(f"{ITEM}[data-group={_css_string(group_id)}]")

    def frame_header(self, group_id: str) -> Locator:
        """The header of the expanded group ``group_id``'s frame (a click collapses it)."""
        return self.group(group_id).locator(":scope > .jp-OnnxWorkbench-frameHeader")

    def click(self, item: Locator) -> None:
        """Clicks a drawn item, wherever it is: items outside the visible canvas can't take
        a real click, so this dispatches the click event the browser would send."""
        item.dispatch_event("click")

    def double_click(self, item: Locator) -> None:
        """Double-clicks a drawn item (see :meth:`click`)."""
        item.dispatch_event("dblclick")

    def press(self, *keys: str) -> None:
        """Focuses the viewer and types ``keys``, one at a time, wherever the focus then is."""
        self.root.focus()
        for key in keys:
            self.root.page.keyboard.press(key)

    def search(self, text: str) -> None:
        """Types ``text`` into the search box (this only counts hits; Enter moves to one)."""
        self.part("search").fill(text)


class Notebook:
    """A notebook open in JupyterLab, with a started kernel."""

    def __init__(self, page: Page, path: str) -> None:
        self.page = page
        self.path = path

    @property
    def cells(self) -> Locator:
        """The notebook's cells, in order."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def output(self, index: int) -> Locator:
        """The output area of the code cell at ``index``."""
        return self.cells.nth(index).locator(".jp-OutputArea")

    def viewer(self, index: int) -> Viewer:
        """The graph viewer in the output of cell ``index``, once drawn."""
        return Viewer(self.output(index).locator(VIEWER)).wait_ready()

    def show(self, index: int) -> Viewer:
        """Runs cell ``index`` (again) and returns the viewer it displays, at its first paint."""
        self.run(index)
        return self.viewer(index)

    def run(self, *indices: int) -> None:
        """Runs the cells at ``indices`` in order, each as the Run button does, waiting for each
        to finish; fails with the traceback if a cell raises."""
        for index in indices:
            error = self.page.evaluate(
                _JS_HELPERS
                + """
                async ([path, index, ms]) => {
                  const app = window.jupyterapp;
                  const panel = findWidget(app, path);
                  app.shell.activateById(panel.id);
                  const notebook = panel.content;
                  notebook.activeCellIndex = index;
                  notebook.deselectAll();
                  const run = app.commands.execute('notebook:run-cell');
                  await withTimeout(run, ms, `running cell ${index} of ${path}`);
                  const outputs = notebook.widgets[index].model.outputs.toJSON();
                  const error = outputs.find(output => output.output_type === 'error');
                  return error ? error.traceback.join('\\n') : null;
                }
                """,
                [self.path, index, CELL_TIMEOUT_MS],
            )
            if error is not None:
                raise AssertionError(f"cell {index} of {self.path} raised:\n{error}")

    def close(self) -> None:
        """Shuts the kernel down and closes the tab without saving."""
        self.page.evaluate(
            _JS_HELPERS
            + """
            async ([path, ms]) => {
              const panel = findWidget(window.jupyterapp, path);
              if (panel) {
                await withTimeout(panel.sessionContext.shutdown(), ms, 'the kernel shutdown');
                panel.dispose();
              }
            }
            """,
            [self.path, KERNEL_TIMEOUT_MS],
        )


@dataclass
class LabPage:
    """A browser page on the scratch JupyterLab, working in its own folder under the root."""

    page: Page
    server: LabServer
    folder: str
    errors: list[str]

    @property
    def dir(self) -> Path:
        """The page's folder on disk, where tests write notebooks and models."""
        return self.server.root / self.folder

    def goto(self) -> None:
        """Loads JupyterLab with the file browser in the page's folder."""
        self.page.goto(self.server.url(f"lab/tree/{self.folder}"), timeout=LAB_LOAD_TIMEOUT_MS)
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell", timeout=LAB_LOAD_TIMEOUT_MS
        )
        self.page.evaluate("() => window.jupyterapp.restored")

    def open_notebook(self, name: str, cells: list[str]) -> Notebook:
        """Writes a notebook of ``cells`` (code) to the folder, opens it and waits until its
        kernel answers on its websocket."""
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(source) for source in cells],
            metadata={"kernelspec": KERNELSPEC},
        )
        nbformat.write(notebook, self.dir / name)
        path = f"{self.folder}/{name}"
        self.page.evaluate(
            "path => window.jupyterapp.commands.execute('docmanager:open', {path})", path
        )
        self._wait_for_document(path)
        self.page.evaluate(
            _JS_HELPERS
            + """
            async ([path, ms]) => {
              const panel = findWidget(window.jupyterapp, path);
              const started = async () => {
                await panel.context.ready;
                await panel.sessionContext.ready;
                // A kernel_info round trip: the kernel is up and its websocket open.
                await panel.sessionContext.session.kernel.requestKernelInfo();
              };
              await withTimeout(started(), ms, `starting the kernel of ${path}`);
            }
            """,
            [path, KERNEL_TIMEOUT_MS],
        )
        opened = Notebook(self.page, path)
        expect(opened.cells).to_have_count(len(cells))
        return opened

    def open_in_file_browser(self, name: str) -> Locator:
        """Double-clicks ``name`` in the file browser; returns the content of the tab it opens."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:refresh')")
        entries = self.page.locator(".jp-DirListing-item")
        entries.filter(has=self.page.get_by_text(name, exact=True)).dblclick()
        widget_id = self._wait_for_document(f"{self.folder}/{name}")
        return self.page.locator(f"[id={_css_string(widget_id)}] .jp-OnnxWorkbench-fileViewer")

    def _wait_for_document(self, path: str) -> str:
        """Waits until a main-area tab shows the document ``path``; returns the tab's id."""
        handle = self.page.wait_for_function(
            _JS_HELPERS
            + "path => { const widget = findWidget(window.jupyterapp, path); "
            + "return widget ? widget.id : null; }",
            arg=path,
            timeout=LAB_LOAD_TIMEOUT_MS,
        )
        return handle.json_value()

    def viewer_in(self, container: Locator) -> Viewer:
        """The graph viewer inside ``container``, once drawn."""
        return Viewer(container.locator(VIEWER)).wait_ready()

    def screenshot(self, name: str, target: Page | Locator, *more: Locator) -> None:
        """Saves a screenshot of ``target`` (with ``more``: of the box around them all) as
        ``<SCREENSHOT_DIR>/<name>``: build/screenshots/, or the docs' docs/img/ when refreshing
        them (see helpers.py)."""
        path = SCREENSHOT_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not more:
            target.screenshot(path=str(path))
            return
        boxes = [box for box in (locator.bounding_box() for locator in (target, *more)) if box]
        left = min(box["x"] for box in boxes)
        top = min(box["y"] for box in boxes)
        right = max(box["x"] + box["width"] for box in boxes)
        bottom = max(box["y"] + box["height"] for box in boxes)
        clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
        self.page.screenshot(path=str(path), clip=clip)

    def assert_no_errors(self, allow: tuple[str, ...] = ()) -> None:
        """Fails if the page reported errors (other than those containing an ``allow`` text)
        since the test started."""
        errors = [e for e in self.errors if not any(text in e for text in allow)]
        assert not errors, "the page reported errors:\n" + "\n".join(errors)


@pytest.fixture(scope="module")
def module_lab_page(
    browser: Browser, scratch_lab: LabServer, request: pytest.FixtureRequest
) -> Iterator[LabPage]:
    """One page per test module on the scratch JupyterLab, in a folder named after the module."""
    folder = request.module.__name__.rpartition(".")[2]
    (scratch_lab.root / folder).mkdir(exist_ok=True)
    errors: list[str] = []
    with _new_page(browser, errors, SCRATCH_VIEWPORT) as new_page:
        lab_page = LabPage(page=new_page, server=scratch_lab, folder=folder, errors=errors)
        lab_page.goto()
        yield lab_page


@pytest.fixture(scope="module")
def notebook(module_lab_page: LabPage, request: pytest.FixtureRequest) -> Iterator[Notebook]:
    """The test module's notebook, kernel running: the code cells of its ``CELLS`` in a file
    named by its ``NOTEBOOK``, with the cells listed in its ``RUN_FIRST`` (if any) already run."""
    module = request.module
    nb = module_lab_page.open_notebook(module.NOTEBOOK, module.CELLS)
    for index in getattr(module, "RUN_FIRST", ()):
        nb.run(index)
    yield nb
    nb.close()


@pytest.fixture
def lab_page(module_lab_page: LabPage) -> LabPage:
    """The module's page, its error list emptied for this test."""
    module_lab_page.errors.clear()
    return module_lab_page
