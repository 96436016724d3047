"""Running a model in a worker process: a native crash of the runtime (an abort, a segfault)
then raises :class:`~workbench.errors.SessionError` here instead of killing this process —
in a notebook, the kernel and everything in it.

The worker is a fresh interpreter (``python -c``, with this process's import path). Feeds go to it, and outputs come back, as
``.npy`` files in a private temporary folder, memory-mapped on this side: no pickles of
large arrays cross the process boundary.
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
import traceback
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import errors
from ..errors import SessionError, WorkbenchError


def run_in_worker(function: Callable[..., None], *args: Any) -> None:
    """Calls ``function(*args)`` in a fresh Python process and waits for it.

    ``function`` must be importable (defined at a module's top level) and ``args`` plain
    JSON. Its exception comes back as :class:`SessionError` with the same message (a
    :class:`WorkbenchError` keeps its words); a native crash as :class:`SessionError`
    naming the signal and the worker's last words.
    """
    with tempfile.TemporaryDirectory(prefix="workbench-worker-") as folder:
        call, failure = Path(folder) / "call.json", Path(folder) / "error.json"
        call.write_text(json.dumps({"module": function.__module__, "name": function.__qualname__,
                                    "args": list(args), "failure": str(failure)}), encoding="utf-8")
        # The worker sees this process's import path, so that it imports the same code.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
        done = subprocess.run([sys.executable, "-c", _WORKER, str(call)], env=env, capture_output=True, text=True)
        if done.returncode == 0:
            return
        if failure.exists():
            error = json.loads(failure.read_text(encoding="utf-8"))
            if error["ours"]:  # a typed error keeps its type and its words
                raise getattr(errors, error["type"], SessionError)(error["message"])
            raise SessionError(f"{error['type']}: {error['message']}")
        code = done.returncode
        cause = (f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
                 else f"exit code {code}")
        last = " ".join(done.stderr.strip().splitlines()[-3:])[-400:]
        raise SessionError(f"The runtime crashed ({cause}) while running the model in a worker process; this "
                           "process is unharmed. The model likely holds something the runtime cannot handle: "
                           "check Model.problems, try provider='reference', and report the crash to the runtime "
                           "with the model attached." + (f" The worker's last words: {last}" if last else ""))


#: The worker's program: run the call described in the JSON file named on its command line.
_WORKER = "import sys; from workbench.runtime._isolate import serve; serve(sys.argv[1])"


def serve(call_file: str) -> None:
    """The worker's side of :func:`run_in_worker`: import the function, call it, report failure."""
    call = json.loads(Path(call_file).read_text(encoding="utf-8"))
    try:
        function = importlib.import_module(call["module"])
        for part in call["name"].split("."):
            function = getattr(function, part)
        function(*call["args"])
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        ours = isinstance(exc, WorkbenchError)
        if not ours:
            traceback.print_exc()  # the worker's stderr, for whoever debugs it; the message stays clean
        message = str(exc)
        Path(call["failure"]).write_text(json.dumps({"type": type(exc).__name__, "message": message,
                                                     "ours": ours}), encoding="utf-8")
        sys.exit(1)


class IsolatedRunner:
    """A runner (``run(output_names, feeds) -> arrays``) whose every run happens in a worker
    process; see :func:`workbench.runtime._session.make_runner` for what runs there.

    Each run costs an interpreter start and a session (~0.5 s): fine for capturing a run,
    slow for many single-node runs (``Debugger.run_node``, ``compare``'s local errors).
    A feed passed again as the same array object (the model's weights) is written once.
    """

    def __init__(self, light: Any, providers: list[str], threads: int = 0, problems: Sequence[str] = ()) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="workbench-isolated-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._model = self._folder / "model.onnx"
        self._model.write_bytes(light.SerializeToString())
        self._options = {"providers": list(providers), "threads": threads, "problems": list(problems)}
        self._written: dict[str, tuple[Any, str]] = {}  # feed name: (the array, its file)

    def __call__(self, names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        with tempfile.TemporaryDirectory(dir=self._folder) as run:
            inputs = {name: self._file(name, value, Path(run)) for name, value in feeds.items()}
            run_in_worker(_run_model, str(self._model), self._options, list(names), inputs, run)
            # our own files, in a folder only this user can read: object arrays (strings) may be
            # pickled. Loaded, not mapped: the folder goes when this run returns.
            return [np.load(Path(run) / f"out{i}.npy", allow_pickle=True) for i in range(len(names))]

    def _file(self, name: str, value: np.ndarray, run: Path) -> str:
        """The file holding feed ``name``: written once for an array seen before, else per run."""
        kept = self._written.get(name)
        if kept is not None and kept[0] is value:
            return kept[1]
        if isinstance(value, np.memmap) or value.nbytes > (1 << 20):  # a weight: kept for the next runs
            path = str(self._folder / f"feed{len(self._written)}.npy")
            np.save(path, np.asarray(value), allow_pickle=True)
            self._written[name] = (value, path)
            return path
        path = str(run / f"{len(os.listdir(run))}.npy")
        np.save(path, np.asarray(value), allow_pickle=True)
        return path


def _run_model(model: str, options: dict, names: list[str], inputs: dict[str, str], folder: str) -> None:
    """The worker's side: load the light model, run it, write every output."""
    import onnx

    from ._session import make_runner

    run = make_runner(onnx.load(model), options["providers"], options["threads"], problems=options["problems"])
    feeds = {name: _load(file) for name, file in inputs.items()}
    for i, value in enumerate(run(names, feeds)):
        np.save(os.path.join(folder, f"out{i}.npy"), np.asarray(value), allow_pickle=True)


def _load(file: str) -> np.ndarray:
    """A feed, memory-mapped; arrays of Python objects (strings) cannot be, and are read."""
    try:
        return np.load(file, mmap_mode="r")
    except ValueError:
        return np.load(file, allow_pickle=True)
