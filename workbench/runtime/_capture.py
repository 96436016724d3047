"""One run of a model with every intermediate value kept, within a memory budget."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import weakref
from typing import Iterator, Mapping, Sequence

import numpy as np

from ._session import Runner


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
        self._values: dict[str, np.ndarray] = {}
        self._folder: str | None = None

    def put(self, name: str, array: np.ndarray) -> None:
        """Keeps ``array`` (replacing any earlier value of ``name``)."""
        self.discard(name)
        if self.in_memory + array.nbytes <= self.budget or array.dtype == object:
            self._values[name] = array
            self.in_memory += array.nbytes
            return
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="workbench-capture-")
            weakref.finalize(self, shutil.rmtree, self._folder, True)
        path = os.path.join(self._folder, f"{len(os.listdir(self._folder))}.npy")
        np.save(path, array)
        self._values[name] = np.load(path, mmap_mode="r")
        self.spilled += array.nbytes

    def discard(self, name: str) -> None:
        old = self._values.pop(name, None)
        if old is not None and not isinstance(old, np.memmap):
            self.in_memory -= old.nbytes

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)


def _windows(names: Sequence[str], sizes: Mapping[str, float], limit: float) -> list[list[str]]:
    """Consecutive groups of ``names`` whose estimated sizes add up to at most ``limit``."""
    windows: list[list[str]] = [[]]
    total = 0.0
    for name in names:
        size = sizes.get(name, 0.0)
        if windows[-1] and total + size > limit:
            windows.append([])
            total = 0.0
        windows[-1].append(name)
        total += size
    return windows


def capture(run: Runner, names: Sequence[str], feeds: Mapping[str, np.ndarray], store: Store,
            sizes: Mapping[str, float], progress: bool = False) -> int:
    """Runs the model and keeps every value in ``names``; returns the number of runs it took.

    When the estimated total exceeds half the store's budget, values are captured in
    windows, one run each, so only one window's values are in memory at a time.
    """
    total = sum(sizes.get(n, 0.0) for n in names)
    limit = max(store.budget / 2, 1.0)
    windows = [list(names)] if total <= limit else _windows(names, sizes, limit)
    from tqdm.auto import tqdm

    for window in tqdm(windows, desc="capturing", unit="run", disable=not progress or len(windows) < 2):
        for name, value in zip(window, run(window, feeds)):
            store.put(name, np.asarray(value))
    return len(windows)


def estimate_sizes(shapes: Mapping[str, tuple], itemsizes: Mapping[str, int], dims: Mapping[str, int]) -> dict[str, float]:
    """Bytes per value from inferred shapes, symbolic dims replaced by ``dims``; unknown → NaN-free guess."""
    sizes: dict[str, float] = {}
    for name, shape in shapes.items():
        if shape is None:
            continue
        concrete = [d if isinstance(d, int) else dims.get(d) if isinstance(d, str) else None for d in shape]
        if all(isinstance(d, int) for d in concrete):
            sizes[name] = float(math.prod(concrete) * itemsizes.get(name, 4))
    return sizes
