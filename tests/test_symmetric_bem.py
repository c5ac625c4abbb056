"""The symmetric BEM (mne_cli.bem.symmetric; part of issue 17) against the exact sphere series.

The head of issue 17: OpenMEEG's test head scaled to a 100 mm scalp,
concentric spheres of 87, 92 and 100 mm with 0.33, 0.0042 and 0.33 S/m,
dipoles 44.5 ... 2.85 mm below the inner skull in random directions, scalp
potentials at the outer vertices, average reference; RDM = |a/|a| - b/|b||
and MAG = |a|/|b| against tests/analytic_sphere.py.

Measured on ico-2 (3 x 162 vertices) with the linear collocation BEM of
MNE-C beside it for the same dipoles; on ico-3 the symmetric BEM gives
0.0027, 0.0064, 0.0092, 0.0126, 0.0197 (MAG 1.010 ... 1.017), where issue 17
quotes OpenMEEG 2.6 at 0.0019 / 0.011 / 0.035 and linear collocation at
0.020 / 0.059 / 0.58 for 44.5 / 10.5 / 2.85 mm.
"""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.bem import symmetric
from mne_cli.geometry.icosahedron import icosahedron

from .analytic_sphere import sphere_potential

RADII = (0.087, 0.092, 0.100)          # inner skull, outer skull, scalp (m)
SIGMAS = (0.33, 0.0042, 0.33)          # S/m, inside each
DEPTHS = (0.0445, 0.019, 0.0105, 0.00625, 0.00285)   # below the inner skull (m)


def _surfaces(grade):
    rr, tris = icosahedron(grade)
    return [(rr * radius, tris) for radius in RADII]


@pytest.fixture(scope="module")
def ico2():
    return symmetric.assemble(_surfaces(2), SIGMAS)


def _dipoles(depth, count=6, seed=0):
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * (RADII[0] - depth), rng.standard_normal((count, 3)) * 1e-8


def _errors(scalp_potentials, positions, moments, scalp):
    """Worst RDM and the MAG range over the dipoles, average reference."""
    rdm, mag = [], []
    for v, r0, q in zip(scalp_potentials, positions, moments):
        exact = sphere_potential(scalp, r0, q, RADII[::-1], SIGMAS[::-1])
        a, b = v - v.mean(), exact - exact.mean()
        rdm.append(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))
        mag.append(np.linalg.norm(a) / np.linalg.norm(b))
    return max(rdm), min(mag), max(mag)


@pytest.mark.parametrize("depth, worst_rdm", list(zip(DEPTHS, (0.012, 0.022, 0.04, 0.07, 0.12))))
def test_eeg_accuracy_on_three_shells(ico2, depth, worst_rdm):
    """ico-2 errors (measured 0.0084, 0.016, 0.030, 0.053, 0.088; MAG 1.03 to 1.07) stay
    below those bounds."""
    positions, moments = _dipoles(depth)
    scalp = ico2.surfaces[-1][0]
    rhs = np.column_stack([symmetric.dipole_right_hand_side(ico2, r0, q)
                           for r0, q in zip(positions, moments)])
    potentials = symmetric.solve(ico2, rhs)[ico2.potential_slices[-1]].T
    rdm, low, high = _errors(potentials, positions, moments, scalp)
    assert rdm < worst_rdm
    assert 0.97 < low and high < 1.08


def test_quadrature_rules_leave_the_solution(ico2, monkeypatch):
    """The far-pair rules (galerkin.MID_SIZES, degree 2 beyond) against exact inner
    integrals for every triangle pair: scalp potentials of dipoles at every depth agree to
    2e-5 of their norm (measured 0.8e-6 at 44.5 mm to 5.4e-6 at 2.85 mm on ico-2, 1.5e-6
    to 3e-6 on ico-3, where the discretisation error is 3e-3 and more)."""
    from mne_cli.bem import galerkin

    monkeypatch.setattr(galerkin, "NEAR_SIZES", np.inf)
    exact = symmetric.assemble(_surfaces(2), SIGMAS)
    for depth in DEPTHS:
        positions, moments = _dipoles(depth, count=2)
        potentials = []
        for system in (ico2, exact):
            rhs = np.column_stack([symmetric.dipole_right_hand_side(system, r0, q)
                                   for r0, q in zip(positions, moments)])
            potentials.append(symmetric.solve(system, rhs)[system.potential_slices[-1]])
        fast, reference = potentials
        assert np.linalg.norm(fast - reference) <= 2e-5 * np.linalg.norm(reference)


