"""Model diff: what changed between two models, structurally and numerically.

``wb.diff(a, b)`` matches the nodes of two models (by structure, so that two exports whose
names all differ still match; fused and Q/DQ rewrites recognised) and gives a :class:`Diff`:
``nodes``, ``weights`` and ``metadata`` tables, a card, ``view()`` (one graph of both) and
``numeric(inputs)`` (the values of both runs compared through the matched nodes).
"""

from ._diff import FIELDS, NODE_COLUMNS, STATUSES, WEIGHT_COLUMNS, Diff, diff
from ._view import DiffIndex, open_diff

__all__ = ["FIELDS", "NODE_COLUMNS", "STATUSES", "WEIGHT_COLUMNS", "Diff", "DiffIndex", "diff", "open_diff"]
