"""Checks at scale: many models × variants × providers × inputs, on worker processes or Ray.

>>> table = wb.sweep(["a.onnx", "b.onnx"], inputs=20, variants=["fp32", "fp16", "int8"],
...                  checks=["compare", "profile"], save="failures/", store="sweeps/")
>>> table[table.verdict != "pass"]
>>> wb.sweep_compare("sweeps/")          # tonight's run against last night's: regressions first

``sweep`` returns one tidy table (one measurement per row); ``store=`` appends it to a Parquet
dataset, ``read_sweeps`` reads every run back, ``sweep_compare`` flags what got worse.
"""

from ._history import read_sweeps, sweep_compare
from ._sweep import CHECKS, EXECUTORS, sweep

__all__ = ["CHECKS", "EXECUTORS", "read_sweeps", "sweep", "sweep_compare"]
