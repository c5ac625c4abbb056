"""BEM solutions (mne_cli.bem.solution) against MNE-Python and the exact sphere series."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.bem.solution import (
    conductivity_factors,
    factor_bem_system,
    make_bem_solution,
    select_model_surfaces,
)
from mne_cli.errors import InputError
from mne_cli.fiff.constants import BemApprox, Frame
from mne_cli.io.bem import read_bem_surfaces, write_bem_surfaces

from .analytic_sphere import sphere_potential
from .bem_helpers import (
    RADII,
    SIGMAS,
    bem_potentials,
    collocation_points,
    sphere_surface,
    three_layer_head,
)


def _relative(a, b) -> float:
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_conductivity_factors():
    """SPEC 8.4 for the default head: 2/(s_in + s_out), s_in - s_out, gamma."""
    source, field, gamma = conductivity_factors([0.3, 0.006, 0.3])
    np.testing.assert_allclose(source, [2 / 0.3, 2 / 0.306, 2 / 0.306], rtol=1e-15)
    np.testing.assert_allclose(field, [0.3, -0.294, 0.294], rtol=1e-15)
    np.testing.assert_allclose(gamma[1], np.array([0.3, -0.294, 0.294]) / 0.306, rtol=1e-15)
    np.testing.assert_allclose(gamma[0], np.array([0.3, -0.294, 0.294]) / 0.3, rtol=1e-15)


def _mne_comparison(tmp_path, surfaces):
    """Our solution and MNE-Python's for the same (float32-stored) surfaces."""
    mne = pytest.importorskip("mne")
    path = tmp_path / "head-bem.fif"
    write_bem_surfaces(path, surfaces)
    ours = make_bem_solution(read_bem_surfaces(path)).solution
    theirs = mne.make_bem_solution(str(path), verbose=False)["solution"]
    return ours, theirs


# ico-3 (3 x 642 nodes) runs the same code as finer grades; ico-4 took 3 minutes.
@pytest.mark.slow
@pytest.mark.parametrize("grade, concentric", [(3, True), (3, False)],
                         ids=["ico3-concentric", "ico3-shifted"])
def test_three_layer_linear_equals_mne(tmp_path, grade, concentric):
    """Linear collocation with the isolated-skull step equals mne.make_bem_solution (1e-6)."""
    ours, theirs = _mne_comparison(tmp_path, three_layer_head(grade, concentric))
    assert ours.shape == theirs.shape == (3 * (10 * 4 ** grade + 2),) * 2
    assert _relative(ours, theirs) <= 1e-6


def test_one_layer_linear_equals_mne(tmp_path):
    """The homogeneous (inner skull only) model equals MNE-Python's too (1e-6)."""
    surface = sphere_surface(3, 0.08, (0.001, 0.002, 0.04), (1.0, 0.9, 0.95))
    ours, theirs = _mne_comparison(tmp_path, [surface])
    assert _relative(ours, theirs) <= 1e-6


def _dipoles(seed=7):
    """Dipoles at 0, 30, 60 and 90 % of the inner-skull radius, random directions."""
    rng = np.random.default_rng(seed)
    dipoles = []
    for eccentricity in (0.0, 0.3, 0.6, 0.9):
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        dipoles.append((eccentricity * RADII[2] * direction, rng.standard_normal(3) * 1e-8))
    return dipoles


def _sphere_errors(grade, method, sigmas=SIGMAS):
    """Relative RMS error of the scalp potentials against the exact series, per dipole."""
    surfaces = three_layer_head(grade, sigmas=sigmas)
    solution = make_bem_solution(surfaces, method).solution
    constant = method == "constant"
    scalp = collocation_points(surfaces, constant)[0]
    # Centroids lie a little inside the sphere; compare at the sphere point above them.
    on_sphere = scalp / np.linalg.norm(scalp, axis=1, keepdims=True) * RADII[0]
    errors = []
    for r0, q in _dipoles():
        bem = bem_potentials(solution, surfaces, r0, q, constant)
        exact = sphere_potential(on_sphere, r0, q, RADII, sigmas)
        # Both are defined up to a constant: compare average-referenced values.
        errors.append(_relative(bem - bem.mean(), exact - exact.mean()))
    return np.array(errors)


