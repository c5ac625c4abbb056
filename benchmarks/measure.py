"""Run one benchmark case in a fresh child process and report its time and peak memory.

A child per case keeps each library's peak resident memory its own; the
modules named in ``preload`` are imported before the clock starts, so
import time and import memory are not counted.
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import time


def _child(task, args, preload, queue) -> None:
    for module in preload:
        importlib.import_module(module)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    task(*args)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    queue.put((seconds, peak / 1024, (peak - baseline) / 1024))


def measure(task, args=(), preload=()) -> tuple[float, float, float]:
    """Seconds, peak RSS (MiB) and peak growth over the post-import baseline (MiB).

    ``task`` must be a module-level function (it is pickled to the child).
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(task, args, tuple(preload), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def report(results: dict[str, tuple[float, float, float]], ours: str, theirs: str) -> None:
    """Print a table of the cases and the speed and memory ratios of two of them."""
    print(f"{'':28s} {'time':>9s} {'peak RSS':>10s} {'growth':>10s}")
    for name, (seconds, peak, growth) in results.items():
        print(f"{name:28s} {seconds:8.2f}s {peak:8.0f}MiB {growth:8.0f}MiB")
    a, b = results[ours], results[theirs]
    print(f"{ours} vs {theirs}: {b[0] / a[0]:.1f}x faster, {b[1] / a[1]:.1f}x less peak memory")
