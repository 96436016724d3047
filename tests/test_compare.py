"""Comparing torch with its export: planted bugs are traced to the node that was changed."""

from __future__ import annotations

import subprocess
import sys
from typing import Callable

import numpy as np
import onnx
import pytest

import workbench as wb

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'onnx-workbench[torch]'")

from test_torch_export import _Encoder  # noqa: E402  (needs torch)


@pytest.fixture(scope="module")
def program():
    torch.manual_seed(0)
    return torch.onnx.export(_Encoder().eval(), (torch.randint(0, 50, (2, 7)),), dynamo=True, verbose=False)


@pytest.fixture(scope="module")
def ids() -> dict[str, np.ndarray]:
    return {"ids": np.random.default_rng(0).integers(0, 50, (2, 7))}


def test_a_clean_export_has_no_divergence(program, ids) -> None:
    report = wb.compare(program, ids)
    assert report.first_divergence is None and report.root_cause is None
    with pytest.raises(ValueError, match="Nothing to reproduce"):
        report.repro("unused")
    assert len(report.table) > 50 and report.table.ok.all()
    assert "no divergence" in repr(report)


def _mutated(program, change: Callable[[onnx.ModelProto], str]) -> tuple[onnx.ModelProto, str]:
    model = onnx.ModelProto()
    model.CopyFrom(program.model_proto)
    return model, change(model)


def _layer_norm_epsilon(model: onnx.ModelProto) -> str:
    node = [n for n in model.graph.node if n.op_type == "LayerNormalization"][1]
    next(a for a in node.attribute if a.name == "epsilon").f = 0.5
    return node.name


def _softmax_axis(model: onnx.ModelProto) -> str:
    node = [n for n in model.graph.node if n.op_type == "Softmax"][0]
    axis = next(a for a in node.attribute if a.name == "axis")
    axis.i = 1 if axis.i in (-1, 3) else -1
    return node.name


def _gelu_approximation(model: onnx.ModelProto) -> str:
    node = [n for n in model.graph.node if n.op_type == "Gelu"][1]
    del node.attribute[:]
    node.attribute.append(onnx.helper.make_attribute("approximate", "tanh"))
    return node.name


def _weights_perturbed(model: onnx.ModelProto) -> str:
    consumers = {i: n for n in model.graph.node for i in n.input}
    weight = next(t for t in model.graph.initializer if t.name == "layers.2.attn.out_proj.weight")
    array = onnx.numpy_helper.to_array(weight) + np.float32(1e-3)
    weight.CopyFrom(onnx.numpy_helper.from_array(array.astype(np.float32), weight.name))
    return consumers[weight.name].name


@pytest.mark.parametrize("change", [_layer_norm_epsilon, _softmax_axis, _gelu_approximation, _weights_perturbed],
                         ids=lambda f: f.__name__.strip("_"))
