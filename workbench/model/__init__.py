"""Loading, validating and inspecting ONNX models: :func:`open` and :class:`Model`."""

from ._model import Model, as_model, open  # noqa: A004 - wb.open, as io.open: the name users expect
from ._scopes import Scope, ScopeTree

__all__ = ["Model", "Scope", "ScopeTree", "as_model", "open"]
