"""Peak memory on a model larger than protobuf's 2 GiB limit: weights in external data.

The model, generated here (not downloaded): ``x [1, 16384]`` through three MatMuls with
[16384, 16384] float32 weights, 1 GiB each, in one external data file (3 GiB), plus a graph
of a few hundred bytes. Each step runs in its own child process, which reports its peak
resident set (``VmHWM`` from ``/proc/self/status``) and its resident set after imports:

- **open**: ``wb.open(path)``, ``m.nodes``, the summary card;
- **view**: that, plus the view payload, every node's details (weight statistics) and
  ``m.tensors`` (statistics of every weight, read in chunks from the memory map);
- **profile**: ``wb.profile(m, runs=3, warmup=1)`` (onnxruntime runs the model: it maps
  and reads every weight).

Goal (issue 8): peak RSS < 1.2 × (largest tensor + graph) for open and view and profile.
The figures are printed against the largest tensor (1 GiB).

    python benchmarks/large_model.py                  # generates into a temporary folder
    python benchmarks/large_model.py --keep DIR       # ... or into DIR, reused if there
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIDE = 16384
LAYERS = 3
STEPS = ("open", "view", "profile")
GOAL = 1.2


def build(folder: Path) -> Path:
    """Writes the model and its external data into ``folder`` (streamed: never all in memory)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    path, data = folder / "large.onnx", folder / "large.onnx.data"
    if path.exists() and data.exists():
        return path
    rng = np.random.default_rng(0)
    weights, nodes, offset = [], [], 0
    with open(data, "wb") as out:
        for layer in range(LAYERS):
            for start in range(0, SIDE, 1024):
                out.write((rng.standard_normal((1024, SIDE), dtype=np.float32) / np.float32(SIDE ** 0.5)).tobytes())
            length = SIDE * SIDE * 4
            tensor = TensorProto(name=f"w{layer}", data_type=TensorProto.FLOAT, dims=[SIDE, SIDE],
                                 data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data.name), ("offset", str(offset)), ("length", str(length))):
                tensor.external_data.add(key=key, value=value)
            weights.append(tensor)
            offset += length
            nodes.append(helper.make_node("MatMul", [f"h{layer}" if layer else "x", f"w{layer}"], [f"h{layer + 1}"],
                                          name=f"/layer.{layer}/MatMul"))
    graph = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SIDE])],
                              [helper.make_tensor_value_info(f"h{LAYERS}", TensorProto.FLOAT, [1, SIDE])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def one(step: str, path: str) -> dict:
    """Runs ``step`` on the model at ``path`` in this (fresh) process; returns bytes and seconds."""
    import json as json_

    import workbench as wb

    base = _status("VmRSS")
    started = time.perf_counter()
    m = wb.open(path)
    m.nodes, m._repr_html_()  # noqa: B018
    if step == "view":
        index = m.view_index
        json_.dumps(index.payload())
        for node_id in m.nodes.index:
            json_.dumps(index.details(node_id))
        m.tensors  # noqa: B018
    elif step == "profile":
        wb.profile(m, runs=3, warmup=1).summary()
    return {"step": step, "peak": _status("VmHWM"), "after_imports": base, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate the model into this folder (reused if there)")
    parser.add_argument("--one", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.path)))
        return
    with tempfile.TemporaryDirectory(prefix="workbench-large-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        path = build(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"# model: {LAYERS} × MatMul [{SIDE}, {SIDE}] float32, {size / 2**30:.2f} GiB on disk "
              f"({path.stat().st_size:,} bytes of graph), written in {time.perf_counter() - started:.0f} s")
        largest = SIDE * SIDE * 4 + path.stat().st_size
        print("\n| step | peak RSS | after imports | peak − imports | / (largest tensor + graph) | goal | time |")
        print("|---|---|---|---|---|---|---|")
        for step in STEPS:
            done = subprocess.run([sys.executable, __file__, "--one", step, "--path", str(path)],
                                  capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            ratio = (row["peak"] - row["after_imports"]) / largest
            print(f"| {step} | {row['peak'] / 2**30:.2f} GiB | {row['after_imports'] / 2**20:.0f} MiB | "
                  f"{(row['peak'] - row['after_imports']) / 2**30:.2f} GiB | {ratio:.2f}× | "
                  f"{'met' if ratio < GOAL else 'NOT met'} (< {GOAL}×) | {row['seconds']:.1f} s |")


if __name__ == "__main__":
    main()
