"""The bad-input corpus (issue 8): every case × every public entry point gets a typed error.

The corpus is ``tests/data/bad/``, written by ``tests/data/make_bad.py``; ``cases.json`` says
what each entry point must do with each file: raise the named ``workbench.errors`` class, or
succeed (``"ok"``: a model that opens with checker problems still opens and views). No raw
onnxruntime, protobuf, numpy or json exception may leak, and the process must survive.

``python tests/test_bad_inputs.py`` prints the table of ``docs/robustness.md``: what the user
sees for every case, as observed.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import workbench as wb
from workbench import errors
from workbench.runtime import _errors

pytestmark = pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BAD = DATA / "bad"
sys.path.insert(0, str(DATA))
try:
    import make_bad
finally:
    sys.path.remove(str(DATA))
make_bad.make_links(BAD)  # the symbolic-link cases are made here, not committed
MANIFEST = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
CASES = {case["file"]: case for case in MANIFEST["cases"]}

ENTRY_POINTS: dict[str, Callable[[Path], Any]] = {
    "open": lambda path: wb.open(path),
    "view": lambda path: json.dumps(wb.open(path).view_index.payload()),
    "diff": lambda path: json.dumps(wb.diff(path, path).view_index.payload()),
    "debug": lambda path: wb.debug(path),
    "reference": lambda path: wb.debug(path, provider="reference"),
    "compare": lambda path: wb.compare(path, None, candidate="reference"),
    "profile": lambda path: wb.profile(path, runs=1, warmup=0),
    "read_profile": lambda path: wb.read_profile(path),
}
PARAMS = [pytest.param(file, entry, id=f"{file}-{entry}")
          for file, case in CASES.items() for entry in case["expected"]]


def observe(file: str, entry: str) -> tuple[str, str, BaseException | None]:
    """``(outcome, first line of the message, the exception)``: outcome is ``"ok"`` or the
    class name of what was raised (prefixed ``RAW:`` with its module when it is not ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.ModelCheckWarning)
        try:
            ENTRY_POINTS[entry](BAD / file)
        except Exception as exc:  # noqa: BLE001 - we look at whatever comes out
            name = type(exc).__name__
            if not isinstance(exc, errors.WorkbenchError):
                name = f"RAW:{type(exc).__module__}.{name}"
            return name, (str(exc).strip().splitlines() or [""])[0], exc
    return "ok", "", None


def test_the_corpus_is_complete() -> None:
    assert len(CASES) >= 30
    models = [c for c in CASES.values() if c["kind"] == "model"]
    profiles = [c for c in CASES.values() if c["kind"] == "profile"]
    assert len(models) >= 30 and len(profiles) >= 4
    entries = {"open", "view", "diff", "debug", "reference", "compare", "profile"}
    assert all(set(c["expected"]) == entries for c in models)
    for file in CASES:
        assert os.path.lexists(BAD / file), f"{file} is missing: run python tests/data/make_bad.py"
    total = sum(p.lstat().st_size for p in BAD.iterdir())
    assert total < 1 << 20


def test_the_corpus_is_what_the_script_writes(tmp_path: Path) -> None:
    """Deterministic and up to date: writing it again gives the same files, links and manifest."""
    folder = tmp_path / "bad"
    make_bad.write(folder)

    def snapshot(root: Path) -> dict[str, Any]:
        return {p.name: ("->", os.readlink(p)) if p.is_symlink() else p.read_bytes() for p in sorted(root.iterdir())}

    assert snapshot(folder) == snapshot(BAD), "tests/data/bad is stale: run python tests/data/make_bad.py"


