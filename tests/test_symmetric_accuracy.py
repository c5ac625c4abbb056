"""Issue 17's accuracy acceptance: the symmetric BEM against OpenMEEG and the exact spheres.

The head of issue 17: concentric spheres of 87, 92 and 100 mm with brain,
skull and scalp at 0.33, 0.0042 and 0.33 S/m ("issue17"), and the same
spheres at 0.3, 0.006 and 0.3 S/m ("skull006"). Four dipoles with random
positions and moments (fixed seed) at each of the depths 44.5, 19, 10.5,
6.25 and 2.85 mm below the inner skull. Both solvers run on the same
icosahedra (ico-2 here; ico-3 marked slow; ico-4 is for benchmarks/):

* mne_cli: the stored solution of ``make_bem_solution(..., "symmetric")``
  (packed inverse) through the forward path (``symmetric_fields``:
  transfer matrix, source terms, MEG secondary field plus the primary one);
* OpenMEEG 2.6: ``HeadMat``, ``DipSourceMat``, ``Head2EEGMat``,
  ``Head2MEGMat`` and ``DipSource2MEGMat``, triangles wound inward (two
  corners swapped). Its head matrix is solved by LAPACK for the 20 dipoles
  instead of ``HeadMat.invert()`` (16 s on ico-3, and the same numbers: the
  gains agree with ``GainEEG``/``GainMEG`` to 1e-14 on ico-2); OpenMEEG's
  own discretisation is untouched.

Against the exact results: EEG, the multi-shell Legendre series
(tests/analytic_sphere.py) at the scalp vertices, average referenced; MEG,
Sarvas' formula (exact for any spherically symmetric conductor, whatever
the conductivities) for 80 point magnetometers 120 mm from the centre on
the upper hemisphere, radial (issue 17's), and at the same places 80
tangential ones: the radial field outside a spherical conductor has no
volume-current part, so radial sensors see the BEM's secondary field only
as its error, whatever its sign; the tangential ones check it.
RDM = |a/|a| - b/|b||, MAG = |a|/|b|; per depth the worst RDM and the
largest |MAG - 1| over the four dipoles.

Measured (ours / OpenMEEG; depths 44.5, 19, 10.5, 6.25, 2.85 mm):

========  =====  ==================================================================
head      grade  EEG worst RDM
========  =====  ==================================================================
issue17   ico-2  .0082/.0086 .0158/.0165 .0282/.0284 .0497/.0491 .0681/.0668
issue17   ico-3  .0028/.0028 .0064/.0066 .0095/.0097 .0118/.0121 .0200/.0203
skull006  ico-2  .0098/.0101 .0187/.0196 .0340/.0340 .0592/.0584 .0818/.0798
skull006  ico-3  .0032/.0032 .0075/.0077 .0111/.0114 .0137/.0140 .0232/.0235
head      grade  EEG largest abs(MAG - 1)
issue17   ico-2  .0375/.0381 .0429/.0437 .0469/.0481 .0492/.0506 .0534/.0550
issue17   ico-3  .0095/.0096 .0116/.0117 .0129/.0131 .0155/.0157 .0190/.0193
skull006  ico-2  .0385/.0390 .0455/.0464 .0514/.0527 .0540/.0557 .0596/.0615
skull006  ico-3  .0098/.0098 .0125/.0126 .0144/.0146 .0175/.0177 .0220/.0224
head      grade  MEG worst RDM (radial magnetometers against Sarvas)
issue17   ico-2  .00326/.00327 .00510/.00511 .00363/.00364 .00880/.00883 .01466/.01470
issue17   ico-3  .00076/.00076 .00119/.00119 .00121/.00121 .00046/.00046 .00369/.00373
skull006  ico-2  .00341/.00341 .00505/.00507 .00360/.00361 .00863/.00866 .01440/.01444
skull006  ico-3  .00080/.00080 .00117/.00117 .00119/.00120 .00045/.00045 .00363/.00367
head      grade  MEG worst RDM (tangential magnetometers against Sarvas)
issue17   ico-2  .0332/.0319 .0618/.0603 .1507/.1499 .4380/.4369 .9290/.9290
issue17   ico-3  .0042/.0041 .0078/.0075 .0106/.0102 .0194/.0195 .0475/.0474
skull006  ico-2  .0354/.0340 .0643/.0627 .1519/.1510 .4369/.4357 .9244/.9243
skull006  ico-3  .0046/.0044 .0082/.0079 .0112/.0108 .0193/.0194 .0473/.0472
========  =====  ==================================================================

MEG largest |MAG - 1|, radial: 0.0009 to 0.016 on ico-2, 0.0002 to 0.0014
on ico-3, ours within 0.00007 of OpenMEEG's; tangential: 0.018 to 0.23 on
ico-2, 0.0023 to 0.027 on ico-3, ours within 0.0012 of OpenMEEG's.
Directly, ours and OpenMEEG's fields differ by RDM up to 3.0e-3 (EEG) and
6e-5 (radial MEG) on ico-2, 7e-4 and 4e-5 on ico-3 (issue17): the same
discretisation, apart from the outer quadrature rules. The radial MEG
error does not grow monotonically with depth: radial sensors see only the
tangential part of the random moments, which differs between the depths'
dipoles. Run time per head on 2 cores: ico-2 2 s, ico-3 15 s (25 s on
one thread, 19 s of it OpenMEEG's HeadMat).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mne_cli.geometry.icosahedron import icosahedron

from .analytic_sphere import sphere_potential

om = pytest.importorskip("openmeeg", reason="OpenMEEG (pip install openmeeg) is the reference "
                                            "of issue 17's accuracy acceptance")

RADII = (0.087, 0.092, 0.100)                        # inner skull, outer skull, scalp (m)
HEADS = {"issue17": (0.33, 0.0042, 0.33), "skull006": (0.3, 0.006, 0.3)}   # S/m, inside each
DEPTHS = (0.0445, 0.019, 0.0105, 0.00625, 0.00285)  # below the inner skull (m)
PER_DEPTH = 4
N_MEG = 80

CASES = [pytest.param(head, grade, id=f"{head}-ico{grade}",
                      marks=[pytest.mark.slow] if grade > 2 else [])
         for head in HEADS for grade in (2, 3)]


def _dipoles():
    """(len(DEPTHS) * PER_DEPTH, 3) positions (m) and moments (A m), depth by depth."""
    rng = np.random.default_rng(17)
    directions = rng.standard_normal((len(DEPTHS), PER_DEPTH, 3))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    positions = directions * (RADII[0] - np.asarray(DEPTHS))[:, None, None]
    return positions.reshape(-1, 3), 1e-8 * rng.standard_normal((len(DEPTHS) * PER_DEPTH, 3))


def _magnetometers():
    """Point magnetometers 120 mm from the centre on the upper hemisphere: N_MEG radial ones,
    then N_MEG tangential ones at the same places (random directions in the tangent plane)."""
    from mne_cli.forward.sensors import SensorSet

    rng = np.random.default_rng(5)
    places = rng.standard_normal((N_MEG, 3))
    places[:, 2] = np.abs(places[:, 2])
    places /= np.linalg.norm(places, axis=1, keepdims=True)
    tangential = rng.standard_normal((N_MEG, 3))
    tangential -= np.sum(tangential * places, axis=1, keepdims=True) * places
    tangential /= np.linalg.norm(tangential, axis=1, keepdims=True)
    count = 2 * N_MEG
    return SensorSet([str(k) for k in range(count)], 0.12 * np.r_[places, places],
                     np.r_[places, tangential], np.ones(count), np.arange(count))


def _ours(grade, sigmas, positions, moments, meg):
    """mne_cli's scalp-vertex EEG (V) and MEG (T) of the dipoles, (channels, dipoles) each."""
    from mne_cli.bem.solution import make_bem_solution
    from mne_cli.forward import bem_fields, symmetric_fields
    from mne_cli.forward.sensors import SensorSet
    from mne_cli.geometry.surface import vertex_normals
    from mne_cli.objects import BemSurface

    rr, tris = icosahedron(grade)
    solution = make_bem_solution([BemSurface(surf_id, sigma, rr * radius, tris,
                                             vertex_normals(rr * radius, tris))
                                  for surf_id, sigma, radius in zip((4, 3, 1), sigmas[::-1],
                                                                    RADII[::-1])], "symmetric")
    scalp = solution.surfaces[0].rr
    eeg = SensorSet([str(k) for k in range(len(scalp))], scalp, scalp / RADII[-1],
                    np.ones(len(scalp)), np.arange(len(scalp)))
    rows = np.concatenate([symmetric_fields.meg_rows(solution, meg),
                           bem_fields.eeg_coefficients(solution, eeg, "sphere")])
    transfer = symmetric_fields.transfer(rows, solution)
    unit = symmetric_fields.gains(positions, transfer, solution, np.eye(3))
    unit[:meg.nchan] += bem_fields.primary_meg_gain(positions, meg)
    values = np.einsum("csk,sk->cs", unit.reshape(len(rows), len(positions), 3), moments)
    return values[meg.nchan:], values[:meg.nchan]


