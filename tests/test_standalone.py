"""The standalone view: ``to_html()`` files, the HTML form of notebook outputs and the bundle
they inline (``workbench/graph/_standalone.py``). The browser tests (``tests/ui/test_standalone_ui.py``)
open them in Chromium; these check what the files carry."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.errors import UsageError
from workbench.graph import STANDALONE_MIME_TYPE, bundle_file
from workbench.widgets import GraphView

_DATA = re.compile(rf'<script type="{re.escape(STANDALONE_MIME_TYPE)}">([A-Za-z0-9+/=]+)</script>')


def blocks(page: str) -> list[dict]:
    """The standalone data of every block in ``page``, decoded."""
    return [json.loads(gzip.decompress(base64.b64decode(found))) for found in _DATA.findall(page)]


@pytest.fixture(scope="module")
def model() -> wb.Model:
    return wb.samples.open("tiny_bert")


def test_bundle_is_built_and_safe_to_inline() -> None:
    """The module and its styles are in the package, and nothing in them ends an inline script."""
    script = bundle_file("workbench.js").read_text(encoding="utf-8")
    styles = bundle_file("workbench.css").read_text(encoding="utf-8")
    assert "render" in script and "jp-OnnxWorkbench-viewer" in styles
    assert "</script" not in script.lower() and "</style" not in styles.lower()


def test_to_html_carries_the_whole_view(model: wb.Model, tmp_path: Path) -> None:
    path = model.to_html(tmp_path / "model.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script type=\"module\">" in page
    (data,) = blocks(page)
    payload = data["payload"]
    index = model.view_index
    assert payload["complete"] is True
    assert set(payload["groups"]) == set(index.group_ids)
    assert set(payload["details"]) >= set(model.nodes.index)
    assert payload["details"][model.nodes.index[0]] == json.loads(json.dumps(index.details(model.nodes.index[0])))
    assert payload["expanded"] == index.first_paint()
    assert data["table"] is None
    fallback = page.split(f'<script type="{STANDALONE_MIME_TYPE}">')[0]  # shown where the script does not run
    assert "Trust HTML" in fallback and model.name in fallback
    assert not re.search(r"https?://", page.replace("http://www.w3.org/", "")), "the page must not fetch anything"


def test_to_html_refuses_other_suffixes(model: wb.Model, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"name the file \.html"):
        model.to_html(tmp_path / "model.svg")
    assert not (tmp_path / "model.svg").exists()


def test_report_to_html_has_overlay_cause_and_table(tmp_path: Path) -> None:
    model = wb.samples.open("tiny_cnn")
    broken = wb.samples.proto("tiny_cnn")
    weight = next(t for t in broken.graph.initializer if t.dims and len(t.dims) == 4)
    values = np.frombuffer(weight.raw_data, dtype=np.float32).copy() if weight.raw_data else None
    assert values is not None
    weight.raw_data = (values * 1.5).astype(np.float32).tobytes()
    report = wb.compare(model, wb.runtime.random_inputs(model), candidate=wb.open(broken))
    assert report.root_cause is not None
    (data,) = blocks(report.to_html(tmp_path / "report.html").read_text(encoding="utf-8"))
    cause = report.root_cause.node
    assert data["payload"]["selected"] == [cause]
    assert data["payload"]["overlay"]["label"] == "max_abs"
    assert data["payload"]["overlay"]["values"][cause] > 0
    assert set(model.view_index.ancestors(cause)) - {model.view_index.root} <= set(data["payload"]["expanded"])
    table = data["table"]
    assert table["columns"] == [str(c) for c in report.table.columns]
    assert len(table["rows"]) == len(report.table)
    assert table["columns"][table["node"]] == "node"
    with pytest.raises(UsageError, match="No column 'nope'"):
        report.to_html(tmp_path / "r.html", metric="nope")


def test_profile_to_html_rows_name_their_graph_nodes(model: wb.Model, tmp_path: Path) -> None:
    profile = wb.profile(model, runs=2, warmup=1)
    (data,) = blocks(profile.to_html(tmp_path / "profile.html").read_text(encoding="utf-8"))
    table = data["table"]
    assert table["columns"][table["node"]] == "graph_node"
    times = [row[table["columns"].index("median_us")] for row in table["rows"]]
    assert times == sorted(times, reverse=True)
    ids = {row[table["node"]] for row in table["rows"]} - {None}
    assert ids and ids <= set(model.nodes.index)
    assert data["payload"]["overlay"]["label"] == "latency (µs)"


def test_diff_to_html_rows_are_union_nodes(tmp_path: Path) -> None:
    a = wb.samples.open("tiny_cnn")
    b_proto = wb.samples.proto("tiny_cnn")
    relu = next(n for n in b_proto.graph.node if n.op_type == "Relu")
    relu.op_type = "Sigmoid"
    diff = wb.diff(a, b_proto)
    (data,) = blocks(diff.to_html(tmp_path / "diff.html").read_text(encoding="utf-8"))
    table = data["table"]
    assert table["rows"], "the changed node is listed"
    ids = {row[table["node"]] for row in table["rows"]}
    assert ids <= set(data["payload"]["details"])
    assert data["payload"]["overlay"]["kind"] == "diff"


def test_model_output_html_draws_the_view_and_keeps_a_static_fallback(model: wb.Model) -> None:
    bundle = model._repr_mimebundle_()
    page = bundle["text/html"]
    (data,) = blocks(page)
    assert data["payload"] == json.loads(json.dumps(bundle[wb.graph.VIEW_MIME_TYPE]))
    fallback = page.split(f'<script type="{STANDALONE_MIME_TYPE}">')[0]
    assert "<table" in fallback and "data:image/svg+xml;base64," in fallback  # card and picture, no script


def test_widget_output_html_is_the_view_as_it_stands(model: wb.Model) -> None:
    view = GraphView(model)
    node = model.nodes.index[3]
    view.select(node)
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    (shown,) = blocks(data["text/html"])
    assert shown["payload"]["selected"] == [node]
    assert shown["payload"]["expanded"] == view.expanded


def test_strings_travel_as_data_not_markup(tmp_path: Path) -> None:
    """A model name with markup is inside the compressed JSON only, never in the page as HTML."""
    proto = wb.samples.proto("tiny_cnn")
    proto.graph.name = "<img src=x onerror=alert(1)>"
    proto.graph.node[0].name = "</script><script>alert(2)</script>"
    hostile = wb.open(proto)
    page = hostile.to_html(tmp_path / "x.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the page title, escaped
    (data,) = blocks(page)
    assert data["payload"]["title"] == "<img src=x onerror=alert(1)>"


def test_outputs_can_carry_the_static_form_only(model: wb.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """``WORKBENCH_OUTPUT_HTML=static`` keeps notebook files small: the card and the picture, no renderer."""
    monkeypatch.setenv("WORKBENCH_OUTPUT_HTML", "static")
    page = model._repr_mimebundle_()["text/html"]
    assert "<table" in page and "data:image/svg+xml;base64," in page
    assert not blocks(page) and "<script" not in page
    monkeypatch.setenv("WORKBENCH_OUTPUT_HTML", "fancy")
    with pytest.raises(UsageError, match="'interactive' .* or 'static'"):
        model._repr_mimebundle_()


def test_non_finite_cells_become_json(model: wb.Model, tmp_path: Path) -> None:
    """A table cell holding an infinity (a relative error over a zero reference) still writes
    valid JSON: JSON has no infinity, so it travels as text."""
    node = model.nodes.index[0]
    table = pd.DataFrame({"node": [node, node], "max_rel": [np.inf, 0.5]})
    path = wb.graph.write_html(tmp_path / "inf.html", model.view_index, table=table, node_column="node")
    (data,) = blocks(path.read_text(encoding="utf-8"))
    assert data["table"]["rows"] == [[node, "inf"], [node, 0.5]]
