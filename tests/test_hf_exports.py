"""Real transformer exports: GPT-2, BERT, Llama, ViT and T5 built from their configs with
random weights (transformers, no hub), exported with dynamo and, where it exports, TorchScript.

Scope trees must not lie (different siblings keep their names, a shared node does not break a
repeat, the tree follows the forward order), and clean exports must compare clean.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import workbench as wb

hf = pytest.importorskip("hf_exports", reason="the tests of transformer exports need the test extra's transformers")

ARCHITECTURES = list(hf.BUILDERS)
pytestmark = pytest.mark.slow  # five architectures built and exported, seconds per test


@pytest.fixture(scope="module")
def exports() -> dict[str, "hf.Export"]:
    """Each architecture, built and exported once for the module (about a minute in all)."""
    built: dict[str, hf.Export] = {}

    class Lazy(dict):
        def __missing__(self, name: str) -> "hf.Export":
            built[name] = hf.build(name)
            return built[name]

    return Lazy()


def test_different_siblings_keep_their_names(exports: dict) -> None:
    gpt2 = wb.open(exports["gpt2"].program).scopes
    assert gpt2.find("model/h.0/ln_1").repeat == gpt2.find("model/h.0/ln_2").repeat == ""
    assert gpt2.find("model/h.1").repeat == "h × 2"
    assert [label for label, _ in gpt2.repeats] == ["model/h × 2"]
    vit = wb.open(exports["vit"].program).scopes
    mlp = vit.find("model/encoder/layer.0/mlp") if "model/encoder/layer.0/mlp" in {s.key for s in vit} else \
        next(s for s in vit if s.name == "mlp")
    assert sorted(mlp.children) == ["activation_fn", "fc1", "fc2"]
    assert not any(child.repeat for child in mlp.children.values())
    assert "fc × 2" not in repr(vit) and "ln × 2" not in repr(gpt2)


def test_a_shared_mask_does_not_break_the_repeat(exports: dict) -> None:
    m = wb.open(exports["bert"].program)
    layers = [s for s in m.scopes if s.name.startswith("layer.")]
    assert [s.repeat for s in layers] == ["layer × 3"] * 3, m.scopes
    # the attention mask's Where, written once in layer.0 and read by every layer, sits in the encoder
    shared = [n for n in m.scopes.find("model/encoder").nodes if m.node(n).op_type == "Where"]
    assert shared
    readers = {"/".join(m.node_scopes[c].path[:3]) for n in shared for c in m.consumers[m.node(n).output[0]]}
    assert readers == {f"model/encoder/layer.{i}" for i in range(3)}


@pytest.mark.parametrize("name", ["bert", "vit", "t5"])
def test_torchscript_scope_trees_follow_the_forward_order(exports: dict, name: str) -> None:
    tree = wb.open(hf.torchscript(exports[name])).scopes
    assert tree.source == "name"
    order = [s.key for s in tree]
    if name == "t5":
        assert order.index("model/encoder") < order.index("model/decoder")
        for part in ("encoder", "decoder"):
            children = list(tree.find(f"model/{part}").children)
            assert children[0] == "embed_tokens" and children.index("block.0") < children.index("block.1")
            assert list(tree.find(f"model/{part}/block.0").children)[:2] == ["layer.0", "layer.1"]
    else:  # embeddings first, then the layers in order
        top = list(tree.find("model").children)
        blocks = [s.key for s in tree if s.name.startswith(("layer.", "layers."))]
        assert top[0] == "embeddings" and len(blocks) >= 2
        assert blocks == sorted(blocks, key=lambda key: int(key.rsplit(".", 1)[1])), blocks


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_clean_exports_compare_clean(exports: dict, name: str) -> None:
    export = exports[name]
    report = wb.compare(export.program, export.inputs)
    assert report.first_divergence is None, report.summary()
    assert len(report.table) > 20


@pytest.mark.parametrize("kind", ["weight", "softmax", "add"])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_planted_bugs_are_named_exactly_from_the_torch_program(exports: dict, name: str, kind: str,
                                                               tmp_path) -> None:
    """A Linear's MatMul weight (inside the linear decomposition), a Softmax axis (inside the
    scaled_dot_product_attention decomposition), an inserted Add (no torch counterpart at all):
    the node that holds the bug is the root cause, not the aligned node it feeds, and its
    repro replays the divergence."""
    export = exports[name]
    proto, target = hf.planted(export.program.model_proto, kind)
    report = wb.compare(export.program, export.inputs, onnx=proto)
    cause = report.root_cause
    assert cause is not None and cause.node == target, report.summary()
    assert set(report.table.node[report.table.status == "cause"]) == {target}
    if kind == "weight":
        assert cause.note == "a weight that differs from the reference's own" and "reads weight" in report.summary()
    elif cause.note.startswith("inside the decomposition of"):  # the op it sits in carries, and says where
        assert (report.table.note == f"its fault is inside, at {target!r}").sum() == 1
    folder = report.repro(tmp_path / "bug")
    replay = subprocess.run([sys.executable, str(folder / "replay.py")], capture_output=True, text=True, timeout=120)
    assert replay.returncode == 1 and "OFF" in replay.stdout, replay.stdout + replay.stderr


@pytest.mark.parametrize("kind", ["weight", "softmax", "add"])
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_planted_bugs_are_pinned_on_the_smallest_module_from_hooks(exports: dict, name: str, kind: str) -> None:
    """From the module itself (forward hooks: values per module output only), the divergence is
    attributed to the smallest module around the bug whose inputs agree and whose output does
    not: the attention module for a Softmax inside it, not its output projection."""
    export = exports[name]
    proto, target = hf.planted(export.program.model_proto, kind)
    report = wb.compare(export.module, export.inputs, onnx=proto)
    holder = "/".join(wb.open(proto).node_scopes[target].path)
    assert report.cause_module == holder, report.summary()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_clean_exports_compare_clean_from_hooks(exports: dict, name: str) -> None:
    export = exports[name]
    report = wb.compare(export.module, export.inputs, onnx=export.program.model_proto)
    assert report.first_divergence is None and report.cause_module is None, report.summary()


@pytest.mark.parametrize("name", ["bert", "vit", "t5"])
def test_torchscript_exports_from_hooks(exports: dict, name: str) -> None:
    """The legacy exporter's graphs (names carry the scopes, weights shared through Identity
    nodes): clean compares clean, and each planted bug is pinned on the module that holds it."""
    export = exports[name]
    proto = hf.torchscript(export)
    clean = wb.compare(export.module, export.inputs, onnx=proto)
    assert clean.first_divergence is None and clean.cause_module is None, clean.summary()
    for kind in ("weight", "softmax", "add"):
        planted, target = hf.planted(proto, kind)
        report = wb.compare(export.module, export.inputs, onnx=planted)
        assert report.cause_module == "/".join(wb.open(planted).node_scopes[target].path), (kind, report.summary())
