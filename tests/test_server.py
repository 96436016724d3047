"""The server route behind the ``.onnx`` file viewer, on a real Jupyter server.

The server runs with a token and a base URL, rooted at a temporary folder holding a sample
model, a copy of it with one weight changed (to diff them), a file that is not ONNX, a hidden
model and a symlink to a model outside the root. The tests of large models and of stopping the
server start servers of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers import free_port, wait_until_up
from onnx import numpy_helper

import workbench as wb
from workbench import errors
from workbench._server import OUTSIDE_ROOT, relative_message
from workbench._server_worker import IndexCache
from workbench.diffing import DiffIndex, open_diff
from workbench.graph import ViewIndex, build_view

BASE_URL = "/jupyter/"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    """A running Jupyter server and the folders around its root."""

    url: str
    token: str
    root: Path
    outside: Path
    pid: int

    def get(self, token: str | None = "", **query: str) -> tuple[int, dict]:
        """``GET onnx-workbench/view?<query>``: the status and the JSON body.

        ``token`` defaults to the server's; ``None`` sends no token.
        """
        request = urllib.request.Request(f"{self.url}onnx-workbench/view?{urllib.parse.urlencode(query)}")
        if token is not None:
            request.add_header("Authorization", f"token {token or self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def status_seconds(self) -> float:
        """How long ``GET api/status`` takes to answer."""
        start = time.perf_counter()
        with urllib.request.urlopen(f"{self.url}api/status?token={self.token}", timeout=30) as response:
            response.read()
        return time.perf_counter() - start

    def rss(self) -> int:
        """The server process's resident memory, in bytes."""
        return _rss(self.pid)

    def workers(self) -> list[int]:
        """The process ids of the server's child processes (its viewer's workers)."""
        return [int(pid) for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]


