"""Exceptions and warnings raised by ONNX Workbench.

Every error names the problem and what to do about it. All of them derive from
:class:`WorkbenchError`, so ``except wb.errors.WorkbenchError`` catches them all,
and from the matching built-in type (``ValueError``, ``FileNotFoundError``, …) so
code written against plain Python keeps working.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "ModelFileError",
    "NotOnnxError",
    "TruncatedModelError",
    "ModelTooLargeError",
    "ExternalDataError",
    "UnsupportedVersionError",
    "ModelCheckError",
    "ModelCheckWarning",
    "InputError",
    "ProviderError",
    "DebuggerError",
    "DebuggerWarning",
    "GraphError",
    "SessionError",
    "TensorDataError",
    "ProfileError",
    "AnalysisError",
    "NotFoundError",
    "UsageError",
    "MissingExtraError",
]


class WorkbenchError(Exception):
    """Base class of every error ONNX Workbench raises on purpose."""


class ModelFileError(WorkbenchError, FileNotFoundError):
    """The path does not name a readable model file."""


class NotOnnxError(WorkbenchError, ValueError):
    """The bytes are not an ONNX model any ONNX tool can read: another format, random data, bodies
    nested deeper than protobuf parses, or text fields that are not UTF-8."""


class TruncatedModelError(NotOnnxError):
    """The bytes start like an ONNX model but end before the model does."""


class ModelTooLargeError(WorkbenchError, ValueError):
    """A single-file model over protobuf's 2 GiB limit: it must use external data."""


class ExternalDataError(WorkbenchError, ValueError):
    """External weights are missing, or point outside the model's folder."""


class UnsupportedVersionError(WorkbenchError, ValueError):
    """The model's IR version or an opset is newer than the installed ``onnx`` knows."""


class ModelCheckError(WorkbenchError, ValueError):
    """``onnx.checker`` rejected the model and ``strict=True`` was asked for."""


class ModelCheckWarning(UserWarning):
    """The model opened for inspection, but ``onnx.checker`` found problems."""


class CompareWarning(UserWarning):
    """The comparison ran, but not on the terms it was given: a torch module left in training
    mode is compared in eval mode, as ``torch.onnx.export`` exported it."""


class DebuggerWarning(UserWarning):
    """The debugger did what was asked, but not what was likely meant: ``continue_()`` with
    breakpoints that never matched ran to the last node."""


class InputError(WorkbenchError, ValueError):
    """Inputs that do not match the model's: unknown or missing names, wrong shapes or dtypes."""


class ProviderError(WorkbenchError, ValueError):
    """An execution provider that this onnxruntime does not have."""


class DebuggerError(WorkbenchError, LookupError):
    """A debugger request that cannot be met: an unknown node or value, a step past the end."""


class GraphError(WorkbenchError, ValueError):
    """A graph that cannot run as written: an output that nothing produces, or a value written twice."""


class SessionError(WorkbenchError, RuntimeError):
    """onnxruntime (or the reference evaluator) could not load or run the model; the message
    carries the runtime's own words and what ``onnx.checker`` said about the model."""


class TensorDataError(WorkbenchError, ValueError):
    """An initializer whose stored data does not fill its declared shape and type (a corrupted
    or hand-edited model): reading it would fail, or allocate what the shape claims."""


class ProfileError(WorkbenchError, ValueError):
    """A profile file that cannot be read: missing, empty, not JSON, or not onnxruntime's trace events."""


class AnalysisError(WorkbenchError, ValueError):
    """An analysis folder that cannot be written, read or re-run: missing, corrupted or changed files."""


class NotFoundError(WorkbenchError, KeyError):
    """No node, initializer, scope, group or sample by that name; the message says where the
    names are (``Model.nodes``, ``Model.tensors``, ...)."""

    def __str__(self) -> str:  # KeyError's own would put the message in quotes
        return str(self.args[0]) if self.args else ""


class UsageError(WorkbenchError, ValueError):
    """A call that cannot be done as asked: an argument outside its allowed values, or without
    what it needs (``compare(module, inputs)`` without ``onnx=``); the message says what to pass."""


class MissingExtraError(WorkbenchError, ImportError):
    """A package an optional feature needs is not installed (onnxmltools to convert XGBoost or
    LightGBM models, skl2onnx for scikit-learn ones); the message names the extra to install."""
