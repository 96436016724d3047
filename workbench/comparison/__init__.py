"""Comparing runs value by value: torch or scikit-learn vs its ONNX export, ONNX vs ONNX,
saved arrays vs ONNX.

``wb.compare(...)`` returns a :class:`Report` whose ``root_cause`` is the first node that
is wrong on the reference's own inputs (local error), not merely carrying error from
upstream (accumulated error).
"""

from ._compare import Report, compare
from ._metrics import error_metrics, value_metrics, within
from ._sources import Run
from ._torch import module_values, torch_values

__all__ = ["Report", "Run", "compare", "error_metrics", "module_values", "torch_values", "value_metrics", "within"]
