"""The nearest-vertex rule of --ico/--oct picking: ties go to the lowest vertex number.

mne_cli.source_space.surface.nearest_vertices: among the vertices whose distance
from a point is within NEAREST_TIE_TOLERANCE (times the coordinates' scale) of
the smallest, the lowest-numbered is taken, whatever order a tree visits them in.
"""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.geometry.icosahedron import icosahedron, octahedron
from mne_cli.geometry.surface import edge_multiplicity
from mne_cli.io.surface import read_freesurfer_surface, write_freesurfer_surface
from mne_cli.source_space.surface import (
    NEAREST_TIE_TOLERANCE,
    nearest_vertices,
    pick_by_sphere,
)

TOL = NEAREST_TIE_TOLERANCE


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _ring(axis: np.ndarray, angle: float, count: int, phase: float) -> np.ndarray:
    """``count`` unit vectors at ``angle`` from ``axis``, evenly around it: all equidistant."""
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = _unit(np.cross(axis, helper))
    e2 = np.cross(axis, e1)
    turns = phase + 2 * np.pi * np.arange(count) / count
    return (np.cos(angle) * axis + np.sin(angle) * (np.cos(turns)[:, np.newaxis] * e1
                                                    + np.sin(turns)[:, np.newaxis] * e2))


def _brute_force_rule(rr: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The stated rule by exhaustive distances (no tree)."""
    d = np.linalg.norm(points[:, np.newaxis] - rr[np.newaxis], axis=2)
    tied = d <= d.min(axis=1, keepdims=True) + TOL
    return np.argmax(tied, axis=1)  # first True = lowest vertex number


def _planted(seed: int):
    """Random unit points plus, around 40 targets, rings of 2-6 exactly equidistant vertices.

    The rings are inserted at random places in the numbering, so that the
    lowest-numbered member is sometimes the first and sometimes the last
    written. Returns the points, the targets and each target's ring members.
    """
    rng = np.random.default_rng(seed)
    background = _unit(rng.standard_normal((3000, 3)))
    targets = _unit(rng.standard_normal((40, 3)))
    rings = [_ring(t, 0.004, int(rng.integers(2, 7)), rng.uniform(0, 2 * np.pi))
             for t in targets]
    # Keep the background off the rings' caps so that a ring holds the nearest vertices.
    near = np.array([np.max(background @ targets.T, axis=1) > np.cos(0.02)]).ravel()
    background = background[~near]
    rr = np.concatenate([background, *rings])
    order = rng.permutation(len(rr))
    rr = rr[order]
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    members, start = [], len(background)
    for ring in rings:
        members.append(position[start:start + len(ring)])
        start += len(ring)
    return rr, targets, members


def test_tolerance_covers_float32_storage_of_a_tie():
    """An exact tie stored as float32 mm on a 100 mm sphere differs by at most 2**-23 < TOL.

    So the rule still calls it a tie, while the trees answer by rounding noise.
    """
    assert TOL == 2.0 ** -22
    rng = np.random.default_rng(7)
    gaps = []
    for _ in range(400):
        target = _unit(rng.standard_normal(3))
        pair = _ring(target, rng.uniform(0.002, 0.05), 2, rng.uniform(0, np.pi))
        stored = _unit((100.0 * pair).astype(np.float32).astype(np.float64) / 1000)
        gaps.append(abs(np.diff(np.linalg.norm(stored - target, axis=1)))[0])
    gaps = np.array(gaps)
    assert gaps.max() <= 2.0 ** -23
    assert (gaps > 1e-12).mean() > 0.5  # storage does break most ties


def test_planted_ties_go_to_the_lowest_number():
    rr, targets, members = _planted(seed=1)
    chosen = nearest_vertices(rr, targets, TOL)
    np.testing.assert_array_equal(chosen, [m.min() for m in members])
    np.testing.assert_array_equal(chosen, _brute_force_rule(rr, targets))
    # Which member is lowest-numbered varies with the insertion order above.
    assert len({int(np.argmin(m)) for m in members}) > 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_renumbering_changes_only_the_numbers(seed):
    """Permuted vertices: the lowest number in the new numbering, a tie member all the same."""
    rr, targets, members = _planted(seed=3)
    perm = np.random.default_rng(seed).permutation(len(rr))  # new vertex j is old perm[j]
    new_number = np.empty_like(perm)
    new_number[perm] = np.arange(len(perm))
    chosen = nearest_vertices(rr[perm], targets, TOL)
    np.testing.assert_array_equal(chosen, [new_number[m].min() for m in members])
    assert all(perm[c] in m for c, m in zip(chosen, members))
    # Reversed order: the tree meets each tie in the opposite order; the rule does not care.
    reverse = nearest_vertices(rr[::-1], targets, TOL)
    np.testing.assert_array_equal(reverse, [(len(rr) - 1 - m).min() for m in members])


def test_near_ties_within_and_beyond_the_tolerance():
    """A lower-numbered vertex half a tolerance farther wins; four tolerances farther loses."""
    target = np.array([0.0, 0.0, 1.0])
    base = _ring(target, 0.01, 1, 0.3)[0]
    d0 = np.linalg.norm(base - target)

    def at_distance(d, turn):
        angle = 2 * np.arcsin(d / 2)  # chord d on the unit sphere
        return _ring(target, angle, 1, turn)[0]

    far = _unit(np.array([1.0, 0, 0]))
    within = np.array([at_distance(d0 + TOL / 2, 2.0), base, far])
    beyond = np.array([at_distance(d0 + 4 * TOL, 2.0), base, far])
    assert nearest_vertices(within, target, TOL)[0] == 0
    assert nearest_vertices(beyond, target, TOL)[0] == 1


def test_many_way_tie_beyond_the_trees_first_two():
    """Six equidistant vertices, numbered so the tree's two nearest need not hold the lowest."""
    target = _unit(np.array([0.3, -0.2, 0.9]))
    ring = _ring(target, 0.01, 6, 0.1)
    rr = np.concatenate([_unit(np.array([[1.0, 0, 0], [0, 1.0, 0]])), ring[::-1]])
    assert nearest_vertices(rr, target, TOL)[0] == 2
    assert nearest_vertices(rr[::-1], target, TOL)[0] == 0


def test_one_vertex():
    assert nearest_vertices(np.array([[0.0, 0, 1]]), np.eye(3), TOL).tolist() == [0, 0, 0]


def _picks(sphere_rr, tris, grade):
    template_rr, template_tris = octahedron(grade)
    _, use_tris = pick_by_sphere(sphere_rr, edge_multiplicity(tris, len(sphere_rr)),
                                 template_rr, template_tris, "lh.white")
    picks = np.full(len(template_rr), -1)
    picks[template_tris] = use_tris
    return picks, _unit(template_rr)


def test_pick_by_sphere_on_a_symmetric_sphere(tmp_path):
    """An icosahedron sphere (mirror symmetric, as fsaverage's) stored as float32 mm.

    The octahedron template lies on its symmetry planes, so many template
    vertices are as far from two sphere vertices: every pick is the
    lowest-numbered of its tie, also after renumbering the sphere.
    """
    unit, tris = icosahedron(4)
    write_freesurfer_surface(tmp_path / "lh.sphere", 0.1 * unit, tris)
    sphere_rr, tris = read_freesurfer_surface(tmp_path / "lh.sphere")
    picks, template = _picks(sphere_rr, tris, 4)
    np.testing.assert_array_equal(picks, _brute_force_rule(_unit(sphere_rr), template))
    d = np.linalg.norm(template[:, np.newaxis] - _unit(sphere_rr)[np.newaxis], axis=2)
    n_tied = int(((d <= d.min(axis=1, keepdims=True) + TOL).sum(axis=1) > 1).sum())
    assert n_tied >= 10, n_tied  # the test exercises ties

    perm = np.random.default_rng(5).permutation(len(sphere_rr))
    new_number = np.empty_like(perm)
    new_number[perm] = np.arange(len(perm))
    renumbered, _ = _picks(sphere_rr[perm], new_number[tris], 4)
    np.testing.assert_array_equal(renumbered, _brute_force_rule(_unit(sphere_rr[perm]), template))
    # Unique nearest vertices are the same physical vertices either way.
    unique = (d <= d.min(axis=1, keepdims=True) + TOL).sum(axis=1) == 1
    np.testing.assert_array_equal(perm[renumbered[unique]], picks[unique])
