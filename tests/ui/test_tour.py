"""The tour notebook, run in JupyterLab as a person would, and the extension's install state."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.ui.conftest import LabServer

TOUR = "notebooks/00-tour.ipynb"
SCREENSHOT = "docs/img/tour.png"
SUMMARY_MIME_TYPE = "application/vnd.onnx-workbench.summary+json"
STDERR_MIME_TYPE = "application/vnd.jupyter.stderr"

PAGE_LOAD_TIMEOUT_MS = 90_000
KERNEL_READY_TIMEOUT_S = 90.0
RUN_ALL_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.5

KERNEL_DIALOG = ".jp-Dialog:has-text('Select Kernel')"
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

# True once every code cell shows an execution count, i.e. none is pending ("[*]") or unrun ("[ ]").
ALL_CELLS_EXECUTED_JS = """
() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .every(prompt => /^\\[\\d+\\]:?$/.test(prompt.textContent.trim()))
"""


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


def _open_notebook(page: Page, lab: LabServer, path: str) -> None:
    """Opens ``path`` in JupyterLab and waits until its kernel is started and idle."""
    page.goto(lab.url(f"lab/tree/{path}"), timeout=PAGE_LOAD_TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=PAGE_LOAD_TIMEOUT_MS)
    _wait_answering_kernel_dialog(
        page,
        lambda: page.locator(KERNEL_IDLE).count() > 0,
        KERNEL_READY_TIMEOUT_S,
        "the notebook's kernel did not become idle",
    )


def _run_all_cells(page: Page) -> None:
    """Runs every cell through the Run menu and waits until all have run and the kernel is idle."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    def finished() -> bool:
        return page.locator(KERNEL_IDLE).count() > 0 and page.evaluate(ALL_CELLS_EXECUTED_JS)

    _wait_answering_kernel_dialog(page, finished, RUN_ALL_TIMEOUT_S, "the cells did not all run")


def _error_outputs(page: Page) -> list[str]:
    """The texts of outputs that show a traceback or an error (cell errors render as stderr)."""
    stderr = page.locator(
        f".jp-OutputArea-output[data-mime-type='{STDERR_MIME_TYPE}'], "
        f".jp-RenderedText[data-mime-type='{STDERR_MIME_TYPE}']"
    )
    return [text for text in stderr.all_inner_texts() if "Traceback" in text or "Error" in text]


def test_tour_runs_and_shows_summary_card(
    lab: LabServer, page: Page, page_errors: list[str]
) -> None:
    """Runs the tour in JupyterLab: no cell fails, the extension draws the model's summary card,
    and the tables and the figure render. Saves a screenshot of the card for the docs."""
    _open_notebook(page, lab, TOUR)
    _run_all_cells(page)

    errors = _error_outputs(page)
    assert not errors, f"{len(errors)} cell(s) failed; the first:\n{errors[0][:2000]}"

    # The first code cell's output is drawn by the extension's MIME renderer, not the HTML fallback.
    first_output = page.locator(".jp-Notebook .jp-CodeCell").first.locator(".jp-OutputArea-output")
    expect(first_output).to_have_count(1)
    expect(first_output).to_have_attribute("data-mime-type", SUMMARY_MIME_TYPE)
    expect(first_output.locator(".onnx-workbench-summary")).to_have_count(0)

    card = first_output.locator(".jp-OnnxWorkbench-summary")
    card.scroll_into_view_if_needed()
    expect(card).to_be_visible()
    expect(card.locator(".jp-OnnxWorkbench-title")).to_have_text("tiny_bert")
    expect(card).to_contain_text("79")
    expect(card).to_contain_text("input_ids")

    screenshot = lab.root / SCREENSHOT
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot))

    table = page.locator(".jp-RenderedHTMLCommon table.dataframe").first
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible()
    image = page.locator(".jp-RenderedImage img").first
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()

    extension_errors = [e for e in page_errors if "onnx-workbench" in e.lower()]
    assert not extension_errors, "the browser reported errors from the extension:\n" + "\n".join(
        extension_errors
    )


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
