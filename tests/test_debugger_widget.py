"""``workbench.widgets.DebuggerView``: the buttons move the debugger, the graph follows,
breakpoints toggled in the view reach the debugger, the inspector draws any tensor."""

from __future__ import annotations

import json

import numpy as np
import pytest

import workbench as wb
from workbench.widgets import DebuggerView, GraphView
from workbench.widgets._debugger import heatmap_png, histogram_png, value_slice

PNG = b"\x89PNG"


@pytest.fixture
def dbg() -> wb.runtime.Debugger:
    return wb.debug(wb.samples.open("tiny_cnn"))


@pytest.fixture
def view(dbg: wb.runtime.Debugger) -> DebuggerView:
    return DebuggerView(dbg)


def toggle_in_view(graph: GraphView, node_id: str) -> None:
    """Delivers the front end's breakpoint message as ipywidgets does."""
    graph._handle_custom_msg(json.loads(json.dumps({"event": "breakpoint", "id": node_id})), [])


def test_before_the_first_step(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    assert view.status.value == f"0 / {len(dbg.steps)} · not started"
    assert view.graph.highlighted == []
    assert [name for name, b in view.buttons.items() if b.disabled] == ["reset", "back", "run_to"]
    assert view.graph.breakpoint_clicks
    assert "Not started" in view.inspector.header.value


def test_buttons_move_the_debugger_and_the_highlight(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    for _ in range(3):
        view.buttons["step"].click()
    assert dbg.position == 2
    node = dbg.steps[2]
    assert view.graph.highlighted == [node] and view.graph.revealed == node
    assert view.status.value.startswith(f"3 / {len(dbg.steps)} · <b>Relu</b>")
    assert node in view.inspector.header.value
    view.buttons["back"].click()
    assert dbg.position == 1 and view.graph.highlighted == [dbg.steps[1]]
    view.buttons["continue"].click()  # no breakpoints: to the end
    assert dbg.position == len(dbg.steps) - 1
    assert view.buttons["step"].disabled and view.buttons["continue"].disabled
    view.buttons["reset"].click()
    assert dbg.position == -1 and view.graph.highlighted == []


def test_reveal_opens_the_groups_around_the_current_node(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    deep = "/layer1/0/out/conv/Conv_7"  # inside the folded repeat of layer1's blocks
    dbg.run_to(deep)
    view.refresh()
    ancestors = dbg.model.view_index.ancestors(deep)[1:]
    assert set(ancestors) <= set(view.graph.expanded)
    assert view.graph.revealed == deep


def test_run_to_selected(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    target = dbg.steps[20]
    view.graph.selected = [target]  # a click in the view
    assert not view.buttons["run_to"].disabled
    assert target in view.inspector.header.value and "not reached yet" in view.inspector.header.value
    view.buttons["run_to"].click()
    assert dbg.position == 20 and view.graph.highlighted == [target]


def test_breakpoint_toggled_in_the_view(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    node = dbg.steps[23]
    toggle_in_view(view.graph, node)
    assert [b.node for b in dbg.breakpoints] == [node]
    assert view.graph.marks == {node: "breakpoint"}
    view.buttons["continue"].click()
    assert dbg.position == 23 and view.graph.highlighted == [node]
    toggle_in_view(view.graph, node)
    assert dbg.breakpoints == [] and view.graph.marks == {}


def test_toggle_keeps_other_breakpoints(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    by_op = dbg.break_on(op_type="Relu")
    node = dbg.steps[5]
    view.toggle_breakpoint(node)
    view.toggle_breakpoint(node)
    assert dbg.breakpoints == [by_op] and view.graph.marks == {}


def test_moves_and_breakpoints_made_in_python_show_at_once(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    dbg.break_on(node=dbg.steps[4])
    assert view.graph.marks == {dbg.steps[4]: "breakpoint"}
    dbg.continue_()
    assert view.graph.highlighted == [dbg.steps[4]]
    assert view.status.value.startswith(f"5 / {len(dbg.steps)}")
    dbg.clear_breakpoints()
    assert view.graph.marks == {}


def test_failed_move_is_shown(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    view.graph.selected = ["no such node"]
    assert view.buttons["run_to"].disabled
    view.buttons["run_to"].click()  # a click that raced the button's update
    assert "no such node" in view.status.value and dbg.position == -1


def test_inspector_shows_every_value_of_a_node(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    dbg.run_to("/stem/conv/Conv_1")  # 4-D input and output, 4-D weight
    view.refresh()
    inspector = view.inspector
    labels = [label for label, _ in inspector.picker.options]
    assert labels == ["output conv_1", "input image", "input stem.conv.weight"]
    for index in range(len(labels)):
        inspector.picker.value = index
        assert bytes(inspector.histogram.value).startswith(PNG)
        assert bytes(inspector.heatmap.value).startswith(PNG)
    assert "NaN" in inspector.table.value and "Inf" in inspector.table.value
    assert "stem.conv.weight[0, 0, :3, :3] of 16×3×3×3" in inspector.values.value


def test_inspector_on_1d_and_2d_values(view: DebuggerView, dbg: wb.runtime.Debugger) -> None:
    dbg.run_to("/fc/Gemm_35")  # 2-D input and output, 2-D weight, 1-D bias
    view.refresh()
    inspector = view.inspector
    names = [label.split()[1] for label, _ in inspector.picker.options]
    shapes = {name: dbg.tensor(name).ndim for name in names}
    assert sorted(shapes.values()) == [1, 2, 2, 2]
    for index, name in enumerate(names):
        inspector.picker.value = index
        assert bytes(inspector.histogram.value).startswith(PNG)
        assert (inspector.heatmap.layout.display == "none") == (shapes[name] == 1)


def test_figures_and_slices_of_odd_values() -> None:
    nan_heavy = np.full((3, 5), np.nan, dtype=np.float32)
    assert histogram_png(nan_heavy).startswith(PNG)  # "no finite numbers"
    assert heatmap_png(nan_heavy).startswith(PNG)
    assert heatmap_png(np.arange(4)) is None
    assert heatmap_png(np.array(["a", "b"] * 2).reshape(2, 2)) is None
    assert histogram_png(np.array([True, False, True])).startswith(PNG)
    big = np.random.default_rng(0).standard_normal((2, 3, 700, 900)).astype(np.float16)
    assert heatmap_png(big).startswith(PNG) and histogram_png(big).startswith(PNG)
    caption, frame = value_slice("x", big)
    assert caption == "x[0, 0, :16, :10] of 2×3×700×900" and frame.shape == (16, 10)
    caption, frame = value_slice("s", np.array(3.5))
    assert caption == "s (scalar)" and frame.iloc[0, 0] == 3.5
    caption, frame = value_slice("v", np.arange(100))
    assert caption == "v[:16] of 100" and len(frame) == 16


def test_model_strings_are_escaped(dbg: wb.runtime.Debugger) -> None:
    view = DebuggerView(dbg)
    view.inspector.show_message("<img src=x onerror=alert(1)>")
    assert "<img" not in view.inspector.header.value


def test_breakpoint_event_gets_no_reply(view: DebuggerView, dbg: wb.runtime.Debugger,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The event is not a request: GraphView answers requests only."""
    sent: list[dict] = []
    monkeypatch.setattr(view.graph, "send", lambda content, buffers=None: sent.append(content))
    toggle_in_view(view.graph, dbg.steps[0])
    assert sent == [] and [b.node for b in dbg.breakpoints] == [dbg.steps[0]]


def test_inspector_on_sequences_optionals_and_float8() -> None:
    from onnx import TensorProto as T
    from onnx import helper

    empty = helper.make_tensor_type_proto(T.FLOAT, [3])
    graph = helper.make_graph(
        [helper.make_node("SplitToSequence", ["x", "split"], ["s"], axis=0),
         helper.make_node("Optional", [], ["e"], type=empty), helper.make_node("OptionalHasElement", ["e"], ["has"]),
         helper.make_node("Cast", ["x"], ["f8"], to=T.FLOAT8E4M3FN)], "g",
        [helper.make_tensor_value_info("x", T.FLOAT, [3])],
        [helper.make_tensor_value_info("has", T.BOOL, []), helper.make_tensor_value_info("f8", T.FLOAT8E4M3FN, [3])],
        [helper.make_tensor("split", T.INT64, [2], [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    dbg = wb.debug(model, {"x": np.array([1, 2, 448], np.float32)})
    view = DebuggerView(dbg)
    inspector = view.inspector
    dbg.step()  # SplitToSequence: each element is a tensor to pick
    view.refresh()
    assert [label for label, _ in inspector.picker.options][:2] == ["output s[0]", "output s[1]"]
    inspector.picker.value = 1
    assert bytes(inspector.histogram.value).startswith(PNG) and "s[1][:2] of 2" in inspector.values.value
    assert "seq(2 × float32)" in inspector.table.value
    dbg.step()  # Optional with no input: the empty optional said in words, nothing drawn
    view.refresh()
    assert [label for label, _ in inspector.picker.options] == ["output e"]
    assert "empty optional" in inspector.values.value and inspector.histogram.layout.display == "none"
    dbg.step(2)  # Cast to float8: its numbers drawn, not "no finite numbers"
    view.refresh()
    assert "float8e4m3fn 3" in inspector.table.value
    assert bytes(inspector.histogram.value).startswith(PNG) and "448" in inspector.values.value