@pytest.mark.parametrize(("file", "entry"), PARAMS)
def test_bad_input(file: str, entry: str) -> None:
    case = CASES[file]
    expected = case["expected"][entry]
    outcome, first_line, exc = observe(file, entry)
    if outcome.startswith("RAW:"):
        raise AssertionError(f"{file} ({case['problem']}): {entry} leaked {outcome}: {first_line}") from exc
    assert outcome == expected, f"{file} ({case['problem']}): {entry} gave {outcome} ({first_line}), not {expected}"
    if exc is not None:
        message = str(exc)
        assert len(message) > 40 and "Traceback" not in message
        if isinstance(exc, (errors.SessionError, errors.GraphError)):
            assert "Fix:" in message
        if isinstance(exc, errors.SessionError):
            assert "onnx.checker found" in message  # what the checker said, or that it found nothing
            assert "[ONNXRuntimeError]" not in message and ".cc:" not in message  # nor the runtime's C++ source
            assert case["fix"] in message.split("Fix: ")[-1], f"{file}: {entry} gave the wrong fix: {message}"


def test_every_fix_is_given_by_a_case() -> None:
    """The fixes a session error can give are those the corpus makes it give: none is untested."""
    given = {case["fix"] for case in CASES.values() if "fix" in case}
    for pattern, fix in _errors._FIXES:
        assert any(phrase in fix for phrase in given), f"no corpus case gets the fix for {pattern!r}"


# ---- checks that need no file ------------------------------------------------------------------

def test_a_long_provider_error_keeps_its_tail_and_gets_its_own_fix() -> None:
    """OpenVINO's words, as it says them when the debugger's every-value-an-output run asks for a
    value its compiler fused away (tests/test_openvino.py gets them from OpenVINO itself): 900
    characters of C++ frames, the reason last. The head and the reason stay; a frame's
    ``std::allocator`` is no allocation failure."""
    frames = "OnnxToOvNetworkBindings(std::allocator<char> const&, ...) " * 14
    words = (f"Exception during initialization: {frames}[OpenVINO-EP] Input names mismatch between OpenVINO and "
             "ONNX. r60 doesn't exist in the list of OpenVINO input tensor names")
    message = str(_errors.session_error(RuntimeError(words), "onnxruntime could not load the model"))
    assert len(words) > 900 and message.startswith("onnxruntime could not load the model: Exception during")
    assert "r60 doesn't exist in the list of OpenVINO input tensor names" in message and " … " in message
    assert "fuses away values this run asks for" in message and "too large for this machine" not in message


def test_session_errors_carry_the_runtimes_words_and_the_checkers() -> None:
    with pytest.raises(errors.SessionError) as info:
        wb.debug(BAD / "cycle.onnx", isolate=False)  # in this process, so that the cause is chained
    message = str(info.value)
    assert message.startswith("onnxruntime could not load the model: ")
    assert "not acyclic" in message and "topologically sorted" in message and "remove any cycle" in message
    assert "[ONNXRuntimeError]" not in message
    assert isinstance(info.value, RuntimeError)  # code catching RuntimeError (as ORT's errors are) still works
    assert type(info.value.__cause__).__module__.startswith("onnxruntime")  # the original is chained


def test_an_unknown_op_says_how_to_get_one() -> None:
    with pytest.raises(errors.SessionError, match="register_custom_ops_library"):
        wb.debug(BAD / "unknown_domain.onnx")


def test_huge_declared_inputs_are_refused_before_allocating() -> None:
    m = wb.open(BAD / "huge_input_shape.onnx")
    with pytest.raises(errors.InputError, match=r"float32\[1000000, 1000000\].*GiB.*dims="):
        wb.random_inputs(m)
    # Inputs given by the user are checked against the declared shape, not generated.
    with pytest.raises(errors.InputError, match="axis 0 must be 1000000"):
        wb.debug(m, {"x": np.zeros((1, 1000000), np.float32)})


def test_a_graph_that_folds_to_constants_says_so_when_profiled() -> None:
    graph = helper.make_graph(
        [helper.make_node("Shape", ["c"], ["y"], name="shape")], "constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [1])],
        [helper.make_tensor("c", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(errors.ProfileError, match="ran no node.*optimization='disabled'"):
        wb.profile(model, runs=1, warmup=0)


def test_a_graph_without_nodes_compares_to_an_empty_report() -> None:
    """Its output is its input: nothing to compare, and no error (it used to raise AttributeError)."""
    graph = helper.make_graph([], "passthrough", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])])
    report = wb.compare(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), None,
                        candidate="reference")
    assert report.table.empty and report.root_cause is None and "0 values compared" in report.summary()


