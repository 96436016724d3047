"""Menus of the graph view: the context menu on nodes and groups, the JupyterLab commands on the
`.onnx` tab in front (run directly and from the command palette), the model properties panel of
the file viewer, and the `direction` and `edgeLabels` settings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
import pytest
from onnx import TensorProto, helper
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.ui.conftest import LabPage, Viewer

MODEL = "menus.onnx"
MENU = ".jp-OnnxWorkbench-contextMenu"
ENTRY = ".jp-OnnxWorkbench-menuEntry"
# Two nodes share a name, so their ids are `<op>_<index>` (docs/node-identity.md): "Copy name"
# and "Copy id" copy different texts.
SHARED_NAME = "/head/Act"
SIGMOID = "Sigmoid_4"
FIRST_RELU = "/block/Relu"
# Search hits: the current one and the others.
HITS = "g.jp-OnnxWorkbench-item.jp-OnnxWorkbench-hit, g.jp-OnnxWorkbench-item.jp-OnnxWorkbench-currentHit"
NODE_ENTRIES = ["Copy name", "Copy id", "Find nodes of this op type", "Find where its outputs go", "Select"]
COMMANDS = {
    "fit": "onnx-workbench:fit",
    "expand": "onnx-workbench:expand-level",
    "collapse": "onnx-workbench:collapse-all",
    "direction": "onnx-workbench:toggle-direction",
    "svg": "onnx-workbench:save-svg",
    "png": "onnx-workbench:save-png",
    "properties": "onnx-workbench:properties",
    "search": "onnx-workbench:search",
}


def menus_model() -> onnx.ModelProto:
    """x → /block/Relu → /block/Neg → /relu_gate/Mul → Relu → Sigmoid → y: two Relus, a Mul whose
    name holds "relu", the last two nodes sharing one name; many metadata entries, so the
    properties card is taller than its panel."""
    nodes = [
        helper.make_node("Relu", ["x"], ["t1"], name=FIRST_RELU),
        helper.make_node("Neg", ["t1"], ["t2"], name="/block/Neg"),
        helper.make_node("Mul", ["t2", "t1"], ["t3"], name="/relu_gate/Mul"),
        helper.make_node("Relu", ["t3"], ["t4"], name=SHARED_NAME),
        helper.make_node("Sigmoid", ["t4"], ["y"], name=SHARED_NAME),
    ]
    graph = helper.make_graph(
        nodes, "menus",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    helper.set_model_props(model, {f"key_{i:02d}": f"value {i}" for i in range(40)})
    return model


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    """Writes the model the tests open."""
    onnx.save(menus_model(), module_lab_page.dir / MODEL)


def open_model(lab_page: LabPage) -> Viewer:
    """Opens the model from the file browser, everything expanded, and waits for its drawing."""
    viewer = lab_page.viewer_in(lab_page.open_in_file_browser(MODEL))
    while viewer.root.locator("g.jp-OnnxWorkbench-group:not(.jp-OnnxWorkbench-frame)").count():
        with viewer.relayout():
            viewer.press("e")
    return viewer


def close_tabs(lab_page: LabPage) -> None:
    """Closes every `.onnx` tab and launcher, so the next test starts with a fresh view."""
    lab_page.page.evaluate(
        """() => {
          for (const w of [...window.jupyterapp.shell.widgets('main')]) {
            if ((w.context && w.context.path.endsWith('.onnx')) || w.node.querySelector('.jp-Launcher')) {
              w.dispose();
            }
          }
        }"""
    )


def menu_labels(page: Page) -> list[str]:
    """The entries of the open context menu."""
    return [text.strip() for text in page.locator(f"{MENU} {ENTRY}").all_inner_texts()]


def right_click(item: Locator) -> dict[str, float]:
    """Right-clicks the middle of a drawn item with the mouse; returns where (page pixels)."""
    box = item.bounding_box()
    assert box, "the item is not drawn"
    x, y = box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 10)
    item.page.mouse.click(x, y, button="right")
    return {"x": x, "y": y}


def record_context_menus(page: Page) -> None:
    """Records, for each `contextmenu` event from now on, its target and whether anything kept
    the browser's own menu from opening (in `window.contextMenus`)."""
    page.evaluate(
        """() => {
          const listening = Array.isArray(window.contextMenus);
          window.contextMenus = [];
          if (listening) return;
          window.addEventListener('contextmenu', event => {
            // Read once every listener has run.
            setTimeout(() => window.contextMenus.push({
              target: event.target.tagName.toLowerCase(),
              prevented: event.defaultPrevented,
            }));
          }, true);
        }"""
    )


