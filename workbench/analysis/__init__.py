"""Reproducible analyses: a model, its inputs, one run's outputs and result tables, in one folder.

``save_analysis(path, model=m, ...)`` writes the folder (see ``docs/analysis.md`` for its
layout); ``load_analysis(path)`` reads it back, checking every file against the sha256 the
manifest recorded; ``verify_analysis(path)`` re-runs the recorded recipe here and says
whether the outputs still match — and, when they do not, which difference in the
environment (onnxruntime's version, the provider, the GPU, …) can explain it.

>>> import workbench as wb
>>> from workbench.analysis import load_analysis, save_analysis, verify_analysis
>>> m = wb.samples.open("tiny_cnn")
>>> a = save_analysis("analyses/cnn", model=m, results={"ops": m.ops})   # doctest: +SKIP
>>> verify_analysis("analyses/cnn").ok                                     # doctest: +SKIP
True
"""

from ._analysis import FORMAT_VERSION, Analysis, AnalysisError, load_analysis, save_analysis
from ._verify import Verification, verify_analysis

__all__ = ["FORMAT_VERSION", "Analysis", "AnalysisError", "Verification", "load_analysis", "save_analysis",
           "verify_analysis"]