# ---- good model, bad feeds: every entry point that runs says InputError --------------------

@pytest.fixture(scope="module")
def good_model() -> wb.Model:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "good",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return wb.open(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


BAD_FEEDS = {
    "unknown name": ({"X": np.zeros((1, 4), np.float32)}, r"unknown input\(s\) \['X'\]; missing \['x'\]"),
    "extra name": ({"x": np.zeros((1, 4), np.float32), "z": np.zeros(1)}, r"unknown input\(s\) \['z'\]"),
    "no inputs": ({}, r"missing \['x'\]"),
    "wrong dtype": ({"x": np.zeros((1, 4), np.float64)}, "is float64, the model expects float32"),
    "int for float": ({"x": np.zeros((1, 4), np.int64)}, "is int64, the model expects float32"),
    "wrong rank": ({"x": np.zeros((4,), np.float32)}, "rank 1.*expects rank 2"),
    "wrong size": ({"x": np.zeros((1, 5), np.float32)}, "axis 1 must be 4"),
    "strings": ({"x": np.array([["a", "b", "c", "d"]])}, "the model expects float32"),
}
RUNNERS = {
    "debug": lambda m, feeds: wb.debug(m, feeds),
    "reference": lambda m, feeds: wb.debug(m, feeds, provider="reference"),
    "compare": lambda m, feeds: wb.compare(m, feeds, candidate="reference"),
    "profile": lambda m, feeds: wb.profile(m, feeds, runs=1, warmup=0),
}


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("feeds", list(BAD_FEEDS))
def test_bad_feeds_are_input_errors(good_model: wb.Model, runner: str, feeds: str) -> None:
    values, pattern = BAD_FEEDS[feeds]
    with pytest.raises(errors.InputError, match=pattern) as info:
        RUNNERS[runner](good_model, values)
    assert "The model expects x: float32[1, 4]" in str(info.value), str(info.value)


def test_the_good_model_runs_everywhere(good_model: wb.Model) -> None:
    """The control: the same model with good feeds passes every entry point."""
    feeds = {"x": np.ones((1, 4), np.float32)}
    assert wb.debug(good_model, feeds).outputs["y"].shape == (1, 4)
    assert wb.compare(good_model, feeds, candidate="reference").root_cause is None
    assert len(wb.profile(good_model, feeds, runs=1, warmup=0).nodes) == 1


# ---- the table of docs/robustness.md -----------------------------------------------------------

def table() -> str:
    """Markdown: one row per case, the outcome of every entry point (as observed here) and the first
    line of what the user reads (from the first entry point that raises; the reference evaluator's
    and the profiler's words too, where they differ)."""
    def clean(text: str, limit: int = 520) -> str:
        text = text.replace(str(ROOT) + "/", "").replace("|", "\\|")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    models = [c for c in CASES.values() if c["kind"] == "model"]
    profiles = [c for c in CASES.values() if c["kind"] == "profile"]
    entries = list(models[0]["expected"])
    lines = ["| file | what is wrong | " + " | ".join(entries) + " | what the user reads |",
             "|---|---|" + "---|" * len(entries) + "---|"]
    for case in models:
        seen = {e: observe(case["file"], e) for e in entries}
        said = [(e, line) for e, (outcome, line, _) in seen.items() if outcome != "ok"]
        text = clean(said[0][1]) if said else ""
        for extra in ("reference", "profile"):
            line = seen[extra][1]
            if said and line and seen[extra][0] != "ok" and line != said[0][1] and extra != said[0][0]:
                text += f"<br>*{extra}:* {clean(line, 200)}"
        lines.append(f"| `{case['file']}` | {case['problem']} | "
                     + " | ".join(seen[e][0] for e in entries) + f" | {text} |")
    lines += ["", "| file | what is wrong | read_profile | what the user reads |", "|---|---|---|---|"]
    for case in profiles:
        outcome, line, _ = observe(case["file"], "read_profile")
        lines.append(f"| `{case['file']}` | {case['problem']} | {outcome} | {clean(line)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    print(table())


# ---- text that is not UTF-8 -------------------------------------------------------------------

def _with_marker_text() -> onnx.ModelProto:
    """A model with a marker (``MARK_<place>``) in every kind of text that opening checks, and in a
    node's metadata, which it leaves to the readers."""
    body = helper.make_graph([helper.make_node("Relu", ["x"], ["then_y"], name="MARK_BODY")], "then",
                             [], [helper.make_tensor_value_info("then_y", TensorProto.FLOAT, ["MARK_DIM"])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["else_y"], name="else_neg")], "else",
                              [], [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, ["MARK_DIM"])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], name="MARK_NODE", keepdims=0),
             helper.make_node("Greater", ["s", "MARK_WEIGHT"], ["c"], name="greater"),
             helper.make_node("If", ["c"], ["y"], name="branch", then_branch=body, else_branch=other),
             helper.make_node("Twice", ["y"], ["z"], name="twice", domain="local")]
    helper.set_metadata_props(nodes[1], {"pkg.torch.onnx.stack_trace": "MARK_STACK",
                                         "pkg.torch.onnx.name_scopes": "['', 'MARK_SCOPE', 'greater']",
                                         "pkg.torch.onnx.class_hierarchy": "['Model', 'Module', 'greater']"})
    twice = helper.make_function("local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"],
                                                                                      name="MARK_FUNC")],
                                 [helper.make_opsetid("", 18)])
    graph = helper.make_graph(nodes, "MARK_GRAPH",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["MARK_DIM"])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["MARK_DIM"])],
                              [helper.make_tensor("MARK_WEIGHT", TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("local", 1)],
                              functions=[twice])
    helper.set_model_props(model, {"MARK_PROP": "value"})
    return model


