"""Profiling: kernel timings from onnxruntime's profiler, per run and per node, mapped to the authored graph."""

from __future__ import annotations

import io
import json

import matplotlib
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from helpers import LIGHT_MODELS

import workbench as wb
from workbench.errors import ProviderError, WorkbenchError
from workbench.profiling import Profile, ProfileError, profile, profile_compare, read_profile

matplotlib.use("Agg")

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
SEQUENCE = {"batch": 1, "sequence": 16}
FAST = {"runs": 3, "warmup": 1}
RESNET = next(p for p in LIGHT_MODELS if p.stem == "light_resnet50")
#: ts and dur are whole microseconds: a run's kernels may sum past its model_run by 1 µs each.
ROUNDING_US = 1


@pytest.fixture(scope="module")
def bert() -> wb.Model:
    return wb.samples.open("tiny_bert")


@pytest.fixture(scope="module")
def bert_all(bert) -> Profile:
    return profile(bert, dims=SEQUENCE, **FAST)


@pytest.fixture(scope="module")
def bert_disabled(bert) -> Profile:
    return profile(bert, dims=SEQUENCE, optimization="disabled", **FAST)


def _kernel_events(p: Profile) -> list[dict]:
    """The Node kernel events of the measured runs, straight from the file onnxruntime wrote."""
    events = json.loads(p.file.read_text())
    runs = sorted((e for e in events if e["name"] == "model_run"), key=lambda e: e["ts"])[p.warmup:]
    return [dict(e, run=k) for k, r in enumerate(runs) for e in events
            if e["cat"] == "Node" and e["name"].endswith("_kernel_time") and r["ts"] <= e["ts"] <= r["ts"] + r["dur"]]


@pytest.mark.parametrize("source", ["tiny_cnn", "tiny_bert", "resnet50"])
def test_one_row_per_executed_kernel(source: str) -> None:
    m = wb.open(RESNET) if source == "resnet50" else wb.samples.open(source)
    p = profile(m, dims=SEQUENCE, **FAST)
    kernels = _kernel_events(p)
    assert set(p.nodes.index) == {e["name"].removesuffix("_kernel_time") for e in kernels}
    assert len(p.runs) == FAST["runs"]
    per_run = pd.Series([e["run"] for e in kernels]).value_counts().sort_index()
    assert list(p.runs["kernels"]) == list(per_run) == [int(p.nodes["calls"].sum())] * FAST["runs"]
    assert (p.nodes[["median_us", "min_us", "p90_us"]] >= 0).all().all()
    assert (p.nodes["min_us"] <= p.nodes["median_us"]).all() and (p.nodes["median_us"] <= p.nodes["p90_us"]).all()
    assert p.nodes["share"].sum() == pytest.approx(1.0)
    assert p.nodes["op"].notna().all() and (p.nodes["provider"] == "CPUExecutionProvider").all()


@pytest.mark.parametrize("source", ["tiny_bert", "control_flow"])
def test_kernels_plus_overhead_are_the_run_latency(source: str) -> None:
    m = wb.samples.open(source)
    feeds = {"x": np.array([1.0, -2.0, 3.0], np.float32)} if source == "control_flow" else None
    p = profile(m, feeds, dims=SEQUENCE, optimization="disabled", **FAST)
    main_graph = set(m.nodes.index[m.nodes["graph"] == ""])
    kernels = pd.DataFrame(_kernel_events(p))
    kernels = kernels[kernels["name"].str.removesuffix("_kernel_time").isin(main_graph)]
    expected = kernels.groupby("run")["dur"].sum()
    runs = p.runs
    assert list(runs["kernel_us"]) == list(expected)
    assert (runs["kernel_us"] + runs["overhead_us"] == runs["latency_us"]).all()
    # The kernels of a run fit inside it, up to rounding (tolerance: 1 µs per kernel event).
    assert (runs["overhead_us"] >= -ROUNDING_US * runs["kernels"]).all()
    assert (runs["execute_us"] <= runs["latency_us"]).all()
    assert p.latency["min"] <= p.latency["median"] <= p.latency["p90"]
    # Exclusive times (a control-flow node's own, its bodies' kernels apart) add up to the run's kernel time.
    events = p.events[(p.events["cat"] == "Node") & (p.events["run"] >= 0)]
    inner = events.groupby("parent")["dur"].sum()
    exclusive = events["dur"] - events["event"].map(inner).fillna(0)
    assert list(exclusive.groupby(events["run"]).sum()) == list(runs["kernel_us"])
    assert p.authored.sum() == pytest.approx(p.nodes["self_us"].sum())


