"""The ``workbench`` command line, run as a user runs it: a subprocess (``python -m workbench``, and
the installed console script), its exit code, its text, its ``--json`` document and ``--junit`` file.

Models are built here, in temporary folders: the tiny_cnn sample, a byte copy of it, and a copy
with one Conv's weight scaled (a divergence planted at a known node).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import textwrap
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import workbench as wb

pytestmark = pytest.mark.slow  # a subprocess per command, each importing onnxruntime and pandas: ~40 s in all

#: The environment of every command: no tqdm settings of the caller's, and UTF-8 output (µs, →).
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}, "PYTHONIOENCODING": "utf-8"}
SCRIPT = Path(sys.executable).parent / "workbench"


def workbench(*args: object, cwd: Path, command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m workbench ARGS`` (or ``command ARGS``) in ``cwd``; stdout and stderr captured."""
    return subprocess.run([*(command or [sys.executable, "-m", "workbench"]), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", env=ENV, timeout=300, check=False)


def junit(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    """The one testsuite of a JUnit file, and its testcases by name."""
    suites = ET.parse(path).getroot().findall("testsuite")
    assert len(suites) == 1
    return suites[0], {case.get("name", ""): case for case in suites[0].iter("testcase")}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """``cnn`` (tiny_cnn), ``copy`` (its bytes, another file), ``planted`` (one Conv's weight ×1.5;
    ``node`` names that Conv) and ``not_onnx`` (a text file)."""
    folder = tmp_path_factory.mktemp("models")
    cnn = wb.samples.save("tiny_cnn", folder)
    copy = shutil.copy(cnn, folder / "copy.onnx")
    proto = onnx.load(cnn)
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][4]
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(1.5), weight.name))
    onnx.save(proto, folder / "planted.onnx")
    (folder / "not_onnx.onnx").write_text("just text\n")
    return {"cnn": cnn, "copy": Path(copy), "planted": folder / "planted.onnx", "node": conv.name,
            "not_onnx": folder / "not_onnx.onnx"}


# ---- the parser, the entry points ------------------------------------------------------------------


def test_help_lists_the_commands_and_exit_codes_and_loads_nothing_heavy(tmp_path: Path) -> None:
    done = workbench("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("info", "view", "compare", "profile", "diff", "check", "sweep"):
        assert f"    {command} " in done.stdout
    for code in ("0  pass", "1  a finding", "2  usage or input error", "3  a bug"):
        assert code in done.stdout
    heavy = ("numpy", "onnx", "onnxruntime", "pandas", "torch", "tqdm")
    probe = ("import sys\nfrom workbench._cli import main\ntry:\n    main(['compare', '--help'])\n"
             "except SystemExit as exit:\n    assert exit.code == 0\n"
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, check=True)
    assert loaded.stdout.splitlines()[-1] == "[]"


def test_console_script_exits_with_the_commands_code(models: dict, tmp_path: Path) -> None:
    assert SCRIPT.is_file(), "pip install -e . installs the `workbench` console script next to python"
    shown = workbench("info", models["cnn"], cwd=tmp_path, command=[str(SCRIPT)])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("ONNX model tiny_cnn")
    assert "top ops: Conv 10," in shown.stdout
    differs = workbench("diff", models["cnn"], models["planted"], cwd=tmp_path, command=[str(SCRIPT)])
    assert differs.returncode == 1, differs.stderr


# ---- info and view ------------------------------------------------------------------------------------


def test_info_json_is_the_summary_card_and_every_op_count(models: dict, tmp_path: Path) -> None:
    done = workbench("info", models["cnn"], "--json", "--junit", tmp_path / "info.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["command"], document["verdict"], document["code"]) == ("info", "pass", 0)
    model = wb.open(models["cnn"])
    card = document["model"]
    counts = card.pop("op_counts")
    assert card == json.loads(json.dumps(model.card_data()))
    assert counts == dict(Counter(n.op_type for n in onnx.load(models["cnn"]).graph.node))
    assert card["inputs"] == [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 32, 32]}]
    suite, cases = junit(tmp_path / "info.xml")
    assert suite.get("name") == "workbench info"
    assert len(cases) == 1 and suite.find(".//failure") is None


