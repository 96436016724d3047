"""One run of a model with every intermediate value kept, within a memory budget."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._session import Runner
from ._values import Value, as_value, is_special, nbytes


def default_budget() -> int:
    """A quarter of the machine's memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30


class Store:
    """Captured values by name: in memory up to ``budget`` bytes, memory-mapped files past it."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.in_memory = 0
        self.spilled = 0
        self._values: dict[str, Value] = {}
        self._folder: str | None = None
        self._files = 0  # spilled files written: the next one's name

    def put(self, name: str, value: Value) -> None:
        """Keeps ``value`` (replacing any earlier value of ``name``). Only plain arrays spill:
        sequences, maps, optionals, strings and ml_dtypes arrays stay in memory."""
        self.discard(name)
        size = nbytes(value)
        fits = self.in_memory + size <= self.budget
        if fits or not isinstance(value, np.ndarray) or value.dtype == object or is_special(value.dtype):
            self._values[name] = value
            self.in_memory += size
            return
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="workbench-capture-")
            weakref.finalize(self, shutil.rmtree, self._folder, True)
        path = os.path.join(self._folder, f"{self._files}.npy")  # (listing the folder each time: 20 s at 7,680)
        self._files += 1
        np.save(path, value)
        self._values[name] = np.load(path, mmap_mode="r")
        self.spilled += size

    def discard(self, name: str) -> None:
        if name not in self._values:
            return
        old = self._values.pop(name)
        if not isinstance(old, np.memmap):
            self.in_memory -= nbytes(old)

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values


def capture(runner_for: Callable[[Sequence[str]], Runner], names: Sequence[str], feeds: Mapping[str, Value],
            store: Store, sizes: Mapping[str, float], progress: bool = False) -> int:
    """Runs the model and keeps every value in ``names``; returns the number of runs it took.

    ``runner_for(window)`` makes a runner whose model has exactly ``window`` as outputs.
    When the values' total exceeds half the store's budget, they are captured in windows
    of consecutive values, one run each: values outside a window are plain intermediates
    of that run, freed as soon as they are used, so one window's values are in memory at
    a time. ``sizes`` are the bytes expected per value; a value of unknown size counts as
    the largest size seen so far.
    """
    limit = max(store.budget / 2, 1.0)
    largest = max(sizes.values(), default=0.0)
    remaining = list(names)
    runs = 0
    bar: Any = None  # a tqdm bar, once windows are needed
    try:
        while remaining:
            window: list[str] = []
            total = 0.0
            for name in remaining:
                size = sizes.get(name, largest)
                if window and total + size > limit:
                    break
                window.append(name)
                total += size
            if bar is None and progress and len(window) < len(remaining):
                # windows: a bar, shown once the capture has taken 2 s (one run has no progress to show,
                # and a small model's capture prints nothing)
                from tqdm.auto import tqdm

                bar = tqdm(total=len(remaining), desc="capturing", unit="value", leave=False, delay=2)
            for name, value in zip(window, runner_for(window)(window, feeds)):
                value = as_value(value)
                largest = max(largest, float(nbytes(value)))
                store.put(name, value)
            remaining = remaining[len(window):]
            runs += 1
            if bar is not None:
                bar.update(len(window))
    finally:
        if bar is not None:
            bar.close()
    return runs


def refused(loads: Callable[[Sequence[str]], bool], names: Sequence[str]) -> list[str]:
    """The values of ``names`` that a provider will not give as outputs: ``loads(window)`` says
    whether a session with ``window`` as outputs loads; halves are tried until single values
    fail alone (squeezenet on OpenVINO: 1 value of 106, in 13 loads)."""
    found: list[str] = []
    stack = [list(names)]
    while stack:
        window = stack.pop()
        if loads(window):
            continue
        if len(window) == 1:
            found.append(window[0])
            continue
        half = len(window) // 2
        stack += [window[half:], window[:half]]
    return found
