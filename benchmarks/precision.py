"""Time ``wb.precision.search`` against quantizing once and comparing once.

The baseline is what a user does by hand for one try: ``quantize_static`` (Q/DQ, calibrated on
the same eight batches) and one ``wb.compare`` of the result against the fp32 model. The search
does that once, then converts and runs again for each set of nodes it tries (``Search.curve``),
and compares its choice once more. Goal: the search ≤ 10× the baseline on the CNN.

Models, built in code with random weights (``torch.manual_seed(0)``), exported with
``torch.onnx.export(..., dynamo=True)``:

- **cnn**: a Conv-ReLU stem, one residual block (conv-ReLU-conv, added, ReLU) of 8 channels,
  mean pooling and a Linear classifier, input [1, 3, 16, 16], with one weight of the block's
  first conv ×100 (an outlier: int8 per tensor rounds the rest of that weight to a few levels);
- **resnet**: the same with 8 blocks of 32 channels, input [1, 3, 32, 32], the outlier in the
  fourth block.

The tolerance is half the output error of the model quantized whole (``max_abs``), so the
search has to keep something. Each is timed ``RUNS`` times alternating, after one warm-up run
of each, in this one process; medians are printed, with the ratio.

    python benchmarks/precision.py
    python benchmarks/precision.py --models cnn
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

import workbench as wb

RUNS = 3
GOAL = 10.0


#: name: (residual blocks, channels, image side, the block whose first conv gets the outlier)
MODELS = {"cnn": (1, 8, 16, 0), "resnet": (8, 32, 32, 3)}


def _build(name: str) -> onnx.ModelProto:
    """The model exported, with one weight of a block's first conv ×100."""
    import torch

    blocks, channels, side, outlier = MODELS[name]

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.Conv2d(channels, channels, 3, padding=1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x + self.body(x))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, channels, 3, padding=1), torch.nn.ReLU())
            self.blocks = torch.nn.Sequential(*[Block() for _ in range(blocks)])
            self.head = torch.nn.Linear(channels, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))

    torch.manual_seed(0)
    program = torch.onnx.export(Net().eval(), (torch.randn(1, 3, side, side),), dynamo=True, verbose=False,
                                input_names=["image"])
    proto = program.model_proto
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][1 + 2 * outlier]
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    values = onnx.numpy_helper.to_array(weight).copy()
    values.flat[5] *= 100
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    return proto


def _baseline(fp32: wb.Model, feeds: dict, calibration: list[dict], folder: Path) -> float:
    """Seconds to quantize once and compare once; returns the quantized model's output error too."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    class Reader:
        def __init__(self) -> None:
            self.batches = iter(calibration)

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    start = time.perf_counter()
    quantize_static(folder / "fp32.onnx", folder / "int8.onnx", Reader(), quant_format=QuantFormat.QDQ)
    wb.compare(fp32, feeds, candidate=folder / "int8.onnx")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "resnet"], choices=["cnn", "resnet"])
    args = parser.parse_args()
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice on the root logger, at each call
    print(f"RUNS={RUNS}; goal: search <= {GOAL:.0f}x (quantize once + compare once)")
    for name in args.models:
        proto = _build(name)
        fp32 = wb.open(proto)
        feeds = wb.random_inputs(fp32, seed=7)
        calibration = [wb.random_inputs(fp32, seed=100 + i) for i in range(8)]
        whole = wb.precision.Recipe("int8").apply(fp32, calibration)
        expected, got = wb.debug(fp32, feeds), wb.debug(wb.open(whole), feeds)
        output = fp32.proto.graph.output[0].name
        tolerance = float(np.abs(np.asarray(got.tensor(output)) - np.asarray(expected.tensor(output))).max()) / 2
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            onnx.save(proto, folder / "fp32.onnx")
            _baseline(fp32, feeds, calibration, folder)  # warm-up
            wb.precision.search(fp32, feeds, tolerance=tolerance, calibration=calibration)
            baseline, searched, found = [], [], None
            for _ in range(RUNS):
                baseline.append(_baseline(fp32, feeds, calibration, folder))
                start = time.perf_counter()
                found = wb.precision.search(fp32, feeds, tolerance=tolerance, calibration=calibration)
                searched.append(time.perf_counter() - start)
        assert found is not None
        base, search = statistics.median(baseline), statistics.median(searched)
        verdict = "meets" if search / base <= GOAL else "MISSES"
        print(f"{name}: {len(fp32.nodes)} nodes; quantize+compare {base:.2f} s; search {search:.2f} s "
              f"({search / base:.1f}x, {verdict} the goal); {found.summary()}")


if __name__ == "__main__":
    main()
