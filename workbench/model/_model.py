"""The :class:`Model`: one opened ONNX model and every table derived from it.

Everything is computed on first use and cached: opening a model parses it and checks
it; shape inference runs when a table first needs shapes; weights are read only for
``Model.tensors`` (statistics) and ``Model.weight``.
"""

from __future__ import annotations

import math
import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import onnx

from .. import _hooks, errors
from ._cost import attribute_values, node_cost
from ._load import Loaded, ModelSource, load
from ._scopes import NodeScope, ScopeTree, assign_scopes, build_tree
from ._summary import summary_data, summary_text
from ._tensors import read_tensor, tensor_dtype, tensor_nbytes, tensor_stats, type_name
from ._walk import NodeRecord, add_bare, iter_graphs, subgraphs, walk_nodes

if TYPE_CHECKING:
    import graphviz
    import pandas as pd

    from ..graph import ViewIndex
    from ..widgets import GraphView

Shape = tuple  # of int (static), str (symbolic) or None (unknown) per dimension

# Integer initializers this small are shapes, axes or indices, not weights.
_INDEX_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}
_ATTR_SUMMARY_CHARS = 80
#: Items of a list attribute shown before it is cut short.
_LIST_ITEMS = 16
_NODE_COLUMNS = ("id", "name", "op_type", "domain", "inputs", "outputs", "scope", "output_dtypes",
                 "output_shapes", "attributes", "params", "flops", "macs", "parent", "graph")


