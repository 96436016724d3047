"""Runs in a worker process: a native crash there is an error here, not a dead kernel."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

import workbench as wb
from workbench.errors import SessionError
from workbench.runtime._isolate import Worker, shared_worker


def _abort() -> None:
    os.abort()  # what a crashing native runtime does to its process


def _fail() -> None:
    raise ValueError("the runtime said no")


def _chatter() -> None:
    print("stray output")  # what native code may write to stdout: not a reply
    os.write(1, b"{\"type\": \"ValueError\"}\n")


def test_a_crash_in_the_worker_is_an_error_here_and_the_next_call_gets_a_new_worker() -> None:
    worker = Worker()
    worker.call(_chatter)
    first = worker.pid
    assert first is not None and first != os.getpid()
    worker.call(_chatter)
    assert worker.pid == first  # kept between calls
    with pytest.raises(SessionError, match=r"crashed \(signal SIGABRT\).*this process is unharmed"):
        worker.call(_abort)
    assert worker.pid is None
    with pytest.raises(SessionError, match="ValueError: the runtime said no"):
        worker.call(_fail)
    assert worker.pid not in (None, first)
    folder = worker._folder
    del worker
    assert not folder.exists()


def test_isolated_debugging_gives_the_same_values() -> None:
    m = wb.samples.open("tiny_cnn")
    feeds = wb.random_inputs(m)
    here, isolated = wb.debug(m, feeds), wb.debug(m, feeds, isolate=True)
    assert not here.isolate and isolated.isolate
    for node_id in here.steps:
        for name in m.node(node_id).output:
            np.testing.assert_array_equal(isolated.tensor(name), here.tensor(name))
    worker = shared_worker().pid
    for node in here.steps:  # each node its own session, in the one worker
        output = m.node(node).output[0]
        np.testing.assert_array_equal(isolated.run_node(node)[output], here.run_node(node)[output])
    assert shared_worker().pid == worker is not None


@pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning")
def test_models_that_fail_the_checker_are_isolated_by_default() -> None:
    proto = wb.samples.proto("tiny_cnn")
    proto.metadata_props.add(key="k", value="1")
    proto.metadata_props.add(key="k", value="2")  # a checker complaint onnxruntime does not mind
    flagged = wb.open(proto)
    assert flagged.problems and wb.debug(flagged).isolate
    assert wb.debug(wb.samples.open("tiny_cnn")).isolate is False
    assert wb.debug(flagged, provider="reference").isolate is False  # pure Python: nothing native to crash
    broken = wb.open(os.path.join(os.path.dirname(__file__), "data", "bad", "cycle.onnx"))
    with pytest.raises(SessionError, match="onnxruntime could not load the model"):
        wb.debug(broken)  # the runtime's refusal crossed the process boundary with its words


def test_isolated_runs_write_weights_once_and_keep_no_run_files() -> None:
    from onnx import TensorProto, helper

    from workbench.runtime._isolate import IsolatedRunner

    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["t"]), helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("s", TensorProto.STRING, [2]),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [512, 1024])],
        [helper.make_tensor_value_info("t", TensorProto.STRING, [2]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1024])])
    runner = IsolatedRunner(helper.make_model(graph), ["CPUExecutionProvider"])
    weight = np.full((512, 1024), 0.5, np.float32)  # 2 MiB: a weight, kept between runs
    for _ in range(2):
        strings, product = runner(["t", "y"], {"s": np.array(["a", "b"], dtype=object),
                                               "x": np.ones((1, 512), np.float32), "w": weight})
    assert list(strings) == ["a", "b"] and np.all(product == 256)
    assert sorted(p.name for p in runner._folder.iterdir()) == ["feed0.npy", "model.onnx"]


def test_kept_feeds_follow_their_names_when_arrays_change() -> None:
    """Large feeds are kept in files between runs; a name that comes with a new array gets it,
    and no other name's file is touched."""
    from onnx import TensorProto, helper

    from workbench.runtime._isolate import IsolatedRunner

    shape = [512, 1024]  # 2 MiB each: kept
    graph = helper.make_graph([helper.make_node("Sub", ["a", "b"], ["y"])], "g",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in "ab"],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    runner = IsolatedRunner(helper.make_model(graph), ["CPUExecutionProvider"])
    a1, a2, b1, b2 = (np.full(shape, v, np.float32) for v in (1, 2, 10, 20))
    for a, b in ((a1, b1), (a2, b1), (a2, b2), (a1, b2)):
        (difference,) = runner(["y"], {"a": a, "b": b})
        assert np.all(difference == a[0, 0] - b[0, 0])


def test_a_typed_error_in_the_worker_keeps_its_type() -> None:
    from workbench.errors import InputError

    with pytest.raises(InputError, match="wrong feed"):
        Worker().call(_input_error)


def _input_error() -> None:
    from workbench.errors import InputError

    raise InputError("wrong feed")


def _sabotage_profiling_runs() -> None:
    """In the worker: its next profiling run aborts the process, as a crashing kernel would."""
    from workbench.profiling import _record

    _record._run = lambda folder: os.abort()


def test_isolated_profiling_times_the_same_kernels_and_survives_a_crash() -> None:
    m = wb.samples.open("tiny_cnn")
    feeds = wb.random_inputs(m)
    here, isolated = wb.profile(m, feeds, runs=2, warmup=1), wb.profile(m, feeds, runs=2, warmup=1, isolate=True)
    assert not here.isolated and isolated.isolated
    assert list(isolated.nodes.index) == list(here.nodes.index) and len(isolated.runs) == 2
    assert isolated.mapping_rate["count"] == here.mapping_rate["count"] == 1.0
    shared_worker().call(_sabotage_profiling_runs)
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(SessionError, match=r"crashed \(signal SIGABRT\)"):
        wb.profile(m, feeds, runs=2, warmup=0, isolate=True)
    assert not {f for f in set(os.listdir(tempfile.gettempdir())) - before if f.startswith("workbench-profile-")}
    assert len(wb.profile(m, feeds, runs=1, warmup=0, isolate=True).runs) == 1  # a new worker, not sabotaged


@pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning")
def test_profiling_isolates_models_that_fail_the_checker() -> None:
    proto = wb.samples.proto("tiny_cnn")
    proto.metadata_props.add(key="k", value="1")
    proto.metadata_props.add(key="k", value="2")  # a checker complaint onnxruntime does not mind
    assert wb.profile(wb.open(proto), runs=1, warmup=0).isolated
