"""More planted bugs for ``wb.compare``: layout, resampling and precision faults in real torch exports.

Each model is exported with the dynamo exporter, then one node is changed in the ONNX
proto (or a lossy cast pair is inserted). The comparison against the torch source must
blame that node (or, for an inserted node torch has no value for, the aligned node it
feeds, listing it among the suspects), in its module, and nothing after it.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Callable

import numpy as np
import onnx
import pytest

import workbench as wb
from workbench.comparison import Report

torch = pytest.importorskip("torch", reason="torch is an optional extra: pip install 'onnx-workbench[torch]'")

from test_compare import _mutated, ids, program  # noqa: E402,F401  (needs torch; fixtures reused)

Change = Callable[[onnx.ModelProto], str]
pytestmark = pytest.mark.slow  # a torch export per case: about 12 s in all


class _Upsampler(torch.nn.Module):
    """conv → bilinear ×2 upsample (half-pixel centres) → conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.up = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.conv2 = torch.nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.conv2(self.up(torch.relu(self.conv1(x))))


class _Loud(torch.nn.Module):
    """Activations up to ~1e6: fine in float32, past float16's 65504."""

    def __init__(self) -> None:
        super().__init__()
        self.loud = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 4)
        with torch.no_grad():
            self.loud[0].weight.mul_(1e5)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.head(self.loud(x))


class _Counter(torch.nn.Module):
    """An int64 path whose values pass 2**31, back to float at the end."""

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        big = x.long() * 3_000_000_000
        return (big + 1).float() * 1e-9


def _export(module: type["torch.nn.Module"], *shape: int):
    """The module, seeded, exported with dynamo for an example input of ``shape``."""
    torch.manual_seed(0)
    return torch.onnx.export(module().eval(), (torch.ones(*shape),), dynamo=True, verbose=False)


@pytest.fixture(scope="module")
def upsampler():
    return _export(_Upsampler, 1, 3, 8, 8)


@pytest.fixture(scope="module")
def loud():
    return _export(_Loud, 2, 8)


@pytest.fixture(scope="module")
def counter():
    return _export(_Counter, 2, 8)


_INPUTS = {
    "upsampler": lambda: {"x": np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)},
    "loud": lambda: {"x": np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)},
    "counter": lambda: {"x": np.random.default_rng(0).integers(1, 6, (2, 8)).astype(np.float32)},
}


@pytest.mark.parametrize("name", sorted(_INPUTS))
def test_a_clean_export_has_no_divergence(request, name: str) -> None:
    report = wb.compare(request.getfixturevalue(name), _INPUTS[name]())
    assert report.root_cause is None and report.first_divergence is None, report.summary()
    assert len(report.table) and report.table.ok.all()


# --- planted changes: each returns the name of the node it broke ---------------------


def _transpose_perm_swapped(model: onnx.ModelProto) -> str:
    """The attention output's permute, [2, 0, 1, 3] on [batch=2, heads=2, seq, dim]: swapping
    the first two output axes keeps the shape (batch and heads are both 2) but mixes them."""
    node = next(n for n in model.graph.node if n.name == "node_permute")
    perm = next(a for a in node.attribute if a.name == "perm")
    assert list(perm.ints) == [2, 0, 1, 3]
    perm.ints[:] = [2, 1, 0, 3]
    return node.name


def _resize_align_corners(model: onnx.ModelProto) -> str:
    (node,) = [n for n in model.graph.node if n.op_type == "Resize"]
    mode = next(a for a in node.attribute if a.name == "coordinate_transformation_mode")
    assert mode.s == b"half_pixel"
    mode.s = b"align_corners"
    return node.name


def _round_trip(model: onnx.ModelProto, producer: str, lossy: int, back: int) -> str:
    """Inserts Cast(to=lossy) → Cast(to=back) after ``producer``'s first output, rewiring
    its consumers; the casts carry the producer's metadata (so its scope). Returns the
    lossy Cast's name."""
    index, node = next((i, n) for i, n in enumerate(model.graph.node) if n.name == producer)
    value = node.output[0]
    down, up = f"{producer}_planted_down", f"{producer}_planted_up"
    for consumer in model.graph.node:
        consumer.input[:] = [f"{up}_out" if i == value else i for i in consumer.input]
    casts = [onnx.helper.make_node("Cast", [value], [f"{down}_out"], name=down, to=lossy),
             onnx.helper.make_node("Cast", [f"{down}_out"], [f"{up}_out"], name=up, to=back)]
    for cast in casts:
        cast.metadata_props.extend(node.metadata_props)
    for offset, cast in enumerate(casts, 1):
        model.graph.node.insert(index + offset, cast)
    return down