def _corrupt(model: onnx.ModelProto, marker: str) -> bytes:
    """The model's bytes with the marker's last byte (every occurrence) made one that is not UTF-8."""
    data = model.SerializeToString()
    assert marker.encode() in data
    return data.replace(marker.encode(), marker.encode()[:-1] + b"\xff")


@pytest.mark.parametrize("marker", ["MARK_NODE", "MARK_BODY", "MARK_FUNC", "MARK_WEIGHT", "MARK_DIM", "MARK_GRAPH",
                                    "MARK_PROP"])
def test_text_that_is_not_utf8_is_refused_on_open(marker: str) -> None:
    """Node names (in the graph, a body, a function), value names, symbolic dims, the graph's name and
    the model's metadata: each would reach the tables and the view as bytes, not text."""
    model = _with_marker_text()
    assert wb.open(model).proto.graph.name == "MARK_GRAPH"  # the intact model opens
    with pytest.raises(errors.NotOnnxError, match="is not UTF-8 text"):
        wb.open(_corrupt(model, marker))


def test_node_metadata_that_is_not_utf8_reads_with_replacement_characters() -> None:
    """Node metadata (an exporter's stack traces and scopes, five entries a node) is left to its
    readers: the model opens and runs, the damaged scope and stack trace show as damaged."""
    m = wb.open(_corrupt(_with_marker_text(), "MARK_STACK").replace(b"MARK_SCOPE", b"MARK_SCOP\xff"))
    assert m.nodes.loc["greater", "scope"] == "MARK_SCOP\ufffd"
    assert m.view_index.details("greater")["stack"] == "MARK_STAC\ufffd"
    dbg = wb.debug(m, {"x": np.array([1.0, -3.0], np.float32)})
    dbg.run_to(dbg.steps[-1])
    np.testing.assert_array_equal(dbg.outputs["z"], [-2.0, 6.0])