def _rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes; 0 once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith("VmRSS:")), 0)


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, parent, group, …); [] once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it is not gone, nor a zombie whose threads have all ended
    (its main thread shows as a zombie while others still end, before it can be reaped)."""
    fields = _stat(pid)
    try:
        return bool(fields) and (fields[0] != "Z" or len(os.listdir(f"/proc/{pid}/task")) > 1)
    except OSError:  # reaped meanwhile
        return False


def _group_members(pgid: int) -> list[int]:
    """The live processes in process group ``pgid``."""
    pids = [int(path.name) for path in Path("/proc").iterdir() if path.name.isdigit()]
    return [pid for pid in pids if (fields := _stat(pid)) and int(fields[2]) == pgid and _alive(pid)]


#: A size limit for the test server's viewer: over every model it serves, under "big.onnx".
SIZE_LIMIT = 2_000_000
#: Whether this system shows processes' memory and children under /proc.
HAS_PROC = Path("/proc/self/task").is_dir()


@contextlib.contextmanager
def _running_server(work: Path, settings: str = "{}") -> Iterator[Server]:
    """A Jupyter server (this package's extension enabled by its config) with token auth, rooted
    at ``work/root``, with ``settings`` as its ``tornado_settings``; stopped with its process group."""
    root, outside = work / "root", work / "outside"
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "server",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.base_url={BASE_URL}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.tornado_settings={settings}",
    ]  # fmt: skip
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    url = f"http://127.0.0.1:{port}{BASE_URL}"
    try:
        wait_until_up(process, f"{url}api/status?token={token}", log, what="jupyter server", timeout_s=START_TIMEOUT_S)
        yield Server(url=url, token=token, root=root, outside=outside, pid=process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test stopped the server and its group
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared test server, with ``SIZE_LIMIT`` as its viewer's size limit."""
    work = tmp_path_factory.mktemp("server")
    root, outside = work / "root", work / "outside"
    wb.samples.save("tiny_cnn", root)
    _changed_copy(root / "tiny_cnn.onnx", root / "tiny_cnn_b.onnx", shift=0.5)
    wb.samples.save("tiny_bert", outside)
    shutil.copy(root / "tiny_cnn.onnx", root / ".hidden.onnx")
    (root / "notes.onnx").write_text("these are notes, not a model\n")
    (root / "link.onnx").symlink_to(outside / "tiny_bert.onnx")
    with _running_server(work, f"{{'onnx_workbench_max_bytes': {SIZE_LIMIT}}}") as running:
        yield running


def _changed_copy(model: Path, copy: Path, shift: float) -> None:
    """Writes ``model`` to ``copy`` with ``shift`` added to the first value of its first weight."""
    proto = onnx.load(model)
    weight = proto.graph.initializer[0]
    values = numpy_helper.to_array(weight).copy()
    values.flat[0] += np.float32(shift)
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    onnx.save(proto, copy)


@pytest.fixture(scope="module")
def index(server: Server) -> ViewIndex:
    """The view of the served sample, built in this process for comparison."""
    return build_view(wb.open(server.root / "tiny_cnn.onnx"))


def _json(value: dict) -> dict:
    """``value`` as it reads after a trip through JSON."""
    return json.loads(json.dumps(value))


def test_payload_is_the_models_view(server: Server, index: ViewIndex) -> None:
    status, body = server.get(path="tiny_cnn.onnx")
    assert status == 200
    assert body["schema"] == 1
    assert body == _json(index.payload(budget=wb.graph.LAZY_PAYLOAD_BYTES))


def test_group_and_details(server: Server, index: ViewIndex) -> None:
    payload = index.payload(budget=wb.graph.LAZY_PAYLOAD_BYTES)
    group_id = next(gid for gid in payload["groups"] if gid != payload["root"])
    node_id = wb.open(server.root / "tiny_cnn.onnx").nodes.index[0]
    assert server.get(path="tiny_cnn.onnx", group=group_id) == (200, _json(index.group(group_id)))
    assert server.get(path="tiny_cnn.onnx", details=node_id) == (200, _json(index.details(node_id)))


def test_search_covers_the_whole_model(server: Server, index: ViewIndex) -> None:
    status, body = server.get(path="tiny_cnn.onnx", search="conv")
    assert (status, body) == (200, _json(index.search("conv")))
    assert body["total"] == len(body["hits"]) > 0 and body["error"] is None
    status, body = server.get(path="tiny_cnn.onnx", search="/conv(/")
    assert status == 200 and body["hits"] == [] and "regular expression" in body["error"]


def test_tensor_values_and_npy(server: Server, index: ViewIndex) -> None:
    status, body = server.get(path="tiny_cnn.onnx", tensor="stem.conv.weight", index="0, 0", npy="1")
    assert (status, body) == (200, _json(index.tensor("stem.conv.weight", "0, 0", npy=True)))
    status, body = server.get(path="tiny_cnn.onnx", tensor="stem.conv.weight", index="0,,")
    assert status == 400 and "write integers, slices" in body["message"]
    status, body = server.get(path="tiny_cnn.onnx", tensor="no_such_weight")
    assert status == 400 and "No weight 'no_such_weight'" in body["message"]


@pytest.mark.parametrize("query", [{"group": "g:no/such/group"}, {"details": "/no/such/node"}])
def test_unknown_group_or_node_is_404(server: Server, query: dict[str, str]) -> None:
    status, body = server.get(path="tiny_cnn.onnx", **query)
    assert status == 404
    assert "has no" in body["message"]


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_requests_without_the_token_are_refused(server: Server, token: str | None) -> None:
    status, body = server.get(token=token, path="tiny_cnn.onnx")
    assert status in (401, 403)
    assert "groups" not in (body or {})


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink", "hidden"])
def test_paths_outside_the_root_are_refused(server: Server, where: str) -> None:
    path = {
        "dotdot": "../outside/tiny_bert.onnx",
        "absolute": str(server.outside / "tiny_bert.onnx"),
        "symlink": "link.onnx",
        "hidden": ".hidden.onnx",
    }[where]
    status, body = server.get(path=path)
    assert status == 403
    assert path in body["message"]
    assert "groups" not in body


@pytest.mark.parametrize("target", [".hidden.onnx", ".secret/model.onnx"])
def test_links_to_hidden_files_are_refused(server: Server, target: str) -> None:
    """Hiddenness is judged on the file a link resolves to, not only on the name asked for."""
    (server.root / ".secret").mkdir(exist_ok=True)
    shutil.copy(server.root / "tiny_cnn.onnx", server.root / ".secret" / "model.onnx")
    link = server.root / f"plain-{target.replace('/', '-')}"
    link.symlink_to(server.root / target)
    status, body = server.get(path=link.name)
    assert status == 403
    assert link.name in body["message"] and "hidden" in body["message"]
    assert "groups" not in body


def test_missing_file_is_404(server: Server) -> None:
    status, body = server.get(path="nope.onnx")
    assert status == 404
    assert "nope.onnx" in body["message"]


def test_not_onnx_is_400_with_our_message(server: Server) -> None:
    """The error is workbench's own, naming the file by its path under the root."""
    full = os.path.realpath(server.root / "notes.onnx")
    with pytest.raises(errors.NotOnnxError) as expected:
        wb.open(full)
    status, body = server.get(path="notes.onnx")
    assert (status, body) == (400, {"message": str(expected.value).replace(full, "notes.onnx")})
    assert "'notes.onnx' is not an ONNX model" in body["message"]
    assert str(server.root) not in body["message"]


def _external_model(location: str) -> bytes:
    """A model whose one weight (16 bytes) is stored at ``location``, which is not written."""
    weight = onnx.TensorProto(name="W", data_type=onnx.TensorProto.FLOAT, dims=[4],
                              data_location=onnx.TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["W"], ["Y"])], "external", [],
                                   [onnx.helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [4])], [weight])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("folder", ["weights", ""])