def test_control_flow_bodies_are_nested_in_their_node() -> None:
    m = wb.samples.open("control_flow")
    p = profile(m, {"x": np.array([1.0, -2.0, 3.0], np.float32)}, optimization="disabled", **FAST)
    nodes = p.nodes
    assert nodes.at["then_relu", "depth"] == 1 and nodes.at["body_add", "depth"] == 1
    assert nodes.at["repeat", "depth"] == 0
    assert nodes.at["body_add", "calls"] == int(m.weight("trip_count"))  # once per iteration
    assert nodes.at["repeat", "self_us"] < nodes.at["repeat", "median_us"]
    body = p.events[p.events["node"] == "body_add"]
    assert body["parent"].notna().all()
    assert (p.events.set_index("event").loc[body["parent"].astype(int), "node"] == "repeat").all()


#: The control_flow sample's main graph, as (node, op, µs of its own or the bodies it runs).
_LOOP_BODY = [("body_add", "Add", 9), ("body_cond", "Identity", 7)]
_CONTROL_FLOW = [("sum", "ReduceSum", 17), ("is_positive", "Greater", 10),
                 ("branch", "If", [[("then_relu", "Relu", 9)]]), ("repeat", "Loop", [_LOOP_BODY] * 3)]


def _execute(nodes: list, start: int, gap: int, short: int, events: list[dict]) -> int:
    """Appends one graph's events, as onnxruntime writes them (each when it ends: a body
    before the If or Loop that ran it, kernels before their Execute), from ``start`` with
    ``gap`` µs between consecutive or nested events and each If or Loop recorded ``short`` µs
    short (its start and duration truncated); returns the Execute's end."""
    t = start + gap
    for name, op, work in nodes:
        if isinstance(work, int):
            end = recorded = t + work
        else:
            end = t
            for body in work:
                end = _execute(body, end + gap, gap, short, events)
            end += gap
            recorded = end - short
        events.append({"cat": "Node", "pid": 1, "tid": 1, "dur": recorded - t, "ts": t, "ph": "X",
                       "name": f"{name}_kernel_time", "args": {"op_name": op, "provider": "CPUExecutionProvider"}})
        t = end + gap
    events.append({"cat": "Session", "pid": 1, "tid": 1, "dur": t - start, "ts": start, "ph": "X",
                   "name": "SequentialExecutor::Execute", "args": {}})
    return t


@pytest.mark.parametrize("gap, short, order", [(0, 0, "written"), (0, 1, "written"), (2, 0, "written"),
                                               (2, 0, "by start")])
def test_control_flow_nesting_with_whole_microsecond_timestamps(tmp_path, gap: int, short: int,
                                                                 order: str) -> None:
    """Timestamps are whole microseconds: with no gap, the If, its body's Execute and its kernel
    start in the same microsecond, and the Loop in the one the If ended; truncated, the If may
    even end before its body. The order onnxruntime writes events in still nests them; a trace
    sorted by start is read as well where no two events end in the same microsecond."""
    events: list[dict] = []
    end = _execute(_CONTROL_FLOW, 1000 + gap, gap, short, events)
    events.append({"cat": "Session", "pid": 1, "tid": 1, "dur": end + gap - 1000, "ts": 1000, "ph": "X",
                   "name": "model_run", "args": {}})
    if order == "by start":
        events.sort(key=lambda e: (e["ts"], -e["dur"]))
    path = tmp_path / "control_flow.json"
    path.write_text(json.dumps(events))
    p = read_profile(path)
    m = wb.samples.open("control_flow")
    kernels = p.events[p.events["cat"] == "Node"].set_index("node")
    main_graph = m.nodes.index[m.nodes["graph"] == ""]
    assert (kernels.loc[main_graph, "depth"] == 0).all() and kernels.loc[main_graph, "parent"].isna().all()
    assert kernels.at["then_relu", "depth"] == 1 and kernels.at["then_relu", "parent"] == kernels.at["branch", "event"]
    assert (kernels.loc[["body_add", "body_cond"], "parent"] == kernels.at["repeat", "event"]).all()
    assert list(p.runs["kernel_us"]) == [kernels.loc[main_graph, "dur"].sum()]  # the If's and the Loop's time too
    assert p.nodes["self_us"].sum() == p.runs.at[0, "kernel_us"]  # bodies counted once, in their node


