"""Loading, validating and inspecting ONNX models: :func:`open` and :class:`Model`."""

from ._model import Model, as_model, open
from ._scopes import Scope, ScopeTree

__all__ = ["Model", "Scope", "ScopeTree", "open"]