def test_missing_external_data_names_no_server_path(server: Server, folder: str) -> None:
    """The message names the model's folder relative to the server root ('.' for the root)."""
    (server.root / folder).mkdir(exist_ok=True)
    path = Path(folder, "no_weights.onnx").as_posix()
    (server.root / path).write_bytes(_external_model("gone.bin"))
    status, body = server.get(path=path)
    assert status == 400
    assert "'gone.bin', which is missing from " + repr(folder or ".") in body["message"], body
    assert "'/" not in body["message"]
    assert str(server.root) not in body["message"] and os.path.realpath(server.root) not in body["message"]


def test_absolute_paths_outside_the_root_are_not_shown(server: Server) -> None:
    """A model's own absolute external-data location is shown as being outside the root."""
    (server.root / "absolute_weights.onnx").write_bytes(_external_model(str(server.outside / "w.bin")))
    status, body = server.get(path="absolute_weights.onnx")
    assert status == 400
    assert f"points at the absolute path '{OUTSIDE_ROOT}'" in body["message"], body
    assert str(server.outside) not in body["message"]


@pytest.mark.skipif(not HAS_PROC, reason="finds the worker processes under /proc")
def test_a_killed_worker_is_replaced(server: Server) -> None:
    """A worker that dies (killed for memory, say) is started again for the next request."""
    assert server.get(path="tiny_cnn.onnx")[0] == 200
    workers = server.workers()
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    while any(_alive(pid) for pid in workers):
        time.sleep(0.02)
    status, body = server.get(path="tiny_cnn.onnx")
    assert status == 200 and body["title"] == "tiny_cnn", body


def test_replaced_file_is_reread(server: Server) -> None:
    """The cache is keyed by file identity: a model written over another is not served stale."""
    shutil.copy(server.root / "tiny_cnn.onnx", server.root / "changing.onnx")
    assert server.get(path="changing.onnx")[1]["title"] == "tiny_cnn"
    shutil.copy(server.outside / "tiny_bert.onnx", server.root / "changing.onnx")
    assert server.get(path="changing.onnx")[1]["title"] == "tiny_bert"


def test_files_over_the_size_limit_are_refused_unread(server: Server) -> None:
    (server.root / "big.onnx").write_bytes(b"\0" * (SIZE_LIMIT + 1))  # would be NotOnnxError if read
    status, body = server.get(path="big.onnx")
    assert status == 413
    assert "'big.onnx' is 2.0 MB, over this server's limit of 2.0 MB" in body["message"]
    assert "wb.open(path)" in body["message"]


CORPUS = Path(__file__).parent / "data" / "bad"
CORPUS_MODELS = sorted(case["file"] for case in json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))["cases"]
                       if case["kind"] == "model")


@pytest.fixture(scope="module")
def corpus(server: Server) -> Path:
    """The bad-input corpus, copied under the server root, with its links (made, not committed)."""
    shutil.copytree(CORPUS, server.root / "bad", symlinks=True)
    sys.path.insert(0, str(CORPUS.parent))
    try:
        import make_bad
    finally:
        sys.path.remove(str(CORPUS.parent))
    make_bad.make_links(server.root / "bad")
    return server.root / "bad"


@pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning")
@pytest.mark.parametrize("file", CORPUS_MODELS)
def test_the_file_viewer_answers_every_bad_model_with_a_message(server: Server, corpus: Path, file: str) -> None:
    """What the file viewer gets for each corpus model: the view where the model opens, else the
    error wb.open raises, naming files as the user does and no path outside the root; links out
    of the root are refused."""
    path = f"bad/{file}"
    status, body = server.get(path=path)
    if (corpus / file).is_symlink():
        assert status in (403, 404) and path in body["message"], body
        return
    full = os.path.realpath(corpus / file)
    try:
        wb.open(full)
    except errors.WorkbenchError as expected:
        assert (status, body) == (400, {"message": relative_message(str(expected), str(server.root), {full: path})})
        assert "'/" not in body["message"] and str(server.root) not in body["message"]
    else:
        assert status == 200 and body["title"] and body["groups"], body


