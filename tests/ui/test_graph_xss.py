"""Model strings are text, never markup: models whose every string field is an HTML payload are
shown in a notebook output, in the file viewer and in the interactive widgets (graph view,
debugger, comparison report, profile), and nothing runs.

Each check reads a payload back as literal text from one place (a table cell, an SVG title, a
label): it fails if the field were dropped, and if it were parsed as HTML (the tags would then
be missing from the text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from playwright.sync_api import expect

from workbench.graph._details import STACK_TRACE_KEY
from workbench.model._scopes import CLASS_HIERARCHY_KEY, NAME_SCOPES_KEY

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.ui.conftest import LabPage, Notebook, Viewer

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
# What any payload above would leave in the page, had it become markup.
PAYLOAD_ELEMENTS = "script, iframe, object, embed, img[src='x'], [onerror], [onload]"

# The runnable model (standard ops only): names, shapes, weights and scopes.
RUNNABLE = "xss_run.onnx"
DIM = f"n{SVG}"  # a symbolic dimension of the input and of every value after it
WEIGHT = f"w{SCRIPT}"  # an initializer
SCOPE = f"enc{IMG}"  # a TorchScript-style name scope: nodes named /enc<img…>/layer.0/…
LAYER_GROUP = f"g:{SCOPE}/layer.0"
MATMUL = f"/{SCOPE}/layer.0/MatMul"
MODULE = f"blk{SVG}"  # a torch dynamo module scope, from the nodes' metadata
MODULE_GROUP = f"g:{MODULE}"
RELU = f"relu {IMG}"
IDENTITY = SCRIPT
HIDDEN = f"h {SVG}"  # the MatMul's output, also declared in value_info
STACK = f'File "{IMG}", line 1, in forward'
SHAPE = f"{DIM}×4"
# The hostile model adds what onnxruntime cannot run: a custom op with attributes, and a
# call of a model-local function.
MODEL = "xss.onnx"
HOSTILE_FILE = f"{IMG}.onnx"  # the file viewer's copy: the file name is a payload too
CUSTOM_OP = f"Op{IMG}"
DOMAIN = "com.x<b>"
STRING_ATTRIBUTE = IMG
STRINGS_ATTRIBUTE = f"list{SVG}"
FUNCTION = f"Fn{SVG}"
FUNCTION_DOMAIN = f"fn.{IMG}"
INNER = f"inner {IMG}"  # the node in the function's body
FUNCTION_ID = f"fn:{FUNCTION_DOMAIN}.{FUNCTION}"
FUNCTION_ROOT = f"{FUNCTION_ID}:"  # the group of the function's body
INNER_ID = f"{FUNCTION_ID}/{INNER}"


def _module_node(op_type: str, inputs: list[str], outputs: list[str], name: str, doc: str) -> onnx.NodeProto:
    """A node in the torch module ``MODULE``, as the dynamo exporter records it (the view shows
    no module class names: the class payload only has to stay inert)."""
    node = helper.make_node(op_type, inputs, outputs, name=name, doc_string=doc)
    helper.set_metadata_props(node, {
        NAME_SCOPES_KEY: repr(["", MODULE, name]),
        CLASS_HIERARCHY_KEY: repr(["", f"Block{IMG}", op_type]),
    })
    return node


def runnable_model() -> onnx.ModelProto:
    """A valid model of standard ops (onnxruntime runs it) whose names, symbolic dimension,
    weight, scopes, doc strings, stack trace and model strings are payloads.

    The card shows the model's doc string and metadata props; no surface shows the graph's doc
    string, a payload too, in case one ever does."""
    matmul = helper.make_node("MatMul", [IMG, WEIGHT], [HIDDEN], name=MATMUL)
    helper.set_metadata_props(matmul, {STACK_TRACE_KEY: STACK})
    nodes = [
        matmul,
        helper.make_node("Relu", [HIDDEN], [f"mid {SVG}"], name=f"/{SCOPE}/layer.0/Relu"),
        _module_node("Relu", [f"mid {SVG}"], [f"r {SCRIPT}"], RELU, SCRIPT),
        _module_node("Identity", [f"r {SCRIPT}"], [SVG], IDENTITY, IMG),
    ]
    graph = helper.make_graph(
        nodes,
        SCRIPT,
        [helper.make_tensor_value_info(IMG, TensorProto.FLOAT, [DIM, 4])],
        [helper.make_tensor_value_info(SVG, TensorProto.FLOAT, [DIM, 4])],
        initializer=[numpy_helper.from_array(np.eye(4, dtype=np.float32), WEIGHT)],
        value_info=[helper.make_tensor_value_info(HIDDEN, TensorProto.FLOAT, [DIM, 4])],
        doc_string=SVG,
    )
    model = helper.make_model(
        graph,
        producer_name=SVG,
        producer_version=IMG,
        opset_imports=[helper.make_opsetid("", 18)],
        doc_string=IMG,
        ir_version=10,
    )
    helper.set_model_props(model, {IMG: SCRIPT, "note": SVG})
    return model


def hostile_model() -> onnx.ModelProto:
    """:func:`runnable_model` plus a custom op (string and list-of-strings attributes) and a
    call of a model-local function, all named with payloads."""
    model = runnable_model()
    custom = helper.make_node(
        CUSTOM_OP, [SVG], [f"c {IMG}"], name=SVG, domain=DOMAIN, doc_string=SVG,
        **{STRING_ATTRIBUTE: SCRIPT, STRINGS_ATTRIBUTE: [IMG, SCRIPT]},
    )  # fmt: skip
    call = helper.make_node(FUNCTION, [f"c {IMG}"], [f"f {SCRIPT}"], name=f"call {SVG}", domain=FUNCTION_DOMAIN)
    model.graph.node.extend([custom, call])
    model.functions.append(helper.make_function(
        FUNCTION_DOMAIN, FUNCTION, ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"], name=INNER)],
        [helper.make_opsetid("", 18)],
    ))  # fmt: skip
    model.opset_import.extend([helper.make_opsetid(DOMAIN, 1), helper.make_opsetid(FUNCTION_DOMAIN, 1)])
    return model


@pytest.fixture(scope="module", autouse=True)
def files(module_lab_page: LabPage) -> None:
    """Writes the hostile model as `xss.onnx` and under a hostile file name, and the runnable one."""
    model = hostile_model()
    for name in (MODEL, HOSTILE_FILE):
        onnx.save(model, module_lab_page.dir / name)
    onnx.save(runnable_model(), module_lab_page.dir / RUNNABLE)


# ---- checks -------------------------------------------------------------------------------------


def assert_inert(lab_page: LabPage, container: Locator) -> None:
    """No payload in ``container`` became an element, and none ran."""
    expect(container.locator(PAYLOAD_ELEMENTS)).to_have_count(0)
    assert lab_page.page.evaluate("() => window.__xss") is None, "a payload ran"


def title(item: Locator) -> Locator:
    """The tooltip (SVG ``<title>``) of a drawn item or frame header itself, not of its children."""
    return item.locator(":scope > title")


def fact(details: Locator, key: str) -> Locator:
    """The value cell of the row ``key`` of the details panel's facts table."""
    return details.locator(f".jp-OnnxWorkbench-detailsFacts th:text-is('{key}') + td")


