"""BEM solution of a 3-layer ico-4 head: mne_cli against MNE-Python.

The head is the sample subject's scalp, outer skull and inner skull
(``subjects/sample/bem/*.surf``, 2562 vertices each, so a 7686 x 7686
system) with 0.3 / 0.006 / 0.3 S/m; without the shared test data a
synthetic ico-4 head of the same size is used. Each library solves it in a
fresh child process, one after the other, so that each one's peak resident
memory can be read on its own; the script prints times, peaks and ratios.
Usage::

    python benchmarks/bench_bem.py [--grade 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

SURFACES = (("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006), ("inner_skull", 1, 0.3))


def _sample_bem_dir() -> Path | None:
    root = os.environ.get("MNE_CLI_TESTING_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    folder = base / "mne-testing" / "subjects" / "sample" / "bem"
    return folder if all((folder / f"{n}.surf").exists() for n, _, _ in SURFACES) else None


def write_head(path: Path, grade: int) -> str:
    """Write the benchmark head's -bem.fif; return a description of it."""
    import numpy as np

    from mne_cli.geometry.icosahedron import icosahedron
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.io.bem import write_bem_surfaces
    from mne_cli.io.surface import read_freesurfer_surface
    from mne_cli.objects import BemSurface

    folder = _sample_bem_dir()
    surfaces = []
    for (name, surf_id, sigma), radius in zip(SURFACES, (0.09, 0.085, 0.08)):
        if folder is not None and grade == 4:
            rr, tris = read_freesurfer_surface(folder / f"{name}.surf")
        else:
            rr, tris = icosahedron(grade)
            rr = rr * radius * np.array([1.0, 0.9, 0.95])
        surfaces.append(BemSurface(surf_id, sigma, rr, tris, vertex_normals(rr, tris)))
    write_bem_surfaces(path, surfaces)
    what = "sample subject" if folder is not None and grade == 4 else "synthetic"
    return f"{what} 3-layer ico-{grade} head, {sum(len(s.rr) for s in surfaces)} unknowns"


def _run_mne_cli(path: str) -> None:
    from mne_cli.bem.solution import make_bem_solution
    from mne_cli.io.bem import read_bem_surfaces

    make_bem_solution(read_bem_surfaces(path))


def _run_mne_python(path: str) -> None:
    import mne

    mne.make_bem_solution(path, verbose=False)


def _child(which: str, path: str, queue) -> None:
    import numpy  # noqa: F401  (imports are not part of the measurement)

    if which == "MNE-Python":
        import mne  # noqa: F401
    else:
        import mne_cli.bem.solution  # noqa: F401
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    (_run_mne_python if which == "MNE-Python" else _run_mne_cli)(path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    queue.put((seconds, peak / 1024, (peak - baseline) / 1024))


def measure(which: str, path: str) -> tuple[float, float, float]:
    """Seconds, peak RSS (MiB) and peak growth over the post-import baseline (MiB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(which, path, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=int, default=4, help="icosahedron grade (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "head-bem.fif")
        print(write_head(Path(path), args.grade))
        results = {which: measure(which, path) for which in ("mne_cli", "MNE-Python")}
    print(f"{'':12s} {'time':>9s} {'peak RSS':>10s} {'growth':>10s}")
    for which, (seconds, peak, growth) in results.items():
        print(f"{which:12s} {seconds:8.1f}s {peak:8.0f}MiB {growth:8.0f}MiB")
    ours, theirs = results["mne_cli"], results["MNE-Python"]
    print(f"speed-up {theirs[0] / ours[0]:.1f}x, peak memory ratio {theirs[1] / ours[1]:.1f}x")


if __name__ == "__main__":
    main()
