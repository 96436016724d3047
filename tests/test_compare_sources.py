"""``wb.compare``'s kinds of reference: each source goes to one adapter, tried in one order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

import workbench as wb
from workbench.comparison import _sources
from workbench.errors import UsageError


class _Program:
    """What torch.onnx.export returns, as far as matching goes (read on the class: torch rebuilds
    ``model_proto`` on every read)."""

    model_proto = None

    def __init__(self) -> None:
        self.exported_program = object()


@pytest.mark.parametrize(("source", "kind"), [
    (_Program(), _sources.TorchProgram),
    (torch.nn.Linear(2, 2), _sources.TorchModule),
    (StandardScaler().fit(np.ones((3, 2))), _sources.Sklearn),
    ({"y": np.zeros(2)}, _sources.SavedArrays),
    ("model.onnx", _sources.OnnxRuns),
    (wb.Run("model.onnx"), _sources.OnnxRuns),
], ids=["program", "module", "estimator", "arrays", "path", "run"])
def test_each_source_goes_to_its_kind(source: object, kind: type) -> None:
    assert _sources.source_kind(source) is kind


def test_only_onnx_runs_take_a_reference_side(cnn: wb.Model) -> None:
    assert [k.__name__ for k in _sources.SOURCES if k.takes_reference] == ["OnnxRuns"]
    with pytest.raises(UsageError, match="reference= picks the reference side"):
        wb.compare({"x": np.zeros(1)}, None, onnx=cnn, reference="cpu")
