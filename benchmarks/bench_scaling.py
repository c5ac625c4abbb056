"""Multi-core scaling: each parallel stage with 1, 2, ... and all allowed cores.

Stages (3-layer ico-4 head of ``bench_bem.py``, 7686 unknowns):

* ``coefficients``: the linear-collocation coefficient assembly (worker
  threads, :mod:`mne_cli.parallel`);
* ``inversion``: the LAPACK inversion of the system matrix (BLAS threads);
* ``BEM solution``: the whole ``make_bem_solution`` (both, and the
  isolated-skull step), side by side with ``mne.make_bem_solution``;
* ``source loop``: the forward's infinite-medium potentials at every node and
  the GEMM with a 366-channel transfer matrix, for 5124 sources (worker
  threads plus BLAS), as in a MEG+EEG forward of an ico-4 cortex.

Each run is a fresh child process whose BLAS threads and mne_cli worker
threads are both limited to the count (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``--jobs``); MNE-Python
runs with all cores. The table gives each stage's time, its speed-up over one
core and the parallel efficiency (speed-up / cores). Usage::

    python benchmarks/bench_scaling.py [--grade 4] [--cores 1,2,16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bem import write_head
from measure import measure

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _stages(path: str, cores: int) -> None:
    """Time the stages in this (child) process; print one line per stage."""
    import numpy as np

    from mne_cli import parallel
    from mne_cli.bem import collocation, solution
    from mne_cli.forward import bem_fields
    from mne_cli.io.bem import read_bem_surfaces

    parallel.set_jobs(cores)
    surfaces = solution.select_model_surfaces(read_bem_surfaces(path), path)
    times = {}
    start = time.perf_counter()
    matrix = collocation.linear_coefficients(surfaces)
    times["coefficients"] = time.perf_counter() - start
    start = time.perf_counter()
    solution._invert_in_place(matrix + np.eye(len(matrix)), path)
    times["inversion"] = time.perf_counter() - start
    start = time.perf_counter()
    solved = solution.make_bem_solution(read_bem_surfaces(path))
    times["BEM solution"] = time.perf_counter() - start
    nodes, _ = bem_fields.bem_nodes(solved)
    transfer = np.random.default_rng(0).standard_normal((366, len(nodes)))
    unit = np.random.default_rng(1).normal(size=(5124, 3))
    sources = 0.06 * unit / np.linalg.norm(unit, axis=1, keepdims=True)
    start = time.perf_counter()
    for _ in bem_fields.bem_gain(sources, nodes, transfer, np.eye(3)):
        pass
    times["source loop"] = time.perf_counter() - start
    for name, seconds in times.items():
        print(f"STAGE {name} {seconds:.3f}", flush=True)


def _run_stages(path: str, cores: int, out: str) -> None:
    """Child task: run :func:`_stages` and keep its lines in ``out``."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _stages(path, cores)
    Path(out).write_text(buffer.getvalue())


def _run_mne_python(path: str) -> None:
    import mne

    mne.make_bem_solution(path, verbose=False)


def _with_threads(cores: int | None):
    """Set (or, with None, clear) the thread variables the child inherits."""
    for name in THREAD_VARIABLES:
        if cores is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(cores)


def main() -> None:
    from mne_cli.parallel import allowed_cores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=int, default=4)
    parser.add_argument("--cores", help="comma-separated core counts (default 1, 2, 4, ... all)")
    args = parser.parse_args()
    most = allowed_cores()
    counts = (sorted({int(c) for c in args.cores.split(",")}) if args.cores else
              sorted({1, most, *(c for c in (2, 4, 8, 16, 32, 64) if c < most)}))
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "head-bem.fif")
        print(write_head(Path(path), args.grade), f"; {most} cores allowed")
        table = {}
        for cores in counts:
            _with_threads(cores)
            out = str(Path(tmp) / f"stages-{cores}.txt")
            measure(_run_stages, (path, cores, out), ["numpy", "scipy.linalg",
                                                      "mne_cli.bem.solution"])
            for line in Path(out).read_text().splitlines():
                _, rest = line.split(" ", 1)
                name, seconds = rest.rsplit(" ", 1)
                table.setdefault(name, {})[cores] = float(seconds)
        _with_threads(None)
        mne_seconds = measure(_run_mne_python, (path,), ["numpy", "mne"])[0]
    print(f"\n{'stage':14s}" + "".join(f"{f'{c} core' + ('s' if c > 1 else ''):>22s}"
                                        for c in counts))
    for name, row in table.items():
        cells = []
        for cores in counts:
            speedup = row[counts[0]] / row[cores] * counts[0]
            cells.append(f"{row[cores]:7.2f}s x{speedup:4.1f} {speedup / cores:4.0%}")
        print(f"{name:14s}" + "".join(f"{cell:>22s}" for cell in cells))
    ours = table["BEM solution"][counts[-1]]
    print(f"\nMNE-Python make_bem_solution ({most} cores): {mne_seconds:.2f}s; mne_cli with "
          f"{counts[-1]} cores is {mne_seconds / ours:.1f}x faster; its inversion is "
          f"{table['inversion'][counts[-1]] / ours:.0%} of its solution time")


if __name__ == "__main__":
    main()