def test_linear_collocation_converges_to_sphere_series():
    """Linear collocation on a 3-shell sphere approaches the exact potentials, ico-2 -> ico-3."""
    coarse, fine = _sphere_errors(2, "linear"), _sphere_errors(3, "linear")
    assert (fine < 0.7 * coarse).all()
    assert fine.max() < 0.12


def test_constant_collocation_converges_without_ip():
    """Constant collocation, skull 0.04 S/m (no isolated-skull step): errors fall ~4x per grade.

    Measured relative errors at ico-2 / ico-3: 1.6 / 0.4 % (centre) ... 37 / 8 % (90 %).
    """
    sigmas = (0.3, 0.04, 0.3)
    coarse, fine = (_sphere_errors(grade, "constant", sigmas) for grade in (2, 3))
    assert (fine < 0.3 * coarse).all()
    assert fine[:3].max() < 0.01 and fine[3] < 0.1


def test_constant_collocation_converges_with_ip():
    """Constant collocation of the default head (isolated-skull step) from ico-1 to ico-3.

    Measured: the 90 % dipole goes 76 % -> 10 % -> 2.4 %; at ico-3 every
    dipole (0-90 % eccentricity) is within 1.1-2.4 %. (ico-4, a 15360 x 15360
    system of 2 GB and a minute and a half, gives 0.4-0.9 %; ico-3 shows the
    same convergence.)
    """
    errors = [_sphere_errors(grade, "constant") for grade in (1, 2, 3)]
    assert errors[0][-1] > 4 * errors[1][-1] > 16 * errors[2][-1]
    assert errors[2].max() < 0.025
    assert (errors[2] < 0.2 * errors[0]).all()


@pytest.mark.parametrize("method", ["linear", "constant"])
@pytest.mark.parametrize("layers, sigmas", [(3, SIGMAS), (3, (0.3, 0.04, 0.3)), (1, SIGMAS)],
                         ids=["3-layer-ip", "3-layer-no-ip", "1-layer"])
def test_factored_system_gives_the_solution_products(method, layers, sigmas):
    """G @ S by LU solves equals G times the explicit inverse.

    Both are backward-stable float64 computations of the same matrix with a
    condition number below 1e4, so they agree to far better than 1e-11;
    measured 1e-15. The cases cover the isolated-skull step (skull 0.006
    S/m), its absence (0.04 S/m) and the 1-layer model.
    """
    surfaces = three_layer_head(2, sigmas=sigmas)[3 - layers:]
    explicit = make_bem_solution(surfaces, method)
    factored = factor_bem_system(surfaces, method)
    assert factored.solution is None and factored.size == len(explicit.solution)
    assert factored.approx == explicit.approx
    coeff = np.random.default_rng(3).standard_normal((40, factored.size))
    product = factored.factors.left_multiply(coeff)
    expected = coeff @ explicit.solution
    assert np.abs(product - expected).max() <= 1e-11 * np.abs(expected).max()


def test_solution_metadata():
    surfaces = three_layer_head(1)
    sol = make_bem_solution(surfaces, "constant")
    assert sol.approx == BemApprox.CONSTANT and sol.solution.shape == (240, 240)
    sol = make_bem_solution(surfaces)
    assert sol.approx == BemApprox.LINEAR and sol.solution.shape == (126, 126)
    assert [s.id for s in sol.surfaces] == [4, 3, 1] and sol.coord_frame == Frame.MRI


def test_model_surfaces_are_picked_by_id():
    """Ids 4, 3, 1 in any order give the 3-layer model; id 1 alone the 1-layer one."""
    head = three_layer_head(1)
    assert [s.id for s in select_model_surfaces(head[::-1], "x")] == [4, 3, 1]
    assert [s.id for s in select_model_surfaces(head[2:], "x")] == [1]
    assert [s.id for s in select_model_surfaces(head[1:], "x")] == [1]


@pytest.mark.parametrize("change, message", [
    (lambda h: setattr(h[1], "sigma", None), "No conductivity available for surface outer skull"),
    (lambda h: setattr(h[2], "coord_frame", Frame.HEAD),
     "Surface inner skull not specified in MRI coordinates"),
    (lambda h: setattr(h[2], "id", 2), "no inner skull surface (id 1) found"),
    (lambda h: setattr(h[0], "id", 1), "surface id 1 is given to 2 surfaces"),
])
def test_model_errors(change, message):
    head = three_layer_head(1)
    change(head)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_bem_solution(head, source="head-bem.fif")
