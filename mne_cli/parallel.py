"""How many worker threads the parallel stages of a command use.

The stages that split their work over threads (BEM coefficient assembly, the
MEG field kernels and the forward source loop) use every core this process
may run on: ``os.sched_getaffinity`` (what Slurm, ``taskset`` or a container
grant, not the machine's total), capped by ``$MNE_CLI_NUM_THREADS`` or else
``$OMP_NUM_THREADS`` (the usual way to limit a job's threads), and by the
``--jobs`` option every command takes. Each task writes its own block of the
result, so the numbers do not depend on the count.

Worker threads run numpy's elementwise kernels and small matrix products;
while :func:`thread_map` runs them, BLAS is held to one thread (its own
threads would contend with the workers: a Galerkin double layer of two
ico-3 surfaces took 0.76 s on 2 cores with both, 0.46 s without). The large
matrix products and the LAPACK factorisations run on the calling thread
between parallel stages, with BLAS's own threads, so the two never run at
once. OpenBLAS itself follows
the affinity and ``$OMP_NUM_THREADS``, not ``--jobs`` or
``$MNE_CLI_NUM_THREADS``: :func:`limits` caps its threads through its own
``*_set_num_threads`` entry points (what threadpoolctl does, for the
OpenBLAS builds that numpy and SciPy ship, found in ``/proc/self/maps``;
elsewhere the cap applies to mne_cli's own threads only).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

#: Environment variables that cap the thread count, in order of precedence.
THREAD_VARIABLES = ("MNE_CLI_NUM_THREADS", "OMP_NUM_THREADS")

_jobs: int | None = None


def allowed_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by the environment.

    ``$MNE_CLI_NUM_THREADS``, or else ``$OMP_NUM_THREADS``, caps the count
    when it holds a positive integer; other values are ignored.
    """
    cores = _affinity()
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return max(1, min(cores, int(value)))
    return max(1, cores)


def _affinity() -> int:
    """Cores this process may run on (its CPU affinity; the machine's count elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def set_jobs(jobs: int | None) -> None:
    """The ``--jobs`` cap of this command (None: no cap beyond :func:`allowed_cores`)."""
    global _jobs
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    _jobs = jobs


def workers(tasks: int | None = None) -> int:
    """Worker threads for a stage of ``tasks`` independent tasks (None: many)."""
    count = allowed_cores() if _jobs is None else min(_jobs, allowed_cores())
    if tasks is not None:
        count = min(count, tasks)
    return max(1, count)


def thread_map(function: Callable, items: Iterable, on_done: Callable | None = None) -> list:
    """``[function(item) for item in items]`` on the worker threads (:func:`workers`).

    With more than one thread, BLAS runs single-threaded meanwhile.
    ``on_done(item)`` is called on this thread as each item's task finishes
    (progress).
    The first exception of a task is raised here.
    """
    items = list(items)
    count = workers(len(items))
    if count <= 1:
        results = []
        for item in items:
            results.append(function(item))
            if on_done is not None:
                on_done(item)
        return results
    with _blas_threads_at_most(1), ThreadPoolExecutor(count) as pool:
        futures = {pool.submit(function, item): item for item in items}
        for future in as_completed(futures):
            future.result()
            if on_done is not None:
                on_done(futures[future])
        return [future.result() for future in futures]


@contextlib.contextmanager
def limits(jobs: int | None):
    """Within the block, at most ``jobs`` worker threads and as many BLAS threads.

    ``jobs`` None means every allowed core (:func:`allowed_cores`). The
    previous cap and BLAS thread counts are restored on leaving, so a
    command run in-process (or an API call) leaves no trace.
    """
    global _jobs
    previous = _jobs
    set_jobs(jobs)
    try:
        with _blas_threads_at_most(workers()):
            yield
    finally:
        _jobs = previous


#: Thread-count getters and setters of the OpenBLAS builds in use: plain,
#: 64-bit-integer, and the scipy-openblas wheels of numpy (64) and SciPy (32).
_BLAS_ENTRY_POINTS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
)


def blas_libraries() -> list[tuple[object, object]]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process.

    Linux only (read from ``/proc/self/maps``); empty elsewhere or when none
    is loaded.
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    found = []
    for path in sorted(p for p in paths if p.startswith("/")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _BLAS_ENTRY_POINTS:
            if hasattr(library, get_name) and hasattr(library, set_name):
                found.append((getattr(library, get_name), getattr(library, set_name)))
                break
    return found


@contextlib.contextmanager
def _blas_threads_at_most(count: int):
    """Cap every loaded OpenBLAS at ``count`` threads within the block.

    Nothing is done when the cap is at least the cores the process may use
    (OpenBLAS already follows the affinity). Otherwise numpy's and SciPy's
    BLAS are loaded first, so that both are capped.
    """
    if count >= _affinity():
        yield
        return
    import numpy  # noqa: F401  (loads numpy's OpenBLAS)
    import scipy.linalg  # noqa: F401  (and SciPy's)

    changed = []
    for get_threads, set_threads in blas_libraries():
        before = get_threads()
        if before > count:
            set_threads(count)
            changed.append((set_threads, before))
    try:
        yield
    finally:
        for set_threads, before in changed:
            set_threads(before)
