"""Jupyter server extension: the route behind the ``.onnx`` file viewer.

``GET {base_url}onnx-workbench/view?path=<path relative to the server root>`` answers the
graph view payload (docs/view-schema.md); ``&group=<group id>`` one group,
``&details=<node id>`` one node's details, ``&search=<query>`` the hits of a search over
the whole model and ``&tensor=<weight>[&index=<slice>][&npy=1]`` a weight's values, which the
viewer fetches as the user expands groups, selects nodes, searches and opens a weight. With
``&diff=<second path>`` all of these are about the diff of the two files (``path`` is ``a``,
``diff`` is ``b``; ``workbench.diffing.open_diff``). Only files under the contents manager's root
are served, to users allowed to read contents, and files over ``MAX_MODEL_BYTES`` (2 GiB,
protobuf's own limit; configurable) are refused before they are read.

Models are opened and indexed in worker processes (``workbench._server_worker``), never in the
server: parsing a large model holds the GIL for seconds, and its index holds about the file's
size in memory. Each worker keeps the indexes it built, so a model's groups and details are
asked of the worker that opened it. Set in ``ServerApp.tornado_settings``:

- ``onnx_workbench_max_bytes``: the largest model file opened (default ``MAX_MODEL_BYTES``);
- ``onnx_workbench_workers``: worker processes, i.e. models opened at once (default ``WORKERS``);
- ``onnx_workbench_worker_bytes``: memory each worker keeps for indexes above its start-up size
  before it drops the least recently used (default ``WORKER_BYTES``; the last one asked for stays).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web

from . import _server_worker as worker
from ._server_worker import CacheKey
from .errors import UsageError
from .model.internal import PROTOBUF_LIMIT

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

ROUTE = "onnx-workbench/view"
#: The largest model file the route opens (the protobuf part; external weights are not read).
#: Set ``ServerApp.tornado_settings = {"onnx_workbench_max_bytes": N}`` to change it.
MAX_MODEL_BYTES = PROTOBUF_LIMIT
#: Worker processes: at most this many models are opened at once.
WORKERS = 2
#: Memory each worker keeps for view indexes above its start-up size.
WORKER_BYTES = worker.DEFAULT_BUDGET
#: What an error message shows in place of a path outside the server root.
OUTSIDE_ROOT = "<outside the server root>"

T = TypeVar("T")


class RouteError(Exception):
    """A request the route refuses: the HTTP status and the message shown to the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WorkerStopped(Exception):
    """A worker process ended (killed for memory, or crashed) before it answered."""


