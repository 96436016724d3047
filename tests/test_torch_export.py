"""Opening what torch.onnx (dynamo exporter) produces: an ONNXProgram, with scope metadata."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from helpers import plain_run

import workbench as wb

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'onnx-workbench[torch]'")


class _Block(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(width, 2, batch_first=True)
        self.norm = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 2 * width), torch.nn.GELU(),
                                       torch.nn.Linear(2 * width, width))

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        x = self.norm(x + self.attn(x, x, x, need_weights=False)[0])
        return x + self.mlp(x)


class _Encoder(torch.nn.Module):
    def __init__(self, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(50, width)
        self.layers = torch.nn.ModuleList(_Block(width) for _ in range(depth))
        self.head = torch.nn.Linear(width, 4)

    def forward(self, ids: "torch.Tensor") -> "torch.Tensor":
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


@pytest.fixture(scope="module")
def program():
    torch.manual_seed(0)
    return torch.onnx.export(_Encoder().eval(), (torch.randint(0, 50, (2, 7)),), dynamo=True, verbose=False)


def test_onnx_program_opens_with_metadata_scopes(program) -> None:
    m = wb.open(program)
    assert len(m.nodes) == len(program.model_proto.graph.node)
    assert m.problems == []
    tree = m.scopes
    assert tree.source == "metadata"
    layer = tree.find("layers.0")
    assert layer.class_name.endswith("_Block")
    assert {"attn", "norm", "mlp"} <= set(layer.children)
    assert layer.repeat == "layers × 3"
    assert ("layers × 3", 3) in tree.repeats
    head = m.nodes[m.nodes.scope == "head"]
    assert head.params.sum() == 16 * 4 + 4  # the head Linear's weight and bias
    # The exporter folds and re-lays out some attention weights: totals agree within 5%.
    assert m.parameter_count == pytest.approx(sum(p.numel() for p in _Encoder().parameters()), rel=0.05)


def test_exported_file_with_external_data(program, tmp_path: Path) -> None:
    path = tmp_path / "encoder.onnx"
    program.save(path, external_data=True)
    assert any(p.name != "encoder.onnx" for p in tmp_path.iterdir())  # weights beside it
    m = wb.open(path)
    assert len(m.nodes) == len(onnx.load(path, load_external_data=False).graph.node)
    assert m.scopes.find("layers.2/mlp").node_count() > 0
    weights = m.tensors
    assert (weights.storage.str.startswith("external:")).any()
    assert weights["std"].notna().all()


def test_view_of_an_export_folds_layers_and_keeps_stack_traces(program) -> None:
    m = wb.open(program)
    index = m.view_index
    top = index.group(index.root)["items"]
    (repeat,) = [i for i in top if i.get("repeat")]
    assert (repeat["label"], repeat["repeat"]) == ("layers × 3", 3)
    assert [i["label"] for i in index.group(repeat["group"])["items"]] == ["layers.0", "layers.1", "layers.2"]
    # the top level is a handful of boxes, not the export's hundred-odd nodes
    assert len(top) < 8 and len(m.nodes) > 100
    matmul = next(n for n, row in m.nodes.iterrows() if row.op_type == "MatMul" and row.scope.startswith("layers.0"))
    details = index.details(matmul)
    assert details["scope"].startswith("layers.0")
    assert "forward" in (details["stack"] or "")


def test_debugger_on_an_export_matches_onnxruntime_and_torch(program) -> None:
    import numpy as np

    m = wb.open(program)
    ids = np.random.default_rng(0).integers(0, 50, (2, 7))
    dbg = wb.debug(m, {m.proto.graph.input[0].name: ids})
    (expected,) = plain_run(m, {m.proto.graph.input[0].name: ids}).values()
    dbg.run_to(dbg.steps[-1])
    (name,) = dbg.outputs
    np.testing.assert_array_equal(dbg.outputs[name], expected)
    with torch.no_grad():
        reference = program.exported_program.module()(torch.from_numpy(ids))
    np.testing.assert_allclose(dbg.outputs[name], reference.numpy(), rtol=1e-4, atol=1e-5)
    # the reference backend agrees within float32 tolerance
    slow = wb.debug(m, {m.proto.graph.input[0].name: ids}, provider="reference")
    np.testing.assert_allclose(slow.outputs[name], expected, rtol=1e-4, atol=1e-5)
