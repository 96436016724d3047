"""Peak memory on a model larger than protobuf's 2 GiB limit: weights in external data.

The model, generated here (not downloaded): ``x [1, 16384]`` through three MatMuls with
[16384, 16384] float32 weights, 1 GiB each, in one external data file (3 GiB), plus a graph
of a few hundred bytes. Each step runs in its own child process, which reports its peak
resident set (``VmHWM`` from ``/proc/self/status``) and its resident set after imports:

- **open**: ``wb.open(path)``, ``m.nodes``, the summary card;
- **view**: that, plus the view payload, every node's details (weight statistics) and
  ``m.tensors`` (statistics of every weight, read in chunks from the memory map);
- **onnxruntime** (the baseline for profile): a plain ``onnxruntime.InferenceSession`` on the
  file and the same 4 runs, no workbench;
- **profile**: ``wb.profile(m, runs=3, warmup=1)``.

Goals (issue 8): peak RSS of open and view < 1.2 × (largest tensor + graph), printed against
the largest tensor (1 GiB). Running a model needs every weight: onnxruntime maps the file and
packs each MatMul weight into its own layout (transiently holding both copies of one weight),
so no run can stay near one tensor. The goal for profile is therefore < 1.2 × the peak of
onnxruntime alone running the same model, measured side by side.

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
STEPS = ("open", "view", "onnxruntime", "profile")
RUNS = 4  # profile: 3 runs after 1 warm-up
GOAL = 1.2


def build(folder: Path, side: int = SIDE) -> Path:
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
            for start in range(0, side, 1024):  # 1024 rows at a time: never a whole weight in memory
                rows = min(1024, side - start)
                out.write((rng.standard_normal((rows, side), dtype=np.float32) / np.float32(side ** 0.5)).tobytes())
            length = side * side * 4
            tensor = TensorProto(name=f"w{layer}", data_type=TensorProto.FLOAT, dims=[side, side],
                                 data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data.name), ("offset", str(offset)), ("length", str(length))):
                tensor.external_data.add(key=key, value=value)
            weights.append(tensor)
            offset += length
            nodes.append(helper.make_node("MatMul", [f"h{layer}" if layer else "x", f"w{layer}"], [f"h{layer + 1}"],
                                          name=f"/layer.{layer}/MatMul"))
    graph = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, side])],
                              [helper.make_tensor_value_info(f"h{LAYERS}", TensorProto.FLOAT, [1, side])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def one(step: str, path: str) -> dict:
    """Runs ``step`` on the model at ``path`` in this (fresh) process; returns bytes and seconds."""
    if step == "onnxruntime":
        import numpy as np
        import onnxruntime as ort

        base = _status("VmRSS")
        started = time.perf_counter()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        x = np.random.default_rng(0).standard_normal(feed.shape, dtype=np.float32)
        for _ in range(RUNS):
            session.run(None, {feed.name: x})
        return {"step": step, "peak": _status("VmHWM"), "after_imports": base,
                "seconds": time.perf_counter() - started}

    import workbench as wb

    base = _status("VmRSS")
    started = time.perf_counter()
    m = wb.open(path)
    m.nodes, m._repr_html_()  # noqa: B018
    if step == "view":
        index = m.view_index
        json.dumps(index.payload())
        for node_id in m.nodes.index:
            json.dumps(index.details(node_id))
        m.tensors  # noqa: B018
    elif step == "profile":
        wb.profile(m, runs=RUNS - 1, warmup=1).summary()
    return {"step": step, "peak": _status("VmHWM"), "after_imports": base, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate the model into this folder (reused if there)")
    parser.add_argument("--side", type=int, default=SIDE, help="weights are [side, side] float32 (default: 1 GiB)")
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
        path = build(folder, args.side)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"# model: {LAYERS} × MatMul [{args.side}, {args.side}] float32, {size / 2**30:.2f} GiB on disk "
              f"({path.stat().st_size:,} bytes of graph), written in {time.perf_counter() - started:.0f} s")
        largest = args.side * args.side * 4 + path.stat().st_size
        print("\n| step | peak RSS | after imports | peak − imports | against | ratio | goal | time |")
        print("|---|---|---|---|---|---|---|---|")
        used = {}
        for step in STEPS:
            done = subprocess.run([sys.executable, __file__, "--one", step, "--path", str(path)],
                                  capture_output=True, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            used[step] = row["peak"] - row["after_imports"]
            against, base = ("onnxruntime alone", used["onnxruntime"]) if step == "profile" else (
                "largest tensor + graph", largest)
            ratio = used[step] / base
            verdict = "baseline" if step == "onnxruntime" else f"{'met' if ratio < GOAL else 'NOT met'} (< {GOAL}×)"
            print(f"| {step} | {row['peak'] / 2**30:.2f} GiB | {row['after_imports'] / 2**20:.0f} MiB | "
                  f"{used[step] / 2**30:.2f} GiB | {against} | {ratio:.2f}× | {verdict} | {row['seconds']:.1f} s |")

if __name__ == "__main__":
    main()
