"""Models with external data: open lazily, read weights on demand, refuse escapes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest

import workbench as wb
from workbench import errors


def _save_external(tmp_path: Path, name: str = "tiny_bert", location: str = "weights.bin") -> Path:
    path = tmp_path / f"{name}.onnx"
    onnx.save(wb.samples.proto(name), path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=location, size_threshold=1024)
    return path


def test_opens_without_reading_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save_external(tmp_path)
    reads: list[str] = []
    real_memmap = np.memmap

    def spy(*args, **kwargs):
        reads.append(str(args[0]))
        return real_memmap(*args, **kwargs)

    monkeypatch.setattr(np, "memmap", spy)
    m = wb.open(path)
    nodes = m.nodes
    assert len(nodes) == 79 and m.problems == []
    assert reads == []  # m.nodes never touched the weights
    assert m.model_bytes == path.stat().st_size + (tmp_path / "weights.bin").stat().st_size
    tensors = m.tensors
    assert reads  # statistics did read them
    row = tensors.loc["encoder.layer.0.attention.query.weight"]
    assert row.storage == "external:weights.bin"
    expected = onnx.numpy_helper.to_array(
        {t.name: t for t in wb.samples.proto("tiny_bert").graph.initializer}["encoder.layer.0.attention.query.weight"]
    )
    np.testing.assert_array_equal(m.weight("encoder.layer.0.attention.query.weight"), expected)
    assert row["mean"] == pytest.approx(float(expected.mean()), abs=1e-6)


def test_missing_external_file(tmp_path: Path) -> None:
    path = _save_external(tmp_path)
    os.remove(tmp_path / "weights.bin")
    with pytest.raises(errors.ExternalDataError, match="weights.bin.*missing.*Copy it next to the model"):
        wb.open(path)


def test_truncated_external_file(tmp_path: Path) -> None:
    path = _save_external(tmp_path)
    with open(tmp_path / "weights.bin", "r+b") as f:
        f.truncate(100)
    with pytest.raises(errors.ExternalDataError, match="truncated"):
        wb.open(path)


def _point_first_tensor_at(path: Path, location: str) -> None:
    model = onnx.load(path, load_external_data=False)
    tensor = next(t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL)
    for entry in tensor.external_data:
        if entry.key == "location":
            entry.value = location
    onnx.save(model, path)


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../outside.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path: Path, location: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = _save_external(folder)
    (tmp_path / "outside.bin").write_bytes(b"\0" * 10**6)
    _point_first_tensor_at(path, location)
    with pytest.raises(errors.ExternalDataError, match="refused"):
        wb.open(path)


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = _save_external(folder)
    os.replace(folder / "weights.bin", tmp_path / "real.bin")
    os.symlink(tmp_path / "real.bin", folder / "weights.bin")
    with pytest.raises(errors.ExternalDataError, match="outside the model's folder"):
        wb.open(path)


def test_bytes_of_an_external_data_model_say_to_open_by_path(tmp_path: Path) -> None:
    path = _save_external(tmp_path)
    with pytest.raises(errors.ExternalDataError, match="Open it by its file path"):
        wb.open(path.read_bytes())