def zoom(viewer: Viewer) -> float:
    """The view's scale, read from its SVG viewport."""
    attr = viewer.root.locator("svg.jp-OnnxWorkbench-svg > g").get_attribute("transform") or ""
    match = re.search(r"scale\(([-\d.]+)\)", attr)
    assert match, f"unexpected viewport transform {attr!r}"
    return float(match.group(1))


def execute(lab_page: LabPage, command: str, args: dict | None = None) -> None:
    """Runs a JupyterLab command, as the palette or a menu does, and waits for it to finish."""
    lab_page.page.evaluate(
        "async ([id, args]) => { await window.jupyterapp.commands.execute(id, args); }", [command, args or {}]
    )


def enabled(lab_page: LabPage) -> dict[str, bool]:
    """Whether each of the commands is enabled now."""
    return lab_page.page.evaluate(
        "ids => Object.fromEntries(ids.map(id => [id, window.jupyterapp.commands.isEnabled(id)]))",
        list(COMMANDS.values()),
    )


# ---- the context menu -------------------------------------------------------------------------


def test_context_menu_on_a_node(lab_page: LabPage) -> None:
    """A right-click on a node opens the menu at the pointer; its entries copy the node's name and
    id, find the nodes of its op type (exactly: not the Mul named "relu_gate") and where its
    outputs go, and select it; arrow keys and Enter work it."""
    page = lab_page.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_page.server.base_url)
    viewer = open_model(lab_page)
    record_context_menus(page)
    menu = page.locator(MENU)

    at = right_click(viewer.node(SIGMOID))
    expect(menu).to_be_visible()
    assert menu_labels(page) == NODE_ENTRIES
    box = menu.bounding_box()
    assert abs(box["x"] - at["x"]) <= 3 and abs(box["y"] - at["y"]) <= 3, f"menu at {box}, pointer at {at}"
    expect(menu.locator(ENTRY).first).to_be_focused()
    page.wait_for_function("() => window.contextMenus.length === 1")
    assert page.evaluate("window.contextMenus[0].prevented"), "over a node, the view's menu replaces the browser's"
    lab_page.screenshot("view-context-menu.png", viewer.root)

    # Copy name: the name both nodes share, not the id.
    menu.get_by_text("Copy name", exact=True).click()
    expect(menu).to_have_count(0)
    expect(viewer.part("menuNote")).to_have_text(f"copied: {SHARED_NAME}")
    assert page.evaluate("navigator.clipboard.readText()") == SHARED_NAME
    # Copy id, with the keyboard: down once, Enter.
    right_click(viewer.node(SIGMOID))
    page.keyboard.press("ArrowDown")
    expect(menu.locator(ENTRY).nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_count(0)
    page.wait_for_function("id => navigator.clipboard.readText().then(text => text === id)", arg=SIGMOID)

    # Find nodes of this op type, on the first Relu: both Relus, not the Mul named relu_gate.
    right_click(viewer.node(FIRST_RELU))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(viewer.part("search")).to_have_value("/^Relu$/")
    expect(viewer.part("counter")).to_have_text("1 / 2")
    hits = viewer.root.locator(HITS)
    expect(hits).to_have_count(2)
    assert sorted(hits.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted([FIRST_RELU, "Relu_3"])

    # Find where its outputs go, on the first Relu: it writes t1, which Neg and the Mul read.
    right_click(viewer.node(FIRST_RELU))
    menu.get_by_text("Find where its outputs go", exact=True).click()
    expect(viewer.part("search")).to_have_value("/^t1$/")
    hits = viewer.root.locator(HITS)
    expect(hits).to_have_count(3)
    assert sorted(hits.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(
        [FIRST_RELU, "/block/Neg", "/relu_gate/Mul"])
    # on the Sigmoid: its output y is the graph's output
    right_click(viewer.node(SIGMOID))
    menu.get_by_text("Find where its outputs go", exact=True).click()
    expect(viewer.item("out:y")).to_have_class(re.compile(r"jp-OnnxWorkbench-(hit|currentHit)\b"))
    expect(viewer.root.locator(HITS)).to_have_count(2)  # the Sigmoid that writes y, and the output

    # Select: as a click does, with the node's details.
    right_click(viewer.node(FIRST_RELU))
    menu.get_by_text("Select", exact=True).click()
    expect(viewer.node(FIRST_RELU)).to_have_class(viewer.state("selected"))
    expect(viewer.part("details")).to_have_attribute("data-node", FIRST_RELU)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_context_menu_closes(lab_page: LabPage) -> None:
    """Escape, a click elsewhere, the wheel and another right-click close the menu (only one is
    ever open); the search box keeps the browser's own context menu."""
    page = lab_page.page
    viewer = open_model(lab_page)
    record_context_menus(page)
    menu = page.locator(MENU)

    right_click(viewer.node(FIRST_RELU))
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(viewer.root).to_be_focused()  # the view has the keyboard back

    right_click(viewer.node(FIRST_RELU))
    expect(menu).to_be_visible()
    canvas = viewer.part("canvas").bounding_box()
    page.mouse.click(canvas["x"] + 5, canvas["y"] + canvas["height"] - 5)
    expect(menu).to_have_count(0)

    right_click(viewer.node(FIRST_RELU))
    expect(menu).to_be_visible()
    page.mouse.wheel(0, 40)
    expect(menu).to_have_count(0)

    right_click(viewer.node(FIRST_RELU))
    right_click(viewer.node(SIGMOID))
    expect(menu).to_have_count(1)
    assert menu_labels(page) == NODE_ENTRIES
    page.keyboard.press("Escape")

    page.evaluate("window.contextMenus = []")
    viewer.part("search").click(button="right")
    page.wait_for_function("() => window.contextMenus.length === 1")
    expect(menu).to_have_count(0)
    record = page.evaluate("window.contextMenus[0]")
    assert record == {"target": "input", "prevented": False}, record
    page.keyboard.press("Escape")
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_context_menu_on_a_group(lab_page: LabPage) -> None:
    """A right-click on an open group's header offers "Collapse" and "Copy name"; on the
    collapsed box, "Expand"."""
    page = lab_page.page
    viewer = open_model(lab_page)
    menu = page.locator(MENU)
    header = viewer.frame_header("g:block")
    expect(header).to_have_count(1)
    right_click(header)
    assert menu_labels(page) == ["Collapse", "Copy name"]
    with viewer.relayout():
        menu.get_by_text("Collapse", exact=True).click()
    box = viewer.group("g:block")
    expect(box).not_to_have_class(viewer.state("frame"))
    expect(viewer.node(FIRST_RELU)).to_have_count(0)
    right_click(box)
    assert menu_labels(page) == ["Expand", "Copy name"]
    lab_page.screenshot("view-context-menu-group.png", viewer.root)
    with viewer.relayout():
        page.keyboard.press("Enter")
    expect(viewer.node(FIRST_RELU)).to_have_count(1)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


# ---- commands -------------------------------------------------------------------------------


def test_commands_act_on_the_onnx_tab_in_front(lab_page: LabPage) -> None:
    """Each command works on the `.onnx` tab in front, and is disabled when another tab is."""
    page = lab_page.page
    viewer = open_model(lab_page)
    assert all(enabled(lab_page).values()), enabled(lab_page)

    with viewer.relayout():
        execute(lab_page, COMMANDS["collapse"])
    expect(viewer.root.locator("g.jp-OnnxWorkbench-frame")).to_have_count(0)
    with viewer.relayout():
        execute(lab_page, COMMANDS["expand"])
    expect(viewer.root.locator("g.jp-OnnxWorkbench-frame")).not_to_have_count(0)

    viewer.press("+", "+", "+")
    zoomed = zoom(viewer)
    execute(lab_page, COMMANDS["fit"])
    page.wait_for_function(
        """([host, k]) => {
          const attr = host.querySelector('svg.jp-OnnxWorkbench-svg > g').getAttribute('transform');
          return Number(/scale\\(([-\\d.]+)\\)/.exec(attr)[1]) < k * 0.9;
        }""",
        arg=[viewer.root.element_handle(), zoomed],
    )

    label = "() => window.jupyterapp.commands.label('onnx-workbench:toggle-direction')"
    assert page.evaluate(label) == "Lay out left to right"
    with viewer.relayout():
        execute(lab_page, COMMANDS["direction"])
    expect(viewer.root).to_have_attribute("data-direction", "LR")
    x_in, x_out = (viewer.item(i).bounding_box()["x"] for i in ("in:x", "out:y"))
    assert x_out > x_in + 200, f"left to right: input at x={x_in}, output at x={x_out}"
    assert page.evaluate(label) == "Lay out top to bottom"
    with viewer.relayout():
        execute(lab_page, COMMANDS["direction"])
    expect(viewer.root).to_have_attribute("data-direction", "TB")

    with page.expect_download() as svg:
        execute(lab_page, COMMANDS["svg"])
    assert svg.value.suggested_filename.endswith(".svg")
    text = Path(svg.value.path()).read_text(encoding="utf-8")
    assert "<svg" in text and "Sigmoid" in text, text[:200]
    with page.expect_download() as png:
        execute(lab_page, COMMANDS["png"])
    assert png.value.suggested_filename.endswith(".png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    execute(lab_page, COMMANDS["search"], {"query": "Neg"})
    expect(viewer.part("search")).to_have_value("Neg")
    expect(viewer.part("counter")).to_have_text("1 / 1")
    execute(lab_page, COMMANDS["search"])
    expect(viewer.part("search")).to_be_focused()

    # Another tab in front: every command is disabled, and does nothing.
    page.evaluate("async () => { await window.jupyterapp.commands.execute('launcher:create'); }")
    expect(viewer.root).to_be_hidden()
    assert not any(enabled(lab_page).values()), enabled(lab_page)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


def test_command_palette_finds_the_commands(lab_page: LabPage) -> None:
    """With the view focused, Ctrl+Shift+C opens the palette, which lists the commands under
    "ONNX Workbench"; typing one and Enter runs it on the tab."""
    page = lab_page.page
    viewer = open_model(lab_page)
    viewer.root.focus()
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-ModalCommandPalette")
    expect(palette).to_be_visible()
    page.keyboard.type("Collapse all groups")
    item = palette.locator(".lm-CommandPalette-item.lm-mod-active")
    expect(item).to_contain_text("Collapse all groups")
    header = palette.locator(".lm-CommandPalette-header", has_text="ONNX Workbench")
    expect(header).to_have_count(1)
    lab_page.screenshot("view-command-palette.png", page)
    with viewer.relayout():
        page.keyboard.press("Enter")
    expect(palette).to_be_hidden()
    expect(viewer.root.locator("g.jp-OnnxWorkbench-frame")).to_have_count(0)
    lab_page.assert_no_errors()
    close_tabs(lab_page)


# ---- the properties panel -------------------------------------------------------------------


def test_properties_panel_opens_beside_the_graph(lab_page: LabPage) -> None:
    """The tab's "Properties" button opens the model's summary card in a panel above the graph
    that covers none of it and scrolls inside itself; its × and the command close it."""
    page = lab_page.page
    content = lab_page.open_in_file_browser(MODEL)
    viewer = lab_page.viewer_in(content)
    panel = content.locator(".jp-OnnxWorkbench-properties")
    expect(panel).to_be_hidden()
    canvas_before = viewer.part("canvas").bounding_box()
    tab = content.locator("xpath=..")  # the DocumentWidget: its toolbar holds the button
    button = tab.locator(".jp-Toolbar .jp-OnnxWorkbench-propertiesButton")  # a <jp-button>
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(panel).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "true")
    summary = panel.locator(".jp-OnnxWorkbench-summary")
    expect(summary.locator(".jp-OnnxWorkbench-title")).to_have_text("menus")
    expect(summary).to_contain_text("key_39")
    assert page.evaluate(f"() => window.jupyterapp.commands.isToggled({json.dumps(COMMANDS['properties'])})")

    panel_box = panel.bounding_box()
    view_box = viewer.root.bounding_box()
    content_box = content.bounding_box()
    assert panel_box["y"] + panel_box["height"] <= view_box["y"] + 1, "the panel must not cover the graph"
    assert panel_box["height"] <= 0.45 * content_box["height"], (panel_box, content_box)
    assert view_box["height"] >= 0.5 * content_box["height"]
    body = panel.locator(".jp-OnnxWorkbench-propertiesBody")
    assert body.evaluate("el => el.scrollHeight > el.clientHeight"), "the card is taller: its body scrolls"
    body.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(summary).to_contain_text("value 39")
    body.evaluate("el => { el.scrollTop = 0; }")
    lab_page.screenshot("view-properties-panel.png", tab)

    panel.locator(".jp-OnnxWorkbench-propertiesClose").click()
    expect(panel).to_be_hidden()
    expect(button).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(
        "([el, h]) => el.getBoundingClientRect().height >= h - 1",
        arg=[viewer.part("canvas").element_handle(), canvas_before["height"]],
    )
    execute(lab_page, COMMANDS["properties"])
    expect(panel).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "true")
    execute(lab_page, COMMANDS["properties"])
    expect(panel).to_be_hidden()
    lab_page.assert_no_errors()
    close_tabs(lab_page)


# ---- settings ---------------------------------------------------------------------------------


def test_direction_and_edge_label_settings(lab_page: LabPage) -> None:
    """With `direction` "LR" and `edgeLabels` false (Settings → ONNX Workbench), a new view lays
    the graph out left to right and draws no edge label, each edge keeping its shape as its
    tooltip; back to the defaults, top to bottom with labels."""
    page = lab_page.page
    url = lab_page.server.url("lab/api/settings/onnx-workbench:settings")

    def put(raw: dict) -> None:
        response = page.request.put(url, data=json.dumps({"raw": json.dumps(raw)}),
                                    headers={"Content-Type": "application/json"})
        assert response.ok, f"PUT settings: {response.status} {response.text()}"

    def labels(viewer: Viewer) -> dict:
        return viewer.root.evaluate(
            """host => ({
              labels: host.querySelectorAll('text.jp-OnnxWorkbench-edgeLabel').length,
              edges: host.querySelectorAll('g.jp-OnnxWorkbench-edge').length,
              titled: [...host.querySelectorAll('g.jp-OnnxWorkbench-edge > title')]
                .filter(t => /×/.test(t.textContent)).length,
            })"""
        )

    put({"direction": "LR", "edgeLabels": False})
    try:
        lab_page.goto()
        viewer = open_model(lab_page)
        expect(viewer.root).to_have_attribute("data-direction", "LR")
        box_in, box_out = (viewer.item(i).bounding_box() for i in ("in:x", "out:y"))
        assert box_out["x"] > box_in["x"] + 200 and abs(box_out["y"] - box_in["y"]) < 150, (box_in, box_out)
        counts = labels(viewer)
        assert counts["labels"] == 0 and counts["edges"] >= 5 and counts["titled"] >= 5, counts
        lab_page.screenshot("view-settings-lr-no-labels.png", viewer.root)
    finally:
        put({})
        close_tabs(lab_page)
        lab_page.goto()
    viewer = open_model(lab_page)
    expect(viewer.root).to_have_attribute("data-direction", "TB")
    box_in, box_out = (viewer.item(i).bounding_box() for i in ("in:x", "out:y"))
    assert box_out["y"] > box_in["y"] + 200, (box_in, box_out)
    assert labels(viewer)["labels"] >= 1, labels(viewer)
    lab_page.assert_no_errors()
    close_tabs(lab_page)
