"""The debugger widget (``dbg`` displayed in a notebook) used as a person would: the buttons
step through the run, a click on a node's left edge sets a breakpoint that Continue stops at,
a click on a node shows its values. Saves the docs' screenshot."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import expect

import workbench as wb

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Notebook, Viewer

CELLS = [
    "import workbench as wb\ndbg = wb.debug(wb.samples.open('tiny_cnn'))\ndbg",
    "print('position:', dbg.position, 'breakpoints:', [b.node for b in dbg.breakpoints])",
]
DEBUG_CELL, PRINT_CELL = range(len(CELLS))
STEPS = wb.debug(wb.samples.open("tiny_cnn")).steps
BREAKPOINT = "/layer2/0/Add_24"  # a later node, drawn at first paint

NOTEBOOK = "debugger.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)


class DebuggerWidget:
    """The debugger widget in a cell's output: its buttons, status line, graph and inspector."""

    def __init__(self, notebook: Notebook, index: int) -> None:
        self.root = notebook.output(index).locator(".jp-OnnxWorkbench-debugger")
        self.viewer = notebook.viewer(index)
        self.status = self.root.locator(".jp-OnnxWorkbench-debuggerStatus")
        self.inspector = self.root.locator(".jp-OnnxWorkbench-inspector")

    def button(self, name: str) -> Locator:
        """The toolbar button labelled ``name`` (its accessible name also holds its icon's glyph)."""
        return self.root.locator("button.widget-button").filter(has_text=re.compile(rf"^\s*{name}\s*$"))

    def expect_at(self, position: int) -> None:
        """Waits until the status line says the run is at ``position`` (1-based) and the
        node executed there is highlighted."""
        expect(self.status).to_contain_text(f"{position} / {len(STEPS)}")
        expect(self.viewer.node(STEPS[position - 1])).to_have_class(self.viewer.state("highlighted"))


def show_debugger(notebook: Notebook) -> DebuggerWidget:
    """Runs the cell that makes ``dbg`` and shows it: a new debugger before its first node."""
    notebook.run(DEBUG_CELL)
    widget = DebuggerWidget(notebook, DEBUG_CELL)
    expect(widget.status).to_contain_text(f"0 / {len(STEPS)}")
    return widget


def badge(viewer: Viewer, node_id: str) -> Locator:
    """The breakpoint badge drawn on the node ``node_id``."""
    return viewer.node(node_id).locator(":scope > .jp-OnnxWorkbench-breakpoint")


def test_step_breakpoint_continue(lab_page: LabPage, notebook: Notebook) -> None:
    """Step ×3 highlights the third node executed; a click on a later node's left edge sets a
    breakpoint (a badge in the view, a Breakpoint in Python); Continue stops there."""
    widget = show_debugger(notebook)
    for position in (1, 2, 3):
        widget.button("Step").click()
        expect(widget.status).to_contain_text(f"{position} / {len(STEPS)}")
    widget.expect_at(3)
    expect(widget.inspector).to_contain_text(STEPS[2])
    expect(widget.viewer.root.locator("g.jp-OnnxWorkbench-highlighted")).to_have_count(1)

    gutter = widget.viewer.node(BREAKPOINT).locator(":scope > .jp-OnnxWorkbench-gutter")
    widget.viewer.click(gutter)
    expect(badge(widget.viewer, BREAKPOINT)).to_have_count(1)
    expect(widget.viewer.node(BREAKPOINT)).not_to_have_class(widget.viewer.state("selected"))
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(f"position: 2 breakpoints: [{BREAKPOINT!r}]")

    widget.button("Continue").click()
    widget.expect_at(STEPS.index(BREAKPOINT) + 1)
    expect(widget.inspector).to_contain_text(BREAKPOINT)
    expect(widget.inspector.locator("img").first).to_be_visible()
    widget.viewer.node(BREAKPOINT).scroll_into_view_if_needed()
    notebook.cells.nth(DEBUG_CELL).scroll_into_view_if_needed()
    lab_page.screenshot("debugger.png", widget.root)
    lab_page.assert_no_errors()


def test_click_inspects_and_badge_click_removes(lab_page: LabPage, notebook: Notebook) -> None:
    """A plain click on a node shows its values in the inspector and lets Run to selected go
    there; a click on a breakpoint's badge removes it, in the view and in Python."""
    widget = show_debugger(notebook)
    target = "/layer2/0/Relu_20"  # drawn at first paint
    expect(widget.button("Run to selected")).to_be_disabled()
    widget.viewer.click(widget.viewer.node(target))
    expect(widget.inspector).to_contain_text(target)
    expect(widget.inspector).to_contain_text(re.compile("not reached yet"))
    widget.button("Run to selected").click()
    widget.expect_at(STEPS.index(target) + 1)

    widget.viewer.press("b")  # the selected node's breakpoint
    expect(badge(widget.viewer, target)).to_have_count(1)
    widget.viewer.click(badge(widget.viewer, target))
    expect(badge(widget.viewer, target)).to_have_count(0)
    notebook.run(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_have_text(f"position: {STEPS.index(target)} breakpoints: []")
    lab_page.assert_no_errors()
