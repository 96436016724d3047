"""Turning what the user hands us (path, bytes, ModelProto, ONNXProgram) into a ModelProto.

Nothing here reads external weights: a model with external data is parsed with its
tensors left as references, and the references are checked (they must resolve to a
regular file inside the model's folder, long enough for the bytes they claim).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, TypeGuard, Union

import onnx
from google.protobuf.message import DecodeError

from .. import errors
from ._walk import iter_graphs, subgraphs

#: What :func:`workbench.open` accepts.
ModelSource = Union[str, os.PathLike, bytes, bytearray, memoryview, onnx.ModelProto, object]

PROTOBUF_LIMIT = 2**31  # protobuf cannot parse a message of 2 GiB or more
#: The deepest nesting of If/Loop/Scan bodies protobuf parses: it reads 100 levels of nested messages,
#: and the dimensions of a body's values k bodies deep lie 7 + 3k levels down (model, graph, then node,
#: attribute and graph per body, then value info, type, tensor type, shape and dimension).
MAX_NESTING = (100 - 7) // 3
_TOO_DEEP = re.compile(r"MaxDepth|recursion limit|nesting", re.IGNORECASE)  # protobuf's words for it

# Magic numbers of formats people mistake for ONNX, and what to do instead.
_OTHER_FORMATS: list[tuple[int, bytes, str]] = [
    (0, b"PK\x03\x04", "a zip archive (a PyTorch .pt/.pth checkpoint or a Keras .keras file?). "
     "Export it to ONNX first, e.g. with torch.onnx.export(model, args, 'model.onnx')"),
    (0, b"\x89HDF", "an HDF5 file (a Keras .h5 model?). Convert it with tf2onnx first"),
    (4, b"TFL3", "a TensorFlow Lite model. Convert it with tf2onnx (--tflite) first"),
    (4, b"ORTM", "an onnxruntime ORT-format model. Open the .onnx it was converted from"),
    (0, b"\x80", "a Python pickle (torch.save?). Export the model with torch.onnx.export first"),
    (0, b"version https://git-lfs", "a Git LFS pointer, not the model itself: run `git lfs pull`"),
    (0, b"{", "a JSON document, not a binary ONNX model"),
    (0, b"<", "an XML/HTML document, not a binary ONNX model"),
]


@dataclass
class Loaded:
    """A parsed model and where it came from."""

    proto: onnx.ModelProto
    path: Path | None  # the .onnx file, when opened from a path
    file_bytes: int | None  # size of the serialized model (without external data)
    external_bytes: int  # bytes of weights stored in external files


def load(source: ModelSource) -> Loaded:
    """Parses ``source`` without reading external weights; raises a ``WorkbenchError``."""
    if isinstance(source, onnx.ModelProto):
        loaded = Loaded(source, None, None, 0)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        loaded = Loaded(_parse(data, "the bytes given"), None, len(data), 0)
    elif isinstance(source, (str, os.PathLike)):
        loaded = _load_path(Path(source))
    elif is_onnx_program(source):
        loaded = Loaded(source.model_proto, None, None, 0)
    else:
        raise errors.NotOnnxError(
            f"Cannot open an object of type {type(source).__name__}. Pass a path to an "
            ".onnx file, its bytes, an onnx.ModelProto or a torch.onnx.ONNXProgram."
        )
    what = repr(str(loaded.path)) if loaded.path else "The model"
    if loaded.file_bytes is None:  # built in memory: protobuf's parser never bounded its depth
        _check_nesting(loaded.proto, what)
    _check_text(loaded.proto, what)
    _check_versions(loaded.proto)
    loaded.external_bytes = _check_external_data(loaded.proto, loaded.path)
    return loaded


def is_onnx_program(source: object) -> TypeGuard[Any]:
    """Whether ``source`` is a ``torch.onnx.ONNXProgram`` (checked without importing torch)."""
    # Looked up on the class: torch rebuilds ``model_proto`` on every read (0.6 s on BERT-base).
    return hasattr(source, "exported_program") and hasattr(type(source), "model_proto")


def _load_path(path: Path) -> Loaded:
    if path.is_symlink() and not path.exists():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise errors.ModelFileError(
            f"{str(path)!r} is a symbolic link to {target!r}, which does not exist or loops back on itself. "
            "Point the link at the model file, or open the model by its real path."
        )
    if not path.exists():
        raise errors.ModelFileError(f"No such file: {str(path)!r}. Check the path and the working directory "
                                    f"({os.getcwd()}).")
    if path.is_dir():
        candidates = sorted(p.name for p in path.glob("*.onnx"))
        hint = f" It holds {', '.join(candidates[:5])}: pass one of them." if candidates else ""
        raise errors.ModelFileError(f"{str(path)!r} is a folder, not a model file.{hint}")
    if not path.is_file():
        raise errors.ModelFileError(f"{str(path)!r} is not a regular file (a device or a pipe?); pass an .onnx file.")
    size = path.stat().st_size
    if size >= PROTOBUF_LIMIT:
        raise errors.ModelTooLargeError(
            f"{str(path)!r} is {size / 2**30:.2f} GiB in one file, over protobuf's 2 GiB limit, "
            "so no ONNX tool can parse it. Re-save it with its weights as external data: "
            "onnx.save(model, path, save_as_external_data=True) — or torch.onnx.export(..., "
            "external_data=True)."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.ModelFileError(f"Cannot read {str(path)!r}: {exc.strerror}.") from exc
    return Loaded(_parse(data, repr(str(path))), path.resolve(), size, 0)


def _parse(data: bytes, what: str) -> onnx.ModelProto:
    if not data:
        raise errors.NotOnnxError(f"{what} is empty: 0 bytes. Re-export or re-download the model.")
    if len(data) >= PROTOBUF_LIMIT:
        raise errors.ModelTooLargeError(
            f"{what} is over protobuf's 2 GiB limit. Save the model with external data "
            "(onnx.save(model, path, save_as_external_data=True)) and open the path."
        )
    for offset, magic, explanation in _OTHER_FORMATS:
        if data[offset : offset + len(magic)] == magic:
            raise errors.NotOnnxError(f"{what} is not an ONNX model: it looks like {explanation}.")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except DecodeError as exc:
        if _TOO_DEEP.search(str(exc)):
            raise errors.NotOnnxError(_too_deep(what)) from exc
        if _starts_like_onnx(data):
            raise errors.TruncatedModelError(
                f"{what} starts like an ONNX model but is truncated or corrupted "
                f"({len(data):,} bytes could not be parsed). Copy or export it again; if it "
                "came over git, check it is not a Git LFS pointer."
            ) from exc
        raise errors.NotOnnxError(
            f"{what} is not an ONNX model: it does not parse as an ONNX protobuf "
            f"(first bytes: {data[:8]!r})."
        ) from exc
    if proto.ir_version <= 0 or not proto.HasField("graph"):
        raise errors.NotOnnxError(
            f"{what} is not an ONNX model: it parsed, but has no IR version or no graph "
            f"(first bytes: {data[:8]!r})."
        )
    return proto


def _check_text(proto: onnx.ModelProto, what: str) -> None:
    """Refuses a model with a text field (e.g. ``onnx.NodeProto.name``) whose bytes are not UTF-8:
    protobuf parses them, and hands them over as ``bytes`` where every reader expects ``str``.

    Every message is walked but the nodes' metadata, which :func:`~workbench.model._walk.node_metadata`
    reads as text wherever it is read. A graph's nodes, weights and tensor value infos (nearly all of
    a model's messages) are read field by field, each kind's texts joined at once; the rest through
    protobuf's ``ListFields``."""
    stack: list = [proto]
    while stack:
        message = stack.pop()
        if isinstance(message, onnx.GraphProto):
            _join_texts([message.name, message.doc_string], "GraphProto", what)
            _join_texts(_node_texts(message.node, stack), "NodeProto", what)
            _join_texts(_tensor_texts(message.initializer, stack), "TensorProto", what)
            infos = [*message.input, *message.output, *message.value_info]
            _join_texts(_value_info_texts(infos, stack), "ValueInfoProto", what)
            for field in (message.sparse_initializer, message.quantization_annotation, message.metadata_props):
                stack.extend(field)
            continue
        if isinstance(message, onnx.NodeProto):
            texts = _node_texts([message], stack)
        elif isinstance(message, onnx.TensorProto):  # listing its fields would copy its data
            texts = _tensor_texts([message], stack)
        elif isinstance(message, onnx.ValueInfoProto) and message.type.WhichOneof("value") == "tensor_type":
            texts = _value_info_texts([message], stack)
        else:
            texts = []
            for field, value in message.ListFields():
                if field.type == field.TYPE_STRING:
                    texts += value if field.is_repeated else [value]
                elif field.type == field.TYPE_MESSAGE:
                    stack.extend(value if field.is_repeated else [value])
        _join_texts(texts, type(message).__name__, what)