def test_the_worker_keeps_indexes_within_its_budget(tmp_path: Path) -> None:
    """Least recently used indexes go once the worker holds more than its budget; the last one
    asked for stays, however large; a file written over drops its older version's index."""
    paths = [wb.samples.save(name, tmp_path) for name in ("tiny_cnn", "tiny_bert")]
    keys = [(str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in paths]
    roomy, tight = IndexCache(budget=2**50), IndexCache(budget=0)
    for key in keys:
        assert roomy.get(key).payload()["title"] == tight.get(key).payload()["title"] == Path(key[0]).stem
    assert roomy.keys() == keys
    assert tight.keys() == keys[-1:]
    rewritten = (keys[0][0], keys[0][1] + 1, keys[0][2])
    roomy.get(rewritten)
    assert roomy.keys() == [keys[1], rewritten]


def _large_model(nbytes: int) -> bytes:
    """A valid model of about ``nbytes``: an Identity of one inline float initializer."""
    count = nbytes // 4
    weight = onnx.TensorProto(name="W", data_type=onnx.TensorProto.FLOAT, dims=[count], raw_data=bytes(count * 4))
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["W"], ["Y"])], "large", [],
                                   [onnx.helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [count])], [weight])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]).SerializeToString()


#: The size of each large model: parsing one in the server would hold its GIL well past the
#: latency allowed below, and keeping a few would grow it well past the memory allowed.
LARGE_BYTES = 120_000_000
LARGE_MODELS = 3


@pytest.mark.slow  # builds and serves large models: over 10 s
@pytest.mark.skipif(not HAS_PROC, reason="reads the server's memory under /proc")
def test_large_models_open_without_stalling_or_growing_the_server(tmp_path: Path) -> None:
    """Several large models opened at once, and a large file that is not a model failing again
    and again, while /api/status keeps answering promptly and the server's memory stays put."""
    root = tmp_path / "root"
    root.mkdir()
    wb.samples.save("tiny_cnn", root)
    blob = _large_model(LARGE_BYTES)
    names = [f"large{i}.onnx" for i in range(LARGE_MODELS)]
    for name in names:
        (root / name).write_bytes(blob)
    (root / "cut.onnx").write_bytes(blob[:-3])
    del blob
    try:
        with _running_server(tmp_path) as server:
            assert server.get(path="tiny_cnn.onnx")[0] == 200  # the route's first use is behind us
            before = server.rss()
            with ThreadPoolExecutor(LARGE_MODELS + 1) as pool:
                loads = [pool.submit(server.get, path=name) for name in names]
                failures = pool.submit(lambda: [server.get(path="cut.onnx") for _ in range(4)])
                latencies = []
                while not all(load.done() for load in [*loads, failures]):
                    latencies.append(server.status_seconds())
                    time.sleep(0.02)
            after = server.rss()
            for load in loads:
                status, body = load.result()
                assert status == 200 and body["title"] == "large", body
            for status, body in failures.result():
                assert status == 400 and "'cut.onnx' starts like an ONNX model but is truncated" in body["message"]
            assert len(latencies) >= 10, "the loads ended before /api/status was polled"
            assert max(latencies) < 0.2, f"/api/status took up to {max(latencies):.3f} s while models loaded"
            assert after - before < 200e6, f"the server grew from {before / 1e6:.0f} MB to {after / 1e6:.0f} MB"
    finally:
        for path in root.glob("*.onnx"):
            path.unlink()


@pytest.mark.slow  # a server of its own, stopped and waited for
@pytest.mark.skipif(not HAS_PROC, reason="lists the server's process group under /proc")
def test_stopping_the_server_stops_its_workers(tmp_path: Path) -> None:
    """SIGTERM to the server alone, while a worker opens a model, leaves no process behind."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "large.onnx").write_bytes(_large_model(LARGE_BYTES))
    try:
        with _running_server(tmp_path) as server, ThreadPoolExecutor(1) as pool:
            opening = pool.submit(server.get, path="large.onnx")
            deadline = time.monotonic() + 30
            while not any(_rss(pid) > LARGE_BYTES for pid in server.workers()):  # the worker is reading it
                assert time.monotonic() < deadline and not opening.done(), "no worker read the model"
                time.sleep(0.05)
            os.kill(server.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while _group_members(server.pid):
                assert time.monotonic() < deadline, f"left running: {_group_members(server.pid)}"
                time.sleep(0.1)
            with pytest.raises(OSError):
                opening.result()
    finally:
        (root / "large.onnx").unlink()


# ---- the diff of two files: ?path=<a>&diff=<b> -------------------------------------------------

DIFF = {"path": "tiny_cnn.onnx", "diff": "tiny_cnn_b.onnx"}


@pytest.fixture(scope="module")
def diff_index(server: Server) -> DiffIndex:
    """The view of the served pair's diff, built in this process for comparison."""
    return open_diff(str(server.root / DIFF["path"]), str(server.root / DIFF["diff"]))