def show_details(viewer: Viewer, node_id: str) -> Locator:
    """Clicks the node ``node_id``; returns the details panel once it shows that node."""
    viewer.click(viewer.node(node_id))
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", node_id)
    expect(fact(details, "name")).to_be_visible()
    return details


def assert_group_title(viewer: Viewer, group_id: str, label: str) -> None:
    """Folds the expanded group ``group_id`` and unfolds it again; its frame header and its
    folded box both read ``label``, in their text and tooltips."""
    header = viewer.frame_header(group_id)
    expect(header.locator(".jp-OnnxWorkbench-label")).to_have_text(f"▾ {label}")
    expect(title(header)).to_have_text(f"{label}\nclick to collapse")
    group = viewer.group(group_id)
    with viewer.relayout():
        viewer.click(header)
    expect(group).not_to_have_class(viewer.state("frame"))
    expect(group.locator(":scope > .jp-OnnxWorkbench-label")).to_have_text(f"▸ {label}")
    expect(title(group)).to_have_text(f"{label}\n2 nodes\nclick to expand")
    with viewer.relayout():
        viewer.click(group)
    expect(group).to_have_class(viewer.state("frame"))


def assert_runnable_view(viewer: Viewer) -> None:
    """The view of the runnable model's strings: value pills (names and the symbolic dimension),
    edges, the scope and module groups, the MatMul (its weight) and the module's Relu."""
    expect(title(viewer.item(f"in:{IMG}"))).to_have_text(f"input: {IMG}\nfloat32 ⟨{SHAPE}⟩")
    expect(viewer.item(f"in:{IMG}").locator(".jp-OnnxWorkbench-sub")).to_have_text(f"float32 ⟨{SHAPE}⟩")
    expect(title(viewer.item(f"out:{SVG}"))).to_have_text(f"output: {SVG}\nfloat32 ⟨{SHAPE}⟩")
    expect(viewer.root.locator("g.jp-OnnxWorkbench-edge > title").first).to_have_text(SHAPE)
    assert_group_title(viewer, LAYER_GROUP, "layer.0")
    assert_group_title(viewer, f"g:{SCOPE}", SCOPE)
    assert_group_title(viewer, MODULE_GROUP, MODULE)
    expect(title(viewer.node(MATMUL))).to_have_text(f"MatMul\n{MATMUL}\nB: {WEIGHT} ⟨4×4⟩")  # B: its role

    details = show_details(viewer, MATMUL)
    expect(fact(details, "name")).to_have_text(MATMUL)
    expect(fact(details, "scope")).to_have_text(f"{SCOPE}/layer.0")
    inputs = details.locator(".jp-OnnxWorkbench-detailsValue")
    # each value after its role in MatMul's schema (A, B; output Y)
    expect(inputs.locator(".jp-OnnxWorkbench-name")).to_have_text([f"A{IMG}", f"B{WEIGHT}initializer", f"Y{HIDDEN}"])
    expect(inputs.locator(".jp-OnnxWorkbench-type")).to_have_text([f"float32 ⟨{SHAPE}⟩", "float32 ⟨4×4⟩",
                                                                     f"float32 ⟨{SHAPE}⟩"])
    expect(inputs.nth(1).locator(".jp-OnnxWorkbench-stats")).to_contain_text("max 1")
    expect(details.locator(".jp-OnnxWorkbench-stack")).to_have_text(STACK)

    details = show_details(viewer, RELU)
    expect(fact(details, "name")).to_have_text(RELU)
    expect(fact(details, "scope")).to_have_text(MODULE)
    expect(details.locator(".jp-OnnxWorkbench-doc")).to_have_text(SCRIPT)
    expect(details.locator(".jp-OnnxWorkbench-detailsValue .jp-OnnxWorkbench-name")).to_have_text(
        [f"Xmid {SVG}", f"Yr {SCRIPT}"]
    )