def _join_texts(texts: list, kind: str, what: str) -> None:
    try:
        "".join(texts)  # in C: a TypeError as soon as one item is bytes, not str
    except TypeError:
        raise errors.NotOnnxError(
            f"{what} is corrupted: a name or text in its {kind} is not UTF-8 text, as every name and string of "
            "an ONNX model is. Copy or export it again."
        ) from None


def _node_texts(nodes: Iterable[onnx.NodeProto], stack: list) -> list:
    """The texts of ``nodes`` but their metadata (read as text, bad bytes replaced, by
    :func:`~workbench.model._walk.node_metadata`); their graph, tensor and type attributes go on
    ``stack``."""
    texts: list = []
    for node in nodes:
        texts += (node.name, node.op_type, node.domain, node.doc_string, node.overload)
        texts += node.input
        texts += node.output
        for attr in node.attribute:
            texts += (attr.name, attr.ref_attr_name, attr.doc_string)
            if attr.type not in _PLAIN_ATTRIBUTES:  # graphs, tensors, types: walked as messages
                stack.append(attr)
    return texts


def _tensor_texts(tensors: Iterable[onnx.TensorProto], stack: list) -> list:
    texts: list = []
    for tensor in tensors:
        texts += (tensor.name, tensor.doc_string)
        stack.extend(tensor.external_data)
        stack.extend(tensor.metadata_props)
    return texts