class Worker:
    """One worker process, started ahead (``start``) or on first use, and the models it holds."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._process: subprocess.Popen[bytes] | None = None
        # Held by the thread talking to the worker from request to answer, so that answers
        # cannot interleave even if the coroutine that waits for one is cancelled.
        self._lock = threading.Lock()
        #: The models whose indexes the worker holds, as of its last answer.
        self.held: set[CacheKey] = set()
        #: The models of the requests queued here or under way, one entry per request.
        self.wanted: list[CacheKey] = []

    @property
    def running(self) -> bool:
        """Whether the worker process is up."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts the worker process unless it is up; it gets ready (imports) on its own time."""
        if self.running:
            return
        self.held = set()
        # Started in the folder holding this package: ``python -m`` puts the working folder
        # first on sys.path, and the server's (the notebooks' folder) may hold modules that
        # shadow onnx or numpy.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workbench._server_worker", str(self._budget)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
        )

    def stop(self) -> None:
        """Ends the worker process now, busy or not; it holds nothing worth waiting for."""
        process, self._process = self._process, None
        self.held = set()
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    async def ask(self, key: CacheKey, request: dict[str, Any]) -> tuple[str, bytes]:
        """The worker's status and JSON body for ``request`` (for the model ``key``), after the
        requests before it."""
        self.wanted.append(key)
        try:
            header, body = await _in_daemon_thread(lambda: self._exchange(request))
        finally:
            self.wanted.remove(key)
        self.held = {tuple(held) for held in header["held"]}
        return header["status"], body

    def _exchange(self, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """Sends ``request`` and reads the answer (blocking: runs in a thread, one at a time)."""
        with self._lock:
            self.start()
            process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
                header = process.stdout.readline()
                body = process.stdout.readline()
            except (OSError, ValueError):  # the pipe broke, or was closed as the server stops
                body = b""
            if not body.endswith(b"\n"):  # the worker died before it answered
                if self._process is process:
                    self.stop()  # reaped before the next request, which starts a new one
                raise WorkerStopped
        return json.loads(header), body[:-1]


class WorkerPool:
    """The worker processes, and which one a request goes to.

    A request goes to the worker that holds its model or has it on the way, so a model is
    indexed once and its groups and details answered from that index; any other to the
    least busy worker, preferring one already running, then one holding less.
    """

    def __init__(self, workers: int, budget: int) -> None:
        self._workers = [Worker(budget) for _ in range(workers)]

    def start(self) -> None:
        """Starts the first worker ahead, so that the first model opened needs no start-up."""
        self._workers[0].start()

    async def ask(self, request: dict[str, Any]) -> tuple[str, bytes]:
        """The status and JSON body for ``request`` (see ``workbench._server_worker``)."""
        key = worker.cache_key(request)
        chosen = next((w for w in self._workers if key in w.held or key in w.wanted), None)
        if chosen is None:
            chosen = min(self._workers, key=lambda w: (len(w.wanted), not w.running, len(w.held)))
        return await chosen.ask(key, request)

    def stop(self) -> None:
        """Ends every worker process."""
        for each in self._workers:
            each.stop()


async def _in_daemon_thread(call: Callable[[], T]) -> T:
    """``call()`` in a daemon thread: a thread waiting for a busy worker must not hold up the
    server's exit (the interpreter joins its executors' threads before it runs atexit hooks)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (call(), None)
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine, which raises it
            outcome = (None, error)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: the server is exiting, nobody awaits this
            pass

    threading.Thread(target=run, name="onnx-workbench-view", daemon=True).start()
    return await done


def confine(root_dir: str, path: str) -> str:
    """The real path of ``path`` (relative to ``root_dir``), refusing anything outside the root.

    Absolute paths, ``..`` that climbs out and symlinks that point out are refused with 403.
    """
    if not path:
        raise RouteError(400, "The request names no model: add ?path=<file relative to the server root>.")
    if os.path.isabs(path) or path.startswith(("/", "\\")):
        raise RouteError(403, f"{path!r} is an absolute path; give a path relative to the server root.")
    root = os.path.realpath(root_dir)
    full = os.path.realpath(os.path.join(root, path))
    if os.path.commonpath([root, full]) != root:
        raise RouteError(403, f"{path!r} is outside the server root; only files under it can be opened.")
    return full


# What ends a path written bare in a message.
_AFTER_PATH = r"""\s'"()\[\]{},;"""


def relative_message(message: str, root_dir: str, names: Mapping[str, str]) -> str:
    """``message`` with no absolute path of the server in it: the paths in ``names`` (real path
    to the path the user asked for) read as the user named them, other paths under the root
    relative to it (the root itself as ``.``), and paths outside the root as ``OUTSIDE_ROOT``."""
    roots = sorted({os.path.realpath(root_dir), os.path.abspath(root_dir)}, key=len, reverse=True)
    # A path quoted as repr() writes it, up to its closing quote; else bare: the root and what
    # follows it (the root may hold spaces), or a slash and what follows, up to a space, quote
    # or bracket (and not the slash inside a word, as in "If/Loop").
    under_root = "".join(f"{re.escape(root)}(?![^/{_AFTER_PATH}.:])[^{_AFTER_PATH}]*|"
                         for root in roots if root != os.sep)
    pattern = re.compile(rf"""(?P<quote>['"])(?P<quoted>/[^\n]*?)(?P=quote)"""
                         rf"""|(?<![\w./~-])(?P<bare>{under_root}/[^{_AFTER_PATH}]+)""")

    def relative(path: str) -> str:
        if path in names:
            return names[path]
        for root in roots:
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                return os.path.relpath(path, root)
        return OUTSIDE_ROOT

    def replace(match: re.Match[str]) -> str:
        if match["quoted"] is not None:
            return match["quote"] + relative(match["quoted"]) + match["quote"]
        path = match["bare"].rstrip(".:")  # the end of a sentence, not of the path
        return relative(path) + match["bare"][len(path):]

    return pattern.sub(replace, message)


class ViewHandler(APIHandler):
    """``GET onnx-workbench/view``: a model file's view payload (or two files' diff's), one group, one
    node's details or the hits of a search over the whole model."""

    auth_resource = "contents"

    @property
    def workers(self) -> WorkerPool:
        """The server-wide pool of worker processes."""
        return self.settings["onnx_workbench_pool"]

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answers the payload, ``group=``, ``details=`` or ``search=`` as JSON, or ``{"message": ...}``
        on error."""
        try:
            body = await self._reply()
        except RouteError as error:
            self.set_status(error.status)
            body = json.dumps({"message": error.message}).encode()
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    async def _reply(self) -> bytes:
        path = self.get_query_argument("path", "")
        diff = self.get_query_argument("diff", None)
        root_dir = self.contents_manager.root_dir
        # What the messages call the view, and what they suggest in its place.
        if diff is None:
            subject, instead = repr(path), "wb.open(path)"
        else:
            subject, instead = f"the diff of {path!r} and {diff!r}", "wb.diff(a, b).view()"
        full, stat = await self._model_file(path, instead)
        names = {full: path}
        second = None
        if diff is not None:
            if not diff:
                raise RouteError(400, "The request's diff= names no model: give the file to diff with, relative "
                                      "to the server root.")
            full_b, stat_b = await self._model_file(diff, instead)
            second = {"path": full_b, "mtime_ns": stat_b.st_mtime_ns, "size": stat_b.st_size}
            names[full_b] = diff
        group = self.get_query_argument("group", None)
        details = self.get_query_argument("details", None) if group is None else None
        search = self.get_query_argument("search", None) if group is None and details is None else None
        tensor = self.get_query_argument("tensor", None)
        request = {"path": full, "mtime_ns": stat.st_mtime_ns, "size": stat.st_size, "diff": second,
                   "group": group, "details": details, "search": search, "tensor": tensor,
                   "index": self.get_query_argument("index", ""), "npy": self.get_query_argument("npy", "") == "1"}
        try:
            status, body = await self.workers.ask(request)
        except WorkerStopped:
            raise RouteError(500, f"The .onnx viewer's worker process stopped while opening {subject}, most likely "
                                  f"out of memory. Open it in a notebook with {instead}, or give the server "
                                  "more memory.") from None
        if status == worker.OK:
            return body
        if status == worker.MISSING:
            what = "model" if diff is None else "diff"
            raise RouteError(404, f"The {what} has no group {group!r}." if group is not None
                                  else f"The {what} has no node {details!r}.")
        # The message names files as the user does, never by their place on the server.
        message = relative_message(json.loads(body), root_dir, names)
        if status == worker.ERROR:
            raise RouteError(400, message)
        raise RouteError(500, f"Opening {subject} failed unexpectedly ({message}). This is a bug in ONNX "
                              "Workbench: please report it with the server's log.")

    async def _model_file(self, path: str, instead: str) -> tuple[str, os.stat_result]:
        """The real path and the stat of the model file ``path`` names, or the ``RouteError`` that
        refuses it: outside the root, hidden, missing, unreadable or over the size limit (the
        message suggests ``instead``, what to do in a notebook)."""
        root_dir = self.contents_manager.root_dir
        full = confine(root_dir, path)
        # Hidden is judged on the name asked for and on the file it resolves to, as the
        # contents manager sees both: a plainly named link to a hidden file is hidden too.
        resolved = Path(os.path.relpath(full, os.path.realpath(root_dir))).as_posix()
        try:
            if not self.contents_manager.allow_hidden and (
                await ensure_async(self.contents_manager.is_hidden(path))
                or await ensure_async(self.contents_manager.is_hidden(resolved))
            ):
                raise RouteError(403, f"{path!r} is hidden or links to a hidden file; the server does not "
                                      "serve hidden files.")
            if not os.path.isfile(full):
                raise RouteError(404, f"No file {path!r} under the server root.")
            stat = os.stat(full)
        except OSError as error:  # a link to itself, a file gone meanwhile, no permission
            raise RouteError(404, f"{path!r} cannot be read ({error.strerror}).") from None
        limit = int(self.settings.get("onnx_workbench_max_bytes", MAX_MODEL_BYTES))
        if stat.st_size > limit:
            raise RouteError(413, f"{path!r} is {stat.st_size / 1e6:,.1f} MB, over this server's limit of "
                                  f"{limit / 1e6:,.1f} MB for the .onnx viewer: open it in a notebook with "
                                  f"{instead}, or raise ServerApp.tornado_settings['onnx_workbench_max_bytes'].")
        return full, stat


def _setting(settings: Mapping[str, Any], name: str, default: int) -> int:
    """A positive whole-number setting from ``ServerApp.tornado_settings``."""
    value = settings.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"ServerApp.tornado_settings[{name!r}] is {value!r}; set it to a positive whole "
                         f"number (default {default}).")
    return value


#: Each server's workers, from linking the extension to loading it.
_pools: weakref.WeakKeyDictionary[ServerApp, WorkerPool] = weakref.WeakKeyDictionary()


def _link_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Starts the first worker process (called by jupyter_server as it starts, before it loads
    extensions): the worker imports onnx meanwhile, so that the first model opened need not wait."""
    settings = serverapp.tornado_settings
    pool = WorkerPool(_setting(settings, "onnx_workbench_workers", WORKERS),
                      _setting(settings, "onnx_workbench_worker_bytes", WORKER_BYTES))
    pool.start()
    # jupyter_server has no stop hook for a plain extension module; the workers would end on
    # their own when the server's end of their pipes closes, but one busy with a model would
    # first finish it.
    atexit.register(pool.stop)
    _pools[serverapp] = pool


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Adds the view route to the Jupyter server (called by jupyter_server at start-up)."""
    web_app = serverapp.web_app
    web_app.settings["onnx_workbench_pool"] = _pools.pop(serverapp)
    route = url_path_join(web_app.settings["base_url"], ROUTE)
    web_app.add_handlers(".*$", [(route, ViewHandler)])