def test_diff_payload_is_the_diffs_view(server: Server, diff_index: DiffIndex) -> None:
    status, body = server.get(**DIFF)
    assert status == 200
    assert body == _json(diff_index.payload(budget=wb.graph.LAZY_PAYLOAD_BYTES))
    assert body["title"] == "tiny_cnn.onnx ↔ tiny_cnn_b.onnx"
    overlay = body["overlay"]
    assert overlay["kind"] == "diff" and overlay["values"]["/stem/conv/Conv_1"] == "changed"
    assert overlay["counts"]["g:stem"] == {"changed": 1}


def test_diff_group_details_search_and_tensor(server: Server, diff_index: DiffIndex) -> None:
    """Every request of the file viewer works on a diff too, answered from the diff's view."""
    group_id = "g:stem"
    node_id = "/stem/conv/Conv_1"
    assert server.get(**DIFF, group=group_id) == (200, _json(diff_index.group(group_id)))
    status, details = server.get(**DIFF, details=node_id)
    assert (status, details) == (200, _json(diff_index.details(node_id)))
    assert details["diff"]["status"] == "changed" and details["diff"]["sides"]["a"]["op"] == "Conv"
    assert server.get(**DIFF, search="conv") == (200, _json(diff_index.search("conv")))
    status, tensor = server.get(**DIFF, tensor="stem.conv.weight", index="0, 0")
    assert (status, tensor) == (200, _json(diff_index.tensor("stem.conv.weight", "0, 0")))
    status, body = server.get(**DIFF, details="/no/such/node")
    assert status == 404 and body["message"] == "The diff has no node '/no/such/node'."


@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink", "hidden", "missing", "empty"])
def test_a_bad_second_path_is_refused_as_a_first_one_is(server: Server, where: str) -> None:
    """``diff=`` is confined, hidden-checked and looked up exactly as ``path=`` is, and the
    message names it as the user did."""
    diff, expected = {
        "dotdot": ("../outside/tiny_bert.onnx", 403),
        "absolute": (str(server.outside / "tiny_bert.onnx"), 403),
        "symlink": ("link.onnx", 403),
        "hidden": (".hidden.onnx", 403),
        "missing": ("nope.onnx", 404),
        "empty": ("", 400),
    }[where]
    assert server.get(path=diff)[0] == expected
    status, body = server.get(path="tiny_cnn.onnx", diff=diff)
    assert status == expected, body
    assert (diff or "diff=") in body["message"] and "groups" not in body
    assert os.path.realpath(server.root) not in body["message"]


def test_a_second_file_over_the_size_limit_is_refused_unread(server: Server) -> None:
    (server.root / "big_b.onnx").write_bytes(b"\0" * (SIZE_LIMIT + 1))
    status, body = server.get(path="tiny_cnn.onnx", diff="big_b.onnx")
    assert status == 413
    assert "'big_b.onnx' is 2.0 MB, over this server's limit" in body["message"]
    assert "wb.diff(a, b).view()" in body["message"]


def test_a_second_file_that_is_not_onnx_is_named_as_the_user_does(server: Server) -> None:
    status, body = server.get(path="tiny_cnn.onnx", diff="notes.onnx")
    assert status == 400
    assert "'notes.onnx' is not an ONNX model" in body["message"], body
    assert str(server.root) not in body["message"] and os.path.realpath(server.root) not in body["message"]


def test_the_diff_is_keyed_by_both_files(server: Server) -> None:
    """The view of a diff is rebuilt when either file is written over, and a model's own view and
    its diff's are kept apart."""
    for name in ("pair_a.onnx", "pair_b.onnx"):
        shutil.copy(server.root / "tiny_cnn.onnx", server.root / name)
    pair = {"path": "pair_a.onnx", "diff": "pair_b.onnx"}

    def changed() -> dict:
        status, body = server.get(**pair)
        assert status == 200, body
        return {node: s for node, s in body["overlay"]["values"].items() if s != "same"}

    assert changed() == {}
    assert server.get(path="pair_a.onnx")[1]["overlay"] is None
    _changed_copy(server.root / "tiny_cnn.onnx", server.root / "pair_b.onnx", shift=1.0)
    assert changed() == {"/stem/conv/Conv_1": "changed"}
    _changed_copy(server.root / "tiny_cnn.onnx", server.root / "pair_a.onnx", shift=1.0)
    assert changed() == {}