def _openmeeg(grade, sigmas, positions, moments, meg):
    """OpenMEEG's scalp-vertex EEG and MEG of the dipoles (same layout as :func:`_ours`)."""
    import scipy.linalg

    rr, tris = icosahedron(grade)
    meshes = [(np.ascontiguousarray(rr * r), np.ascontiguousarray(tris[:, [1, 0, 2]], np.int64))
              for r in RADII]
    geometry = om.make_nested_geometry(meshes, sigmas)
    head = om.HeadMat(geometry)
    n = head.nlin()
    i, j = np.triu_indices(n)                        # packed (i, j), i <= j, at i + j (j + 1) / 2
    full = np.empty((n, n))
    full[i, j] = head.array_flat()[i + j * (j + 1) // 2]
    full[j, i] = full[i, j]
    del head
    dipoles = om.Matrix(np.asfortranarray(np.c_[positions, moments]))
    unknowns = scipy.linalg.solve(full, om.DipSourceMat(geometry, dipoles, "Brain").array(),
                                  assume_a="sym")
    del full
    electrodes = om.make_sensors(np.ascontiguousarray(rr * RADII[-1]), geometry=geometry)
    eeg = (om.Head2EEGMat(geometry, electrodes)
           * om.Matrix(np.asfortranarray(unknowns))).array()
    sensors = om.make_sensors(meg.points, meg.directions)
    field = (om.Head2MEGMat(geometry, sensors).array() @ unknowns
             + om.DipSource2MEGMat(dipoles, sensors).array())
    return eeg, field


def _per_depth(values, exact, reference):
    """Worst RDM and largest |MAG - 1| at each depth, (len(DEPTHS),) each."""
    if reference:
        values, exact = values - values.mean(axis=0), exact - exact.mean(axis=0)
    norm_a, norm_b = np.linalg.norm(values, axis=0), np.linalg.norm(exact, axis=0)
    rdm = np.linalg.norm(values / norm_a - exact / norm_b, axis=0)
    mag = np.abs(norm_a / norm_b - 1)
    return (rdm.reshape(len(DEPTHS), PER_DEPTH).max(axis=1),
            mag.reshape(len(DEPTHS), PER_DEPTH).max(axis=1))


@functools.cache
def _figures(head, grade):
    """{"ours"/"openmeeg": {"eeg_rdm", "eeg_mag", "radial_rdm", "radial_mag", "tangential_rdm",
    "tangential_mag"}}, per depth each."""
    from mne_cli.forward.sphere_meg import sphere_meg_gain

    sigmas = HEADS[head]
    positions, moments = _dipoles()
    meg = _magnetometers()
    scalp = icosahedron(grade)[0] * RADII[-1]
    exact_eeg = np.column_stack([sphere_potential(scalp, r0, q, RADII[::-1], sigmas[::-1])
                                 for r0, q in zip(positions, moments)])
    exact_meg = np.einsum("csk,sk->cs", sphere_meg_gain(positions, meg, np.zeros(3))
                          .reshape(meg.nchan, len(positions), 3), moments)
    figures = {}
    for name, solver in (("ours", _ours), ("openmeeg", _openmeeg)):
        eeg, field = solver(grade, sigmas, positions, moments, meg)
        figures[name] = dict(zip(("eeg_rdm", "eeg_mag"),
                                 _per_depth(eeg, exact_eeg, reference=True)))
        for kind, rows in (("radial", slice(0, N_MEG)), ("tangential", slice(N_MEG, None))):
            figures[name].update(zip((f"{kind}_rdm", f"{kind}_mag"),
                                     _per_depth(field[rows], exact_meg[rows], reference=False)))
    return figures


@pytest.fixture(scope="module")
def figures():
    """The per-(head, grade) figures, computed once for the module."""
    yield _figures
    _figures.cache_clear()


def _table(ours, theirs):
    return "\n".join(f"{1e3 * depth:5.2f} mm: ours {a:.5f}, OpenMEEG {b:.5f}"
                     for depth, a, b in zip(DEPTHS, ours, theirs))


def _check_reference(theirs):
    """OpenMEEG itself is near the exact fields for the deepest dipoles, so that the
    comparisons cannot pass against a miswired reference (measured on ico-2: EEG RDM 0.0086
    and 0.0101, |MAG - 1| 0.038 and 0.039; radial MEG RDM 0.0033 and 0.0034, |MAG - 1|
    0.0009; tangential RDM 0.032 and 0.034, |MAG - 1| 0.018 and 0.019)."""
    assert theirs["eeg_rdm"][0] < 0.02 and theirs["eeg_mag"][0] < 0.05, theirs
    assert theirs["radial_rdm"][0] < 0.005 and theirs["radial_mag"][0] < 0.005, theirs
    assert theirs["tangential_rdm"][0] < 0.05 and theirs["tangential_mag"][0] < 0.05, theirs


@pytest.mark.parametrize("head, grade", CASES)
def test_eeg_as_accurate_as_openmeeg(figures, head, grade):
    """At every depth our worst EEG RDM is at most 1.1x OpenMEEG's plus 0.002 and our largest
    |MAG - 1| at most OpenMEEG's plus 0.005: issue 17's figures, as stated. Measured (module
    docstring): RDM ratios ours/OpenMEEG 0.954 to 1.025 (the largest at 2.85 mm, ico-2,
    skull006: 0.0818 against 0.0798, bound 0.0898); our |MAG - 1| is below OpenMEEG's at
    every depth, by 0.0000 to 0.0019. The same P1/P0 spaces give nearly the same errors;
    the slack covers our 7-point outer rule against OpenMEEG's 16-point one (the two
    solvers' potentials differ by RDM up to 3e-3 on ico-2, 7e-4 on ico-3)."""
    result = figures(head, grade)
    ours, theirs = result["ours"], result["openmeeg"]
    _check_reference(theirs)
    bad = ours["eeg_rdm"] > 1.1 * theirs["eeg_rdm"] + 0.002
    assert not bad.any(), "EEG RDM\n" + _table(ours["eeg_rdm"], theirs["eeg_rdm"])
    bad = ours["eeg_mag"] > theirs["eeg_mag"] + 0.005
    assert not bad.any(), "EEG |MAG - 1|\n" + _table(ours["eeg_mag"], theirs["eeg_mag"])


@pytest.mark.parametrize("kind", ["radial", "tangential"])
@pytest.mark.parametrize("head, grade", CASES)
def test_meg_as_accurate_as_openmeeg(figures, head, grade, kind):
    """MEG against Sarvas: at every depth our worst RDM is at most 1.1x OpenMEEG's (issue 17,
    no absolute slack) and our largest |MAG - 1| at most OpenMEEG's plus 0.005 (the EEG
    rule, applied to MEG too).

    Radial magnetometers (issue 17's): ratios 0.989 to 1.000; RDM 0.0033 to 0.015 on ico-2
    and 0.00045 to 0.0037 on ico-3 (module docstring); |MAG - 1| within 0.00007 of
    OpenMEEG's. Per depth, not pooled: the two solvers' radial fields differ by RDM at
    most 6e-5 (ico-2) and 4e-5 (ico-3), and even at the smallest error (0.00045, ico-3,
    6.25 mm) the ratio is 0.994, so the per-depth figures are deterministic discretisation
    errors, not noise. These errors are the secondary field's leakage into the radial
    component and do not see its sign: with the secondary field negated our ico-2 radial
    RDM stayed within 4 % (0.0033 to 0.0142), still passing.

    Tangential magnetometers (added here, the same rule): the secondary field is a large
    part of the total, so they check its sign and size (negated, our ico-2 RDM is 1.7 to
    2.0). Ratios 0.996 to 1.042; RDM 0.033 to 0.93 on ico-2 (both solvers fail at
    2.85 mm: primary and secondary fields cancel) and 0.0041 to 0.048 on ico-3; our |MAG -
    1| between 0.0008 below and 0.0012 above OpenMEEG's.
    """
    result = figures(head, grade)
    ours, theirs = result["ours"], result["openmeeg"]
    _check_reference(theirs)
    rdm, mag = f"{kind}_rdm", f"{kind}_mag"
    bad = ours[rdm] > 1.1 * theirs[rdm]
    assert not bad.any(), f"MEG {kind} RDM\n" + _table(ours[rdm], theirs[rdm])
    bad = ours[mag] > theirs[mag] + 0.005
    assert not bad.any(), f"MEG {kind} |MAG - 1|\n" + _table(ours[mag], theirs[mag])


@pytest.mark.slow
@pytest.mark.parametrize("head", list(HEADS))
def test_errors_fall_with_refinement(figures, head):
    """From ico-2 to ico-3 our worst EEG RDM, EEG |MAG - 1| and radial and tangential MEG RDM
    fall at every depth. Measured, both heads: EEG RDM by 2.5x (19 mm) to 4.3x (6.25 mm),
    |MAG - 1| by 2.7x to 3.9x, radial MEG RDM by 3.0x to 19x (6.25 mm, where the ico-3
    dipoles' error happens to be small), tangential by 7.8x to 23x. Asserted as strictly
    smaller, as the acceptance asks: a factor would be a convergence-rate claim that it does
    not make."""
    coarse, fine = figures(head, 2)["ours"], figures(head, 3)["ours"]
    for key in ("eeg_rdm", "eeg_mag", "radial_rdm", "tangential_rdm"):
        assert (fine[key] < coarse[key]).all(), f"{key} ico-2 -> ico-3\n" + "\n".join(
            f"{1e3 * d:5.2f} mm: {a:.5f} -> {b:.5f}" for d, a, b in zip(DEPTHS, coarse[key],
                                                                         fine[key]))