def assert_hostile_view(viewer: Viewer) -> None:
    """The view of the hostile model: :func:`assert_runnable_view`, then the custom op's
    attributes and the function call, entered down to the node in the function's body."""
    expect(viewer.root.locator("g.jp-OnnxWorkbench-item[data-kind='node']")).to_have_count(6)
    assert_runnable_view(viewer)
    custom = viewer.node(SVG)
    expect(custom.locator(".jp-OnnxWorkbench-op")).to_have_text(CUSTOM_OP)
    details = show_details(viewer, SVG)
    expect(viewer.part("detailsOp")).to_have_text(f"{CUSTOM_OP}{DOMAIN}")
    attributes = details.locator(".jp-OnnxWorkbench-detailsAttributes")
    expect(attributes.locator("th")).to_have_text([STRING_ATTRIBUTE, STRINGS_ATTRIBUTE])
    # A list of strings is shown item by item, each a payload.
    expect(attributes.locator("td")).to_have_text([SCRIPT, str([IMG, SCRIPT])])
    expect(details.locator(".jp-OnnxWorkbench-doc")).to_have_text(SVG)

    call = viewer.node(f"call {SVG}")
    expect(title(call)).to_have_text(f"{FUNCTION} ({FUNCTION_DOMAIN})\ncall {SVG}\nbody: function")
    details = show_details(viewer, f"call {SVG}")
    expect(viewer.part("detailsOp")).to_have_text(f"{FUNCTION}{FUNCTION_DOMAIN}")
    crumbs = viewer.root.locator("button.jp-OnnxWorkbench-crumb")
    with viewer.relayout():
        details.locator(".jp-OnnxWorkbench-enter").click()
    expect(crumbs.last).to_have_attribute("data-group", FUNCTION_ROOT)
    expect(crumbs.last).to_have_text(f"{FUNCTION_DOMAIN}.{FUNCTION}")  # the function's name, a payload
    expect(fact(show_details(viewer, INNER_ID), "name")).to_have_text(INNER)
    with viewer.relayout():
        crumbs.first.click()
    expect(crumbs).to_have_count(1)


