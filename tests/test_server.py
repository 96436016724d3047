"""The server route behind the ``.onnx`` file viewer, on a real Jupyter server.

The server runs with a token and a base URL, rooted at a temporary folder holding a sample
model, a file that is not ONNX, a hidden model and a symlink to a model outside the root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import workbench as wb
from workbench import errors
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

    def get(self, token: str | None = "", **query: str) -> tuple[int, dict]:
        """``GET onnx-workbench/view?<query>``: the status and the JSON body.

        ``token`` defaults to the server's; ``None`` sends no token.
        """
        request = urllib.request.Request(f"{self.url}onnx-workbench/view?{urllib.parse.urlencode(query)}")
        if token is not None:
            request.add_header("Authorization", f"token {token or self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter server exited with code {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"jupyter server did not answer within {START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


#: A size limit for the test server's viewer: over every model it serves, under "big.onnx".
SIZE_LIMIT = 2_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Jupyter server (this package's extension enabled by its config) with token auth."""
    work = tmp_path_factory.mktemp("server")
    root, outside = work / "root", work / "outside"
    wb.samples.save("tiny_cnn", root)
    wb.samples.save("tiny_bert", outside)
    shutil.copy(root / "tiny_cnn.onnx", root / ".hidden.onnx")
    (root / "notes.onnx").write_text("these are notes, not a model\n")
    (root / "link.onnx").symlink_to(outside / "tiny_bert.onnx")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "server",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.base_url={BASE_URL}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.tornado_settings={{'onnx_workbench_max_bytes': {SIZE_LIMIT}}}",
    ]  # fmt: skip
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    url = f"http://127.0.0.1:{port}{BASE_URL}"
    try:
        _wait_until_up(process, f"{url}api/status?token={token}", log)
        yield Server(url=url, token=token, root=root, outside=outside)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


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
    """The bad-input corpus, copied under the server root (links kept as links)."""
    shutil.copytree(CORPUS, server.root / "bad", symlinks=True)
    return server.root / "bad"


@pytest.mark.filterwarnings("ignore::workbench.errors.ModelCheckWarning")
@pytest.mark.parametrize("file", CORPUS_MODELS)
def test_the_file_viewer_answers_every_bad_model_with_a_message(server: Server, corpus: Path, file: str) -> None:
    """What the file viewer gets for each corpus model: the view where the model opens, else the
    error wb.open raises, naming the file as the user does; links out of the root are refused."""
    path = f"bad/{file}"
    status, body = server.get(path=path)
    if (corpus / file).is_symlink():
        assert status in (403, 404) and path in body["message"], body
        return
    full = os.path.realpath(corpus / file)
    try:
        wb.open(full)
    except errors.WorkbenchError as expected:
        assert (status, body) == (400, {"message": str(expected).replace(full, path)})
    else:
        assert status == 200 and body["title"] and body["groups"], body