def _fp16_round_trip(model: onnx.ModelProto) -> str:
    """An fp16 conversion of the loud Linear's output (|values| up to ~1e6 → inf)."""
    producer = next(n for n in model.graph.node if n.op_type == "Gemm")
    return _round_trip(model, producer.name, onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT)


def _int32_round_trip(model: onnx.ModelProto) -> str:
    """An int32 conversion of the int64 product (values 3e9..15e9 wrap around)."""
    producer = next(n for n in model.graph.node if n.op_type == "Mul")
    return _round_trip(model, producer.name, onnx.TensorProto.INT32, onnx.TensorProto.INT64)


def _traced(source, inputs: dict[str, np.ndarray], change: Change, tmp_path) -> tuple[Report, str]:
    """Plants ``change`` and compares. Checks what holds for every planted bug: the root
    cause is the planted node or names it as a suspect, it is the only ``cause`` (every
    later node only carries the error), the summary names the planted node, and its repro
    replays the divergence in a fresh interpreter."""
    model, planted = _mutated(source, change)
    report = wb.compare(source, inputs, onnx=model)
    cause = report.root_cause
    assert cause is not None, report.summary()
    assert planted == cause.node or planted in cause.suspects, report.summary()
    causes = report.table[report.table.status == "cause"]
    assert set(causes.node) == {cause.node}, report.table[~report.table.ok].to_string()
    assert planted in report.summary()
    folder = report.repro(tmp_path / "bug")
    replay = subprocess.run([sys.executable, str(folder / "replay.py")], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1 and "OFF" in replay.stdout, replay.stdout + replay.stderr
    return report, planted


def _scope(report: Report, node: str) -> str:
    """The scope of a node of the candidate model."""
    return report.model.nodes.loc[node, "scope"]


@pytest.mark.parametrize(("source", "inputs", "change"), [
    ("program", "ids", _transpose_perm_swapped),
    ("upsampler", None, _resize_align_corners),
], ids=["transpose_perm_swapped", "resize_align_corners"])
def test_a_changed_node_is_the_root_cause(request, source: str, inputs: str | None, change: Change, tmp_path) -> None:
    feeds = request.getfixturevalue(inputs) if inputs else _INPUTS[source]()
    report, planted = _traced(request.getfixturevalue(source), feeds, change, tmp_path)
    cause = report.root_cause
    assert cause.node == planted and cause.scope == _scope(report, planted) != ""


def test_an_fp16_round_trip_that_overflows(loud, tmp_path) -> None:
    """The inserted casts have no torch value: the first aligned node they feed (the ReLU) is
    off on torch's inputs, with the Casts as suspects; inside that chain the overflowing Cast
    down to fp16 is the first node whose output matches no value torch computes in the ReLU
    (its input, the Linear's output, does): it is the cause, the ReLU carries. The fp16
    overflow shows on the row of the value that was cast (the Linear's output, fine in float32,
    past 65504), the inf on the ReLU's row."""
    report, planted = _traced(loud, _INPUTS["loud"](), _fp16_round_trip, tmp_path)
    cause, table = report.root_cause, report.table.set_index("node")
    assert cause.node == planted and cause.op_type == "Cast" and cause.scope == "loud/0"
    relu = report.table[report.table.note == f"its fault is inside, at {planted!r}"].iloc[0]
    assert relu.op_type == "Relu" and relu.scope == "loud/1" and relu.status == "carried"
    assert relu.suspects == (planted, planted.replace("_down", "_up"))
    assert {f"{planted}_out", f"{planted.replace('_down', '_up')}_out"} <= set(report.unaligned)
    assert _scope(report, planted) == "loud/0"  # the Cast sits in the module whose output it casts
    linear = table.loc["node_linear"]
    assert linear.ok and linear.fp16_overflow
    assert relu.inf_cand > 0 and relu.inf_ref == 0 and relu.local_max_abs == np.inf


def test_an_int32_round_trip_that_truncates(counter, tmp_path) -> None:
    """int64 products of 3e9..15e9 through int32 wrap around: the Add they feed is the cause,
    the Cast to int32 its suspect; the Mul that produced them is still right."""
    report, planted = _traced(counter, _INPUTS["counter"](), _int32_round_trip, tmp_path)
    cause, table = report.root_cause, report.table.set_index("node")
    assert cause.op_type == "Add" and cause.suspects == (planted, planted.replace("_down", "_up"))
    assert table.loc["node_mul"].ok
    assert cause.local_max_abs >= 2**32  # off by whole multiples of 2**32
    assert cause.scope == _scope(report, planted) == ""  # all at the top level
