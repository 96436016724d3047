"""The model diff view in JupyterLab: two `.onnx` files selected in the file browser, then
"Diff ONNX models" from its context menu, open their diff in a tab (served by the route's
``diff=``); ``wb.diff(a, b).view()`` shows the same in a notebook. Nodes are coloured by status,
groups that hold changes carry count badges, and a node's details show both models side by side.

The two models are a small MLP and a copy with an activation removed, an attribute changed, a
weight perturbed and a node inserted, built here with onnx.helper.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable
from urllib.parse import quote

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from playwright.sync_api import expect

from workbench.diffing import open_diff

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Notebook, Viewer

A, B = "mlp_a.onnx", "mlp_b.onnx"
REMOVED = "a:/encoder/act1/Relu"  # the union names a's removed nodes a:<id in a>
CHANGED_ATTRIBUTE = "/encoder/act2/LeakyRelu"  # alpha 0.1 → 0.2
CHANGED_WEIGHT = "/encoder/fc2/MatMul"  # fc2.weight[0, 0] + 0.25
INSERTED = "/head/Tanh"
SAME = "/encoder/fc1/MatMul"

NOTEBOOK = "diff.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)
CELLS = [f"import workbench as wb\nv = wb.diff({A!r}, {B!r}).view()\nv"]
VIEW_CELL = 0


def mlp(variant: bool) -> onnx.ModelProto:
    """The MLP ``x → fc1 → Relu → fc2 → LeakyRelu → head → Softmax``; its variant drops the Relu,
    sets LeakyRelu's alpha to 0.2, perturbs one value of fc2.weight and adds a Tanh before the
    Softmax."""
    rng = np.random.default_rng(0)
    fc2 = rng.standard_normal((16, 16)).astype(np.float32)
    weights = {"fc1.weight": rng.standard_normal((8, 16)).astype(np.float32),
               "fc1.bias": np.zeros(16, np.float32), "fc2.weight": fc2, "fc2.bias": np.zeros(16, np.float32),
               "head.weight": rng.standard_normal((16, 4)).astype(np.float32)}
    if variant:
        fc2[0, 0] += 0.25
    node = helper.make_node
    nodes = [node("MatMul", ["x", "fc1.weight"], ["h1"], name="/encoder/fc1/MatMul"),
             node("Add", ["h1", "fc1.bias"], ["h2"], name="/encoder/fc1/Add")]
    if not variant:
        nodes.append(node("Relu", ["h2"], ["h3"], name="/encoder/act1/Relu"))
    nodes += [node("MatMul", ["h2" if variant else "h3", "fc2.weight"], ["h4"], name="/encoder/fc2/MatMul"),
              node("Add", ["h4", "fc2.bias"], ["h5"], name="/encoder/fc2/Add"),
              node("LeakyRelu", ["h5"], ["h6"], name="/encoder/act2/LeakyRelu", alpha=0.2 if variant else 0.1),
              node("MatMul", ["h6", "head.weight"], ["h7"], name="/head/MatMul")]
    if variant:
        nodes.append(node("Tanh", ["h7"], ["h8"], name=INSERTED))
    nodes.append(node("Softmax", ["h8" if variant else "h7"], ["y"], name="/head/Softmax", axis=-1))
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(array, name) for name, array in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module", autouse=True)
def statuses(module_lab_page: LabPage) -> dict[str, str]:
    """Writes the two models; returns each union node's status, as the diff gives it."""
    onnx.save(mlp(False), module_lab_page.dir / A)
    onnx.save(mlp(True), module_lab_page.dir / B)
    payload = open_diff(str(module_lab_page.dir / A), str(module_lab_page.dir / B)).payload()
    values: dict[str, str] = payload["overlay"]["values"]
    assert values[REMOVED] == "removed" and values[SAME] == "same"
    assert values[CHANGED_ATTRIBUTE] == values[CHANGED_WEIGHT] == "changed"
    assert values[INSERTED] == "added"
    return values


def status_class(status: str) -> re.Pattern[str]:
    """Matches the class attribute of an item painted in ``status``."""
    return re.compile(rf"(^|\s)jp-OnnxWorkbench-diff-{status}(\s|$)")


