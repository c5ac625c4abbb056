"""Worker threads: as many as the process may use, and the same numbers for any count.

Part of issue 15: the thread count comes from the CPU affinity (what Slurm or
taskset grant), capped by $MNE_CLI_NUM_THREADS or $OMP_NUM_THREADS and by
--jobs; every parallel stage writes disjoint blocks, so the results are bit
for bit the same for every count.
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
    """BEM solution and BEM/sphere forward solutions with 1, 2 and 5 threads: identical."""
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
        np.testing.assert_array_equal(solution, solutions[0])
        for ours, first in zip(pair, forwards[0]):
            np.testing.assert_array_equal(ours, first)


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
