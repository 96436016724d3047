"""From a diagnosis to a fix: which nodes to keep in fp32 so a lower-precision model is good enough.

``wb.precision.search(model, inputs, target="int8", metric="max_abs", tolerance=1e-2)``
converts the model once, ranks its nodes by the error each adds on the fp32 model's own inputs
(``wb.compare``'s local errors), then finds the fewest of the worst to keep in fp32 so that the
outputs are within tolerance. It returns the converted model, the recipe that makes it again,
and the curve of error against nodes kept.
"""

from ._search import TARGETS, Recipe, Search, search

__all__ = ["TARGETS", "Recipe", "Search", "search"]
