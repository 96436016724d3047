"""Timing shared by the benchmark scripts: two calls run side by side in one process."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def alternating_medians(mine: Callable[[], Any], theirs: Callable[[], Any], runs: int) -> tuple[float, float]:
    """The median seconds of ``runs`` calls of each, alternating, after one warm-up call of each."""
    mine(), theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for spent, call in zip(times, (mine, theirs)):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])
