"""Worker threads: as many as the process may use, and the same numbers for any count.

Part of issue 15: the thread count comes from the CPU affinity (what Slurm or
taskset grant), capped by $MNE_CLI_NUM_THREADS or $OMP_NUM_THREADS and by
--jobs, which caps OpenBLAS's threads as well; every parallel stage of
mne_cli writes disjoint blocks, so its results are bit for bit the same for
every count, and LAPACK's differ only by the order of its sums.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from mne_cli import parallel
from mne_cli.io.bem import read_bem_solution
from mne_cli.io.forward import read_forward


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(8)),
                        raising=False)
    for name in parallel.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    parallel.set_jobs(None)
    yield monkeypatch
    parallel.set_jobs(None)


@pytest.mark.parametrize("env, jobs, expected", [
    ({}, None, 8),
    ({"OMP_NUM_THREADS": "3"}, None, 3),
    ({"MNE_CLI_NUM_THREADS": "2", "OMP_NUM_THREADS": "6"}, None, 2),
    ({"MNE_CLI_NUM_THREADS": "64"}, None, 8),          # never more than the affinity
    ({"OMP_NUM_THREADS": "four"}, None, 8),            # not a count: ignored
    ({"OMP_NUM_THREADS": "0"}, None, 8),
    ({}, 3, 3),
    ({"OMP_NUM_THREADS": "2"}, 6, 2),
])
def test_worker_count(eight_cores, env, jobs, expected):
    for name, value in env.items():
        eight_cores.setenv(name, value)
    parallel.set_jobs(jobs)
    assert parallel.workers() == expected
    assert parallel.workers(tasks=1) == 1


def test_jobs_option_on_every_command():
    """--jobs N (and -j N) is accepted by every command; 0 is a usage error."""
    import importlib
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                            .read_text())["project"]["scripts"]
    for target in set(scripts.values()):
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert "--jobs" in {o for p in command.params for o in getattr(p, "opts", [])}, target
        result = CliRunner().invoke(command, ["--jobs", "0"])
        assert result.exit_code == 2 and "--jobs" in result.stderr


def _run(command, args):
    result = CliRunner().invoke(command, [str(a) for a in args] + ["-q"])
    assert result.exit_code == 0, result.stderr


def test_same_numbers_for_any_thread_count(sample_forward_inputs, tmp_path, eight_cores):
    """BEM solution and BEM/sphere forward solutions with 1, 2 and 5 threads: the same
    numbers (bit for bit but for rare float32 rounding flips, see _same_but_rounding)."""
    from mne_cli.cli.forward_solution import main as forward_solution
    from mne_cli.cli.prepare_bem_model import main as prepare_bem_model

    inputs = sample_forward_inputs
    solutions, forwards = [], []
    for jobs in (1, 2, 5):
        sol = tmp_path / f"j{jobs}-bem-sol.fif"
        _run(prepare_bem_model, ["--bem", inputs["bem"], "--sol", sol, "--jobs", jobs])
        solutions.append(read_bem_solution(sol).solution)
        pair = []
        for model in (["--bem", sol], []):
            fwd = tmp_path / f"j{jobs}-{len(model)}-fwd.fif"
            _run(forward_solution, ["--src", inputs["cortex"], "--meas", inputs["meas"],
                                    "--mri", inputs["trans"], "--fwd", fwd, "--jobs", jobs,
                                    *model])
            f = read_forward(fwd)
            pair.append(np.concatenate([f.meg.sol, f.eeg.sol]))
        forwards.append(pair)
    for solution, pair in zip(solutions[1:], forwards[1:]):
        _same_but_rounding(solution, solutions[0])
        for ours, first in zip(pair, forwards[0]):
            _same_but_rounding(ours, first)


def _same_but_rounding(ours: np.ndarray, first: np.ndarray) -> None:
    """Equal, or one float32 step apart where float64 results 1e-12 apart round apart.

    --jobs also caps LAPACK's threads, which changes the order of its sums
    (test_float64_solutions_agree_for_any_thread_count bounds that by 1e-12).
    """
    slack = np.spacing(np.abs(first).astype(np.float32)) + 1e-12 * np.abs(first).max()
    assert (np.abs(ours.astype(np.float64) - first) <= slack).all()
    assert (ours != first).mean() < 1e-3


def test_float64_solutions_agree_for_any_thread_count(eight_cores):
    """The float64 BEM solution with 1 and 2 BLAS/worker threads: within 1e-12 (relative)."""
    from mne_cli.bem.solution import make_bem_solution

    from .bem_helpers import three_layer_head

    surfaces = three_layer_head(3)
    results = []
    for jobs in (1, 2):
        with parallel.limits(jobs):
            results.append(make_bem_solution(surfaces).solution)
    scale = np.abs(results[0]).max()
    assert np.abs(results[1] - results[0]).max() <= 1e-12 * scale


def test_source_distances_in_worker_processes(eight_cores, monkeypatch):
    """Geodesic distances computed in worker processes equal the in-process ones."""
    from mne_cli.geometry.icosahedron import icosahedron
    from mne_cli.objects import SourceSpace
    from mne_cli.source_space import surface

    rr, tris = icosahedron(3)
    rr = rr * [0.07, 0.06, 0.05]
    nn = rr / np.linalg.norm(rr, axis=1, keepdims=True)

    def distances(jobs):
        space = SourceSpace(1, rr, nn, np.ones(len(rr), np.int64), tris=tris)
        parallel.set_jobs(jobs)
        surface.add_patch_info(space, dist_limit=0.05)
        return space.dist

    pools = []

    class CountedPool(surface.ProcessPoolExecutor):
        def __init__(self, count, **kwargs):
            pools.append(count)
            super().__init__(count, **kwargs)

    monkeypatch.setattr(surface, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(surface, "_PARALLEL_DISTANCE_SECONDS", 0.0)   # workers even for 642
    single, several = distances(1), distances(2)
    assert pools == [2]
    assert single.nnz > 10000 and (single != several).nnz == 0


def _blas_thread_counts():
    import scipy.linalg  # noqa: F401  (both numpy's and SciPy's OpenBLAS loaded)

    libraries = parallel.blas_libraries()
    if not libraries:
        pytest.skip("no OpenBLAS found in /proc/self/maps (not Linux, or another BLAS)")
    return [get() for get, _ in libraries]


def test_limits_cap_blas_threads_and_restore_them(monkeypatch):
    """parallel.limits(1) gives every loaded OpenBLAS one thread, and the old counts after."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(8)),
                        raising=False)
    before = _blas_thread_counts()
    with parallel.limits(1):
        assert _blas_thread_counts() == [1] * len(before)
        assert parallel.workers() == 1
    assert _blas_thread_counts() == before
    assert parallel.workers() == parallel.allowed_cores()


def test_jobs_option_caps_blas_inside_the_command(sample_forward_inputs, tmp_path, eight_cores,
                                                  monkeypatch):
    """prepare_bem_model --jobs 1 inverts with one BLAS thread (LAPACK follows --jobs)."""
    from mne_cli.bem import solution
    from mne_cli.cli.prepare_bem_model import main as prepare_bem_model

    _blas_thread_counts()
    seen = []
    invert = solution._invert_in_place

    def spy(matrix, source):
        seen.append(_blas_thread_counts())
        return invert(matrix, source)

    monkeypatch.setattr(solution, "_invert_in_place", spy)
    _run(prepare_bem_model, ["--bem", sample_forward_inputs["bem"],
                             "--sol", tmp_path / "one-bem-sol.fif", "--jobs", "1"])
    assert seen and all(counts == [1] * len(counts) for counts in seen)