def test_view_writes_the_html_or_the_svg_and_refuses_other_names(models: dict, tmp_path: Path) -> None:
    page = workbench("view", models["cnn"], "-o", "cnn.html", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert page.stdout.strip() == "cnn.html"
    assert (tmp_path / "cnn.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    picture = workbench("view", models["cnn"], "-o", "cnn.svg", "--json", cwd=tmp_path)
    assert picture.returncode == 0, picture.stderr
    assert json.loads(picture.stdout)["format"] == "svg"
    assert "<svg" in (tmp_path / "cnn.svg").read_text(encoding="utf-8")
    refused = workbench("view", models["cnn"], "-o", "cnn.png", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("workbench view: error: -o 'cnn.png'") and ".svg" in refused.stderr
    assert not (tmp_path / "cnn.png").exists()


# ---- compare ---------------------------------------------------------------------------------------------


def test_compare_of_identical_models_passes_with_a_testcase_per_output(models: dict, tmp_path: Path) -> None:
    done = workbench("compare", models["cnn"], models["copy"], "--json", "--junit", "out.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["code"]) == ("pass", 0)
    assert document["first_divergence"] is None and document["root_cause"] is None
    assert document["values_compared"] == 35 and document["values_off"] == 0
    assert document["inputs"] == {"source": "random", "seed": 0,
                                  "values": {"image": {"dtype": "float32", "shape": [1, 3, 32, 32]}}}
    suite, cases = junit(tmp_path / "out.xml")
    assert suite.get("name") == "workbench compare"
    assert list(cases) == ["logits"] and suite.find(".//failure") is None


def test_compare_fails_at_the_conv_whose_weight_was_changed(models: dict, tmp_path: Path) -> None:
    node = models["node"]
    shown = workbench("compare", models["cnn"], models["planted"], cwd=tmp_path)
    assert shown.returncode == 1, shown.stderr
    assert f"root cause: Conv {node!r}" in shown.stdout
    assert "max abs error" in shown.stdout and shown.stdout.rstrip().endswith("verdict: fail")
    done = workbench("compare", models["cnn"], models["planted"], "--json", "--junit", "out.xml", cwd=tmp_path)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert (document["verdict"], document["code"]) == ("fail", 1)
    cause = document["root_cause"]
    assert (cause["node"], cause["op_type"], cause["status"]) == (node, "Conv", "cause")
    assert cause["max_abs"] > 0.01 and cause["local_max_abs"] > 0.01
    assert document["first_divergence"]["node"] == node
    suite, cases = junit(tmp_path / "out.xml")
    assert list(cases) == ["logits"] and suite.get("failures") == "1"
    message = cases["logits"].find("failure").get("message")
    assert message.startswith("logits: max abs") and node in message


def test_compare_fails_on_a_divergence_that_no_output_shows(tmp_path: Path) -> None:
    """A Relu clips the planted error away before the output: the output's testcase passes, and one
    more testcase fails, so that the suite fails with the command."""
    for name, scale in (("a.onnx", 1.0), ("b.onnx", 2.0)):
        graph = helper.make_graph(
            [helper.make_node("Mul", ["x", "w"], ["scaled"], name="scale"),
             helper.make_node("Sub", ["scaled", "shift"], ["shifted"], name="shift"),
             helper.make_node("Relu", ["shifted"], ["y"], name="clip")], "clipped",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
            [numpy_helper.from_array(np.full(4, scale, np.float32), "w"),
             numpy_helper.from_array(np.full(4, 100.0, np.float32), "shift")])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), tmp_path / name)
    done = workbench("compare", "a.onnx", "b.onnx", "--json", "--junit", "out.xml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["root_cause"]["node"] == "scale"
    assert document["outputs"] == [{"name": "y", "compared": True, "ok": True, "max_abs": 0.0, "max_rel": 0.0}]
    suite, cases = junit(tmp_path / "out.xml")
    assert list(cases) == ["y", "intermediate values"] and suite.get("failures") == "1"
    assert cases["y"].find("failure") is None
    assert "root cause: Mul 'scale'" in cases["intermediate values"].find("failure").get("message")


def test_compare_one_model_on_two_providers(models: dict, tmp_path: Path) -> None:
    done = workbench("compare", models["cnn"], "--reference", "cpu", "--candidate", "reference", "--json",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["reference"].endswith("on CPUExecutionProvider")
    assert document["candidate"].endswith("on reference")


def test_compare_the_optimized_graph_against_the_authored_one(models: dict, tmp_path: Path) -> None:
    done = workbench("compare", models["cnn"], "--optimization", "all", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert "(all)" in document["candidate"]
    assert document["unaligned"] > 0  # values inside the fusions: no counterpart in the authored graph
    assert document["values_compared"] < 35


def test_compare_takes_inputs_from_an_npz_by_input_name(models: dict, tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", image=np.ones((2, 3, 32, 32), np.float32))
    done = workbench("compare", models["cnn"], models["planted"], "--inputs", "x.npz", "--json", cwd=tmp_path)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["inputs"] == {"source": "x.npz", "seed": None,
                                  "values": {"image": {"dtype": "float32", "shape": [2, 3, 32, 32]}}}
    assert document["root_cause"]["node"] == models["node"]


def test_compare_a_torch_module_with_its_export(tmp_path: Path) -> None:
    """The module runs on the npz's arrays, passed in the order of the export's graph inputs; the
    export ``A`` is run on the same arrays by name, and their outputs agree."""
    weight = np.array([[0.5, -0.25, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4], [-1.0, 0.5, 0.25, 0.75]], np.float32)
    (tmp_path / "net.py").write_text(textwrap.dedent(f"""\
        import torch


        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(4, 3, bias=False)
                with torch.no_grad():
                    self.fc.weight.copy_(torch.tensor({weight.tolist()}))

            def forward(self, x, scale):
                return self.fc(x) * scale


        def build():
            return Net().eval()
        """))
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["h"], transB=1, name="fc"),
                               helper.make_node("Mul", ["h", "scale"], ["y"], name="scaled")], "net",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
                               helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
                              [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9),
              tmp_path / "net.onnx")
    # by name, not in the graph's order: the command maps them
    np.savez(tmp_path / "x.npz", scale=np.array([3.0], np.float32), x=np.arange(8, dtype=np.float32).reshape(2, 4))
    done = workbench("compare", "net.onnx", "--torch", "net.py:build", "--inputs", "x.npz", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["reference"] == "torch (module outputs)"
    assert document["values_compared"] >= 1 and document["root_cause"] is None
    assert document["outputs"] == [{"name": "y", "compared": True, "ok": True, "max_abs": 0.0, "max_rel": 0.0}]


# ---- profile -------------------------------------------------------------------------------------------


def test_profile_reports_latency_and_fails_only_past_the_budget(models: dict, tmp_path: Path) -> None:
    done = workbench("profile", models["cnn"], "--runs", "5", "--warmup", "1", "--budget-ms", "1e6", "--json",
                     "--chrome-trace", "trace.json", "--junit", "pass.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["runs"], document["over_budget"]) == ("pass", 5, False)
    assert 0 < document["latency_us"]["min"] <= document["latency_us"]["median"]
    assert document["median_ms"] == pytest.approx(document["latency_us"]["median"] / 1e3)
    assert document["top_ops"][0]["op"] == "Conv"
    trace = json.loads((tmp_path / "trace.json").read_text(encoding="utf-8"))
    assert any(event.get("cat") == "Node" for event in trace)
    suite, cases = junit(tmp_path / "pass.xml")
    assert list(cases) == ["latency"] and suite.find(".//failure") is None

    over = workbench("profile", models["cnn"], "--runs", "3", "--warmup", "1", "--budget-ms", "1e-6", "--junit",
                     "over.xml", cwd=tmp_path)
    assert over.returncode == 1, over.stderr
    assert "run latency" in over.stdout and "top ops (" in over.stdout
    assert "budget: median latency" in over.stdout and over.stdout.rstrip().endswith("verdict: fail")
    _, cases = junit(tmp_path / "over.xml")
    assert "over the budget of 1e-06 ms" in cases["latency"].find("failure").get("message")


# ---- diff ----------------------------------------------------------------------------------------------


def test_diff_exits_0_for_identical_models_and_1_for_different_ones(models: dict, tmp_path: Path) -> None:
    same = workbench("diff", models["cnn"], models["copy"], "--junit", "same.xml", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert same.stdout.rstrip().endswith("identical")
    suite, cases = junit(tmp_path / "same.xml")
    assert list(cases) == ["nodes", "weights", "model fields"] and suite.find(".//failure") is None

    differs = workbench("diff", models["cnn"], models["planted"], "-o", "diff.html", "--json", "--junit",
                        "differs.xml", cwd=tmp_path)
    assert differs.returncode == 1, differs.stderr
    document = json.loads(differs.stdout)
    assert (document["verdict"], document["identical"], document["nodes"]["changed"]) == ("fail", False, 1)
    assert {(d["kind"], d["b"]) for d in document["differences"]} >= {("node", models["node"])}
    assert (tmp_path / "diff.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    _, cases = junit(tmp_path / "differs.xml")
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {"nodes", "weights"}
    assert models["node"] in cases["nodes"].find("failure").get("message")


# ---- check ---------------------------------------------------------------------------------------------


@pytest.fixture
def analysis(models: dict, tmp_path: Path) -> Path:
    wb.save_analysis(tmp_path / "analysis", model=models["cnn"])
    return tmp_path / "analysis"


def test_check_passes_on_a_saved_analysis(analysis: Path, tmp_path: Path) -> None:
    done = workbench("check", analysis, "--json", "--junit", "check.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["ok"], document["model_changed"]) == ("pass", True, False)
    assert [o["output"] for o in document["outputs"]] == ["logits"]
    suite, cases = junit(tmp_path / "check.xml")
    assert list(cases) == ["logits", "model copy"] and suite.find(".//failure") is None


def test_check_fails_when_the_saved_outputs_were_changed(analysis: Path, tmp_path: Path) -> None:
    outputs = analysis / "outputs.npz"
    with np.load(outputs) as archive:
        saved = {name: archive[name] for name in archive.files}
    np.savez(outputs, **{name: value + np.float32(0.5) for name, value in saved.items()})
    unrecorded = workbench("check", analysis, cwd=tmp_path)  # the manifest's sha256 says so: a damaged folder
    assert unrecorded.returncode == 2
    assert "outputs.npz" in unrecorded.stderr and "changed since the analysis was saved" in unrecorded.stderr
    manifest = json.loads((analysis / "manifest.json").read_text(encoding="utf-8"))
    manifest["outputs"]["sha256"] = hashlib.sha256(outputs.read_bytes()).hexdigest()
    (analysis / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = workbench("check", analysis, "--json", "--junit", "check.xml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["ok"]) == ("fail", False)
    assert document["outputs"][0]["max_abs"] == pytest.approx(0.5)
    _, cases = junit(tmp_path / "check.xml")
    assert cases["logits"].find("failure").get("message").startswith("logits: max abs 0.5")
    assert cases["model copy"].find("failure") is None


# ---- sweep ---------------------------------------------------------------------------------------------


def test_sweep_fails_on_a_variant_past_its_tolerance_and_names_the_root_cause(models: dict, tmp_path: Path) -> None:
    strict = workbench("sweep", models["cnn"], "--variants", "fp32", "fp16", "--inputs", "2", "--json", "--junit",
                       "sweep.xml", "--workers", "1", cwd=tmp_path)
    assert strict.returncode == 1, strict.stderr
    document = json.loads(strict.stdout)
    assert document["verdict"] == "fail" and document["counts"] == {"pass": 6, "fail": 6}
    failing = [r for r in document["rows"] if r["verdict"] == "fail"]
    assert {(r["variant"], r["input"]) for r in failing} == {("fp16", 0), ("fp16", 1)}
    assert all(r["root_cause"] and r["detail"].startswith("rounding: Conv") for r in failing)  # float16's own error
    suite, cases = junit(tmp_path / "sweep.xml")
    assert list(cases) == ["tiny_cnn fp32 cpu", "tiny_cnn fp16 cpu"]
    assert cases["tiny_cnn fp32 cpu"].find("failure") is None
    assert cases["tiny_cnn fp16 cpu"].find("failure").get("message").startswith("2 input(s) off, first input 0")
    loose = workbench("sweep", models["cnn"], "--variants", "fp32", "fp16", "--inputs", "2", "--atol", "fp16=1e-2",
                      "--rtol", "fp16=1e-2", "--workers", "1", cwd=tmp_path)
    assert loose.returncode == 0, loose.stderr
    assert loose.stdout.startswith("2 case(s), 12 measurement(s): 12 pass") and "verdict: pass" in loose.stdout
    image = wb.random_inputs(wb.open(models["cnn"]), seed=7)["image"]
    np.savez(tmp_path / "a.npz", image=image)
    np.savez(tmp_path / "b.npz", image=-image)
    given = workbench("sweep", models["cnn"], "--inputs", "a.npz", "b.npz", "--json", "--workers", "1", cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert sorted({r["input"] for r in json.loads(given.stdout)["rows"]}) == [0, 1]


def test_sweep_against_the_stores_previous_run_fails_on_regressions_only(models: dict, tmp_path: Path) -> None:
    def night(*tolerances: str) -> subprocess.CompletedProcess[str]:
        return workbench("sweep", models["cnn"], "--variants", "fp16", "--store", "store", "--fail-on", "regression",
                         "--json", "--workers", "1", *tolerances, cwd=tmp_path)

    first = night("--atol", "1e-2", "--rtol", "1e-2")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["regressions"] is None  # nothing to compare with yet
    worse = night()  # tonight the tolerance is tighter: float16 no longer passes
    assert worse.returncode == 1, worse.stderr
    regressions = json.loads(worse.stdout)["regressions"]
    assert len(regressions) == 3 and {r["why"] for r in regressions} == {"pass → fail"}
    same = night()  # still failing, but no worse than last night
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["counts"] == {"fail": 3} and json.loads(same.stdout)["regressions"] == []
    assert len(wb.read_sweeps(tmp_path / "store").run.unique()) == 3


# ---- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "said"), [
    (["info", "missing.onnx"], "No such file: 'missing.onnx'"),
    (["info", "{not_onnx}"], "is not an ONNX model"),
    (["compare", "{cnn}", "{copy}", "--inputs", "wrong.npz"], "unknown input(s) ['wrong']; missing ['image']"),
    (["compare", "{cnn}", "{copy}", "--inputs", "{not_onnx}"], "is not an .npz archive"),
    (["compare", "{cnn}"], "nothing to compare"),
    (["compare", "{cnn}", "--candidate", "nosuch"], "has no nosuch"),
    (["compare", "{cnn}", "{copy}", "--bogus"], "unrecognized arguments: --bogus"),
    (["profile", "{cnn}", "--budget-ms", "-1"], "expected a number above 0"),
    (["check", "missing"], "No analysis at 'missing'"),
    (["sweep", "{cnn}", "--variants", "fp8"], "variant 'fp8'"),
    (["sweep", "{cnn}", "--atol", "fp16=1e-2"], "tolerance for ['fp16'], which --variants does not list"),
    (["sweep", "{cnn}", "--atol", "tiny"], "a number, or VARIANT=NUMBER"),
    (["sweep", "{cnn}", "--fail-on", "regression"], "give --store DIR"),
    (["sweep", "missing.onnx"], "No model file at 'missing.onnx'"),
])
def test_input_errors_exit_2_with_one_line_and_no_traceback(args: list[str], said: str, models: dict,
                                                             tmp_path: Path) -> None:
    np.savez(tmp_path / "wrong.npz", wrong=np.zeros((1, 3, 32, 32), np.float32))
    done = workbench(*(a.format(**models) for a in args), cwd=tmp_path)
    assert done.returncode == 2
    assert said in done.stderr
    assert "error: " in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_an_error_is_a_json_document_and_a_junit_error_too(tmp_path: Path) -> None:
    done = workbench("info", "missing.onnx", "--json", "--junit", "error.xml", cwd=tmp_path)
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert (document["verdict"], document["code"]) == ("error", 2)
    assert "missing.onnx" in document["error"]
    suite, cases = junit(tmp_path / "error.xml")
    assert suite.get("errors") == "1" and "missing.onnx" in cases["info"].find("error").get("message")


def test_an_unexpected_error_is_a_bug_exit_3_with_its_traceback(models: dict, tmp_path: Path) -> None:
    probe = ("import sys, workbench\nfrom workbench._cli import main\n"
             "def broken(*args, **kwargs):\n    raise RuntimeError('planted bug')\n"
             f"workbench.open = broken\nsys.exit(main(['info', {str(models['cnn'])!r}]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=ENV,
                          check=False)
    assert done.returncode == 3
    assert "Traceback" in done.stderr and "RuntimeError: planted bug" in done.stderr
    assert "this is a bug in onnx-workbench" in done.stderr


# ---- progress bars ----------------------------------------------------------------------------------------


def _slow_model(folder: Path) -> tuple[Path, int]:
    """A MatMul that takes tens of ms per run on one thread, and how many runs take 4 s at least: long
    enough for the API's own bar, which shows after 2 s."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "slow",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1024, 1024])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1024, 1024])],
                              [numpy_helper.from_array(rng.standard_normal((1024, 1024), np.float32), "w")])
    path = folder / "slow.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {"x": rng.standard_normal((1024, 1024), np.float32)}
    session.run(None, feeds)
    fastest = math.inf
    for _ in range(5):  # the fastest run: a machine busy now may not be later, when the command runs
        started = time.perf_counter()
        session.run(None, feeds)
        fastest = min(fastest, time.perf_counter() - started)
    return path, max(5, math.ceil(4.0 / fastest))


def test_progress_bars_show_on_a_terminal_and_never_in_a_pipe(tmp_path: Path) -> None:
    model, runs = _slow_model(tmp_path)
    args = [sys.executable, "-m", "workbench", "profile", str(model), "--runs", str(runs), "--threads", "1"]
    # both at once: each runs on one thread
    piped = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    terminal, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    on_terminal = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=child, env=ENV)
    os.close(child)
    written, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 0.5)[0]:
            if on_terminal.poll() is not None:  # exited, and nothing more to read
                break
            continue
        try:
            chunk = os.read(terminal, 1 << 16)
        except OSError:  # EIO: every holder of the terminal's other side has closed it
            break
        if not chunk:
            break
        written.append(chunk)
    os.close(terminal)
    shown = b"".join(written).decode("utf-8", errors="replace")
    assert on_terminal.wait(timeout=300) == 0, shown
    on_terminal.stdout.close()
    out, err = piped.communicate(timeout=300)
    assert piped.returncode == 0, err
    assert b"run latency" in out
    # a pipe: no bar at all, neither the command's steps nor the API's runs
    assert b"\r" not in err and b"%|" not in err and b"profiling" not in err and b"workbench profile" not in err
    # a terminal: the command's steps, and the API's bar over the runs (shown after 2 s)
    assert "workbench profile: opening slow.onnx" in shown and "step" in shown
    assert "profiling:" in shown and "run/s" in shown
