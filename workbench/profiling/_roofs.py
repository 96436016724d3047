"""The roofs of a roofline, measured on this machine with onnxruntime itself.

- **peak**: a float32 ``MatMul`` of two ``[size, size]`` matrices (``2·size³`` FLOPs), the
  op onnxruntime's CPU kernels come closest to the machine's arithmetic peak with;
- **bandwidth**: ``Add`` of a 256 MiB float32 tensor and a scalar (256 MiB read, 256 MiB
  written, far beyond the caches: at 64 MiB a 2-core EPYC read 30% faster than from memory),
  its output bound to one preallocated buffer so that no run allocates.

Both are *achieved* figures (the median of several timed runs after warm-up, with
onnxruntime's default threads), not datasheet peaks: what a kernel here can reach.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import numpy as np
from onnx import NodeProto, TensorProto, helper

from ..errors import ProviderError
from ..runtime.internal import CPU, resolve, session_options

#: Elements of the tensor the bandwidth is measured on: 256 MiB of float32.
STREAM_ELEMENTS = 1 << 26


def measure_roofs(provider: str = "cpu", *, size: int = 1024, runs: int = 7) -> dict[str, float]:
    """The achieved arithmetic peak and memory bandwidth of ``provider`` on this machine, for
    ``Profile.plot.roofline(**measure_roofs())``: ``{"peak_gflops": …, "bandwidth_gbs": …}``.

    Only the CPU is measured: on a GPU, the feeds' copies from the host would be timed
    too. There, pass the device's datasheet figures to ``roofline`` instead.
    """
    import onnxruntime as ort

    if resolve(provider) != [CPU]:
        raise ProviderError(f"measure_roofs measures the CPU only, not {provider!r}: on a GPU the copies from the "
                            "host would be timed with the kernels. Pass your device's datasheet figures instead: "
                            "p.plot.roofline(peak_gflops=..., bandwidth_gbs=...).")
    rng = np.random.default_rng(0)
    matmul = _session(ort, helper.make_node("MatMul", ["a", "b"], ["y"]), {"a": [size, size], "b": [size, size]},
                      [size, size])
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    seconds = _median(lambda: matmul.run(None, {"a": a, "b": b}), runs)
    add = _session(ort, helper.make_node("Add", ["x", "one"], ["y"]), {"x": [STREAM_ELEMENTS], "one": []},
                   [STREAM_ELEMENTS])
    x, out = np.ones(STREAM_ELEMENTS, np.float32), np.empty(STREAM_ELEMENTS, np.float32)
    binding = add.io_binding()
    binding.bind_cpu_input("x", x)
    binding.bind_cpu_input("one", np.ones((), np.float32))
    binding.bind_ortvalue_output("y", ort.OrtValue.ortvalue_from_numpy(out))
    streamed = _median(lambda: add.run_with_iobinding(binding), runs)
    return {"peak_gflops": 2 * size**3 / seconds / 1e9, "bandwidth_gbs": 2 * x.nbytes / streamed / 1e9}


def _session(ort: Any, node: NodeProto, inputs: dict[str, list[int]], output: list[int]) -> Any:
    graph = helper.make_graph([node], "roof", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                                               for n, s in inputs.items()],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return ort.InferenceSession(model.SerializeToString(), session_options("all"), providers=[CPU])


def _median(call: Callable[[], object], runs: int) -> float:
    for _ in range(2):  # warm-up: thread pool start, first-touch of the buffers
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
