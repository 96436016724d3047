"""The tour notebook, run in JupyterLab as a person would, and the extension's install state."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from helpers import SCREENSHOT_DIR
from playwright.sync_api import Page, WebSocket, expect

if TYPE_CHECKING:
    from tests.ui.conftest import LabServer

TOUR = "notebooks/00-tour.ipynb"
SCREENSHOT = "tour.png"  # in helpers.SCREENSHOT_DIR
# The class of the extension's MIME renderer widget (for `application/vnd.onnx-workbench.summary+json`).
RENDERER_CLASS = "jp-OnnxWorkbench-renderer"
STDERR_MIME_TYPE = "application/vnd.jupyter.stderr"

PAGE_LOAD_TIMEOUT_MS = 90_000
KERNEL_READY_TIMEOUT_S = 90.0
RUN_ALL_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.5

KERNEL_DIALOG = ".jp-Dialog:has-text('Select Kernel')"
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

EXECUTED_PROMPT = re.compile(r"^\[\d+\]:?$")
PENDING_PROMPT = "[*]"


class KernelSocketWatch:
    """Follows the page's kernel websockets, to tell when the notebook can really talk to its kernel.

    The kernel status JupyterLab shows comes over REST and can read "idle" before the page has
    opened the kernel's websocket; cells run in that window are dropped without a word.
    """

    def __init__(self, page: Page) -> None:
        self._heard_from: list[WebSocket] = []
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, socket: WebSocket) -> None:
        if "/api/kernels/" in socket.url and "/channels" in socket.url:
            socket.once("framereceived", lambda _: self._heard_from.append(socket))

    @property
    def connected(self) -> bool:
        """Whether a kernel websocket is open and the kernel has answered on it."""
        return any(not socket.is_closed() for socket in self._heard_from)


def _wait_answering_kernel_dialog(
    page: Page, done: Callable[[], bool], timeout_s: float, what: str
) -> None:
    """Polls ``done`` until it holds, accepting JupyterLab's "Select Kernel" dialog if it shows.

    Whether that dialog appears depends on the JupyterLab version and on whether the notebook's
    kernelspec is found; while it is open, nothing runs. Fails the test after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        accept = page.locator(f"{KERNEL_DIALOG} .jp-Dialog-button.jp-mod-accept")
        if accept.count() and accept.first.is_visible():
            accept.first.click()
        if done():
            return
        time.sleep(POLL_INTERVAL_S)
    raise AssertionError(f"{what} within {timeout_s:.0f} s")


def _kernel_idle(page: Page) -> bool:
    """Whether the notebook's toolbar shows its kernel as idle."""
    return page.locator(KERNEL_IDLE).count() > 0


def _open_notebook(page: Page, lab: LabServer, path: str) -> None:
    """Opens ``path`` in JupyterLab and waits until its kernel is idle and connected."""
    sockets = KernelSocketWatch(page)
    page.goto(lab.url(f"lab/tree/{path}"), timeout=PAGE_LOAD_TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=PAGE_LOAD_TIMEOUT_MS)
    _wait_answering_kernel_dialog(
        page,
        lambda: _kernel_idle(page) and sockets.connected,
        KERNEL_READY_TIMEOUT_S,
        "the notebook's kernel did not become idle and connected",
    )


def _prompts(page: Page) -> list[str]:
    """The input prompts of the code cells, in order: "[3]:" ran, "[*]:" pending, "[ ]:" not run."""
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()
    return [prompt.strip() for prompt in prompts]


def _run_all_cells(page: Page) -> list[str]:
    """Runs every cell through the Run menu; returns the prompts once the run is over.

    The run is over when the first cell has run, no cell is pending and the kernel is idle. A
    cell that raises stops the run, so the cells after it are left unrun.
    """
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    def over() -> bool:
        prompts = _prompts(page)
        return (
            bool(prompts)
            and EXECUTED_PROMPT.match(prompts[0]) is not None
            and not any(prompt.startswith(PENDING_PROMPT) for prompt in prompts)
            and _kernel_idle(page)
        )

    _wait_answering_kernel_dialog(page, over, RUN_ALL_TIMEOUT_S, "the cells did not finish running")
    return _prompts(page)


def _error_outputs(page: Page) -> list[str]:
    """The texts of outputs that show a traceback or an error (cell errors render as stderr)."""
    stderr = page.locator(
        f".jp-OutputArea-output[data-mime-type='{STDERR_MIME_TYPE}'], "
        f".jp-RenderedText[data-mime-type='{STDERR_MIME_TYPE}']"
    )
    return [text for text in stderr.all_text_contents() if "Traceback" in text or "Error" in text]


def test_tour_runs_and_shows_summary_card(
    lab: LabServer, page: Page, page_errors: list[str]
) -> None:
    """Runs the tour in JupyterLab: no cell fails, the extension draws the model's summary card,
    and the tables and the figure render. Saves a screenshot of the card for the docs."""
    _open_notebook(page, lab, TOUR)
    prompts = _run_all_cells(page)

    errors = _error_outputs(page)
    assert not errors, f"{len(errors)} cell(s) failed; the first:\n{errors[0][:2000]}"
    assert all(EXECUTED_PROMPT.match(prompt) for prompt in prompts), f"cells not run: {prompts}"
    extension_errors = [e for e in page_errors if "onnx-workbench" in e.lower()]
    assert not extension_errors, "the browser reported errors from the extension:\n" + "\n".join(
        extension_errors
    )

    # The first code cell's output is drawn by the extension's MIME renderer, not the HTML fallback.
    first_output = page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-OutputArea-output")
    expect(first_output).to_have_count(1)
    expect(
        first_output,
        "the summary is not drawn by the extension's MIME renderer: is the labextension built from "
        "the current source, and does it rank its MIME type below text/html's 50?",
    ).to_have_class(re.compile(rf"\b{RENDERER_CLASS}\b"))
    expect(first_output.locator(".onnx-workbench-summary")).to_have_count(0)

    card = first_output.locator(".jp-OnnxWorkbench-summary")
    card.scroll_into_view_if_needed()
    expect(card).to_be_visible()
    expect(card.locator(".jp-OnnxWorkbench-title")).to_have_text("tiny_bert")
    expect(card.locator(".jp-OnnxWorkbench-facts dt:text-is('nodes') + dd")).to_have_text("79")
    expect(card).to_contain_text("input_ids")

    screenshot = SCREENSHOT_DIR / SCREENSHOT
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot))

    table = page.locator(".jp-RenderedHTMLCommon table.dataframe").first
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible()
    image = page.locator(".jp-RenderedImage img").first
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()


def test_extension_is_enabled() -> None:
    """``jupyter labextension list`` shows the extension installed, enabled and OK."""
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # The listing goes to stderr in some versions, to stdout in others.
    text = ANSI_ESCAPE.sub("", listing.stdout + listing.stderr)
    lines = [line for line in text.splitlines() if line.split()[:1] == ["onnx-workbench"]]
    assert lines, f"onnx-workbench is not in `jupyter labextension list`:\n{text}"
    assert "enabled" in lines[0].split() and "OK" in lines[0].split(), lines[0]
