"""Synthetic BEM heads made of icosahedron meshes, for the BEM tests."""

from __future__ import annotations

import numpy as np

from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import vertex_normals
from mne_cli.objects import BemSurface

# Scalp, outer skull, inner skull (m) and conductivities (S/m): MNE's defaults.
RADII = (0.090, 0.085, 0.080)
SIGMAS = (0.3, 0.006, 0.3)
IDS = (4, 3, 1)

# A non-concentric head: shifted, squashed layers that still nest with a
# few mm to spare everywhere.
CENTRES = ((0.0, 0.0, 0.0), (0.002, -0.001, 0.003), (0.003, -0.002, 0.005))
SCALES = ((1.0, 0.92, 0.97), (1.0, 0.91, 0.95), (1.0, 0.90, 0.93))


def sphere_surface(grade: int, radius: float, centre=(0, 0, 0), scale=(1, 1, 1), *,
                   surf_id: int = 1, sigma: float | None = 0.3) -> BemSurface:
    """An ico-``grade`` mesh on an (ellipsoidal) sphere, metres, outward-wound."""
    rr, tris = icosahedron(grade)
    rr = rr * radius * np.asarray(scale) + np.asarray(centre)
    return BemSurface(surf_id, sigma, rr, tris, vertex_normals(rr, tris))


def three_layer_head(grade: int, concentric: bool = True, sigmas=SIGMAS) -> list[BemSurface]:
    """Scalp, outer skull and inner skull, outermost first."""
    return [sphere_surface(grade, radius, (0, 0, 0) if concentric else centre,
                           (1, 1, 1) if concentric else scale, surf_id=i, sigma=sigma)
            for radius, centre, scale, i, sigma in zip(RADII, CENTRES, SCALES, IDS, sigmas)]


def collocation_points(surfaces: list[BemSurface], constant: bool) -> list[np.ndarray]:
    """Vertices (linear) or triangle centroids (constant collocation) of each surface."""
    return [s.rr[s.tris].mean(axis=1) if constant else s.rr for s in surfaces]


def bem_potentials(solution: np.ndarray, surfaces: list[BemSurface], r0, q,
                   constant: bool = False) -> np.ndarray:
    """Potentials (V) at the scalp's collocation points for a dipole q (A m) at r0 (m).

    V = S (source_mult / (4 pi) * q.(r - r0) / |r - r0|^3), the way MNE's
    forward code applies a BEM solution.
    """
    from mne_cli.bem.solution import conductivity_factors

    points = collocation_points(surfaces, constant)
    source_mult, _, _ = conductivity_factors([s.sigma for s in surfaces])
    mult = np.repeat(source_mult / (4 * np.pi), [len(p) for p in points])
    diff = np.vstack(points) - r0
    v0 = diff @ q / np.linalg.norm(diff, axis=1) ** 3 * mult
    return solution[:len(points[0])] @ v0
