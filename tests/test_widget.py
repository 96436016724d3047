"""``workbench.widgets.GraphView``: synced traits, the kernel side of the messages, overlays."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import workbench as wb
from workbench.widgets import GraphView


@pytest.fixture(scope="module")
def model() -> wb.Model:
    return wb.samples.open("tiny_cnn")


@pytest.fixture
def view(model: wb.Model) -> GraphView:
    return GraphView(model)


@pytest.fixture
def sent(view: GraphView, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The custom messages the widget sends to the front end."""
    messages: list[dict] = []
    monkeypatch.setattr(view, "send", lambda content, buffers=None: messages.append(content))
    return messages


def _from_front_end(view: GraphView, content: dict) -> None:
    """Delivers a custom message as ipywidgets does when the front end sends one."""
    view._handle_custom_msg(json.loads(json.dumps(content)), [])


def test_widget_state(view: GraphView, model: wb.Model) -> None:
    state = view.get_state()
    assert (state["_model_module"], state["_view_name"]) == ("anywidget", "AnyView")  # the anywidget protocol
    assert state["_esm"] == wb.graph.bundle_file("workbench.js").read_text(encoding="utf-8")
    assert state["_css"] == wb.graph.bundle_file("workbench.css").read_text(encoding="utf-8")
    assert state["payload"] == model.view_index.payload(budget=wb.graph.LAZY_PAYLOAD_BYTES)
    assert (state["selected"], state["highlighted"], state["overlay"]) == ([], [], None)
    assert state["expanded"] == state["payload"]["expanded"] != []  # the first paint's open groups
    assert (view.layout.height, state["height"]) == ("560px", 560)
    other = GraphView(model, height=300)
    assert (other.layout.height, other.height) == ("300px", 300)


def test_select_and_highlight_set_the_traits(view: GraphView, model: wb.Model) -> None:
    first, second = model.nodes.index[:2]
    view.select(first)
    assert view.selected == [first]
    view.select(model.nodes.index[:2])
    assert view.selected == [first, second]
    view.highlight([second])
    assert view.highlighted == [second]
    view.highlight([])
    assert view.highlighted == []


def test_group_request_is_answered(view: GraphView, sent: list[dict]) -> None:
    group_id = next(gid for gid in view.payload["groups"] if gid != view.payload["root"])
    _from_front_end(view, {"request": "group", "id": group_id})
    assert sent == [{"response": "group", "id": group_id, "group": view.payload["groups"][group_id]}]


def test_details_request_is_answered(view: GraphView, model: wb.Model, sent: list[dict]) -> None:
    node_id = model.nodes.index[0]
    _from_front_end(view, {"request": "details", "id": node_id})
    assert sent == [{"response": "details", "id": node_id, "details": model.view_index.details(node_id)}]


def test_search_request_is_answered_over_the_whole_model(view: GraphView, model: wb.Model,
                                                         sent: list[dict]) -> None:
    _from_front_end(view, {"request": "search", "id": "Gemm"})
    (reply,) = sent
    assert (reply["response"], reply["id"]) == ("search", "Gemm")
    assert reply["search"] == model.view_index.search("Gemm")
    assert reply["search"]["total"] == (model.nodes.op_type == "Gemm").sum() > 0


@pytest.mark.parametrize("request_kind", ["group", "details"])
def test_unknown_id_is_answered_with_an_error(view: GraphView, sent: list[dict], request_kind: str) -> None:
    _from_front_end(view, {"request": request_kind, "id": "no such thing"})
    [reply] = sent
    assert (reply["response"], reply["id"]) == (request_kind, "no such thing")
    assert "'no such thing'" in reply["error"]
    assert request_kind not in reply


def test_unknown_request_is_answered_with_an_error(view: GraphView, sent: list[dict]) -> None:
    _from_front_end(view, {"request": "everything", "id": "g:"})
    assert sent[0]["error"].startswith("Unknown request 'everything'")


def test_overlay_from_a_series_aggregates_groups(view: GraphView, model: wb.Model) -> None:
    stem = model.nodes.index[model.nodes.index.str.startswith("/stem/")]
    latency = pd.Series(1.5, index=stem, name="latency (ms)")
    view.set_overlay(latency, aggregate="sum")
    assert view.overlay["label"] == "latency (ms)"
    assert {node: view.overlay["values"][node] for node in stem} == dict.fromkeys(stem, 1.5)
    assert view.overlay["values"]["g:stem"] == pytest.approx(1.5 * len(stem))
    view.set_overlay(latency, label="worst")
    assert (view.overlay["label"], view.overlay["values"]["g:stem"]) == ("worst", 1.5)
    view.clear_overlay()
    assert view.overlay is None


def test_overlay_from_a_dict(view: GraphView, model: wb.Model) -> None:
    node_id = model.nodes.index[0]
    view.set_overlay({node_id: 2.0}, label="error")
    assert view.overlay["values"][node_id] == 2.0
    assert view.overlay["min"] == view.overlay["max"] == 2.0


def test_to_graphviz_follows_expanded(view: GraphView) -> None:
    group_id = "g:stem"
    inner = view.payload["groups"][group_id]["items"][0]["label"]
    view.expanded = []
    collapsed = view.to_graphviz().source
    view.expanded = [group_id]
    opened = view.to_graphviz().source
    assert collapsed != opened
    assert inner in opened
    assert "cluster" in opened and "cluster" not in collapsed


def test_save_writes_the_view_with_the_groups_open_in_the_front_end(view: GraphView, tmp_path) -> None:
    index = view._index
    view.expanded = []
    closed = view.save(tmp_path / "closed.svg").read_text(encoding="utf-8")
    group = next(i for i in index.group(index.root)["items"] if i["kind"] == "group" and i["label"] == "stem")
    inside = len(index.group(group["group"])["items"])
    view.expanded = [group["group"]]
    opened = view.save(tmp_path / "open.svg").read_text(encoding="utf-8")
    assert opened.startswith("<?xml") and "<svg" in opened
    # the stem drawn open: a frame with its items instead of one box
    assert opened.count('class="node"') == closed.count('class="node"') - 1 + inside
    assert "cluster" in opened and "cluster" not in closed
    png = view.save(tmp_path / "open.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_save_refuses_a_format_it_cannot_write(view: GraphView, tmp_path) -> None:
    with pytest.raises(wb.errors.UsageError, match=r"name the file \.svg, \.png or \.pdf"):
        view.save(tmp_path / "view.jpg")
    assert not (tmp_path / "view.jpg").exists()


def test_tensor_request_is_answered_with_the_slice(view: GraphView, model: wb.Model, sent: list[dict]) -> None:
    key = json.dumps(["stem.conv.weight", "0", False])
    _from_front_end(view, {"request": "tensor", "id": key})
    assert sent == [{"response": "tensor", "id": key, "tensor": model.view_index.tensor("stem.conv.weight", "0")}]
    sent.clear()
    _from_front_end(view, {"request": "tensor", "id": json.dumps(["stem.conv.weight", "0,,", False])})
    assert "write integers, slices" in sent[0]["error"] and "tensor" not in sent[0]
