"""The ``.onnx`` file viewer's worker process: it opens models and answers from their view indexes.

``workbench._server`` runs a few of these (``python -m workbench._server_worker <bytes>``) so that
opening a model, which holds the GIL for seconds on a large one, and the memory of its view index
stay out of the Jupyter server. A worker answers one request at a time. A request is one JSON line
on its stdin: ``{"path": <real path>, "mtime_ns": ..., "size": ..., "diff": <the file to diff it
with, as {"path", "mtime_ns", "size"}, or null>, "group": <id or null>, "details": <id or null>,
"search": <query or null>, "tensor": <weight name or null>, "index": <slice text>, "npy": <bool>}``.
The answer is two lines on its stdout: a
JSON header, ``{"status": OK | ERROR | MISSING | FAILED, "held": [<cache keys>]}``, then the body:
the JSON the route answers (OK), the error message as a JSON string (ERROR, FAILED), or ``null``
(MISSING: no such group or node).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import traceback
from collections import OrderedDict
from typing import Any, BinaryIO

from .errors import WorkbenchError
from .graph import LAZY_PAYLOAD_BYTES, ViewIndex, build_view
from .model import open as open_model

#: What a view is built from: a model file's identity on disk (its real path, modification time
#: in ns and size), or two files' identities one after the other for the view of their diff.
CacheKey = tuple[Any, ...]


def cache_key(request: dict[str, Any]) -> CacheKey:
    """The key of the view a request asks about: its file's, followed by its ``diff`` file's."""
    files = [request, *([request["diff"]] if request.get("diff") else [])]
    return tuple(value for each in files for value in (each["path"], each["mtime_ns"], each["size"]))


def _files_bytes(key: CacheKey) -> int:
    """The size of the model files a key names."""
    return sum(key[2::3])

OK = "ok"  # the body is the view payload, the group or the node's details
ERROR = "error"  # the model does not open: the body is workbench's message
MISSING = "missing"  # the model has no such group or node
FAILED = "failed"  # an unexpected exception (its traceback went to stderr): the body is its message

#: Memory a worker keeps for view indexes above its start-up size, unless told otherwise.
DEFAULT_BUDGET = 512 * 2**20


class IndexCache:
    """View indexes, least recently used dropped first while the worker holds more than ``budget``
    bytes above its size at start-up; the index asked for last always stays, however large.

    What the indexes hold is measured as the process's growth in resident memory where the system
    tells it (Linux), and taken as no less than their model files' size (a parsed model is about
    that size), which is the only measure elsewhere.
    """

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._entries: OrderedDict[CacheKey, ViewIndex] = OrderedDict()
        self._start = _resident_bytes()

    def keys(self) -> list[CacheKey]:
        """The models held, least recently used first."""
        return list(self._entries)

    def get(self, key: CacheKey) -> ViewIndex:
        """The index of the model file ``key`` names (of the diff of the two it names), built (and
        older versions of it dropped) if absent."""
        index = self._entries.pop(key, None)
        if index is None:
            paths = key[0::3]
            for stale in [held for held in self._entries if held[0::3] == paths]:  # a file was replaced
                del self._entries[stale]
            self._shrink(keep=0, room=_files_bytes(key))  # make room first: the build's peak comes on top
            if len(paths) == 2:
                from .diffing import open_diff  # a diff's imports are paid for by those who diff

                index = open_diff(*paths)
            else:
                index = build_view(open_model(key[0]))
        self._entries[key] = index
        self._shrink(keep=1, room=0)
        return index

    def _held_bytes(self) -> int:
        files = sum(_files_bytes(key) for key in self._entries)
        resident = _resident_bytes()
        if resident is None or self._start is None:
            return files
        # At least the files' size: the process may have shrunk since start-up for other reasons.
        return max(resident - self._start, files)

    def _shrink(self, keep: int, room: int) -> None:
        while len(self._entries) > keep and self._held_bytes() + room > self._budget:
            self._entries.popitem(last=False)
            # A ViewIndex lives in reference cycles: only the collector frees it, and only
            # then does the resident size (measured next) go down.
            gc.collect()


def _resident_bytes() -> int | None:
    """This process's resident memory, where ``/proc`` tells it; else ``None``."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def answer(cache: IndexCache, request: dict[str, Any]) -> tuple[str, Any]:
    """The status and the body (a JSON-ready value) for one request."""
    try:
        return _lookup(cache.get(cache_key(request)), request)
    except WorkbenchError as error:
        # Only the message leaves this block: the exception and its traceback, whose frames
        # hold the file's bytes, are freed as the block ends.
        return ERROR, str(error)
    except Exception as error:  # noqa: BLE001 - a bug: logged, and answered as one, not the worker's end
        traceback.print_exc()
        return FAILED, f"{type(error).__name__}: {error}"


def _lookup(index: ViewIndex, request: dict[str, Any]) -> tuple[str, Any]:
    if request.get("tensor") is not None:  # a wrong name or index is answered with its message
        return OK, index.tensor(request["tensor"], request.get("index") or "", bool(request.get("npy")))
    try:
        if request.get("group") is not None:
            return OK, index.group(request["group"])
        if request.get("details") is not None:
            return OK, index.details(request["details"])
        if request.get("search") is not None:
            return OK, index.search(request["search"])
    except KeyError:
        return MISSING, None
    return OK, index.payload(budget=LAZY_PAYLOAD_BYTES)


def serve(requests: BinaryIO, replies: BinaryIO, budget: int) -> None:
    """Answers request lines from ``requests`` on ``replies`` until ``requests`` ends."""
    cache = IndexCache(budget)
    for line in requests:
        status, body = answer(cache, json.loads(line))
        header = json.dumps({"status": status, "held": cache.keys()})
        try:
            replies.write(f"{header}\n{json.dumps(body)}\n".encode())
            replies.flush()
        except BrokenPipeError:  # the server is gone
            return


def main(argv: list[str]) -> None:
    """The worker process: ``python -m workbench._server_worker [budget in bytes]``."""
    budget = int(argv[0]) if argv else DEFAULT_BUDGET
    # Ctrl-C in the server's terminal reaches its whole process group: the server decides
    # whether to stop, and stops its workers when it does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        # Opening a model is background work: the server's event loop (and the kernels)
        # come first when the CPUs are busy.
        os.nice(5)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Whatever a library prints goes to the server's log, not into the replies.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies, budget)


if __name__ == "__main__":
    main(sys.argv[1:])