def assert_card(card: Locator) -> None:
    """The summary card shows the model's name, producer, opset domains, inputs and outputs
    (with the symbolic dimension), op types, local functions, doc string and metadata as text."""
    expect(card.locator(".jp-OnnxWorkbench-title")).to_have_text(SCRIPT)
    facts = card.locator(".jp-OnnxWorkbench-facts")
    expect(facts.locator("dt:text-is('producer') + dd")).to_have_text(f"{SVG} {IMG}")
    expect(facts.locator("dt:text-is('opsets') + dd")).to_have_text(
        f"ai.onnx 18, {DOMAIN} 1, {FUNCTION_DOMAIN} 1"
    )
    values = card.locator(".jp-OnnxWorkbench-values")
    expect(values.first.locator("td")).to_have_text([IMG, "float32", f"[{DIM}, 4]"])
    expect(values.last.locator("td")).to_have_text([SVG, "float32", f"[{DIM}, 4]"])
    ops = card.locator(".jp-OnnxWorkbench-ops td.jp-OnnxWorkbench-name")
    expect(ops).to_have_text(["Relu", FUNCTION, "Identity", "MatMul", CUSTOM_OP])  # by count, then name
    expect(card.locator("li")).to_have_text([f"{FUNCTION_DOMAIN}.{FUNCTION} (1 nodes)"])
    expect(card.locator(".jp-OnnxWorkbench-description")).to_have_text(IMG)  # the model's doc string
    metadata = card.locator(".jp-OnnxWorkbench-metadata")
    expect(metadata.locator("th")).to_have_text([IMG, "note"])
    expect(metadata.locator("td")).to_have_text([SCRIPT, SVG])


# ---- the model's own displays ------------------------------------------------------------------


def test_hostile_strings_in_notebook_output(lab_page: LabPage) -> None:
    """The summary card and the view of a notebook output show the payloads as text."""
    notebook = lab_page.open_notebook("xss.ipynb", [f"import workbench as wb\nwb.open({MODEL!r})"])
    try:
        notebook.run(0)
        viewer = notebook.viewer(0)
        output = notebook.output(0)
        assert_card(output.locator(".jp-OnnxWorkbench-summary"))
        assert_hostile_view(viewer)
        show_details(viewer, SVG)
        lab_page.screenshot("xss-notebook.png", lab_page.page)
        assert_inert(lab_page, output)
    finally:
        notebook.close()
    lab_page.assert_no_errors()


def test_hostile_strings_in_file_viewer(lab_page: LabPage) -> None:
    """The file viewer (payload from the server route, under a hostile file name) shows the
    payloads as text."""
    content = lab_page.open_in_file_browser(HOSTILE_FILE)
    viewer = lab_page.viewer_in(content)
    assert_hostile_view(viewer)
    show_details(viewer, SVG)
    lab_page.screenshot("xss-file-viewer.png", lab_page.page)
    assert_inert(lab_page, content)
    tab_label = lab_page.page.locator("li.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel")
    expect(tab_label).to_have_text(HOSTILE_FILE)
    lab_page.assert_no_errors()


# ---- the widgets, on the runnable model ----------------------------------------------------------

CELLS = [
    f"import numpy as np, onnx, workbench as wb\nm = wb.open({RUNNABLE!r})",
    f"v = m.view()\nv.set_overlay({{{MATMUL!r}: 1.0, {RELU!r}: 2.0}}, label={IMG!r})\nv",
    "dbg = wb.debug(m)\ndbg",
    f"proto = onnx.load({RUNNABLE!r})\n"
    f"w = next(t for t in proto.graph.initializer if t.name == {WEIGHT!r})\n"
    "w.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(w) * np.float32(1.05), w.name))\n"
    "wb.compare(m, wb.random_inputs(m), candidate=wb.open(proto))",
    "p = wb.profile(m, runs=2, warmup=1)\np",
    "p.view()",
]
OPEN_CELL, VIEW_CELL, DEBUG_CELL, COMPARE_CELL, PROFILE_CELL, PROFILE_VIEW_CELL = range(len(CELLS))

NOTEBOOK = "xss_widgets.ipynb"  # opened by the `notebook` fixture (tests/ui/conftest.py)
RUN_FIRST = (OPEN_CELL,)