def check_colours(viewer: Viewer, statuses: dict[str, str]) -> None:
    """Every node is drawn in its status's class; the groups' badges count what they hold; the
    legend lists the statuses with their totals."""
    for node_id, status in statuses.items():
        expect(viewer.node(node_id)).to_have_class(status_class(status))
    for status, colour in (("removed", (198, 40, 40)), ("changed", (240, 160, 0))):
        node_id = REMOVED if status == "removed" else CHANGED_ATTRIBUTE
        header = viewer.node(node_id).locator(".jp-OnnxWorkbench-header")
        fill = header.evaluate("el => getComputedStyle(el).fill")
        assert tuple(int(v) for v in re.findall(r"\d+", fill)[:3]) == colour, (status, fill)
    same = viewer.node(SAME).evaluate("el => Number(getComputedStyle(el).opacity)")
    assert same < 1, "an unchanged node is not muted"
    badge = viewer.frame_header("g:encoder").locator(".jp-OnnxWorkbench-diffBadge")
    expect(badge).to_have_count(1)
    expect(badge.locator("text")).to_have_text(["−1", "~2"])
    expect(badge.locator("title")).to_have_text("inside: 1 node removed, 2 nodes changed")
    expect(viewer.group("g:encoder/fc1")).to_have_class(status_class("same"))
    expect(viewer.group("g:encoder/fc1").locator(".jp-OnnxWorkbench-diffBadge")).to_have_count(0)
    legend = viewer.part("legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(f"{A} → {B}")
    counted = sum(1 for s in statuses.values() if s == "same")
    expect(legend.locator("[data-status=same] .jp-OnnxWorkbench-legendTotal")).to_have_text(str(counted))
    expect(legend.locator("[data-status=removed] .jp-OnnxWorkbench-legendTotal")).to_have_text("1")


def check_details(viewer: Viewer) -> None:
    """A changed node's details: its status, what changed, and both models' details side by side
    with the differing attribute marked; a removed node's b side says it is not there."""
    viewer.click(viewer.node(CHANGED_ATTRIBUTE))
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", CHANGED_ATTRIBUTE)
    expect(details.locator(".jp-OnnxWorkbench-diffStatus")).to_have_text("changed")
    expect(details.locator(".jp-OnnxWorkbench-diffChanges")).to_contain_text("alpha")
    sides = details.locator(".jp-OnnxWorkbench-diffSide")
    expect(sides).to_have_count(2)
    for side, alpha in (("a", "0.1"), ("b", "0.2")):
        column = details.locator(f".jp-OnnxWorkbench-diffSide[data-side={side}]")
        expect(column.locator(".jp-OnnxWorkbench-diffSideHead")).to_have_text(side)
        expect(column.locator(".jp-OnnxWorkbench-detailsOp")).to_contain_text("LeakyRelu")
        row = column.locator("tr.jp-OnnxWorkbench-differs")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(alpha)
    a_box, b_box = (sides.nth(i).bounding_box() for i in range(2))
    assert a_box and b_box and b_box["x"] >= a_box["x"] + a_box["width"], "the sides are not side by side"
    assert a_box["width"] > 200, f"each side is only {a_box['width']:.0f} px wide"

    viewer.click(viewer.node(REMOVED))
    expect(details).to_have_attribute("data-node", REMOVED)
    expect(details.locator(".jp-OnnxWorkbench-diffStatus")).to_have_text("removed")
    expect(details.locator(".jp-OnnxWorkbench-diffSide[data-side=b] .jp-OnnxWorkbench-diffMissing")).to_have_text(
        "not in b")
    expect(details.locator(".jp-OnnxWorkbench-diffSide[data-side=a] .jp-OnnxWorkbench-detailsOp")).to_contain_text(
        "Relu")
    viewer.click(viewer.node(CHANGED_ATTRIBUTE))


def file_entry(lab_page: LabPage, name: str) -> Locator:
    """The file browser's entry of ``name``."""
    return lab_page.page.locator(".jp-DirListing-item").filter(has=lab_page.page.get_by_text(name, exact=True))


def diff_menu_item(lab_page: LabPage, entry: Locator) -> Locator:
    """Right-clicks ``entry``; returns the context menu's "Diff ONNX models" entries (0 or 1)."""
    entry.click(button="right")
    menu = lab_page.page.locator(".lm-Menu").last
    expect(menu).to_be_visible()
    return menu.locator(".lm-Menu-item:not(.lm-mod-hidden)").filter(has_text="Diff ONNX models")


def test_diff_widget_in_a_notebook(lab_page: LabPage, notebook: Notebook, statuses: dict[str, str]) -> None:
    """``wb.diff(a, b).view()`` draws the same colours, badges and legend, and its details
    (asked of the kernel) show both sides."""
    viewer = notebook.show(VIEW_CELL)
    check_colours(viewer, statuses)
    lab_page.screenshot("diff-widget.png", notebook.cells.nth(VIEW_CELL))
    check_details(viewer)
    lab_page.screenshot("diff-widget-details.png", notebook.cells.nth(VIEW_CELL))
    lab_page.assert_no_errors()


def wait_for_saved_layout(lab_page: LabPage, done: Callable[[str], bool]) -> None:
    """Waits until the layout JupyterLab saved for its default workspace satisfies ``done``."""
    for _ in range(100):
        saved = lab_page.page.evaluate("""async () => {
          const settings = window.jupyterapp.serviceManager.serverSettings;
          const url = settings.baseUrl + 'lab/api/workspaces/default';
          return await (await fetch(url, {headers: {Authorization: `token ${settings.token}`}})).text();
        }""")
        if done(saved):
            return
        lab_page.page.wait_for_timeout(200)
    raise AssertionError("JupyterLab did not save its layout within 20 s")


def test_diff_from_the_file_browser(lab_page: LabPage, statuses: dict[str, str]) -> None:
    """One file selected: no "Diff" in the menu. Two (a clicked, then b ctrl-clicked): "Diff ONNX
    models" opens a tab `a ↔ b` whose nodes are coloured by status; a changed node's details show
    both sides. It reads well in the dark theme too."""
    page = lab_page.page
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:refresh')")
    a, b = file_entry(lab_page, A), file_entry(lab_page, B)
    a.click()
    expect(diff_menu_item(lab_page, a)).to_have_count(0)
    page.keyboard.press("Escape")
    b.click(modifiers=["ControlOrMeta"])
    expect(page.locator(".jp-DirListing-item.jp-mod-selected")).to_have_count(2)
    diff_menu_item(lab_page, b).click()

    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text=f"{A} ↔ {B}")
    expect(tab).to_have_count(1)
    content = page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OnnxWorkbench-fileViewer")
    viewer = lab_page.viewer_in(content)
    check_colours(viewer, statuses)
    lab_page.screenshot("diff-file.png", page)
    check_details(viewer)
    lab_page.screenshot("diff-file-details.png", content)
    viewer.press("Escape")  # closes the details
    expect(viewer.part("details")).to_be_hidden()
    with viewer.relayout():
        viewer.click(viewer.frame_header("g:encoder"))
    collapsed = viewer.group("g:encoder").locator(":scope > .jp-OnnxWorkbench-diffBadge text")
    expect(collapsed).to_have_text(["−1", "~2"])
    lab_page.screenshot("diff-file-collapsed.png", content)

    def set_theme(name: str, light: str) -> None:
        page.evaluate("name => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", name)
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", light, timeout=20_000)

    set_theme("JupyterLab Dark", "false")
    try:
        page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute
        lab_page.screenshot("diff-file-dark.png", content)
    finally:
        set_theme("JupyterLab Light", "true")

    # The same pair again, b first: the first selected is a.
    b.click()
    a.click(modifiers=["ControlOrMeta"])
    diff_menu_item(lab_page, a).click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text=f"{B} ↔ {A}")).to_have_count(1)

    # A reload brings both diff tabs back, as it does documents, once the layout is saved.
    def tab_id(x: str, y: str) -> str:  # the diff tab's id: both paths, URI-encoded
        return "onnx-workbench-diff:" + ":".join(quote(f"{lab_page.folder}/{name}", safe="") for name in (x, y))

    pairs = [tab_id(A, B), tab_id(B, A)]
    wait_for_saved_layout(lab_page, lambda saved: all(pair in saved for pair in pairs))
    lab_page.goto()
    for title in (f"{A} ↔ {B}", f"{B} ↔ {A}"):
        expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text=title)).to_have_count(1)
    restored = page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OnnxWorkbench-fileViewer")
    expect(lab_page.viewer_in(restored).node(CHANGED_ATTRIBUTE)).to_have_class(re.compile("diff-changed"))
    page.evaluate("""() => [...window.jupyterapp.shell.widgets('main')]
      .filter(widget => widget.id.startsWith('onnx-workbench-diff:')).forEach(widget => widget.close())""")
    # closed for good: the next test module's page, on the same workspace, must not restore them
    wait_for_saved_layout(lab_page, lambda saved: not any(pair in saved for pair in pairs))
    lab_page.assert_no_errors()
