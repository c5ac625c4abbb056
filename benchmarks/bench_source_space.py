"""Cortical source spaces: mne_cli against MNE-Python on the refcase subject.

ico-4 sources on both fsaverage5 hemispheres of ``../shared/data/refcase``
(10242 vertices each) with patch information and source distances, each
case in its own child process (times and peak memory). Cases:

* distances up to 7 mm (``make_source_space --ico 4 --dist 7``) against
  MNE-Python's ``setup_source_space(add_dist='patch')`` followed by
  ``add_source_space_distances(dist_limit=0.007)``;
* all distances (``--dist`` without a useful limit) against MNE-Python's
  default ``setup_source_space(add_dist=True)``.

Usage::

    python benchmarks/bench_source_space.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure, report


def _subjects_dir() -> Path:
    root = os.environ.get("MNE_CLI_TESTING_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "refcase" / "subjects"


def ours(subjects_dir: str, dist_limit: float) -> None:
    from mne_cli.source_space.surface import add_patch_info, make_surface_source_space

    for hemi in ("lh", "rh"):
        surf = Path(subjects_dir) / "sample" / "surf"
        space = make_surface_source_space(surf / f"{hemi}.white", grade=4,
                                          sphere_path=surf / f"{hemi}.sphere", subject="sample")
        add_patch_info(space, dist_limit)


def theirs(subjects_dir: str, dist_limit: float) -> None:
    import mne

    if dist_limit == float("inf"):
        mne.setup_source_space("sample", "ico4", subjects_dir=subjects_dir, add_dist=True,
                               verbose=False)
    else:
        src = mne.setup_source_space("sample", "ico4", subjects_dir=subjects_dir,
                                     add_dist="patch", verbose=False)
        mne.add_source_space_distances(src, dist_limit=dist_limit, verbose=False)


def main() -> None:
    subjects_dir = _subjects_dir()
    if not (subjects_dir / "sample" / "surf" / "lh.sphere").exists():
        sys.exit(f"refcase subject not found under {subjects_dir}")
    mine = ["numpy", "scipy.sparse.csgraph", "mne_cli.source_space.surface"]
    for limit, label in ((0.007, "7 mm"), (float("inf"), "all")):
        args = (str(subjects_dir), limit)
        results = {f"mne_cli, distances {label}": measure(ours, args, mine),
                   f"MNE-Python, distances {label}": measure(theirs, args, ["numpy", "mne"])}
        report(results, *results)
        print()


if __name__ == "__main__":
    main()