def test_system_is_symmetric(ico2):
    """The matrix is exactly symmetric (what a symmetric factorisation and OpenMEEG's
    packed storage need)."""
    np.testing.assert_array_equal(ico2.matrix, ico2.matrix.T)


def test_potential_differences_do_not_depend_on_the_deflation(ico2):
    """The deflation picks the reference only: another constant on the outer block changes
    no potential difference (1e-9 of their size); the scalp potentials sum to zero, as
    OpenMEEG's deflation makes them."""
    r0, q = np.array([0.01, 0.02, 0.03]), np.array([0.0, 1e-8, 2e-8])
    rhs = symmetric.dipole_right_hand_side(ico2, r0, q)
    outer = ico2.potential_slices[-1]
    first = symmetric.solve(ico2, rhs)[outer]
    # Zero sum up to the right-hand side's net flux, 1e-6 of its terms (measured 9e-7).
    assert abs(first.sum()) <= 1e-5 * np.abs(first).sum()
    block = ico2.potential_block.copy(order="F")
    block[outer, outer] += 5 * block[outer.start, outer.start] / 162
    changed = symmetric.SymmetricSystem(ico2.surfaces, ico2.sigmas, block, ico2.coupling,
                                        ico2.current_block, ico2.potential_slices,
                                        ico2.current_slices)
    second = symmetric.solve(changed, rhs)[outer]
    a, b = first - first.mean(), second - second.mean()
    assert np.abs(a - b).max() <= 1e-9 * np.abs(a).max()


def test_net_flux_of_a_shallow_dipole_is_zero(ico2):
    """For a dipole 2 mm under the inner skull, the potential-row source terms (the P1
    tested normal current of the dipole field, in closed form near the dipole) sum to the
    current through the closed inner skull: zero (1e-6 of the largest term)."""
    r0 = np.array([0.0, 0.0, RADII[0] - 0.002])
    q = np.array([1e-8, 0.0, 2e-8])
    rhs = symmetric.dipole_right_hand_side(ico2, r0, q)
    flux_rows = rhs[ico2.potential_slices[0]]
    assert abs(flux_rows.sum()) <= 1e-6 * np.abs(flux_rows).max()


@pytest.mark.parametrize("depth", DEPTHS[3:])
def test_shallow_dipoles_beat_linear_collocation(ico2, depth):
    """At 6.25 and 2.85 mm the symmetric BEM's worst RDM is at least 3x smaller than that
    of MNE-C's linear collocation (with the isolated-skull step) on the same meshes."""
    from mne_cli.bem.solution import make_bem_solution
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.objects import BemSurface

    from .bem_helpers import bem_potentials

    surfaces = [BemSurface(surf_id, sigma, rr, tris, vertex_normals(rr, tris))
                for (rr, tris), surf_id, sigma in zip(ico2.surfaces[::-1], (4, 3, 1),
                                                       SIGMAS[::-1])]
    collocation = make_bem_solution(surfaces).solution
    positions, moments = _dipoles(depth)
    scalp = ico2.surfaces[-1][0]
    linear = [bem_potentials(collocation, surfaces, r0, q) for r0, q in zip(positions, moments)]
    rhs = np.column_stack([symmetric.dipole_right_hand_side(ico2, r0, q)
                           for r0, q in zip(positions, moments)])
    ours = symmetric.solve(ico2, rhs)[ico2.potential_slices[-1]].T
    assert 3 * _errors(ours, positions, moments, scalp)[0] < \
        _errors(linear, positions, moments, scalp)[0]