@pytest.mark.parametrize("source", ["tiny_bert", "tiny_cnn", "resnet50"])
def test_disabled_maps_every_kernel_exactly(source: str) -> None:
    m = wb.open(RESNET) if source == "resnet50" else wb.samples.open(source)
    p = profile(m, dims=SEQUENCE, optimization="disabled", **FAST)
    assert (p.nodes["mapping"] == "exact").all()
    assert all(ids == [name] for name, ids in p.nodes["authored"].items())
    assert p.mapping_rate == {"count": 1.0, "time": 1.0}
    assert set(p.authored.index) == set(p.nodes.index)


def test_fused_kernels_map_to_the_authored_nodes_they_replaced(bert, bert_all) -> None:
    nodes = bert_all.nodes
    assert len(nodes) < len(bert.nodes)
    assert bert_all.mapping_rate["time"] == pytest.approx(1.0)
    fused = nodes[nodes["op"].isin(["FusedMatMul", "BiasGelu", "FusedGemm"])]
    assert len(fused) >= 4 and (fused["mapping"] == "tensors").all()
    for ids in fused["authored"]:
        assert len(ids) > 1 and set(ids) <= set(bert.nodes.index)
    gelu = fused[fused["op"] == "BiasGelu"].iloc[0]
    assert {"Erf", "Mul", "Add"} <= set(bert.nodes.loc[gelu["authored"], "op_type"])
    assert gelu["scope"].endswith("intermediate")
    # Fused time is spread over the nodes it covers, by FLOPs: nothing is lost or invented.
    assert bert_all.authored.sum() == pytest.approx(nodes["self_us"].sum())
    assert nodes["flops"].notna().sum() > len(nodes) / 2  # sizes came from the profile: concrete FLOPs
    assert (nodes["bytes"] > 0).all()


def _torch():
    return pytest.importorskip("torch", reason="torch is an optional extra: pip install 'onnx-workbench[torch]'")


@pytest.fixture(scope="module")
def encoder_export():
    """``nn.TransformerEncoder`` (GELU feed-forward), exported by dynamo."""
    torch = _torch()

    class Encoder(torch.nn.Module):
        def __init__(self, width: int = 64, heads: int = 4, depth: int = 2) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(100, width)
            layer = torch.nn.TransformerEncoderLayer(width, heads, 4 * width, batch_first=True, activation="gelu")
            self.encoder = torch.nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)

        def forward(self, ids):
            return self.encoder(self.embed(ids))

    torch.manual_seed(0)
    ids = torch.randint(0, 100, (1, 32))
    program = torch.onnx.export(Encoder().eval(), (ids,), dynamo=True, verbose=False, input_names=["ids"])
    return wb.open(program), {"ids": ids.numpy()}


