"""What an analysis ran on: package versions, Python, platform, CPU, GPU, onnxruntime's providers.

Recorded in the manifest when an analysis is saved, and read again when it is verified:
the keys whose values differ are what can explain outputs that no longer match.

Versions come from the installed distributions' metadata (``importlib.metadata``), so
nothing is imported to learn its version: torch, in particular, costs seconds to import.
"""

from __future__ import annotations

import copy
import functools
import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from typing import Any, Mapping

import onnxruntime as ort

#: Distributions whose version goes into every manifest (``None`` when not installed).
PACKAGES = ("onnx-workbench", "onnx", "onnxruntime", "numpy", "pandas", "pyarrow", "torch")
#: onnxruntime builds other than the CPU one: recorded only when installed.
_ORT_BUILDS = ("onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino", "onnxruntime-training")
#: ``nvidia-smi`` answers in well under a second; a hung driver must not hang a save.
_NVIDIA_SMI_TIMEOUT_S = 3.0

# The order keys are listed in when they differ: what most often moves numbers first.
_ORDER = ("onnxruntime", *_ORT_BUILDS, "onnxruntime_providers", "gpu", "cpu", "onnx", "numpy", "torch",
          "python", "machine", "cpu_count", "platform")


def environment() -> dict[str, Any]:
    """The environment of this process, as recorded in a manifest (a fresh copy each call)."""
    return copy.deepcopy(_environment())


@functools.lru_cache(maxsize=1)
def _environment() -> dict[str, Any]:
    packages = {name: _version(name) for name in PACKAGES}
    packages["onnxruntime"] = ort.__version__  # the module actually imported, whichever build provides it
    packages.update({name: v for name in _ORT_BUILDS if (v := _version(name)) is not None})
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpus(),
        "onnxruntime_providers": list(ort.get_available_providers()),
        "packages": packages,
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _gpus() -> list[str]:
    """NVIDIA GPUs with their driver version, from ``nvidia-smi`` when it is installed.

    Names only, no UUIDs: another card of the same model is the same environment.
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=_NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    gpus = []
    for line in done.stdout.splitlines():
        name, _, driver = (part.strip() for part in line.rpartition(","))
        if name:
            gpus.append(f"{name} (driver {driver})")
        elif line.strip():
            gpus.append(line.strip())
    return gpus


def flatten(env: Mapping[str, Any]) -> dict[str, Any]:
    """One level: package versions become keys of their own (``"onnxruntime": "1.32.0"``)."""
    flat = {k: v for k, v in env.items() if k != "packages"}
    flat.update(env.get("packages", {}) or {})
    return flat


def differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(key, saved, now)`` for every environment key whose value differs, most telling first."""
    before, after = flatten(saved), flatten(now)
    keys = [k for k in dict.fromkeys([*before, *after]) if _norm(before.get(k)) != _norm(after.get(k))]
    rank = {k: i for i, k in enumerate(_ORDER)}
    keys.sort(key=lambda k: rank.get(k, len(rank)))
    return [(k, before.get(k), after.get(k)) for k in keys]


def _norm(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def describe(value: Any) -> str:
    """A value as it reads in an explanation: lists joined, missing as "none"."""
    if value is None or value == []:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_short_provider(str(v)) for v in value)
    return str(value)


def _short_provider(name: str) -> str:
    return re.sub(r"ExecutionProvider$", "", name)
