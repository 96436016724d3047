"""``tiny_cnn``: a small ResNet-style image classifier with TorchScript-style scope names."""

from __future__ import annotations

import onnx
from onnx import helper

from ._builder import SampleBuilder


def _conv_bn_relu(b: SampleBuilder, x: str, c_in: int, c_out: int, stride: int = 1, relu: bool = True) -> str:
    with b.module("conv", "torch.nn.Conv2d"):
        w = b.weight("weight", [c_out, c_in, 3, 3])
        (x,) = b.op("Conv", [x, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride])
    with b.module("bn", "torch.nn.BatchNorm2d"):
        scale, bias = b.weight("weight", [c_out]), b.weight("bias", [c_out])
        mean, var = b.weight("running_mean", [c_out]), b.weight("running_var", [c_out], positive=True)
        (x,) = b.op("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-5)
    if relu:
        (x,) = b.op("Relu", [x])
    return x


def build() -> onnx.ModelProto:
    """Builds the model: stem, two residual stages of two blocks each, pooling, classifier."""
    b = SampleBuilder("tiny_cnn", style="names", seed=1)
    x = "image"
    with b.module("stem", "torch.nn.Sequential"):
        x = _conv_bn_relu(b, x, 3, 16)
    channels = 16
    for stage, (c_out, stride) in enumerate([(16, 1), (32, 2)], start=1):
        with b.module(f"layer{stage}", "torch.nn.Sequential"):
            for block in range(2):
                with b.module(str(block), "torchvision.models.resnet.BasicBlock"):
                    s = stride if block == 0 else 1
                    shortcut = x
                    y = _conv_bn_relu(b, x, channels, c_out, s)
                    with b.module("out", "torch.nn.Sequential"):
                        y = _conv_bn_relu(b, y, c_out, c_out, relu=False)
                    if s != 1 or channels != c_out:
                        with b.module("downsample", "torch.nn.Conv2d"):
                            w = b.weight("weight", [c_out, channels, 1, 1])
                            (shortcut,) = b.op("Conv", [shortcut, w], kernel_shape=[1, 1], strides=[s, s])
                    (x,) = b.op("Add", [y, shortcut])
                    (x,) = b.op("Relu", [x])
                    channels = c_out
    (x,) = b.op("GlobalAveragePool", [x])
    (x,) = b.op("Flatten", [x], axis=1)
    with b.module("fc", "torch.nn.Linear"):
        w, bias = b.weight("weight", [10, channels]), b.weight("bias", [10])
        (x,) = b.op("Gemm", [x, w, bias], transB=1)
    b.nodes[-1].output[0] = "logits"
    return b.build(
        [helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", 10])],
        doc="A small ResNet-style CNN for 32x32 RGB images, random weights.",
    )