@pytest.fixture(scope="module")
def bert_export():
    """A hand-written BERT layer stack (attention with a mask, LayerNorm, GELU), exported by dynamo."""
    torch = _torch()

    class Attention(torch.nn.Module):
        def __init__(self, width: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.query, self.key, self.value, self.output = (torch.nn.Linear(width, width) for _ in range(4))

        def forward(self, x, mask):
            b, s, w = x.shape
            split = lambda t: t.view(b, s, self.heads, w // self.heads).transpose(1, 2)  # noqa: E731
            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = (q @ k.transpose(-1, -2)) / (w // self.heads) ** 0.5 + mask
            return self.output((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, w))

    class Layer(torch.nn.Module):
        def __init__(self, width: int, heads: int) -> None:
            super().__init__()
            self.attention = Attention(width, heads)
            self.norm1, self.norm2 = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
            self.intermediate, self.output = torch.nn.Linear(width, 4 * width), torch.nn.Linear(4 * width, width)

        def forward(self, x, mask):
            x = self.norm1(x + self.attention(x, mask))
            return self.norm2(x + self.output(torch.nn.functional.gelu(self.intermediate(x))))

    class Bert(torch.nn.Module):
        def __init__(self, width: int = 64, heads: int = 4, depth: int = 2) -> None:
            super().__init__()
            self.words, self.positions = torch.nn.Embedding(100, width), torch.nn.Embedding(64, width)
            self.norm = torch.nn.LayerNorm(width)
            self.layers = torch.nn.ModuleList(Layer(width, heads) for _ in range(depth))

        def forward(self, ids, attention_mask):
            x = self.norm(self.words(ids) + self.positions.weight[: ids.shape[1]])
            mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
            for layer in self.layers:
                x = layer(x, mask)
            return x

    torch.manual_seed(0)
    ids, mask = torch.randint(0, 100, (1, 32)), torch.ones(1, 32, dtype=torch.int64)
    program = torch.onnx.export(Bert().eval(), (ids, mask), dynamo=True, verbose=False,
                                input_names=["input_ids", "attention_mask"])
    return wb.open(program), {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}


@pytest.mark.slow  # two torch exports, profiled at "all": about 8 s
@pytest.mark.parametrize("export", ["bert_export", "encoder_export"])
def test_bert_export_at_all_maps_kernel_time_to_authored_nodes(request, export: str) -> None:
    m, feeds = request.getfixturevalue(export)
    p = profile(m, feeds, **FAST)
    nodes = p.nodes
    assert p.mapping_rate["time"] >= 0.95 and p.mapping_rate["count"] >= 0.95, p.summary()
    assert (nodes["mapping"] != "exact").sum() > 10  # most of the work ran in nodes ORT made
    skip = nodes[nodes["op"] == "SkipLayerNormalization"]
    assert len(skip) >= 2
    for ids in skip["authored"]:  # the residual Add and the LayerNorm it fused
        assert set(m.nodes.loc[ids, "op_type"]) == {"Add", "LayerNormalization"}
    gemm = nodes[nodes.index.str.endswith("MatMulAddFusion")]
    assert len(gemm) >= 4  # the feed-forward Linears at least, each a MatMul and its bias Add
    for name, ids in gemm["authored"].items():
        assert set(m.nodes.loc[ids, "op_type"]) >= {"MatMul", "Add"}
        assert "layers.0" in nodes.at[name, "scope"] or "layers.1" in nodes.at[name, "scope"]
    layer = p.scopes.loc[[s for s in p.scopes.index if s.endswith("layers.0")][0]]
    assert 0.2 < layer["share"] < 0.8 and layer["nodes"] > 10
    whole = p.scopes.loc["(model)"]  # the root is named, not an empty label
    assert whole["depth"] == 0 and whole["median_us"] == pytest.approx(p.authored.sum()) and "" not in p.scopes.index


def test_compare_disabled_with_all(bert_disabled, bert_all) -> None:
    by_node = profile_compare(bert_disabled, bert_all)
    assert {"a_us", "b_us", "delta_us", "speedup", "op_type", "scope"} <= set(by_node.columns)
    assert set(by_node.index) <= set(bert_disabled.model.nodes.index)
    assert by_node["a_us"].sum() == pytest.approx(bert_disabled.authored.sum())
    assert by_node["b_us"].sum() == pytest.approx(bert_all.authored.sum())
    ratio = by_node["speedup"].dropna()
    assert len(ratio) > 20 and (ratio > 0).all()
    assert (by_node["delta_us"] == by_node["b_us"] - by_node["a_us"]).all()
    by_op = profile_compare(bert_disabled, bert_all, by="op")
    assert by_op.at["Div", "b_us"] == 0 and np.isnan(by_op.at["Div", "speedup"])  # fused into FusedMatMul
    assert by_op.at["FusedMatMul", "a_us"] == 0
    by_scope = profile_compare(bert_disabled, bert_all, by="scope")
    assert "encoder/layer.0" in by_scope.index
    assert by_scope.at["(model)", "a_us"] == pytest.approx(bert_disabled.authored.sum())
    assert by_op.attrs == {"a": bert_disabled.label, "b": bert_all.label}
    with pytest.raises(ValueError, match="by must be one of"):
        profile_compare(bert_disabled, bert_all, by="provider")


_TABLES = ("nodes", "runs", "ops", "providers", "scopes")


def _assert_same_tables(p: Profile, q: Profile) -> None:
    for name in _TABLES:
        pd.testing.assert_frame_equal(getattr(p, name), getattr(q, name), obj=name)
    pd.testing.assert_series_equal(p.authored, q.authored)


def test_read_profile_reproduces_the_live_profile(bert, bert_all, tmp_path) -> None:
    again = read_profile(bert_all.file, model=bert, optimized=bert_all.optimized, warmup=bert_all.warmup)
    _assert_same_tables(bert_all, again)
    # A glob picks the newest match; without optimized=, the graph is rebuilt at the level that fits.
    trace = bert_all.to_chrome_trace(tmp_path / "trace.json")
    rebuilt = read_profile(str(tmp_path / "*.json"), model=bert)
    assert rebuilt.file == trace and rebuilt.optimized is not None
    assert set(rebuilt.warnings) <= set(bert_all.warnings)  # the same data: no warning of its own
    _assert_same_tables(bert_all, rebuilt)


def test_fence_events_are_not_nodes_to_find(bert, bert_disabled, tmp_path) -> None:
    """Builds that fence each kernel (``<node>_fence_before``/``_after`` Node events) still read
    as the authored graph: no level is rebuilt to look for the fences."""
    events = []
    for event in json.loads(bert_disabled.file.read_text()):
        kernel = event["cat"] == "Node" and event["name"].endswith("_kernel_time")
        if kernel:
            name = event["name"].removesuffix("_kernel_time")
            events.append({**event, "name": f"{name}_fence_before", "dur": 0})
        events.append(event)
        if kernel:
            events.append({**event, "name": f"{name}_fence_after", "dur": 0})
    path = tmp_path / "fenced.json"
    path.write_text(json.dumps(events))
    fenced = read_profile(path, model=bert, warmup=bert_disabled.warmup)
    assert fenced.optimized is None  # the authored graph has every node: nothing rebuilt
    assert not any("rebuilt" in warning for warning in fenced.warnings)
    assert fenced.mapping_rate["count"] == 1.0
    assert read_profile(path, optimized="all").optimized is None  # a level needs the model to rebuild from


def test_a_trace_without_input_shapes_still_reads(bert, bert_disabled, tmp_path) -> None:
    """Builds and tools that leave ``input_type_shape`` out of the events: the model's symbolic
    sizes stay symbolic (no FLOPs at concrete sizes), every table still comes out."""
    events = json.loads(bert_disabled.file.read_text())
    for event in events:
        event.get("args", {}).pop("input_type_shape", None)
    path = tmp_path / "shapeless.json"
    path.write_text(json.dumps(events))
    shapeless = read_profile(path, model=bert, warmup=bert_disabled.warmup)
    assert shapeless.mapping_rate["count"] == 1.0
    assert shapeless.nodes.index.equals(bert_disabled.nodes.index)
    assert len(shapeless.scopes) == len(bert_disabled.scopes)


def test_chrome_trace_is_valid_json_without_warm_ups(bert_all, tmp_path) -> None:
    path = bert_all.to_chrome_trace(tmp_path / "trace.json")
    events = json.loads(path.read_text())
    assert isinstance(events, list) and all({"cat", "name", "ts", "ph"} <= set(e) for e in events)
    assert sum(e["name"] == "model_run" for e in events) == len(bert_all.runs)
    assert sum(e["cat"] == "Node" for e in events) == len(bert_all.runs) * len(bert_all.nodes)
    without_model = read_profile(path)
    assert (without_model.nodes["mapping"] == "unmapped").all() and without_model.authored.empty
    pd.testing.assert_frame_equal(without_model.runs, bert_all.runs)


def test_device_kernel_events_are_kept_and_attributed(bert, bert_all, tmp_path) -> None:
    """CUDA builds with profiling list device kernels (cat "Kernel") after the node that launched them."""
    events = []
    for e in json.loads(bert_all.file.read_text()):
        events.append(e)
        if e["cat"] == "Node":
            node = e["name"].removesuffix("_kernel_time")
            events.append({"cat": "Kernel", "name": "volta_sgemm_64x32", "ph": "X", "pid": e["pid"], "tid": 7,
                           "ts": e["ts"] + 1, "dur": 2, "args": {"op_name": e["args"]["op_name"], "stream": 7}})
            events.append({"cat": "Kernel", "name": "elementwise_kernel", "ph": "X", "pid": e["pid"], "tid": 7,
                           "ts": e["ts"] + 3, "dur": 3, "args": {"parent_name": node, "grid_x": "4"}})
    path = tmp_path / "cuda_profile.json"
    path.write_text(json.dumps(events))
    p = read_profile(path, model=bert, optimized=bert_all.optimized, warmup=bert_all.warmup)
    kernels = p.events[p.events["cat"] == "Kernel"]
    assert len(kernels) == 2 * sum(e["cat"] == "Node" for e in events) and kernels["grid_x"].dropna().eq(4).all()
    assert (p.nodes["kernels"] == 2 * p.nodes["calls"]).all()
    assert (p.nodes["device_us"] == 5 * p.nodes["calls"]).all()
    assert (p.runs["device_us"] == 5 * p.runs["kernels"]).all()
    pd.testing.assert_frame_equal(p.nodes.drop(columns=["kernels", "device_us"]), bert_all.nodes)
    assert p.plot.timeline().axes[0].get_yticklabels()[-1].get_text() == "device"


@pytest.mark.skipif(HAS_CUDA, reason="this onnxruntime has CUDA: the missing-provider note cannot be shown")
def test_a_cuda_profile_read_where_there_is_no_cuda(bert, bert_all, tmp_path) -> None:
    """Placement, copies and fallbacks come from the profile when onnxruntime's own record is absent."""
    on_cpu = {"Shape", "Squeeze", "Unsqueeze"}
    events = []
    for e in json.loads(bert_all.file.read_text()):
        if e["cat"] == "Node" and e["args"]["op_name"] not in on_cpu:
            e["args"]["provider"] = "CUDAExecutionProvider"
        events.append(e)
        if e["cat"] == "Node" and e["name"] == "node_Shape_2_kernel_time":  # a copy back to the GPU
            events.append(dict(e, name="Memcpy_token_3_kernel_time", ts=e["ts"] + e["dur"], dur=1,
                               args=dict(e["args"], op_name="MemcpyFromHost", provider="CUDAExecutionProvider")))
    path = tmp_path / "cuda.json"
    path.write_text(json.dumps(events))
    p = read_profile(path, model=bert, warmup=bert_all.warmup)
    assert any("CUDAExecutionProvider, which this onnxruntime lacks" in w for w in p.warnings)
    placement = p.placement
    assert (placement["source"] == "profile").all() and placement["executed"].all()
    assert list(placement.index[placement["memcpy"]]) == ["Memcpy_token_3"]
    fallbacks = placement[placement["fallback"]]
    assert set(fallbacks["op_type"]) == on_cpu and (fallbacks["provider"] == "CPUExecutionProvider").all()
    assert any(f"{len(fallbacks)} node(s) fell back to CPUExecutionProvider under CUDAExecutionProvider" in w
               and "1 Memcpy node(s)" in w for w in p.warnings)
    assert any("run asynchronously" in w for w in p.warnings)  # no Kernel events: launch times only
    assert p.nodes.at["Memcpy_token_3", "mapping"] == "unmapped"  # not in the graph rebuilt on CPU
    assert p.mapping_rate["count"] < 1 and p.mapping_rate["time"] > 0.95
    assert set(p.providers.index) == {"CUDAExecutionProvider", "CPUExecutionProvider"}


def test_events_table_flattens_args(bert_all) -> None:
    events = bert_all.events
    assert set(events["cat"]) == {"Node", "Session"}
    assert {"model_run", "session_initialization", "SequentialExecutor::Execute"} <= set(events["name"])
    for column in ("op_name", "provider", "output_size", "activation_size", "parameter_size", "mem_arena_held",
                   "main_thread.Run", "sub_threads.num_run", "input_type_shape"):
        assert column in events.columns
    for column in ("output_size", "parameter_size", "mem_arena_held", "node_index"):
        assert pd.api.types.is_numeric_dtype(events[column]), column
    warm = events[events["run"] < 0]
    assert set(warm["run"]) == {-1} and len(warm[warm["cat"] == "Node"]) == len(bert_all.nodes)


def test_summary_names_latency_overhead_mapping_and_warnings(bert_all, monkeypatch) -> None:
    text = repr(bert_all)
    for part in ("run latency", "median", "p90", "min", "framework overhead", "top ops", "mapped to authored nodes",
                 "100.0% of kernel time", "placement"):
        assert part in text
    page = bert_all._repr_html_()
    assert "<table" in page and "Slowest kernels" in page
    assert (bert_all.placement.loc[bert_all.nodes.index, "provider"] == "CPUExecutionProvider").all()
    assert not bert_all.placement["fallback"].any() and not bert_all.placement["memcpy"].any()
    monkeypatch.setattr("os.getloadavg", lambda: (1000.0, 0.0, 0.0))
    busy = profile(bert_all.model, dims=SEQUENCE, runs=1, warmup=0)
    assert any("busy at the start" in w for w in busy.warnings) and "load average 1000" in repr(busy)


def test_widely_varying_runs_are_flagged(bert, bert_all, tmp_path) -> None:
    events = json.loads(bert_all.file.read_text())
    runs = sorted((e for e in events if e["name"] == "model_run"), key=lambda e: e["ts"])
    slowest = max(e["dur"] for e in runs)
    for e in runs:  # equal runs (each still holding its executor's interval), then one 10× slower
        e["dur"] = slowest
    runs[-1]["dur"] *= 10
    path = tmp_path / "noisy.json"
    path.write_text(json.dumps(events))
    p = read_profile(path, model=bert, optimized=bert_all.optimized, warmup=bert_all.warmup)
    assert any("varies widely" in w for w in p.warnings)


def test_plots_are_figures(bert_all, bert_export) -> None:
    from matplotlib.figure import Figure

    p = profile(*bert_export, **FAST)
    for figure in (p.plot.top(10), p.plot.ops(), p.plot.timeline(run=1), p.plot.roofline(), bert_all.plot.top()):
        assert isinstance(figure, Figure)
        figure.savefig(io.BytesIO(), format="png")
    roofline = p.plot.roofline().axes[0]
    assert roofline.get_xscale() == "log" and len(roofline.collections[0].get_offsets()) > 5
    with pytest.raises(ValueError, match="No run 7"):
        p.plot.timeline(run=7)


def test_roofline_with_measured_roofs(bert_all) -> None:
    roofs = wb.measure_roofs()
    assert roofs["peak_gflops"] > 1 and roofs["bandwidth_gbs"] > 0.5  # any machine that runs the suite
    axes = bert_all.plot.roofline(**roofs).axes[0]
    x, y = axes.get_lines()[0].get_data()
    assert np.isclose(y.max(), roofs["peak_gflops"]) and np.allclose(y[:5], roofs["bandwidth_gbs"] * x[:5])
    points = axes.collections[0].get_offsets()
    assert (points[:, 1] <= roofs["peak_gflops"] * 3).all()  # under the roof (a unit error would be 1000x)
    with pytest.raises(ValueError, match="needs both roofs"):
        bert_all.plot.roofline(peak_gflops=100)
    with pytest.raises(wb.errors.ProviderError, match="CPU only"):
        wb.measure_roofs("reference")


@pytest.mark.parametrize("content, problem", [
    ("", "is empty"),
    ("   \n", "is empty"),
    ("not json at all", "is not valid JSON"),
    ('[{"cat": "Node", "name": "a_kernel_time", "ts": 1', "is not valid JSON"),
    ('{"model": "resnet"}', "not a list of trace events"),
    ("[1, 2, 3]", "not a list of trace events"),
    ('[{"cat": "Session", "name": "model_run", "ts": 0, "dur": 5, "ph": "X"}]', "has no Node events"),
    (b"\x08\x01\x12\x07\xff\xfe onnx bytes", "binary, not JSON"),
])
def test_bad_profile_files_name_the_file_and_the_fix(tmp_path, content, problem) -> None:
    path = tmp_path / "onnxruntime_profile_broken.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ProfileError, match=problem) as caught:
        read_profile(path)
    assert str(path) in str(caught.value) and "enable_profiling=True" in str(caught.value)
    assert isinstance(caught.value, (WorkbenchError, ValueError))


def test_a_truncated_profile_is_reported(bert_all, tmp_path) -> None:
    path = tmp_path / "cut.json"
    text = bert_all.file.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ProfileError, match=r"cut.json.*not valid JSON.*cut short or corrupted"):
        read_profile(path)


def test_missing_files_and_patterns(tmp_path) -> None:
    with pytest.raises(ProfileError, match="No profile file at"):
        read_profile(tmp_path / "nowhere.json")
    with pytest.raises(ProfileError, match=r"No file matches .*onnxruntime_profile_\*\.json"):
        read_profile(tmp_path / "onnxruntime_profile_*.json")


def test_dropping_every_run_is_an_error(bert_all) -> None:
    with pytest.raises(ProfileError, match="warmup=9 drops them all"):
        read_profile(bert_all.file, warmup=9)


def test_bad_arguments(bert) -> None:
    with pytest.raises(ProviderError, match="reference evaluator"):
        profile(bert, provider="reference")
    with pytest.raises(ValueError, match="optimization must be one of"):
        profile(bert, optimization="max")
    with pytest.raises(ValueError, match="runs must be at least 1"):
        profile(bert, runs=0)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and a CUDA GPU (run on a GPU machine, see docs/gpu.md)")
@pytest.mark.parametrize("source", ["tiny_bert", "resnet50"])
def test_cuda_profile_reports_placement_copies_and_fallbacks(source: str) -> None:
    m = wb.open(RESNET) if source == "resnet50" else wb.samples.open(source)
    p = profile(m, provider="cuda", dims=SEQUENCE, **FAST)
    print(p.summary())  # the record for docs/gpu.md
    assert "CUDAExecutionProvider" in p.providers.index
    placement = p.placement
    on_cuda = placement[placement["provider"] == "CUDAExecutionProvider"]
    assert len(on_cuda) > len(placement) / 2 and on_cuda["executed"].any()
    if hasattr(ort.InferenceSession, "get_provider_graph_assignment_info"):  # onnxruntime's own record
        assert (placement["source"] == "assigned").any()
    copies = placement[placement["memcpy"]]
    assert copies["op_type"].str.startswith("Memcpy").all() and not placement.loc[copies.index, "fallback"].any()
    fallbacks = placement[placement["fallback"]]
    assert (fallbacks["provider"] == "CPUExecutionProvider").all()
    if len(fallbacks):
        assert any("fell back to CPUExecutionProvider under CUDAExecutionProvider" in w for w in p.warnings)
    assert p.mapping_rate["time"] >= 0.95, p.summary()
    runs = p.runs
    assert (runs["kernel_us"] + runs["overhead_us"] == runs["latency_us"]).all()
    kernels = p.events[p.events["cat"] == "Kernel"]
    if len(kernels):  # device kernels, from builds with CUDA profiling: each tied to a profiled node
        assert kernels["node"].isin(p.nodes.index).all()
        assert (p.nodes["device_us"] >= 0).all() and (runs["device_us"] > 0).all()
    else:  # host-side launch times only: said so
        assert any("run asynchronously" in w for w in p.warnings)


def test_line_reader_matches_the_json_reader(bert_all, tmp_path) -> None:
    """onnxruntime's one-event-per-line files are read without decoding every args object;
    the tables are the same as from decoding the whole file."""
    from workbench.profiling._events import event_table, read_trace

    lines = read_trace(bert_all.file)
    assert lines._events is None  # read line by line
    copy = tmp_path / "one_line.json"
    copy.write_text(json.dumps(json.loads(bert_all.file.read_text())))
    whole = read_trace(copy)
    assert whole._events is not None
    pd.testing.assert_frame_equal(event_table(lines), event_table(whole), check_dtype=False)


def test_a_shape_in_external_data_gets_the_right_fix(tmp_path) -> None:
    """onnxruntime cannot read a Reshape's shape from external data at load time: the error says
    so and how to save the model, not 'fix the shapes'; the debugger runs the model as it is."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"]), helper.make_node("MatMul", ["y", "w"], ["z"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [6, 5])],
        [numpy_helper.from_array(np.array([6, 4], np.int64), "shape"),
         numpy_helper.from_array(np.ones((4, 5), np.float32), "w")])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path,
              save_as_external_data=True, location="w.bin", size_threshold=0)
    with pytest.raises(wb.errors.SessionError, match=r"Cannot parse data from external tensors.*Fix: onnxruntime reads "
                                                     r"the shapes.*size_threshold=1024") as error:
        wb.profile(str(path), runs=1)
    assert "fix the shapes" not in str(error.value)
    assert wb.debug(str(path)).outputs["z"].shape == (6, 5)