class Model:
    """An opened ONNX model. Make one with :func:`workbench.open`.

    Attributes computed on first use: :attr:`nodes`, :attr:`tensors`, :attr:`ops`,
    :attr:`scopes`, :attr:`problems`. The wrapped ``onnx.ModelProto`` is :attr:`proto`;
    for models with external data its tensors still point at their files.

    What the layers above (the graph view, the runtime, compare, profile) use of a model
    beside that, as data rather than tables: :attr:`records` (every node with its id),
    :attr:`records_by_id`, :attr:`node_scopes` and :meth:`scope_path`, :attr:`initializers`,
    :attr:`consumers`, :meth:`param_count`, :meth:`card_data`, :attr:`bare_graph`,
    :meth:`with_dims` and :meth:`with_scopes`. Everything underscored is the model's own.
    """

    def __init__(self, loaded: Loaded, problems: list[str], dims: Mapping[str, int] | None = None,
                 scopes: Mapping[str, NodeScope] | None = None) -> None:
        self._loaded = loaded
        self._dims = dict(dims or {})
        self._given_scopes = dict(scopes or {})
        #: Problems found by ``onnx.checker`` and shape inference (the model still opened).
        self.problems: list[str] = problems

    # ---- identity and raw access -------------------------------------------------
    @property
    def proto(self) -> onnx.ModelProto:
        """The ``onnx.ModelProto`` as loaded (external weights not read)."""
        return self._loaded.proto

    @property
    def path(self) -> Path | None:
        """The model file, when the model was opened from a path."""
        return self._loaded.path

    @property
    def name(self) -> str:
        """The graph's name, else the file name."""
        return self.proto.graph.name or (self.path.stem if self.path else "")

    @cached_property
    def records(self) -> list[NodeRecord]:
        """Every node, wherever it lives (bodies too), with its id, graph and parent
        (``docs/node-identity.md``), in graph order."""
        return walk_nodes(self.proto.graph)

    @cached_property
    def records_by_id(self) -> dict[str, NodeRecord]:
        """:attr:`records` by node id."""
        return {r.id: r for r in self.records}

    def node(self, node_id: str) -> onnx.NodeProto:
        """The ``onnx.NodeProto`` with this id (see ``nodes.index``)."""
        try:
            return self.records_by_id[node_id].node
        except KeyError:
            raise errors.NotFoundError(f"No node with id {node_id!r}; ids are the index of Model.nodes.") from None

    @cached_property
    def bare_graph(self) -> onnx.GraphProto:
        """A graph of nothing but copies of the main graph's nodes, without their metadata and doc
        strings, made once: the light copies for the checker, shape inference and the runtimes take
        their nodes from here.

        An exporter's metadata (stack traces, scopes) is 90% of a torch export's bytes (a
        10,000-node Llama: 17 MB of 18), and none of those readers looks at it.
        """
        graph = onnx.GraphProto()
        add_bare(graph.node, self.proto.graph.node)
        return graph

    @cached_property
    def initializers(self) -> dict[str, onnx.TensorProto]:
        """Every initializer of the model (bodies' too) by name, as stored: external ones unread."""
        return {t.name: t for g in iter_graphs(self.proto.graph) for t in g.initializer}

    def weight(self, name: str) -> np.ndarray:
        """An initializer as a numpy array; external weights are memory-mapped, not read."""
        try:
            tensor = self.initializers[name]
        except KeyError:
            raise errors.NotFoundError(f"No initializer named {name!r}; see Model.tensors for the names.") from None
        return read_tensor(tensor, self.path.parent if self.path else None, self._external_files)

    @cached_property
    def _external_files(self) -> dict[Path, np.ndarray]:
        """The memory maps of the model's external data files, one per file, made on first read."""
        return {}

    # ---- shapes ------------------------------------------------------------------
    @cached_property
    def _value_types(self) -> dict[str, tuple[str, Shape | None]]:
        """dtype and shape of every named value, from shape inference."""
        try:
            inferred = onnx.shape_inference.infer_shapes(self._for_inference(), strict_mode=False, data_prop=True)
        except Exception as exc:  # noqa: BLE001 - inference is best effort: report, keep going
            self.problems.append(f"shape inference failed: {exc}")
            inferred = self.proto
        types: dict[str, tuple[str, Shape | None]] = {}
        for graph in iter_graphs(inferred.graph):
            for tensor in graph.initializer:
                types[tensor.name] = (tensor_dtype(tensor.data_type), tuple(tensor.dims))
            for info in (*graph.input, *graph.output, *graph.value_info):
                kind = info.type.WhichOneof("value")
                if kind in ("tensor_type", "sparse_tensor_type"):
                    types[info.name] = _tensor_type(info.type)
                elif kind is not None:  # a sequence, map or optional: its type's name, no shape
                    types[info.name] = (type_name(info.type), None)
        return types

    def _for_inference(self) -> onnx.ModelProto:
        """A light copy of the proto for shape inference: large weights become typed graph
        inputs (inference reads only their types; copying and serializing 440 MB of them cost
        2.5 s), and the symbolic input dims given to ``open(dims=...)`` are made concrete."""
        declared = {i.name for i in self.proto.graph.input}  # IR < 4 lists initializers as inputs too

        def typed_input(graph: onnx.GraphProto, tensor: onnx.TensorProto, size: int) -> None:
            if tensor.name not in declared:
                graph.input.append(onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type, tensor.dims))

        light = _light_copy(self, typed_input)
        for info in light.graph.input:
            for dim in info.type.tensor_type.shape.dim:
                if dim.HasField("dim_param") and dim.dim_param in self._dims:
                    dim.dim_value = int(self._dims[dim.dim_param])
        return light

    def _shape(self, name: str) -> Shape | None:
        return self._value_types.get(name, ("", None))[1]

    # ---- tables --------------------------------------------------------------------
    @cached_property
    def node_scopes(self) -> dict[str, NodeScope]:
        """The scope of every node id (see ``docs/node-identity.md``): unscoped nodes take their
        consumers' scope."""
        return assign_scopes(self.records, self._given_scopes)

    def scope_path(self, node_id: str) -> str:
        """A node's module path, ``"encoder/layer.0/attention"``; ``""`` at the top."""
        return "/".join(self.node_scopes[node_id].path or ())

    @cached_property
    def scopes(self) -> ScopeTree:
        """The module/scope hierarchy, with repeated blocks marked (see :class:`ScopeTree`)."""
        return build_tree(self.records, self.node_scopes)

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """One row per node (subgraph nodes included), indexed by the stable node id.

        Columns: name, op_type, domain, inputs, outputs, scope, output_dtypes,
        output_shapes, attributes (a short summary), params (weight elements consumed),
        flops and macs (static estimates; NaN where a shape is unknown), parent (the
        If/Loop/Scan node owning a subgraph node) and graph (``""`` for the main graph).
        """
        types = self._value_types
        unknown = ("", None)
        columns: dict[str, list] = {c: [] for c in _NODE_COLUMNS}
        for r in self.records:
            node = r.node
            inputs, outputs = list(node.input), list(node.output)
            out_types = [types.get(n, unknown) for n in outputs]
            out_shapes = [t[1] for t in out_types]
            attrs = attribute_values(node)
            flops, macs = node_cost(node, [types.get(n, unknown)[1] if n else None for n in inputs], out_shapes, attrs)
            for column, value in zip(_NODE_COLUMNS, (
                r.id, node.name, node.op_type, node.domain or "ai.onnx", inputs, outputs,
                self.scope_path(r.id), [t[0] for t in out_types], out_shapes,
                _attribute_summary(node, attrs), self.param_count(inputs), flops, macs, r.parent, r.graph,
            )):
                columns[column].append(value)
        import pandas as pd  # on first use: a command that only steps or runs never pays for it

        return pd.DataFrame(columns).set_index("id")

    def param_count(self, names: Iterable[str]) -> int:
        """Elements of the parameters (weights, not shapes or indices) among the values ``names``."""
        total = 0
        for name in names:
            tensor = self.initializers.get(name)
            if tensor is not None and _is_parameter(tensor):
                total += math.prod(tensor.dims)
        return total

    @cached_property
    def producers(self) -> dict[str, str]:
        """The id of the node that writes each value (graph inputs and weights have none)."""
        return {name: r.id for r in self.records for name in r.node.output if name}

    @cached_property
    def consumers(self) -> dict[str, list[str]]:
        """The ids of the nodes that read each value, in graph order."""
        consumers: dict[str, list[str]] = {}
        for r in self.records:
            for name in r.node.input:
                if name:
                    consumers.setdefault(name, []).append(r.id)
        return consumers

    @cached_property
    def tensors(self) -> pd.DataFrame:
        """One row per initializer: dtype, shape, size, storage, consumers and value statistics.

        Statistics read the weights (external ones memory-mapped, in chunks); the table
        is cached, so that happens once.
        """
        from tqdm.auto import tqdm

        items = list(self.initializers.values())
        total = sum(tensor_nbytes(t) for t in items)
        rows = []
        for tensor in tqdm(items, desc="weight statistics", unit="tensor", disable=total < 64 << 20):
            external = tensor.data_location == onnx.TensorProto.EXTERNAL
            info = {e.key: e.value for e in tensor.external_data}
            rows.append({
                "name": tensor.name,
                "dtype": tensor_dtype(tensor.data_type),
                "shape": tuple(tensor.dims),
                "elements": math.prod(tensor.dims),
                "bytes": tensor_nbytes(tensor),
                "parameter": _is_parameter(tensor),
                "storage": f"external:{info.get('location', '')}" if external else "inline",
                "consumers": self.consumers.get(tensor.name, []),
                **tensor_stats(self.weight(tensor.name)),
            })
        columns = ["name", "dtype", "shape", "elements", "bytes", "parameter", "storage", "consumers",
                   "min", "max", "mean", "std", "zeros", "nonfinite"]
        import pandas as pd

        return pd.DataFrame(rows, columns=columns).set_index("name")

    @cached_property
    def ops(self) -> pd.DataFrame:
        """Op-type histogram: count, share of nodes, parameters and FLOPs per op type."""
        nodes = self.nodes
        # Summed in Python, not by a pandas groupby: that costs ~50 ms whatever the model's size,
        # more than the whole table takes to build for a small model.
        totals: dict[tuple[str, str], list] = {}
        for key, params, flops in zip(zip(nodes["domain"], nodes["op_type"]), nodes["params"], nodes["flops"]):
            row = totals.setdefault(key, [0, 0, math.nan])
            row[0] += 1
            row[1] += int(params)
            if not math.isnan(flops):  # NaN only when no node of the op has an estimate
                row[2] = flops if math.isnan(row[2]) else row[2] + flops
        ordered = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0][1], kv[0][0]))
        import pandas as pd

        return pd.DataFrame({
            "op_type": pd.Series([op for (_, op), _ in ordered], dtype="str"),
            "domain": pd.Series([domain for (domain, _), _ in ordered], dtype="str"),
            "count": np.array([row[0] for _, row in ordered], dtype=np.int64),
            "share": np.array([row[0] / max(len(nodes), 1) for _, row in ordered], dtype=np.float64),
            "params": np.array([row[1] for _, row in ordered], dtype=np.int64),
            "flops": np.array([row[2] for _, row in ordered], dtype=np.float64),
        })

    # ---- summary -------------------------------------------------------------------
    @cached_property
    def parameter_count(self) -> int:
        """Elements in all parameter initializers (shape/index tensors excluded)."""
        return sum(math.prod(t.dims) for t in self.initializers.values() if _is_parameter(t))

    @cached_property
    def parameter_bytes(self) -> int:
        """Bytes of all parameter initializers."""
        return sum(tensor_nbytes(t) for t in self.initializers.values() if _is_parameter(t))

    @property
    def model_bytes(self) -> int | None:
        """Serialized size: the .onnx file plus its external data (None if unknown)."""
        if self._loaded.file_bytes is None:
            size = self.proto.ByteSize()
            return size if size < 2**31 else None
        return self._loaded.file_bytes + self._loaded.external_bytes

    def subgraph_list(self) -> list[str]:
        """Labels of If/Loop/Scan bodies, e.g. ``"loop_1/body (Loop, 12 nodes)"``."""
        found = []
        for r in self.records:
            for label, graph in subgraphs(r.node):
                found.append(f"{r.id}/{label} ({r.node.op_type}, {len(graph.node)} nodes)")
        return found

    def value_info(self, name: str) -> tuple[str, Shape | None]:
        """``(dtype, shape)`` of a named value from shape inference; shape None if unknown."""
        return self._value_types.get(name, ("", None))

    def card_data(self) -> dict:
        """The summary card's fields (``docs/summary-schema.md``)."""
        return summary_data(self)

    def with_dims(self, dims: Mapping[str, int]) -> Model:
        """This model (the same parsed proto: nothing read or checked again) with more symbolic
        input sizes made concrete: those given to :func:`open` and ``dims``."""
        return Model(self._loaded, list(self.problems), {**self._dims, **dims}, self._given_scopes)

    def with_scopes(self, scopes: Mapping[str, NodeScope]) -> Model:
        """This model (the same parsed proto) with these scopes, by node id, in place of what
        those nodes declare: a quantized or optimized copy that lost its exporter's scopes takes
        the original's (see ``wb.compare``)."""
        return Model(self._loaded, list(self.problems), self._dims, {**self._given_scopes, **scopes})

    def __repr__(self) -> str:
        return summary_text(self.card_data())

    def _repr_html_(self) -> str:
        """The output's HTML form, for hosts that ask for HTML alone (marimo): the interactive
        view where scripts run, the card and the static picture where they do not."""
        return self._repr_mimebundle_()["text/html"]

    # ---- graph view (attached from above: see workbench/_hooks.py) ----------------------
    @cached_property
    def view_index(self) -> "ViewIndex":
        """The graph view's groups, built once (see :mod:`workbench.graph`)."""
        return _hooks.call("view_index", self)

    def view(self, *, height: int = 560) -> "GraphView":
        """The interactive graph view: a widget that selects, highlights and overlays.

        >>> v = m.view()            # doctest: +SKIP
        >>> v.select(["/encoder/layer.0/attention/MatMul"])   # doctest: +SKIP
        >>> v.selected              # what the user clicked # doctest: +SKIP
        """
        return _hooks.call("graph_view", self, height)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Writes the interactive graph view as ONE self-contained HTML file (``.html``): the
        renderer, the layout engine and every group and node's details inline, no network, so it
        opens from disk and can be sent to anyone. Expand, search and click for details as in the
        notebook. Returns the path.

        >>> m.to_html("model.html")   # doctest: +SKIP
        """
        return _hooks.call("write_html", path, self.view_index)

    def to_graphviz(self, expanded: Iterable[str] | None = None) -> "graphviz.Digraph":
        """The graph as a ``graphviz.Digraph`` (``.pipe(format="svg")`` for an SVG).

        ``expanded`` are the groups drawn open (default: the view's first paint);
        collapsed groups are single boxes, as in the interactive view.
        """
        index = self.view_index
        return index.to_graphviz(index.first_paint() if expanded is None else expanded)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """The interactive view for JupyterLab; a static SVG and the card for other front ends."""
        return _hooks.call("model_bundle", self)


def _tensor_type(type_proto: onnx.TypeProto) -> tuple[str, Shape | None]:
    """Name and shape of a tensor or sparse tensor type."""
    tensor_type = getattr(type_proto, type_proto.WhichOneof("value"))
    dtype = type_name(type_proto)
    if not tensor_type.HasField("shape"):
        return dtype, None
    dims: list[Any] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return dtype, tuple(dims)


def _is_parameter(tensor: onnx.TensorProto) -> bool:
    return not (tensor.data_type in _INDEX_TYPES and len(tensor.dims) <= 1)


#: Integer attributes that hold an ONNX element type (``Cast(to=17)``): shown by the type's name.
_DTYPE_ATTRIBUTES = {
    "": {"Cast": {"to"}, "BitCast": {"to"}, "EyeLike": {"dtype"}, "Bernoulli": {"dtype"},
         "Multinomial": {"dtype"}, "RandomNormal": {"dtype"}, "RandomNormalLike": {"dtype"},
         "RandomUniform": {"dtype"}, "RandomUniformLike": {"dtype"}, "SequenceEmpty": {"dtype"},
         "QuantizeLinear": {"output_dtype", "precision"}, "DequantizeLinear": {"output_dtype"},
         "BlackmanWindow": {"output_datatype"}, "HammingWindow": {"output_datatype"},
         "HannWindow": {"output_datatype"}, "MelWeightMatrix": {"output_datatype"},
         "LayerNormalization": {"stash_type"}, "GroupNormalization": {"stash_type"},
         "RMSNormalization": {"stash_type"}, "Range": {"stash_type"}, "Attention": {"softmax_precision"}},
    "ai.onnx.preview": {"FlexAttention": {"softmax_precision"}},
}


def _is_dtype_attribute(node: onnx.NodeProto | None, attr: onnx.AttributeProto) -> bool:
    """True when ``attr`` of ``node`` is an element type by the op's schema (``Cast``'s ``to``)."""
    if node is None or attr.type != onnx.AttributeProto.INT:
        return False
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    return attr.name in _DTYPE_ATTRIBUTES.get(domain, {}).get(node.op_type, ())


def format_attribute(attr: onnx.AttributeProto, values: dict, node: onnx.NodeProto | None = None) -> str:
    """One attribute's value as short text; ``values`` are the node's ``attribute_values``.

    With the ``node``, an attribute that holds an element type shows its name (``to=float16``).
    """
    if attr.type == onnx.AttributeProto.GRAPH:
        return f"<graph {len(attr.g.node)} nodes>"
    if attr.type == onnx.AttributeProto.GRAPHS:
        return f"<{len(attr.graphs)} graphs>"
    if attr.type == onnx.AttributeProto.TENSOR:
        return f"<tensor {tensor_dtype(attr.t.data_type)} {list(attr.t.dims)}>"
    if attr.type == onnx.AttributeProto.SPARSE_TENSOR:
        return f"<sparse tensor {tensor_dtype(attr.sparse_tensor.values.data_type)} {list(attr.sparse_tensor.dims)}>"
    if attr.type == onnx.AttributeProto.TYPE_PROTO:
        return f"<type {type_name(attr.tp) or '?'}>"
    if _is_dtype_attribute(node, attr) and attr.i in onnx.TensorProto.DataType.values():
        return tensor_dtype(attr.i)
    if attr.type == onnx.AttributeProto.STRINGS:
        value = [s.decode("utf-8", "replace") for s in attr.strings]
    else:
        value = values.get(attr.name, f"<{onnx.AttributeProto.AttributeType.Name(attr.type).lower()}>")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float):
        value = f"{value:g}"
    if isinstance(value, list) and len(value) > _LIST_ITEMS:  # label tables can hold thousands
        return f"{str(value[:_LIST_ITEMS])[:-1]}, … ({len(value):,} in all)]"
    return str(value)


def _attribute_summary(node: onnx.NodeProto, values: dict) -> str:
    text = ", ".join(f"{attr.name}={format_attribute(attr, values, node)}" for attr in node.attribute)
    return text if len(text) <= _ATTR_SUMMARY_CHARS else text[: _ATTR_SUMMARY_CHARS - 1] + "…"


def open(source: ModelSource, *, strict: bool = False, dims: Mapping[str, int] | None = None) -> Model:  # noqa: A001
    """Opens an ONNX model for inspection.

    Args:
        source: a path to an ``.onnx`` file (external data next to it is found, not read),
            the model's bytes, an ``onnx.ModelProto``, or a ``torch.onnx.ONNXProgram``.
        strict: raise :class:`~workbench.errors.ModelCheckError` when ``onnx.checker``
            rejects the model. By default the model still opens, the problems are listed
            in ``Model.problems`` and on the summary card, and a ``ModelCheckWarning`` is issued.
        dims: sizes for symbolic input dimensions, e.g. ``{"batch": 1, "sequence": 128}``,
            so shapes and FLOPs come out concrete. The model itself is not changed.

    Raises:
        workbench.errors.WorkbenchError: a subclass naming what is wrong and how to fix it.
    """
    model = Model(load(source), [], dims)
    problems = _check(model)
    model.problems.extend(problems)
    if problems:
        if strict:
            raise errors.ModelCheckError(
                "onnx.checker rejected the model: " + "; ".join(problems)
                + ". Open it with strict=False to inspect it anyway."
            )
        warnings.warn(
            "The model has problems (see Model.problems): " + "; ".join(problems),
            errors.ModelCheckWarning,
            stacklevel=2,
        )
    return model


def open_unchecked(proto: onnx.ModelProto, path: Path | None) -> Model:
    """A model made here out of parts of opened ones (a diff's union of two graphs), as given:
    ``path`` is the file its external weights are relative to; nothing is checked again."""
    return Model(Loaded(proto, path, None, 0), [])


def as_model(source: Any) -> Model:
    """``source`` if it is a :class:`Model` already, else :func:`open` of it."""
    return source if isinstance(source, Model) else open(source)


def _check(model: Model) -> list[str]:
    """Runs onnx.checker; returns its complaints (with the node it names) instead of raising."""
    problems: list[str] = []
    try:
        # Weightless, from a file too: by path, the checker parsed the whole file again next
        # to the proto (BERT-base with inline weights: +418 MB at the peak of wb.open, 0.66 s).
        # External data is checked by the loader (_check_external_data), not here.
        onnx.checker.check_model(_skeleton(model, problems).SerializeToString())
    except onnx.checker.ValidationError as exc:
        problems.append(str(exc).strip().replace("\n\n", "\n"))
    return problems


#: Inline weights above this many bytes are size-checked here, not serialized for the checker.
_CHECKED_HERE_BYTES = 1 << 16


def _skeleton(model: Model, problems: list[str]) -> onnx.ModelProto:
    """The model's proto for the checker, with large inline weights and external ones swapped for
    empty stand-ins, and its main graph's nodes bare (see ``Model.bare_graph``: the checker reads
    no node metadata).

    The checker takes serialized bytes, and serializing a model held in memory is slow
    (440 MB of weights: 2.1 s). A weight's only check is that its data fills its declared
    shape; that is done here (protobuf copies the bytes to give their length: ~7 ms per
    100 MB). Complaints go to ``problems`` in the checker's words.
    """
    def empty(graph: onnx.GraphProto, tensor: onnx.TensorProto, size: int) -> None:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:  # the loader checked external files and lengths
            expected = tensor_nbytes(tensor)
            if expected and size != expected:
                problems.append(f"TensorProto (tensor name: {tensor.name}) raw_data size ({size} bytes) does not "
                                f"match the declared shape and type ({expected} bytes required)")
        graph.initializer.add(name=tensor.name, data_type=tensor.data_type, dims=[0])

    return _light_copy(model, empty)


def _light_copy(model: Model,
                stand_in: Callable[[onnx.GraphProto, onnx.TensorProto, int], None]) -> onnx.ModelProto:
    """A copy of the model's proto with its main graph's nodes bare, and whose main-graph weights
    over ``_CHECKED_HERE_BYTES``, and external ones, are left to ``stand_in(copy's graph, weight,
    bytes of its inline data)``; the other initializers are copied."""
    light = _without_initializers(model.proto, model.bare_graph.node)
    for tensor in model.proto.graph.initializer:
        external = tensor.data_location == onnx.TensorProto.EXTERNAL
        size = 0 if external else len(tensor.raw_data)  # protobuf copies the bytes to give their length
        if external or size > _CHECKED_HERE_BYTES:
            stand_in(light.graph, tensor, size)
        else:
            light.graph.initializer.append(tensor)
    return light


def _without_initializers(proto: onnx.ModelProto, nodes: Sequence[onnx.NodeProto]) -> onnx.ModelProto:
    """A copy of ``proto`` without its main graph's initializers (copying those is the cost), and
    with ``nodes`` as its main graph's nodes."""
    copy = onnx.ModelProto()
    for field, value in proto.ListFields():
        if field.name != "graph":
            _copy_field(copy, field.name, value)
    for field, value in proto.graph.ListFields():
        if field.name not in ("initializer", "node"):
            _copy_field(copy.graph, field.name, value)
    copy.graph.node.extend(nodes)
    return copy


def _copy_field(target: Any, name: str, value: Any) -> None:
    if isinstance(value, (str, bytes, int, float)):
        setattr(target, name, value)
    elif hasattr(value, "extend"):
        getattr(target, name).extend(value)
    else:
        getattr(target, name).CopyFrom(value)
