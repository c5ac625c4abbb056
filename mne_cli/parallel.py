"""How many worker threads the parallel stages of a command use.

The stages that split their work over threads (BEM coefficient assembly, the
MEG field kernels and the forward source loop) use every core this process
may run on: ``os.sched_getaffinity`` (what Slurm, ``taskset`` or a container
grant, not the machine's total), capped by ``$MNE_CLI_NUM_THREADS`` or else
``$OMP_NUM_THREADS`` (the usual way to limit a job's threads), and by the
``--jobs`` option every command takes. Each task writes its own block of the
result, so the numbers do not depend on the count.

Worker threads run numpy's elementwise kernels and small matrix products
(OpenBLAS gives a product of m n k below a few 10^5 a single thread, and
these stay near that size); the large matrix products and the LAPACK
inversion run on the calling thread between parallel stages, with BLAS's
own threads. Capping BLAS inside the workers (threadpoolctl) is left for
when a runtime dependency for it is accepted.
"""

from __future__ import annotations

import os

#: Environment variables that cap the thread count, in order of precedence.
THREAD_VARIABLES = ("MNE_CLI_NUM_THREADS", "OMP_NUM_THREADS")

_jobs: int | None = None


def allowed_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by the environment.

    ``$MNE_CLI_NUM_THREADS``, or else ``$OMP_NUM_THREADS``, caps the count
    when it holds a positive integer; other values are ignored.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return max(1, min(cores, int(value)))
    return max(1, cores)


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
