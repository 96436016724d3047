"""A small helper for writing sample models in code: weights, nodes and scopes.

Scopes are recorded the way the exporters do: ``style="metadata"`` writes torch dynamo's
``pkg.torch.onnx.name_scopes`` / ``class_hierarchy`` node metadata, ``style="names"``
writes TorchScript-style node names (``/layer1/conv/Conv``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSET = 18


class SampleBuilder:
    """Collects nodes and initializers; ``build()`` returns a checked ModelProto."""

    def __init__(self, name: str, style: str, seed: int = 0) -> None:
        self.name = name
        self.style = style
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._modules: list[tuple[str, str, str]] = []  # (name, dotted module path, class name)
        self._counter = 0

    @contextlib.contextmanager
    def module(self, name: str, class_name: str) -> Iterator[None]:
        """Nodes added inside belong to module ``name`` (relative to the enclosing one)."""
        parent = self._modules[-1][1] if self._modules else ""
        self._modules.append((name, f"{parent}.{name}" if parent else name, class_name))
        try:
            yield
        finally:
            self._modules.pop()

    def weight(self, name: str, shape: Sequence[int], scale: float = 0.1, positive: bool = False) -> str:
        """A random float32 initializer named after the current module (``positive``: > 0.5)."""
        prefix = self._modules[-1][1] if self._modules else ""
        full = f"{prefix}.{name}" if prefix else name
        data = self.rng.standard_normal(shape) * scale
        data = (np.abs(data) + 0.5 if positive else data).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(data, full))
        return full

    def const(self, name: str, value: np.ndarray) -> str:
        """A constant initializer (shapes, axes, scalars)."""
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1, **attrs: Any) -> list[str]:
        """Adds a node in the current module; returns its output names."""
        self._counter += 1
        fx_name = f"{op_type.lower()}_{self._counter}"
        outputs = [fx_name if n_outputs == 1 else f"{fx_name}_{i}" for i in range(n_outputs)]
        if self.style == "names":
            path = "/".join(name for name, _, _ in self._modules)
            node_name = f"/{path}/{op_type}_{self._counter}" if path else f"/{op_type}_{self._counter}"
        else:
            node_name = f"node_{op_type}_{self._counter}"
        node = helper.make_node(op_type, list(inputs), outputs, name=node_name, **attrs)
        if self.style == "metadata":
            scopes = [""] + [path for _, path, _ in self._modules] + [fx_name]
            classes = ["workbench.samples.Model"] + [c for _, _, c in self._modules] + [f"aten.{op_type.lower()}"]
            helper.set_metadata_props(node, {
                "pkg.torch.onnx.name_scopes": repr(scopes),
                "pkg.torch.onnx.class_hierarchy": repr(classes),
            })
        self.nodes.append(node)
        return outputs

    def build(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
              doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, self.initializers, doc_string=doc)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="onnx-workbench samples", producer_version="1")
        model.ir_version = 9  # readable by every onnxruntime release of the last two years
        onnx.checker.check_model(model, full_check=True)
        return model
