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
            raise SessionError(error["message"] if error["ours"] else f"{error['type']}: {error['message']}")
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
        message = str(exc) if ours else f"{exc}\n{traceback.format_exc(limit=4)}"
        Path(call["failure"]).write_text(json.dumps({"type": type(exc).__name__, "message": message,
                                                     "ours": ours}), encoding="utf-8")
        sys.exit(1)


class IsolatedRunner:
    """A runner (``run(output_names, feeds) -> arrays``) whose every run happens in a worker
    process; see :func:`workbench.runtime._session.make_runner` for what runs there."""

    def __init__(self, light: Any, providers: list[str], threads: int = 0, problems: Sequence[str] = ()) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="workbench-isolated-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._model = self._folder / "model.onnx"
        self._model.write_bytes(light.SerializeToString())
        self._options = {"providers": list(providers), "threads": threads, "problems": list(problems)}
        self._runs = 0

    def __call__(self, names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        run = self._folder / f"run{self._runs}"
        self._runs += 1
        run.mkdir()
        inputs = {}
        for i, (name, value) in enumerate(feeds.items()):
            np.save(run / f"in{i}.npy", np.asarray(value), allow_pickle=True)
            inputs[name] = f"in{i}.npy"
        run_in_worker(_run_model, str(self._model), self._options, list(names), inputs, str(run))
        # our own files, in a folder only this user can read: object arrays (strings) may be pickled
        return [np.load(run / f"out{i}.npy", mmap_mode="r", allow_pickle=True) for i in range(len(names))]


def _run_model(model: str, options: dict, names: list[str], inputs: dict[str, str], folder: str) -> None:
    """The worker's side: load the light model, run it, write every output."""
    import onnx

    from ._session import make_runner

    run = make_runner(onnx.load(model), options["providers"], options["threads"], problems=options["problems"])
    feeds = {name: np.load(os.path.join(folder, file), allow_pickle=True) for name, file in inputs.items()}
    for i, value in enumerate(run(names, feeds)):
        np.save(os.path.join(folder, f"out{i}.npy"), np.asarray(value), allow_pickle=True)
