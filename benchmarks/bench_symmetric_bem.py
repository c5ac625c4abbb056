"""Symmetric BEM: mne_cli against OpenMEEG (and mne_cli's linear collocation), EEG on 3 shells.

Issue 17's head: concentric spheres of 87, 92 and 100 mm (ico-``grade``
meshes), 0.33 / 0.0042 / 0.33 S/m, four random dipoles at each depth below
the inner skull, potentials at the scalp vertices, average reference. For
each solver: the time to build (and factor or invert) the head model and to
compute the potentials, and the worst RDM and mean MAG against the exact
series per depth. OpenMEEG's triangles are wound inward: two corners are
swapped, as MNE-Python does.
Usage::

    python benchmarks/bench_symmetric_bem.py [--grade 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analytic_sphere import sphere_potential

RADII = (0.087, 0.092, 0.100)
SIGMAS = (0.33, 0.0042, 0.33)
DEPTHS = (0.0445, 0.019, 0.0105, 0.00625, 0.00285)


def _dipoles(seed=0):
    rng = np.random.default_rng(seed)
    result = []
    for depth in DEPTHS:
        directions = rng.standard_normal((4, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        result.append((depth, directions * (RADII[0] - depth), rng.standard_normal((4, 3))))
    return result


def ours_symmetric(rr, tris, dipoles):
    from mne_cli.bem import symmetric

    started = time.perf_counter()
    system = symmetric.assemble([(rr * r, tris) for r in RADII], SIGMAS)
    rhs = np.column_stack([symmetric.dipole_right_hand_side(system, p, m)
                           for _, positions, moments in dipoles
                           for p, m in zip(positions, moments)])
    scalp = symmetric.solve(system, rhs)[system.potential_slices[-1]].T   # one factorisation
    potentials = np.split(scalp, np.cumsum([len(p) for _, p, _ in dipoles])[:-1])
    return time.perf_counter() - started, potentials


def ours_linear(rr, tris, dipoles):
    from mne_cli.bem.solution import conductivity_factors, make_bem_solution
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.objects import BemSurface

    started = time.perf_counter()
    surfaces = [BemSurface(i, s, rr * r, tris, vertex_normals(rr * r, tris))
                for i, s, r in zip((4, 3, 1), SIGMAS[::-1], RADII[::-1])]
    solution = make_bem_solution(surfaces).solution
    mult = np.repeat(conductivity_factors(SIGMAS[::-1])[0] / (4 * np.pi), len(rr))
    nodes = np.vstack([s.rr for s in surfaces])
    potentials = []
    for _, positions, moments in dipoles:
        rows = []
        for p, m in zip(positions, moments):
            diff = nodes - p
            rows.append(solution[:len(rr)] @ (diff @ m / np.linalg.norm(diff, axis=1) ** 3
                                              * mult))
        potentials.append(np.array(rows))
    return time.perf_counter() - started, potentials


def run_openmeeg(rr, tris, dipoles):
    import openmeeg as om

    started = time.perf_counter()
    meshes = [(np.ascontiguousarray(rr * r), np.ascontiguousarray(tris[:, [1, 0, 2]], np.int64))
              for r in RADII]
    geometry = om.make_nested_geometry(meshes, SIGMAS)
    head = om.HeadMat(geometry)
    head.invert()
    electrodes = om.make_sensors(np.ascontiguousarray(rr * RADII[-1]), geometry=geometry)
    head_to_eeg = om.Head2EEGMat(geometry, electrodes)
    potentials = []
    for _, positions, moments in dipoles:
        sources = om.Matrix(np.asfortranarray(np.c_[positions, moments]))
        gain = om.GainEEG(head, om.DipSourceMat(geometry, sources, "Brain"), head_to_eeg)
        potentials.append(gain.array().T)
    return time.perf_counter() - started, potentials


def errors(potentials, positions, moments, scalp):
    rdm, mag = [], []
    for v, p, m in zip(potentials, positions, moments):
        exact = sphere_potential(scalp, p, m, RADII[::-1], SIGMAS[::-1])
        a, b = v - v.mean(), exact - exact.mean()
        rdm.append(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))
        mag.append(np.linalg.norm(a) / np.linalg.norm(b))
    return max(rdm), float(np.mean(mag))


def main() -> None:
    from mne_cli.geometry.icosahedron import icosahedron

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=int, default=3, help="icosahedron grade (default 3)")
    args = parser.parse_args()
    rr, tris = icosahedron(args.grade)
    dipoles = _dipoles()
    solvers = {"mne_cli symmetric": ours_symmetric, "mne_cli linear": ours_linear}
    try:
        import openmeeg  # noqa: F401
        solvers["OpenMEEG"] = run_openmeeg
    except ImportError:
        print("openmeeg is not installed: pip install openmeeg")
    results = {name: solver(rr, tris, dipoles) for name, solver in solvers.items()}
    print(f"3 shells 87/92/100 mm, ico-{args.grade} ({3 * len(rr)} vertices)")
    header = "depth".ljust(10) + "".join(f"{name:>24}" for name in results)
    print(header + "\n" + "-" * len(header))
    for k, (depth, positions, moments) in enumerate(dipoles):
        cells = [errors(potentials[k], positions, moments, rr * RADII[-1])
                 for _, potentials in results.values()]
        print(f"{depth * 1e3:5.2f} mm  " + "".join(f"   RDM {r:.4f} MAG {m:.3f}"
                                                    for r, m in cells))
    print("time".ljust(10) + "".join(f"{seconds:>23.1f}s" for seconds, _ in results.values()))
    if "OpenMEEG" in results:
        ratio = results["OpenMEEG"][0] / results["mne_cli symmetric"][0]
        print(f"mne_cli symmetric vs OpenMEEG: {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
