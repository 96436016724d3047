"""Execution providers: what this onnxruntime offers, and what ``provider=`` resolves to."""

from __future__ import annotations

from typing import Sequence

import onnxruntime as ort

from ..errors import ProviderError

#: onnxruntime's CPU provider: every build has it, and every session falls back to it.
CPU = "CPUExecutionProvider"
#: Short names users type, and the onnxruntime provider each stands for.
ALIASES = {
    "cpu": CPU,
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
#: The onnx reference evaluator (pure Python): ``provider="reference"``.
REFERENCE = "reference"
_HOW_TO_GET = {
    "CUDAExecutionProvider": "install onnxruntime-gpu instead of onnxruntime "
                             "(pip uninstall onnxruntime && pip install onnxruntime-gpu) on a machine with CUDA",
    "TensorrtExecutionProvider": "install onnxruntime-gpu and TensorRT on a machine with an NVIDIA GPU",
    "DmlExecutionProvider": "install onnxruntime-directml (Windows)",
    "OpenVINOExecutionProvider": "install onnxruntime-openvino",
}


def providers() -> list[str]:
    """What ``provider=`` accepts here: short names of available providers, then ``"reference"``."""
    available = ort.get_available_providers()
    short = [alias for alias, name in ALIASES.items() if name in available]
    return short + [REFERENCE]


def resolve(provider: str | Sequence[str]) -> list[str]:
    """The onnxruntime provider list for ``provider`` (``[]`` for the reference evaluator).

    Raises :class:`ProviderError` naming the available providers and how to get the missing one.
    """
    if isinstance(provider, str):
        if provider == REFERENCE:
            return []
        names = [ALIASES.get(provider.lower(), provider)]
    else:
        names = [ALIASES.get(p.lower(), p) for p in provider]
    available = ort.get_available_providers()
    for name in names:
        if name not in available:
            hint = _HOW_TO_GET.get(name, "check the onnxruntime build you installed")
            raise ProviderError(
                f"onnxruntime {ort.__version__} has no {name}; available here: {', '.join(available)} "
                f"(or provider='reference'). To get it: {hint}."
            )
    if CPU not in names:
        names.append(CPU)  # the fallback for ops the accelerator lacks
    return names


#: Providers that compile the subgraphs they take into nodes of their own (no ONNX file holds
#: their optimized graph; their compilers may fuse away values asked for as outputs).
COMPILING = frozenset({"OpenVINOExecutionProvider", "TensorrtExecutionProvider", "NvTensorRTRTXExecutionProvider",
                       "VitisAIExecutionProvider", "QNNExecutionProvider", "CoreMLExecutionProvider"})
