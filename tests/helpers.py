"""Helpers several test modules share (imported as ``helpers``: pytest puts tests/ on sys.path).

One copy each of what used to be pasted into the modules: a free port and a wait for a server
to answer, a plain onnxruntime run to check the workbench's values against, and where the
browser tests put their screenshots.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

if TYPE_CHECKING:
    import workbench as wb

#: The real models onnx ships with their weights replaced by ConstantOfShape (densenet121, resnet50, …).
LIGHT_MODELS = sorted((Path(onnx.__file__).parent / "backend/test/data/light").glob("*.onnx"))
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Set to 1 (scripts/refresh-screenshots.sh does) to have the browser tests write their screenshots
#: over the docs' committed images in docs/img/. Otherwise they go to build/screenshots/, which git
#: ignores: a test run must leave the clone as it found it (tests/conftest.py checks that).
DOCS_SCREENSHOTS = os.environ.get("WORKBENCH_DOCS_SCREENSHOTS") == "1"
SCREENSHOT_DIR = REPO_ROOT / ("docs/img" if DOCS_SCREENSHOTS else "build/screenshots")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path, *, what: str, timeout_s: float) -> None:
    """Polls ``url`` until it answers; fails the test, with ``what`` (the server) and its ``log``,
    if the process exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with code {process.returncode}; its log, {log}:\n"
                        f"{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not answer within {timeout_s:.0f} s; its log, {log}:\n{log.read_text(errors='replace')}")


def plain_run(model: wb.Model | onnx.ModelProto, feeds: dict,
              outputs: list[str] | None = None) -> dict[str, np.ndarray]:
    """onnxruntime on the whole model, as authored (CPU, ORT_DISABLE_ALL): the values the workbench's
    own runs must reproduce. ``outputs`` replaces the graph's outputs with those values (any value
    the graph computes); without it, the graph's own outputs."""
    proto = getattr(model, "proto", model)
    if outputs is not None:
        marked = onnx.ModelProto()
        marked.CopyFrom(proto)
        del marked.graph.output[:]
        marked.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in outputs)
        proto = marked
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
