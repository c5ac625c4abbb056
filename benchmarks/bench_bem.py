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
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure, report

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=int, default=4, help="icosahedron grade (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "head-bem.fif")
        print(write_head(Path(path), args.grade))
        results = {
            "mne_cli": measure(_run_mne_cli, (path,), ["numpy", "mne_cli.bem.solution"]),
            "MNE-Python": measure(_run_mne_python, (path,), ["numpy", "mne"]),
        }
    report(results, "mne_cli", "MNE-Python")


if __name__ == "__main__":
    main()
