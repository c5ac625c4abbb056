"""Volume source space in an inner skull: mne_cli against MNE-Python.

A grid (5 mm by default, mindist 5 mm) inside the sample subject's inner
skull (``subjects/sample/bem/inner_skull.surf``, 2562 vertices); without
the shared test data a synthetic ico-4 ellipsoid of the same size is used.
``--mri`` adds the interpolator onto an MGZ volume for both libraries. Each
library runs in a fresh child process, one after the other, reading the
surface itself; the script prints times, peak memory and ratios. Usage::

    python benchmarks/bench_volume_source_space.py [--grid 5] [--mri T1.mgz]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure, report


def _sample_inner_skull() -> Path | None:
    root = os.environ.get("MNE_CLI_TESTING_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    path = base / "mne-testing" / "subjects" / "sample" / "bem" / "inner_skull.surf"
    return path if path.exists() else None


def write_surface(folder: Path) -> tuple[str, str]:
    """The bounding surface's path and a description of it."""

    from mne_cli.geometry.icosahedron import icosahedron
    from mne_cli.io.surface import write_freesurfer_surface

    sample = _sample_inner_skull()
    if sample is not None:
        return str(sample), "sample inner skull, 2562 vertices"
    rr, tris = icosahedron(4)
    path = folder / "inner_skull.surf"
    write_freesurfer_surface(path, rr * [0.07, 0.085, 0.08] + [0.0005, -0.0096, 0.0438], tris)
    return str(path), "synthetic ico-4 ellipsoid, 2562 vertices"


def _run_mne_cli(surf: str, grid: float, mri: str | None) -> None:
    from mne_cli.io.mri import read_mri_header
    from mne_cli.io.surface import read_freesurfer_surface
    from mne_cli.source_space.volume import make_volume_source_space

    rr, tris = read_freesurfer_surface(surf)
    header = read_mri_header(mri) if mri else None
    make_volume_source_space(rr, tris, grid / 1000, 0.005, 0.0, mri_header=header)


def _run_mne_python(surf: str, grid: float, mri: str | None) -> None:
    import mne

    mne.setup_volume_source_space(pos=grid, surface=surf, mindist=5.0, mri=mri, verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=float, default=5.0, help="grid spacing, mm (default 5)")
    parser.add_argument("--mri", help="MGZ volume for the interpolator (default: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        surf, what = write_surface(Path(tmp))
        print(f"{args.grid:g} mm grid, mindist 5 mm, in the {what}"
              + (f", interpolator onto {args.mri}" if args.mri else ""))
        case = (surf, args.grid, args.mri)
        results = {
            "mne_cli": measure(_run_mne_cli, case,
                               ["numpy", "scipy.spatial", "mne_cli.source_space.volume"]),
            "MNE-Python": measure(_run_mne_python, case, ["numpy", "scipy.spatial", "mne"]),
        }
    report(results, "mne_cli", "MNE-Python")


if __name__ == "__main__":
    main()
