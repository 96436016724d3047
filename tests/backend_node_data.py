"""The ONNX backend test cases as files: generated from onnx's own node test cases, read back.

onnx's wheel no longer ships ``onnx/backend/test/data/node``; onnx writes it from the Python
definitions in ``onnx.backend.test.case.node`` (``backend-test-tools generate-data``). This
module writes the node cases the same way (``model.onnx`` and ``test_data_set_0/input_<j>.pb``,
``output_<j>.pb``, each input and output serialized by the type the model declares for it), so
the cache holds the very files onnx's generator would, and reads a case back as the model and
its inputs by name: tensors as numpy arrays (``ml_dtypes`` ones for float8, int4, bfloat16 …),
sequences as lists, maps as dicts, optionals as ``None`` or their value.

The ``simple``, ``pytorch-converted`` and ``pytorch-operator`` cases the wheel still ships are
read where they lie.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
from onnx import numpy_helper

#: Bumped when the layout or content of the generated folder changes, so that an older cache
#: is not read as this one.
FORMAT = 1
#: The case folders the installed wheel still ships, read in place.
SHIPPED_KINDS = ("simple", "pytorch-converted", "pytorch-operator")
SHIPPED = Path(onnx.__file__).parent / "backend" / "test" / "data"
#: Written last into a generated folder: a folder without it is incomplete.
_COMPLETE = "complete"


@dataclass(frozen=True)
class Case:
    """One backend test case: its kind (``node``, ``simple`` …), name and folder."""

    kind: str
    name: str
    folder: Path

    @property
    def id(self) -> str:
        """The test id: the case name; for the cases the wheel ships, the kind first
        (``pytorch-converted/test_ReLU``), which says where the case lies."""
        return self.name if self.kind == "node" else f"{self.kind}/{self.name}"


def cache_key() -> str:
    """The name of the cache folder: the onnx version the cases come from, and this format."""
    return f"onnx-backend-node-{onnx.__version__}-v{FORMAT}"


def ensure_generated(base: Path) -> Path:
    """The folder of generated node cases under ``base``, generated first if it is not there.

    Two processes may ask at once (pytest-xdist workers each collect): each generates into a
    folder of its own and renames it into place; the rename is atomic, and the slower one
    finds the folder there and drops its copy.
    """
    target = base / "node"
    if (target / _COMPLETE).exists():
        return target
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="node-", dir=base))
    try:
        write_node_cases(scratch)
        (scratch / _COMPLETE).write_text(onnx.__version__, encoding="utf-8")
        if target.exists() and not (target / _COMPLETE).exists():
            shutil.rmtree(target, ignore_errors=True)  # an interrupted generation from before
        try:
            os.rename(scratch, target)
        except OSError:  # another process was first
            if not (target / _COMPLETE).exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def write_node_cases(folder: Path) -> int:
    """Writes every node case of the installed onnx under ``folder``; returns their number."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings():  # the case definitions overflow casts on purpose
        warnings.simplefilter("ignore")
        cases = node.collect_testcases()
    for case in cases:
        assert case.model is not None and case.data_sets, case.name
        out = folder / case.name
        out.mkdir(parents=True)
        (out / "model.onnx").write_bytes(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data = out / f"test_data_set_{i}"
            data.mkdir()
            graph = case.model.graph
            for j, value in enumerate(inputs):
                (data / f"input_{j}.pb").write_bytes(_serialize(value, graph.input[j]))
            for j, value in enumerate(outputs):
                (data / f"output_{j}.pb").write_bytes(_serialize(value, graph.output[j]))
    return len(cases)


def _serialize(value: Any, info: onnx.ValueInfoProto) -> bytes:
    """``value`` as the proto its declared type calls for (as ``backend-test-tools`` writes it)."""
    kind = info.type.WhichOneof("value")
    if kind == "map_type":
        proto: Any = numpy_helper.from_dict(value, info.name)
    elif kind == "sequence_type":
        proto = numpy_helper.from_list(value, info.name)
    elif kind == "optional_type":
        proto = numpy_helper.from_optional(value, info.name)
    elif isinstance(value, onnx.TensorProto):
        proto = value
    else:
        proto = numpy_helper.from_array(value, info.name)
    return proto.SerializeToString()


def list_cases(generated: Path) -> list[Case]:
    """Every case: the generated node cases, then the ones the wheel ships, each sorted by name."""
    cases = [Case("node", p.name, p) for p in sorted(generated.iterdir()) if (p / "model.onnx").exists()]
    for kind in SHIPPED_KINDS:
        folder = SHIPPED / kind
        if folder.is_dir():
            cases += [Case(kind, p.name, p) for p in sorted(folder.iterdir()) if (p / "model.onnx").exists()]
    return cases


def load_case(case: Case) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """The case's model and its first data set's inputs, by the names of the model's inputs."""
    model = onnx.load(case.folder / "model.onnx")
    initializers = {t.name for t in model.graph.initializer}
    # Models of IR < 4 list their initializers among the inputs too; the data files are the others.
    inputs = [i for i in model.graph.input if i.name not in initializers]
    data = case.folder / "test_data_set_0"
    feeds = {}
    for j, info in enumerate(inputs):
        path = data / f"input_{j}.pb"
        if path.exists():
            feeds[info.name] = read_value(path.read_bytes(), info.type)
    return model, feeds


def read_value(data: bytes, type_proto: onnx.TypeProto) -> Any:
    """A serialized input or output as a value of the type the model declares for it."""
    kind = type_proto.WhichOneof("value")
    if kind == "sequence_type":
        return numpy_helper.to_list(onnx.SequenceProto.FromString(data))
    if kind == "optional_type":
        return numpy_helper.to_optional(onnx.OptionalProto.FromString(data))
    if kind == "map_type":
        return numpy_helper.to_dict(onnx.MapProto.FromString(data))
    return numpy_helper.to_array(onnx.TensorProto.FromString(data))