def _value_info_texts(infos: Iterable[onnx.ValueInfoProto], stack: list) -> list:
    """The texts of tensor value infos; the others (sequences, maps, optionals) go on ``stack`` whole."""
    texts: list = []
    for info in infos:
        type_ = info.type
        if type_.WhichOneof("value") != "tensor_type":
            stack.append(info)  # walked by ListFields: not a ValueInfoProto the loop above reads
            continue
        texts += (info.name, info.doc_string, type_.denotation)
        for dim in type_.tensor_type.shape.dim:
            texts += (dim.dim_param, dim.denotation)
        stack.extend(info.metadata_props)
    return texts


#: Attribute types with nothing but numbers and bytes inside.
_PLAIN_ATTRIBUTES = {onnx.AttributeProto.INT, onnx.AttributeProto.INTS, onnx.AttributeProto.FLOAT,
                     onnx.AttributeProto.FLOATS, onnx.AttributeProto.STRING, onnx.AttributeProto.STRINGS,
                     onnx.AttributeProto.UNDEFINED}


def _too_deep(what: str) -> str:
    return (f"{what} nests If/Loop/Scan bodies deeper than protobuf parses (100 levels of nested messages: "
            f"about {MAX_NESTING} bodies, one inside another), so no ONNX tool (onnx, onnxruntime) can read it. "
            "Export the model with fewer nested control-flow bodies, e.g. by unrolling or merging nested Ifs.")


def _check_nesting(proto: onnx.ModelProto, what: str) -> None:
    """Refuses a model (built in memory: parsed ones cannot be) whose bodies nest deeper than
    protobuf parses; every walk over the model's graphs can then recurse safely."""
    stack = [(graph_nodes, 0) for graph_nodes in (proto.graph.node, *(f.node for f in proto.functions))]
    while stack:
        nodes, depth = stack.pop()
        if depth > MAX_NESTING:
            raise errors.NotOnnxError(_too_deep(what))
        stack.extend((body.node, depth + 1) for node in nodes for _, body in subgraphs(node))


def _starts_like_onnx(data: bytes) -> bool:
    # A serialized ModelProto nearly always begins with field 1 (ir_version, a small varint).
    return len(data) >= 2 and data[0] == 0x08 and 1 <= data[1] <= 30


