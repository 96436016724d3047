"""Profiling: per-kernel latencies from onnxruntime's profiler, tied back to the authored graph.

``wb.profile(model)`` runs the model in one profiling session and returns a
:class:`Profile`: tables per kernel (``nodes``), op type, provider, scope and run, the
raw events, plots, and the time per *authored* node (``authored``) for the graph view.
At ``optimization="all"`` most kernels are fused nodes that do not exist in the authored
graph; each is mapped back to the authored nodes it replaced — ``exact`` (the same
node), ``tensors`` (the authored nodes between its input and output values), ``name``
(onnxruntime's name for it derives from an authored node or value) or ``unmapped``.

>>> import workbench as wb
>>> p = wb.profile(wb.samples.open("tiny_cnn"), runs=3, warmup=1)   # doctest: +SKIP
>>> p.nodes.nlargest(5, "median_us")                                 # doctest: +SKIP
"""

from ..errors import ProfileError
from ._fused import MAPPINGS
from ._plot import ProfilePlots
from ._profile import Profile, profile, profile_compare, read_profile
from ._roofs import measure_roofs

__all__ = ["MAPPINGS", "Profile", "ProfileError", "ProfilePlots", "measure_roofs", "profile", "profile_compare",
           "read_profile"]
