"""Shared fixtures: the real models onnx ships, and sample models written to disk."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

import workbench as wb

LIGHT_MODELS = sorted((Path(onnx.__file__).parent / "backend/test/data/light").glob("*.onnx"))


@pytest.fixture(scope="session")
def light_models() -> list[Path]:
    assert LIGHT_MODELS, "onnx ships its light models in onnx/backend/test/data/light"
    return LIGHT_MODELS


@pytest.fixture
def sample_path(tmp_path: Path):
    """Writes a sample model to a temporary folder and returns its path."""

    def write(name: str) -> Path:
        return wb.samples.save(name, tmp_path)

    return write