@pytest.mark.parametrize("layers", [1, 3])
def test_block_inverse_equals_lapack(layers):
    """invert_in_place (block Cholesky) and its packed form against numpy's LU inverse of
    the whole matrix (ico-2; 1e-10 of the largest entry: the two differ by rounding,
    measured 2e-14), and solve() against numpy's solve."""
    surfaces = _surfaces(2)[-layers:]
    system = symmetric.assemble(surfaces, SIGMAS[-layers:])
    matrix = system.matrix
    expected = np.linalg.inv(matrix)
    rhs = np.random.default_rng(4).standard_normal((len(matrix), 2))
    np.testing.assert_allclose(symmetric.solve(system, rhs), np.linalg.solve(matrix, rhs),
                               rtol=0, atol=1e-10 * np.abs(np.linalg.solve(matrix, rhs)).max())
    symmetric.invert_in_place(system)
    packed = symmetric.pack_inverse(system, -1.0)
    n = len(matrix)
    i, j = np.triu_indices(n)
    np.testing.assert_allclose(packed[i + j * (j + 1) // 2], -expected[i, j], rtol=0,
                               atol=1e-6 * np.abs(expected).max())   # float32 storage
    assert system.potential_block is None and system.current_block is None   # released


def test_indefinite_block_is_a_geometry_error():
    """A system whose current block is not negative definite (here from a negative skull
    conductivity, which the model readers refuse earlier) is refused with GeometryError
    naming the source, not inverted into nonsense."""
    from mne_cli.errors import GeometryError

    system = symmetric.assemble(_surfaces(2), (0.33, -0.0042, 0.33))
    with pytest.raises(GeometryError, match="head-bem.fif: .*not definite"):
        symmetric.invert_in_place(system, "head-bem.fif")


def test_analytic_position_derivatives():
    """gain_derivatives (analytic far terms, differences of closed forms on near
    triangles) against central differences (1 um) of the gains, for dipoles 44, 10 and
    3 mm under the inner skull, with a rotated computation frame: 1e-5 of the largest
    derivative (measured 5e-7). The dipoles are kept off the near/far rule switch,
    where central differences would straddle a step of the rule's error (at a source
    3e-5 sizes from it they were 1.6 % off; the analytic derivative is not)."""
    from scipy.spatial.transform import Rotation

    from mne_cli.forward import symmetric_fields

    solution = _sphere_solution(2)
    terms = symmetric_fields.brain_source_terms(solution)
    rng = np.random.default_rng(7)
    directions = rng.standard_normal((3, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sources = directions * (RADII[0] - np.array([0.044, 0.010, 0.003]))[:, None]
    sizes = np.linalg.norm(terms.centroids[None] - sources[:, None], axis=2) / terms.size
    assert np.abs(sizes - symmetric.NEAR_SOURCE).min() > 1e-3
    transfer = rng.standard_normal((5, solution.size))
    rotation = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    analytic = symmetric_fields.gain_derivatives(sources, transfer, solution, rotation, terms)
    analytic = analytic.reshape(5, 3, 3, 3)                      # channel, source, moment, axis
    step = 1e-6
    for axis in range(3):
        shift = step * rotation[:, axis]                # a step along the frame's axis, in MRI
        ahead, behind = (symmetric_fields.gains(sources + sign * shift, transfer, solution,
                                                rotation, terms) for sign in (1, -1))
        central = ((ahead - behind) / (2 * step)).reshape(5, 3, 3)
        np.testing.assert_allclose(analytic[..., axis], central, rtol=0,
                                   atol=1e-5 * np.abs(central).max())


def test_prepare_bem_model_symmetric_and_forward_refusal(tmp_path):
    """prepare_bem_model --method symmetric writes the OpenMEEG layout (packed inverse,
    solver tag) with a warning saying who reads it, and load_bem gives it back as a
    symmetric solution."""
    from click.testing import CliRunner

    from mne_cli.cli.prepare_bem_model import main as prepare_bem_model
    from mne_cli.forward.make import load_bem
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.io.bem import read_bem_solution, write_bem_surfaces
    from mne_cli.objects import BemSurface

    rr, tris = icosahedron(1)
    write_bem_surfaces(tmp_path / "head-bem.fif", [
        BemSurface(surf_id, sigma, rr * radius, tris, vertex_normals(rr * radius, tris))
        for surf_id, sigma, radius in zip((4, 3, 1), SIGMAS[::-1], RADII[::-1])])
    result = CliRunner().invoke(prepare_bem_model, ["--bem", str(tmp_path / "head-bem.fif"),
                                                    "--method", "symmetric"])
    assert result.exit_code == 0, result.output
    assert "read by mne_cli and by MNE-Python" in result.stderr
    solution = read_bem_solution(tmp_path / "head-bem-sol.fif")
    n = 3 * 42 + 2 * 80
    assert solution.solver == "openmeeg" and solution.solution.shape == (n * (n + 1) // 2,)
    # The packed inverse times the head matrix (OpenMEEG's sign) is the identity.
    system = symmetric.assemble([(rr * radius, tris) for radius in RADII], SIGMAS)
    inverse = np.zeros((n, n))
    i, j = np.triu_indices(n)
    inverse[i, j] = solution.solution[i + j * (j + 1) // 2]
    inverse[j, i] = inverse[i, j]
    np.testing.assert_allclose(inverse @ -system.matrix, np.eye(n), atol=1e-5)
    loaded, name = load_bem(str(tmp_path / "head-bem-sol.fif"))
    assert loaded.solver == "openmeeg" and name.endswith("head-bem-sol.fif")


def _sphere_solution(grade):
    """Issue 17's head as a stored symmetric solution (surfaces outermost first)."""
    from mne_cli.bem.solution import make_bem_solution
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.objects import BemSurface

    rr, tris = icosahedron(grade)
    return make_bem_solution([BemSurface(surf_id, sigma, rr * radius, tris,
                                         vertex_normals(rr * radius, tris))
                              for surf_id, sigma, radius in zip((4, 3, 1), SIGMAS[::-1],
                                                                RADII[::-1])], "symmetric")


def test_forward_fields_from_the_stored_solution():
    """The forward path (transfer matrix from the packed inverse, source terms, MEG
    secondary field of all surfaces) against the exact series for EEG (RDM < 0.035 at
    10.5 mm on ico-2, as the system itself) and Sarvas' formula for MEG, 60 sensors
    12 cm from the centre in random directions, dipoles 44.5 mm deep: RDM < 0.05, MAG
    within 2 % (measured 0.034, 0.998-1.012; ico-3 gives 0.004 and 1.000-1.002; the
    secondary field with the opposite sign would give RDM 1.5)."""
    from mne_cli.forward import bem_fields, symmetric_fields
    from mne_cli.forward.sensors import SensorSet
    from mne_cli.forward.sphere_meg import sphere_meg_gain

    solution = _sphere_solution(2)
    scalp = solution.surfaces[0].rr
    eeg = SensorSet([str(k) for k in range(len(scalp))], scalp, scalp / 0.1,
                    np.ones(len(scalp)), np.arange(len(scalp)))
    rng = np.random.default_rng(3)
    places = rng.standard_normal((60, 3))
    places[:, 2] = np.abs(places[:, 2])
    places /= np.linalg.norm(places, axis=1, keepdims=True)
    directions = rng.standard_normal((60, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    meg = SensorSet([str(k) for k in range(60)], 0.12 * places, directions, np.ones(60),
                    np.arange(60))
    rows = np.concatenate([symmetric_fields.meg_rows(solution, meg),
                           bem_fields.eeg_coefficients(solution, eeg, "sphere")])
    transfer = symmetric_fields.transfer(rows, solution)
    deep, _ = _dipoles(0.0445, count=4)
    meg_gain = (symmetric_fields.gains(deep, transfer, solution, np.eye(3))[:60]
                + bem_fields.primary_meg_gain(deep, meg))
    sarvas = sphere_meg_gain(deep, meg, np.zeros(3))
    for a, b in zip(meg_gain.T, sarvas.T):
        assert np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)) < 0.05
        assert abs(np.linalg.norm(a) / np.linalg.norm(b) - 1) < 0.02
    positions, _ = _dipoles(0.0105, count=4)
    eeg_gain = symmetric_fields.gains(positions, transfer, solution, np.eye(3))[60:]
    for i, r0 in enumerate(positions):
        potentials = [eeg_gain[:, 3 * i + k] for k in range(3)]
        rdm, low, high = _errors(potentials, [r0] * 3, np.eye(3), scalp)
        assert rdm < 0.035 and 0.97 < low and high < 1.08
