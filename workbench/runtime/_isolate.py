"""Running a model in a worker process: a native crash of the runtime (an abort, a segfault)
then raises :class:`~workbench.errors.SessionError` here instead of killing this process —
in a notebook, the kernel and everything in it.

One worker serves every isolated run of this process: a Python interpreter (``python -c``,
with this process's import path) started on first use, which keeps each model's session
between runs, and is started again after it crashed. Feeds go to it, and outputs come back,
as files in a private temporary folder (``.npy`` for plain arrays, memory-mapped; sequences,
maps and ml_dtypes arrays pickled): no pickles of large arrays cross the process boundary.
Calls and replies are one line of JSON each, over the worker's stdin and a duplicate of its
stdout (stray output of native code goes to its log instead).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import errors
from ..errors import SessionError, WorkbenchError
from ._values import Value, load, nbytes, save

#: Sessions the worker keeps, most recently used last; older ones are closed.
SESSIONS_KEPT = 16


class Worker:
    """A Python process that runs calls for this one, kept between calls.

    :meth:`call` runs an importable function there with JSON arguments. Its exception comes
    back as :class:`SessionError` with its type and message (``ValueError: …``; a
    :class:`WorkbenchError` keeps its own type and words); a native crash as :class:`SessionError`
    naming the signal and the worker's last words, after which the next call starts a new worker.
    """

    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="workbench-worker-"))
        self._state: dict[str, Any] = {"process": None}  # shared with the finalizer, which must not hold self
        self._lock = threading.Lock()
        weakref.finalize(self, _stop, self._state, self._folder)

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs, else None."""
        process = self._state["process"]
        return process.pid if process is not None and process.poll() is None else None

    def call(self, function: Callable[..., None], *args: Any) -> None:
        """Calls ``function(*args)`` in the worker and waits for it (see the class)."""
        request = json.dumps({"module": function.__module__, "name": function.__qualname__, "args": list(args)})
        with self._lock:
            process = self._state["process"]
            if process is None or process.poll() is not None:
                process = self._start()
            try:
                process.stdin.write(request + "\n")
                process.stdin.flush()
                reply = process.stdout.readline()
            except (BrokenPipeError, OSError):
                reply = ""
            except BaseException:  # interrupted while waiting: the reply would answer the next call
                _stop(self._state, patience=0)
                raise
            if not reply:
                raise self._crashed(process)
        answer = json.loads(reply)
        if "type" in answer:
            if answer["ours"]:  # a typed error keeps its type and its words
                raise getattr(errors, answer["type"], SessionError)(answer["message"])
            raise SessionError(f"{answer['type']}: {answer['message']}")

    def kill(self) -> None:
        """Kills the worker process now, from any thread: a call in flight raises
        :class:`SessionError`; the next call starts a new worker."""
        process = self._state["process"]
        if process is not None and process.poll() is None:
            process.kill()

    def close(self) -> None:
        """Ends the worker process (with no call in flight); the next call starts a new one."""
        with self._lock:
            _stop(self._state)

    def _start(self) -> subprocess.Popen:
        log = open(self._folder / "worker.log", "wb")  # noqa: SIM115 - the child keeps it; closed below
        # The worker sees this process's import path, so that it imports the same code.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
        try:
            process = subprocess.Popen([sys.executable, "-c", _PROGRAM], env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        finally:
            log.close()
        self._state["process"] = process
        return process

    def _crashed(self, process: subprocess.Popen) -> SessionError:
        _stop(self._state)
        code = process.returncode
        cause = (f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
                 else f"exit code {code}")
        lines = (self._folder / "worker.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last = " ".join(lines[-3:])[-400:]
        return SessionError(f"The runtime crashed ({cause}) while running the model in a worker process; this "
                            "process is unharmed. The model likely holds something the runtime cannot handle: "
                            "check Model.problems, try provider='reference', and report the crash to the runtime "
                            "with the model attached." + (f" The worker's last words: {last}" if last else ""))


def _stop(state: dict[str, Any], folder: Path | None = None, patience: float = 5.0) -> None:
    """Ends the worker (it exits when its input closes; killed if it has not after ``patience``
    seconds) and removes ``folder``."""
    process = state["process"]
    state["process"] = None
    if process is not None:
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=patience)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


_shared: Worker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> Worker:
    """The worker every isolated run of this process uses (started on its first call)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Worker()
        return _shared


#: The worker's program.
_PROGRAM = "from workbench.runtime._isolate import serve; serve()"


def serve() -> None:
    """The worker's side of :meth:`Worker.call`: for each line of stdin, import the function,
    call it, and reply with one line: ``{}``, or the error's type and message."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else printed, by Python or native code, goes to the log
    for line in sys.stdin:
        call = json.loads(line)
        reply: dict[str, Any] = {}
        try:
            function: Any = importlib.import_module(call["module"])
            for part in call["name"].split("."):
                function = getattr(function, part)
            function(*call["args"])
        except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
            ours = isinstance(exc, WorkbenchError)
            if not ours:
                traceback.print_exc()  # the worker's log, for whoever debugs it; the message stays clean
            reply = {"type": type(exc).__name__, "message": str(exc), "ours": ours}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


class IsolatedRunner:
    """A runner (``run(output_names, feeds) -> arrays``) whose every run happens in the shared
    worker process; see :func:`workbench.runtime._session.make_runner` for what runs there.

    The worker keeps the session between runs. A large feed (over 1 MiB, or memory-mapped:
    mostly the model's weights) is kept in a file per feed name, written again only when the
    name comes with another array object.
    """

    def __init__(self, light: Any, providers: list[str], threads: int = 0, problems: Sequence[str] = ()) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="workbench-isolated-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._model = self._folder / "model.onnx"
        self._model.write_bytes(light.SerializeToString())
        self._options = {"providers": list(providers), "threads": threads, "problems": list(problems)}
        self._written: dict[str, tuple[Any, str]] = {}  # feed name: (the array, its file)

    def __call__(self, names: Sequence[str], feeds: Mapping[str, Value]) -> list[Value]:
        with tempfile.TemporaryDirectory(dir=self._folder) as run:
            inputs = {name: self._file(name, value, Path(run)) for name, value in feeds.items()}
            shared_worker().call(_run_model, str(self._model), self._options, list(names), inputs, run)
            # our own files, in a folder only this user can read: object arrays (strings) may be
            # pickled. Loaded, not mapped: the folder goes when this run returns.
            return [load(str(Path(run) / f"out{i}.npy")) for i in range(len(names))]

    def _file(self, name: str, value: Value, run: Path) -> str:
        """The file holding feed ``name``: written once for an array seen before, else per run."""
        kept = self._written.get(name)
        if kept is not None and kept[0] is value:
            return kept[1]
        if isinstance(value, np.memmap) or nbytes(value) > (1 << 20):  # a weight, likely: kept for the next runs
            # one file per feed name, rewritten when the name comes with another array
            path = kept[1] if kept is not None else str(self._folder / f"feed{len(self._written)}.npy")
            save(path, value)
            self._written[name] = (value, path)
            return path
        path = str(run / f"{len(os.listdir(run))}.npy")
        save(path, value)
        return path


#: The worker's sessions, by model file: the runner of each, most recently used last.
_sessions: dict[str, Callable[[Sequence[str], Mapping[str, Value]], list[Value]]] = {}


def _run_model(model: str, options: dict, names: list[str], inputs: dict[str, str], folder: str) -> None:
    """The worker's side: run the light model (its session made once, then kept), write every output."""
    import onnx

    from ._session import make_runner

    for gone in [path for path in _sessions if not os.path.exists(path)]:  # its runner was dropped
        del _sessions[gone]
    run = _sessions.pop(model, None) or make_runner(onnx.load(model), options["providers"], options["threads"],
                                                    problems=options["problems"])
    _sessions[model] = run
    while len(_sessions) > SESSIONS_KEPT:
        del _sessions[next(iter(_sessions))]
    feeds = {name: load(file, mmap=True) for name, file in inputs.items()}
    for i, value in enumerate(run(names, feeds)):
        save(os.path.join(folder, f"out{i}.npy"), value)
