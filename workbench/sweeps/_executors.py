"""Where a sweep's cases run: worker processes of this machine, or actors on a Ray cluster.

Both hand out one case at a time to each worker, so a slow case holds up no other, and both
turn a worker that dies in a case (a native crash of the runtime) into that case's error row:
the local executor through the isolated worker (:class:`workbench.runtime._isolate.Worker`,
started again for the next case), Ray through a new actor in the dead one's place.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import UsageError, WorkbenchError
from ._case import crashed_row, run_case, run_case_to_file

#: A case's spec and its rows, as the executors yield them, in the order cases finish.
Done = tuple[Mapping[str, Any], list[dict[str, Any]]]


def run_local(specs: Sequence[dict[str, Any]], workers: int) -> Iterator[Done]:
    """Runs the cases in ``workers`` worker processes, one case each at a time. Stopped early (an
    interrupt, an error of the caller's), it cancels the cases not started and kills the workers."""
    from ..runtime.internal import Worker

    pool = [Worker() for _ in range(workers)]
    free = list(pool)
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-sweep-") as folder, \
                ThreadPoolExecutor(max_workers=workers) as threads:

            def run(index: int, spec: dict[str, Any]) -> list[dict[str, Any]]:
                worker = free.pop()  # one per thread: the pool never runs more cases than workers
                try:
                    out = os.path.join(folder, f"case{index}.json")
                    worker.call(run_case_to_file, spec, out)
                    return json.loads(Path(out).read_text(encoding="utf-8"))
                finally:
                    free.append(worker)

            futures = {threads.submit(run, i, spec): spec for i, spec in enumerate(specs)}
            try:
                for future in as_completed(futures):
                    spec = futures[future]
                    try:
                        rows = future.result()
                    except WorkbenchError as exc:  # the worker crashed (SessionError), or could not start
                        rows = [crashed_row(spec, str(exc))]
                    yield spec, rows
            except BaseException:  # GeneratorExit or an interrupt: the pool would otherwise run every case
                for future in futures:
                    future.cancel()
                for worker in pool:
                    worker.kill()
                raise
    finally:
        for worker in pool:
            worker.close()


def run_ray(specs: Sequence[dict[str, Any]], workers: int | None, address: str | None, gpus: float,
            feeds: Sequence[Mapping[str, Any]] | None) -> Iterator[Done]:
    """Runs the cases on Ray actors, each holding its sessions from case to case.

    Joins the cluster at ``address`` (``"auto"``, ``"ray://host:10001"``), or this process's
    cluster if Ray is started already, or starts a local one. Models travel through Ray's object
    store once each (by path where they keep external data: the cluster must then share the
    folder), the sweep's own inputs too; each actor writes a model to a file of its own once.
    """
    try:
        import ray
        from ray.exceptions import RayActorError
    except ImportError:
        raise UsageError("executor='ray' needs Ray: pip install 'onnx-workbench[ray]'.") from None
    if not ray.is_initialized():
        # The actors import what this process imports (a custom check's module too).
        path = os.pathsep.join(p or os.getcwd() for p in sys.path)
        ray.init(address=address, num_cpus=workers if address is None else None,  # a local cluster of that size
                 include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    threads = specs[0]["threads"] if specs else 1
    count = max(1, min(workers or int(ray.available_resources().get("CPU", 1)) // threads, len(specs)))
    actor: Any = ray.remote(num_cpus=threads, num_gpus=gpus)(_RayCase)
    files = dict.fromkeys(path for spec in specs for path in (spec["reference"], spec["candidate"]))
    blobs = {path: ray.put(_shipped(path)) for path in files}  # each model once, not once per case
    inputs = ray.put(list(feeds)) if feeds is not None else None
    idle = [actor.remote() for _ in range(count)]
    queue = list(specs)[::-1]
    running: dict[Any, tuple[Any, dict[str, Any]]] = {}
    try:
        while queue or running:
            while idle and queue:
                spec = queue.pop()
                handle = idle.pop()
                ref = handle.run.remote(spec, blobs[spec["reference"]], blobs[spec["candidate"]], inputs)
                running[ref] = handle, spec
            [ref], _ = ray.wait(list(running), num_returns=1)
            handle, spec = running.pop(ref)
            try:
                yield spec, ray.get(ref)
                idle.append(handle)
            except RayActorError as exc:  # the actor's process died in this case: a new one takes its place
                yield spec, [crashed_row(spec, f"The worker running this case died ({type(exc).__name__}): "
                                               "likely a native crash of the runtime on this model.")]
                idle.append(actor.remote())
    finally:
        ray.wait([handle.close.remote() for handle in idle], num_returns=len(idle), timeout=30)
        for handle in idle + [h for h, _ in running.values()]:
            ray.kill(handle)


class _RayCase:
    """A Ray actor that runs cases: its process keeps sessions and converted models between them."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="workbench-sweep-actor-")
        self._files: dict[str, str] = {}

    def run(self, spec: dict[str, Any], reference: bytes | str, candidate: bytes | str,
            feeds: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
        """:func:`run_case` with the models written here once (or read at their shared path)."""
        local = dict(spec, reference=self._file(spec["reference"], reference),
                     candidate=self._file(spec["candidate"], candidate))
        return run_case(local, feeds)

    def close(self) -> None:
        """Removes the models written here (``ray.kill`` runs no clean-up of the actor's)."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def _file(self, path: str, blob: bytes | str) -> str:
        if isinstance(blob, str):
            return blob
        if path not in self._files:
            self._files[path] = os.path.join(self._folder, f"model{len(self._files)}.onnx")
            Path(self._files[path]).write_bytes(blob)
        return self._files[path]


def _shipped(path: str) -> bytes | str:
    """A model file's bytes for the object store; its path where it keeps data in other files."""
    import onnx

    from ..model.internal import iter_graphs

    data = Path(path).read_bytes()  # read once: parsed here, shipped as it is
    proto = onnx.load_model_from_string(data)
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for g in iter_graphs(proto.graph)
                   for t in g.initializer)
    return path if external else data
