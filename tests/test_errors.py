"""Bad input: every case gets a typed error that names the problem and the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

import workbench as wb
from workbench import errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(errors.ModelFileError, match="No such file"):
        wb.open(tmp_path / "nope.onnx")


def test_folder_instead_of_file(tmp_path: Path, sample_path) -> None:
    sample_path("tiny_cnn")
    with pytest.raises(errors.ModelFileError, match="is a folder.*tiny_cnn.onnx"):
        wb.open(tmp_path)


def test_device_file_is_refused() -> None:
    with pytest.raises(errors.ModelFileError, match="not a regular file"):
        wb.open("/dev/null")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(errors.NotOnnxError, match="empty"):
        wb.open(tmp_path / "empty.onnx")


def test_random_bytes_are_not_onnx() -> None:
    data = bytes(range(7, 256)) * 8
    with pytest.raises(errors.NotOnnxError, match="not an ONNX model") as info:
        wb.open(data)
    assert not isinstance(info.value, errors.TruncatedModelError)


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (b"PK\x03\x04" + b"\0" * 40, "torch.onnx.export"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 40, "tf2onnx"),
        (b"\x1c\0\0\0TFL3" + b"\0" * 40, "TensorFlow Lite"),
        (b'{"not": "onnx"}', "JSON"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:0\n", "Git LFS"),
    ],
)
def test_other_formats_are_named(data: bytes, hint: str) -> None:
    with pytest.raises(errors.NotOnnxError, match=hint):
        wb.open(data)


def test_truncated_model(sample_path) -> None:
    data = sample_path("tiny_bert").read_bytes()
    with pytest.raises(errors.TruncatedModelError, match="truncated"):
        wb.open(data[: len(data) // 2])


def test_checker_failure_keeps_the_model_openable() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu_with_bad_attr", bogus=3)], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph)
    with pytest.warns(errors.ModelCheckWarning, match="bogus"):
        m = wb.open(model)
    assert len(m.nodes) == 1
    assert any("relu_with_bad_attr" in p and "bogus" in p for p in m.problems)
    assert "bogus" in m._repr_html_()
    with pytest.raises(errors.ModelCheckError, match="strict=False"):
        wb.open(model, strict=True)


def test_large_weights_in_memory_are_size_checked() -> None:
    """Big inline weights of an in-memory model are checked without serializing them."""
    model = wb.samples.proto("tiny_bert")
    weight = max(model.graph.initializer, key=lambda t: len(t.raw_data))
    weight.CopyFrom(onnx.numpy_helper.from_array(np.zeros((256, 512), np.float32), weight.name))  # 512 KB
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.ones((300, 300), np.float32), "unused"))
    assert wb.open(model, strict=True).problems == []
    weight.raw_data = weight.raw_data[: len(weight.raw_data) // 2]
    with pytest.warns(errors.ModelCheckWarning, match=f"{weight.name}.*262144 bytes.*524288 bytes required"):
        wb.open(model)


def test_ir_version_too_new() -> None:
    model = wb.samples.proto("control_flow")
    model.ir_version = onnx.IR_VERSION + 1
    with pytest.raises(errors.UnsupportedVersionError, match=f"IR version {onnx.IR_VERSION + 1}.*pip install -U onnx"):
        wb.open(model.SerializeToString())


def test_opset_too_new() -> None:
    model = wb.samples.proto("control_flow")
    model.opset_import[0].version = onnx.defs.onnx_opset_version() + 1
    with pytest.raises(errors.UnsupportedVersionError, match="opset .*version_converter"):
        wb.open(model)


def test_single_file_over_two_gib_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.onnx"
    with open(big, "wb") as f:  # a sparse file: no disk used, nothing read
        f.truncate(2**31 + 10)
    with pytest.raises(errors.ModelTooLargeError, match="save_as_external_data=True"):
        wb.open(big)


def test_unsupported_object_type() -> None:
    with pytest.raises(errors.NotOnnxError, match="Cannot open an object of type dict"):
        wb.open({"graph": 1})


def test_errors_are_catchable_as_builtins(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        wb.open(tmp_path / "missing.onnx")
    with pytest.raises(ValueError):
        wb.open(b"garbage!")
    assert os.path.exists(tmp_path)  # nothing deleted or written by failed opens


def test_every_deliberate_error_is_a_workbench_error() -> None:
    """``raise`` of a built-in error type appears only where the code catches it again itself
    (marked ``# internal:``, on the line or the one before); every other deliberate error is a
    ``WorkbenchError`` (``NotFoundError`` for a ``KeyError``, ``UsageError`` for a ``ValueError``)."""
    package = Path(wb.__file__).parent
    bare = re.compile(r"raise (ValueError|KeyError|TypeError|LookupError|RuntimeError|IndexError)\(")
    found = []
    for path in sorted(package.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if bare.search(line) and "# internal:" not in line and "# internal:" not in lines[number - 1]:
                found.append(f"{path.relative_to(package)}:{number + 1}: {line.strip()}")
    assert found == []