def _check_versions(proto: onnx.ModelProto) -> None:
    if proto.ir_version > onnx.IR_VERSION:
        raise errors.UnsupportedVersionError(
            f"The model uses ONNX IR version {proto.ir_version}; the installed onnx "
            f"{onnx.__version__} reads up to IR version {onnx.IR_VERSION}. Upgrade onnx "
            "(pip install -U onnx), or re-export the model with an older IR version."
        )
    newest = onnx.defs.onnx_opset_version()
    for opset in proto.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > newest:
            raise errors.UnsupportedVersionError(
                f"The model imports opset {opset.version} of the default ONNX domain; the "
                f"installed onnx {onnx.__version__} knows up to opset {newest}. Upgrade onnx "
                f"(pip install -U onnx), or convert the model down with "
                f"onnx.version_converter.convert_version(model, {newest})."
            )


def external_tensors(proto: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Every tensor of the model (initializers and attributes) stored in an external file."""
    found: list[onnx.TensorProto] = []
    for graph in iter_graphs(proto.graph):
        for tensor in graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                found.append(tensor)
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_location == onnx.TensorProto.EXTERNAL:
                    found.append(attr.t)
    return found


def external_info(tensor: onnx.TensorProto) -> dict[str, str]:
    """The key/value pairs (location, offset, length, …) of an external tensor."""
    return {entry.key: entry.value for entry in tensor.external_data}


def resolve_external(tensor: onnx.TensorProto, base: Path) -> tuple[Path, int, int | None]:
    """Where an external tensor's bytes are: ``(file, offset, length)``, refusing escapes."""
    info = external_info(tensor)
    location = info.get("location", "")
    if not location:
        raise errors.ExternalDataError(f"Tensor {tensor.name!r} is marked external but names no file.")
    try:
        target = _external_file(base, location)
    except _Refused as refused:
        raise errors.ExternalDataError(f"Tensor {tensor.name!r} {refused}") from None
    offset = int(info.get("offset", "0") or 0)
    length = int(info["length"]) if info.get("length") else None
    return target, offset, length


class _Refused(Exception):
    """Why an external data file cannot be read, said of the tensor that names it."""


@lru_cache(maxsize=64)
def _external_file(base: Path, location: str) -> Path:
    """The file ``location`` names in ``base``, checked. Found files are remembered (resolving
    paths costs about 0.3 ms, and a 10,000-node export reads a thousand weights from one
    file); refusals are not, so a file copied in afterwards is found."""
    if os.path.isabs(location):
        raise _Refused(f"points at the absolute path {location!r}: refused, external data must lie in the model's "
                       "folder. Re-save the model with a relative location.")
    folder = base.resolve()
    target = (folder / location).resolve()
    if folder != target and folder not in target.parents:
        raise _Refused(f"points at {location!r}, which resolves outside the model's folder: refused. Keep external "
                       "data files next to the model.")
    if not target.exists():
        raise _Refused(f"needs the external data file {location!r}, which is missing from {str(folder)!r}. Copy it "
                       "next to the model (it is written beside the .onnx on export).")
    if not target.is_file():
        raise _Refused(f"points at {location!r}, which is not a regular file: refused.")
    return target


def _check_external_data(proto: onnx.ModelProto, path: Path | None) -> int:
    tensors = external_tensors(proto)
    if not tensors:
        return 0
    if path is None:
        raise errors.ExternalDataError(
            f"The model keeps {len(tensors)} tensors in external files (e.g. "
            f"{external_info(tensors[0]).get('location', '?')!r}), but was given without a "
            "path, so they cannot be found. Open it by its file path instead."
        )
    total = 0
    files: dict[str, tuple[Path, int]] = {}  # location -> (resolved file, its size)
    for tensor in tensors:
        info = external_info(tensor)
        location = info.get("location", "")
        if location not in files:
            target, _, _ = resolve_external(tensor, path.parent)
            files[location] = (target, target.stat().st_size)
        target, size = files[location]
        offset = int(info.get("offset", "0") or 0)
        length = int(info["length"]) if info.get("length") else None
        end = offset + (length if length is not None else 0)
        if end > size:
            raise errors.ExternalDataError(
                f"Tensor {tensor.name!r} claims bytes {offset:,}–{end:,} of "
                f"{target.name!r}, but the file holds {size:,} bytes: it is truncated. Copy "
                "it again."
            )
        total += length if length is not None else size - offset
    return total


__all__ = ["Loaded", "ModelSource", "load", "external_tensors", "resolve_external"]