def test_hostile_strings_in_graph_widget(lab_page: LabPage, notebook: Notebook) -> None:
    """``m.view()`` (details fetched from the kernel) and its overlay legend show the payloads as text."""
    viewer = notebook.show(VIEW_CELL)
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text(IMG)
    expect(viewer.node(MATMUL)).to_have_class(viewer.state("overlaid"))
    assert_runnable_view(viewer)
    assert_inert(lab_page, notebook.output(VIEW_CELL))
    lab_page.assert_no_errors()


def test_hostile_strings_in_debugger(lab_page: LabPage, notebook: Notebook) -> None:
    """The debugger's status line, inspector (header, statistics, value picker, values caption)
    and graph show the node and value names as text."""
    notebook.run(DEBUG_CELL)
    root = notebook.output(DEBUG_CELL).locator(".jp-OnnxWorkbench-debugger")
    status = root.locator(".jp-OnnxWorkbench-debuggerStatus")
    expect(status).to_contain_text("0 / 4")
    root.locator("button.widget-button", has_text="Step").first.click()
    expect(status).to_have_text(f"1 / 4 · MatMul {MATMUL}")
    expect(status.locator("code")).to_have_text(MATMUL)
    inspector = root.locator(".jp-OnnxWorkbench-inspector")
    expect(inspector.locator(".widget-html code").first).to_have_text(MATMUL)
    stats = inspector.locator(".jp-OnnxWorkbench-table").first
    expect(stats.locator("thead th")).to_have_text(["", HIDDEN, IMG, WEIGHT])
    expect(inspector.locator("select option")).to_have_text([f"output {HIDDEN}", f"input {IMG}", f"input {WEIGHT}"])
    expect(inspector.locator(".widget-html code").last).to_have_text(f"{HIDDEN}[:1, :4] of 1×4")
    viewer = notebook.viewer(DEBUG_CELL)
    viewer.click(viewer.node(RELU))
    expect(inspector.locator(".widget-html code").first).to_have_text(RELU)
    expect(inspector).to_contain_text("not reached yet")
    assert_inert(lab_page, root)
    lab_page.assert_no_errors()


def test_hostile_strings_in_compare_report(lab_page: LabPage, notebook: Notebook) -> None:
    """The comparison report's summary, its graph (root cause selected) and its table of
    values off show the node names and scopes as text."""
    viewer = notebook.show(COMPARE_CELL)
    output = notebook.output(COMPARE_CELL)
    expect(output.locator("p").first).to_contain_text(f"root cause: MatMul {MATMUL!r} in {SCOPE}/layer.0")
    details = viewer.part("details")
    expect(details).to_have_attribute("data-node", MATMUL)
    expect(fact(details, "name")).to_have_text(MATMUL)
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("max_abs")
    first_row = output.locator("table.dataframe tbody tr").first.locator("td")
    expect(first_row.nth(0)).to_have_text(MATMUL)
    expect(first_row.nth(2)).to_have_text(f"{SCOPE}/layer.0")
    assert_inert(lab_page, output)
    lab_page.assert_no_errors()


def test_hostile_strings_in_profile(lab_page: LabPage, notebook: Notebook) -> None:
    """The profile's report (title, slowest nodes and their scopes) and its latency overlay
    (legend, coloured nodes, their tooltips and details) show the payloads as text."""
    notebook.run(PROFILE_CELL)
    report = notebook.output(PROFILE_CELL)
    expect(report.locator("b").first).to_have_text(f"Profile: {SCRIPT} on cpu, optimization 'all'")
    slowest = report.locator("table.dataframe tbody th")
    expect(slowest.filter(has_text=MATMUL)).to_have_text(MATMUL)
    expect(slowest.filter(has_text=RELU)).to_have_text(RELU)
    expect(report.locator("table.dataframe tbody td").filter(has_text=MODULE).first).to_have_text(MODULE)
    assert_inert(lab_page, report)

    viewer = notebook.show(PROFILE_VIEW_CELL)
    expect(viewer.part("legend").locator(".jp-OnnxWorkbench-legendLabel")).to_have_text("latency (µs)")
    for node_id in (MATMUL, RELU):
        expect(viewer.node(node_id)).to_have_class(viewer.state("overlaid"))
    expect(title(viewer.node(RELU))).to_have_text(f"Relu\n{RELU}")
    expect(fact(show_details(viewer, RELU), "name")).to_have_text(RELU)
    notebook.cells.nth(PROFILE_VIEW_CELL).scroll_into_view_if_needed()
    lab_page.screenshot("xss-profile.png", lab_page.page)
    assert_inert(lab_page, notebook.output(PROFILE_VIEW_CELL))
    lab_page.assert_no_errors()