def test_root_cause_is_the_mutated_node(program, ids, change, tmp_path) -> None:
    model, planted = _mutated(program, change)
    report = wb.compare(program, ids, onnx=model)
    cause = report.root_cause
    assert cause is not None, report.summary()
    # the planted node, or, when it sits inside a decomposition torch has no value for
    # (Softmax inside scaled_dot_product_attention), the aligned node it feeds, naming it
    assert planted == cause.node or planted in cause.suspects, report.summary()
    m = wb.open(model)
    assert cause.scope == m.nodes.loc[planted, "scope"]
    causes = report.table[report.table.status == "cause"]
    assert set(causes.node) == {cause.node}  # everything after it only carries the error
    assert planted in report.summary()
    assert report.by_module.loc[cause.scope, "causes"] >= 1
    view = report.view()
    assert view.selected == [cause.node]
    worst = report.table[report.table.node == cause.node].max_abs.max()
    assert view.overlay["values"][cause.node] == pytest.approx(worst)
    lines = report.plot().axes[0].lines
    assert any(f"root cause: {cause.node}" == line.get_label() for line in lines)
    # the repro runs standalone, in a fresh interpreter, and shows the divergence
    folder = report.repro(tmp_path / "bug")
    replay = subprocess.run([sys.executable, str(folder / "replay.py")], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "OFF" in replay.stdout


def test_saved_arrays_compare_like_torch(program, ids) -> None:
    from workbench.comparison import torch_values

    golden = torch_values(program, ids)
    model, planted = _mutated(program, _layer_norm_epsilon)
    report = wb.compare(golden, ids, onnx=model)
    assert report.root_cause.node == planted and report.reference == "saved arrays"


def test_repro_passes_once_the_node_is_fixed(program, ids, tmp_path) -> None:
    model, planted = _mutated(program, _layer_norm_epsilon)
    folder = wb.compare(program, ids, onnx=model).repro(tmp_path / "bug")
    repro = onnx.load(folder / "model.onnx")
    (node,) = repro.graph.node
    assert node.name == planted
    original = next(n for n in program.model_proto.graph.node if n.name == planted)
    node.ClearField("attribute")
    node.attribute.extend(original.attribute)  # undo the planted epsilon
    onnx.save(repro, folder / "model.onnx")
    replay = subprocess.run([sys.executable, str(folder / "replay.py")], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr


@pytest.fixture(scope="module")
def torchscript_export() -> tuple["torch.nn.Module", onnx.ModelProto, dict[str, np.ndarray]]:
    """The encoder and its TorchScript export (no metadata: scopes come from node names)."""
    import io

    torch.manual_seed(0)
    module = _Encoder().eval()
    ids = torch.randint(0, 50, (2, 7))
    buffer = io.BytesIO()
    torch.onnx.export(module, (ids,), buffer, dynamo=False, input_names=["ids"], output_names=["logits"])
    return module, onnx.load_from_string(buffer.getvalue()), {"ids": ids.numpy()}


def test_module_against_its_torchscript_export(torchscript_export) -> None:
    module, proto, feeds = torchscript_export
    clean = wb.compare(module, feeds, onnx=proto)
    assert clean.first_divergence is None and clean.reference == "torch (module outputs)"
    # every submodule that runs forward aligns with the value leaving its scope
    assert {"layers.1/norm", "layers.1/mlp/mlp.1", "layers.1/attn", "layers.1", "head"} <= set(clean.table.scope)
    assert clean.unaligned  # values inside modules have no torch counterpart, and are listed
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    gelu = next(n for n in model.graph.node if n.op_type == "Gelu" and "layers.2" in n.name)
    next(a for a in gelu.attribute if a.name == "approximate").s = b"tanh"
    report = wb.compare(module, feeds, onnx=model)
    assert report.root_cause.node == gelu.name and report.root_cause.scope == "layers.2/mlp/mlp.1"
    with pytest.raises(ValueError, match="needs its ONNX export"):
        wb.compare(module, feeds)


class _Reused(torch.nn.Module):
    """One GELU module called twice: a scope per call in a TorchScript export (act, act_1)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner, self.head, self.act = torch.nn.Linear(8, 8), torch.nn.Linear(8, 4), torch.nn.GELU()

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.head(self.act(self.inner(self.act(x))))


def test_a_module_left_in_training_mode_is_compared_in_eval_mode() -> None:
    """The TorchScript exporter exports in eval mode and then restores training mode on every
    submodule of a wrapper that never had ``.eval()``: dropout would make every value differ."""
    import io

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 4))
    x = torch.randn(4, 8)
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, dynamo=False, input_names=["x"], output_names=["y"])
    assert module.training and module[1].training
    with pytest.warns(wb.errors.CompareWarning, match=r"training mode \(4 of its modules.*module.eval\(\)"):
        report = wb.compare(module, {"x": x.numpy()}, onnx=onnx.load_from_string(buffer.getvalue()))
    assert report.first_divergence is None and list(report.table.node) == ["/0/Gemm", "/2/Gemm"], report.summary()
    assert all(sub.training for sub in module.modules())  # given back as it was


def test_a_module_called_twice_aligns_call_by_call() -> None:
    import io

    torch.manual_seed(0)
    module, x = _Reused().eval(), torch.randn(2, 8)
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, dynamo=False, input_names=["x"], output_names=["y"])
    proto = onnx.load_from_string(buffer.getvalue())
    clean = wb.compare(module, {"x": x.numpy()}, onnx=proto)
    assert list(clean.table.scope) == ["act", "inner", "act_1", "head"] and not clean.unaligned
    second = next(n for n in proto.graph.node if n.name == "/act_1/Gelu")
    next(a for a in second.attribute if a.name == "approximate").s = b"tanh"
    report = wb.compare(module, {"x": x.numpy()}, onnx=proto)
    assert report.root_cause.node == "/act_1/Gelu" and report.table.set_index("scope").at["act", "ok"]
