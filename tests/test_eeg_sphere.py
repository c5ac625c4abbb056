"""Tests of the EEG multilayer-sphere model (mne_cli.forward.eeg_sphere; SPEC 3.7, 9.9)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mne_cli.errors import InputError
from mne_cli.forward import eeg_sphere
from mne_cli.forward.eeg_sphere import (
    DEFAULT_MODEL,
    BergFit,
    EegSphereModel,
    eeg_sphere_potentials,
    find_eeg_models_file,
    fit_berg_scherg,
    read_eeg_models,
    select_eeg_model,
    series_coefficients,
)
from tests.analytic_sphere import sphere_potential

mne = pytest.importorskip("mne")

THREE_LAYER = ((0.87, 0.92, 1.0), (0.33, 0.0042, 0.33))
ORIGIN = np.array([0.001, -0.002, 0.04])
RADIUS = 0.09


@pytest.fixture(scope="module")
def default_fit() -> BergFit:
    return fit_berg_scherg(DEFAULT_MODEL)


def _scalp_points(n: int, seed: int, origin=ORIGIN, radius=RADIUS) -> np.ndarray:
    """n points on the sphere of ``radius`` around ``origin`` (m)."""
    d = np.random.default_rng(seed).normal(size=(n, 3))
    return origin + radius * d / np.linalg.norm(d, axis=1, keepdims=True)


def _ball_points(n: int, seed: int, rmax: float, origin=ORIGIN) -> np.ndarray:
    """n points uniformly inside a ball of radius ``rmax`` (m)."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return origin + d * rmax * rng.uniform(0, 1, size=(n, 1)) ** (1 / 3)


# ---------------------------------------------------------------- model file

def test_default_model_values():
    """The built-in model is brain/CSF/skull/scalp with 0.004 S/m skull (SPEC 3.7)."""
    assert DEFAULT_MODEL.name == "Default"
    np.testing.assert_array_equal(DEFAULT_MODEL.radii, [0.90, 0.92, 0.97, 1.00])
    np.testing.assert_array_equal(DEFAULT_MODEL.sigmas, [0.33, 1.0, 0.004, 0.33])
    assert DEFAULT_MODEL.scalp_sigma == 0.33
    assert not DEFAULT_MODEL.radii.flags.writeable


def test_read_models_sorts_and_normalises(tmp_path):
    """Comments/blank lines skipped, layers sorted by radius, radii divided by the largest."""
    path = tmp_path / "EEG_models"
    path.write_text("# a comment\n\n"
                    "Three : 90:0.33 : 80:0.33 :85:0.0042\n"
                    "   # indented comment\n"
                    "Two:1.0:0.3:0.5:0.2\n")
    models = read_eeg_models(path)
    assert list(models) == ["Default", "Three", "Two"]
    assert models["Default"] is DEFAULT_MODEL
    three = models["Three"]
    np.testing.assert_allclose(three.radii, [80 / 90, 85 / 90, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(three.sigmas, [0.33, 0.0042, 0.33])
    np.testing.assert_array_equal(models["Two"].radii, [0.5, 1.0])
    np.testing.assert_array_equal(models["Two"].sigmas, [0.2, 0.3])


def test_read_models_default_override(tmp_path):
    """A file model named Default replaces the built-in one."""
    path = tmp_path / "m.txt"
    path.write_text("Default:0.08:0.33:0.09:0.33\n")
    models = read_eeg_models(path)
    np.testing.assert_allclose(models["Default"].radii, [0.08 / 0.09, 1.0], rtol=1e-15)
    assert read_eeg_models(None) == {"Default": DEFAULT_MODEL}


@pytest.mark.parametrize("line, problem", [
    ("Bad:0.9:0.33:1.0", "pairs"),
    ("Bad", "pairs"),
    (":0.9:0.33", "name"),
    ("Bad:0.9:abc", "non-numeric value 'abc'"),
    ("Bad:0.9:0.33:0.9:1.0", "same radius"),
    ("Bad:0.9:-0.33", "positive"),
    ("Bad:0.9:0.33:", "pairs"),
], ids=["odd", "no-values", "no-name", "text", "dup-radius", "negative", "trailing"])
def test_read_models_bad_lines(tmp_path, line, problem):
    """Malformed lines raise InputError naming the file, the line number and the problem."""
    path = tmp_path / "EEG_models"
    path.write_text(f"# header\nGood:1:0.33\n{line}\n")
    with pytest.raises(InputError) as info:
        read_eeg_models(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 3" in message
    assert problem in message


def test_read_models_missing_file(tmp_path):
    with pytest.raises(InputError, match="Cannot read the EEG model file"):
        read_eeg_models(tmp_path / "nope")


def test_find_models_file(tmp_path, monkeypatch):
    """Explicit file wins; else $HOME/.mne/EEG_models when it exists; else None."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_eeg_models_file(None) is None
    default = tmp_path / ".mne" / "EEG_models"
    default.parent.mkdir()
    default.write_text("A:1:0.3\n")
    assert find_eeg_models_file(None) == default
    explicit = tmp_path / "mine"
    explicit.write_text("B:1:0.3\n")
    assert find_eeg_models_file(str(explicit)) == explicit
    with pytest.raises(InputError, match="does not exist"):
        find_eeg_models_file(str(tmp_path / "missing"))


def test_select_model(tmp_path):
    path = tmp_path / "m"
    path.write_text("Mine:0.9:0.33:1:0.33\n")
    models = read_eeg_models(path)
    assert select_eeg_model(models, None, path) is DEFAULT_MODEL
    assert select_eeg_model(models, "Mine", path).name == "Mine"
    with pytest.raises(InputError) as info:
        select_eeg_model(models, "Other", path)
    assert "'Other'" in str(info.value) and "Default, Mine" in str(info.value)
    assert str(path) in str(info.value)


def test_model_validation():
    with pytest.raises(InputError, match="ending at 1"):
        EegSphereModel("x", [0.5, 0.9], [0.3, 0.3])
    with pytest.raises(InputError, match="as many radii"):
        EegSphereModel("x", [0.5, 1.0], [0.3])


# ------------------------------------------------------- series coefficients

def test_series_single_layer_is_one():
    np.testing.assert_array_equal(series_coefficients(EegSphereModel("one", [1.0], [0.3]), 50),
                                  np.ones(50))


@pytest.mark.parametrize("radii, sigmas", [
    (DEFAULT_MODEL.radii, DEFAULT_MODEL.sigmas), THREE_LAYER,
], ids=["default", "three-layer"])
def test_series_matches_mne(radii, sigmas):
    """f_n equals MNE-Python's _fwd_eeg_get_multi_sphere_model_coeffs (bit for bit in practice)."""
    from mne.bem import _fwd_eeg_get_multi_sphere_model_coeffs

    sphere = mne.make_sphere_model(r0=(0, 0, 0.04), head_radius=0.09, relative_radii=radii,
                                   sigmas=sigmas, verbose=False)
    expected = _fwd_eeg_get_multi_sphere_model_coeffs(sphere, 201)  # n = 1 ... 200
    got = series_coefficients(EegSphereModel("m", radii, sigmas), 200)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    # The Default model attenuates the high orders strongly through the skull.
    assert 0 < got[-1] < got[0]


def test_series_equal_conductivities_are_one():
    """Layers of equal conductivity are one homogeneous sphere: f_n = 1 (to rounding)."""
    fn = series_coefficients(EegSphereModel("h", [0.8, 0.9, 1.0], [0.3, 0.3, 0.3]), 200)
    np.testing.assert_allclose(fn, 1.0, rtol=1e-13)


# -------------------------------------------------------------- Berg-Scherg

@pytest.mark.parametrize("radii, sigmas", [
    (DEFAULT_MODEL.radii, DEFAULT_MODEL.sigmas), THREE_LAYER,
], ids=["default", "three-layer"])
def test_fit_matches_mne(radii, sigmas, caplog):
    """mu and lambda (divided by the scalp sigma) equal mne.make_sphere_model's to 1e-6."""
    sphere = mne.make_sphere_model(r0=(0, 0, 0.04), head_radius=0.09, relative_radii=radii,
                                   sigmas=sigmas, verbose=False)
    with caplog.at_level(logging.INFO, logger="mne_cli.forward.eeg_sphere"):
        fit = fit_berg_scherg(EegSphereModel("m", radii, sigmas))
    np.testing.assert_allclose(fit.mu, sphere["mu"], rtol=1e-6)
    np.testing.assert_allclose(fit.lambda_, sphere["lambda"], rtol=1e-6)
    assert np.all(np.diff(fit.mu) < 0) and np.all(np.abs(fit.mu) < 1)
    # The k = 0 equation is exact: sum(lambda) * sigma_scalp == f_1.
    f1 = series_coefficients(EegSphereModel("m", radii, sigmas), 1)[0]
    np.testing.assert_allclose(fit.lambda_.sum() * sigmas[-1], f1, rtol=1e-12)
    assert 0 < fit.rv < 1e-4  # MNE reports 3.5e-5 (default) and 6.3e-5 (three layers)
    assert fit.inner_radius == radii[0]
    assert "RV =" in caplog.text and "mu3 =" in caplog.text and "lambda3 =" in caplog.text


def test_default_fit_values(default_fit):
    """Regression values of the Default model (as printed by MNE-Python / MNE-C logs)."""
    np.testing.assert_allclose(default_fit.mu, [0.945068, 0.667997, -0.291579], atol=1e-6)
    np.testing.assert_allclose(default_fit.lambda_ * 0.33, [0.136396, 0.684063, -0.0100889],
                               rtol=1e-5)
    np.testing.assert_allclose(default_fit.rv, 3.45988e-5, rtol=1e-5)


# ---------------------------------------------------------------- potentials

@pytest.mark.parametrize("depth, tol", [(0.0, 1e-13), (0.3, 5e-4), (0.6, 1.5e-3),
                                        (0.8, 3.5e-3), (0.85, 5e-3)])
def test_potentials_vs_exact_series(default_fit, depth, tol):
    """Berg-Scherg potentials match the exact multi-shell series within the fit error.

    Measured max |V - V_exact| / max |V_exact| over 80 scalp points (worst of the
    three moments): 4e-15 at the origin (only n = 1 survives, imposed exactly),
    2.8e-4 at 0.3 R, 9.7e-4 at 0.6 R, 2.6e-3 at 0.8 R, 3.9e-3 at 0.85 R (inner
    skull at 0.9 R); the tolerances leave ~30 % headroom.
    """
    points = _scalp_points(80, seed=1)
    direction = np.array([0.3, 0.5, 0.81]) / np.linalg.norm([0.3, 0.5, 0.81])
    rq = ORIGIN + depth * RADIUS * direction
    pot = eeg_sphere_potentials(rq[None], points, default_fit, ORIGIN, RADIUS)
    assert pot.shape == (80, 3)
    radii = RADIUS * DEFAULT_MODEL.radii[::-1]  # analytic_sphere wants outermost first
    sigmas = DEFAULT_MODEL.sigmas[::-1]
    for axis, q in enumerate([np.eye(3)[0], np.eye(3)[1], direction]):
        exact = sphere_potential(points, rq, q, radii, sigmas, center=ORIGIN)
        got = pot @ q if axis == 2 else pot[:, axis]
        err = np.abs(got - exact).max() / np.abs(exact).max()
        assert err < tol, (depth, axis, err)
        assert np.corrcoef(got, exact)[0, 1] > 1 - tol


def test_potentials_vs_mne_coil_function(default_fit):
    """Equal to MNE-Python's _eeg_spherepot_coil on off-sphere points (relative Frobenius 1e-10).

    Both evaluate the same closed formula with the same mu/lambda: measured ~1e-15.
    """
    from mne.forward._compute_forward import _eeg_spherepot_coil

    sphere = mne.make_sphere_model(r0=ORIGIN, head_radius=RADIUS, verbose=False)
    rng = np.random.default_rng(5)
    points = _scalp_points(50, seed=2) + 0.003 * rng.normal(size=(50, 3))
    sources = _ball_points(300, seed=3, rmax=0.95 * RADIUS)  # some beyond the inner skull
    expected = _eeg_spherepot_coil(sources, (points, None, np.ones(50), np.arange(50)),
                                   sphere).T
    got = eeg_sphere_potentials(sources, points, default_fit, ORIGIN, RADIUS)
    outside = np.linalg.norm(sources - ORIGIN, axis=1) >= 0.9 * RADIUS
    assert 10 < outside.sum() < 290  # both cases are exercised
    assert np.linalg.norm(got - expected) / np.linalg.norm(expected) < 1e-10
    np.testing.assert_array_equal(got.reshape(50, -1, 3)[:, outside], 0.0)


def test_potentials_vs_mne_forward():
    """Equal to mne.make_forward_solution with a sphere model on a 10-20 montage (rel. 1e-5)."""
    montage = mne.channels.make_standard_montage("colin27_1020")
    info = mne.create_info(montage.ch_names[:32], 1000.0, "eeg")
    info.set_montage(montage)
    r0, radius = np.array([0.0, 0.01, 0.045]), 0.085
    sphere = mne.make_sphere_model(r0=r0, head_radius=radius, relative_radii=THREE_LAYER[0],
                                   sigmas=THREE_LAYER[1], verbose=False)
    rr = _ball_points(40, seed=4, rmax=0.8 * radius, origin=r0)
    src = mne.setup_volume_source_space(pos={"rr": rr, "nn": np.tile([0.0, 0.0, 1.0], (40, 1))},
                                        sphere=sphere, verbose=False)
    fwd = mne.make_forward_solution(info, trans=None, src=src, bem=sphere, meg=False, eeg=True,
                                    verbose=False)
    assert fwd["source_ori"] == mne.io.constants.FIFF.FIFFV_MNE_FREE_ORI
    points = np.array([ch["loc"][:3] for ch in fwd["info"]["chs"]])
    fit = fit_berg_scherg(EegSphereModel("three", *THREE_LAYER))
    got = eeg_sphere_potentials(fwd["source_rr"], points, fit, r0, radius)
    expected = fwd["sol"]["data"]
    assert got.shape == expected.shape == (32, 120)
    # Measured ~4e-16: same fit (bit-identical COBYLA path) and the same formula.
    assert np.linalg.norm(got - expected) / np.linalg.norm(expected) < 1e-5


def test_column_layout_and_chunking(default_fit, monkeypatch):
    """Column 3k + i is source k along axis i, independent of the chunk size."""
    points = _scalp_points(7, seed=6)
    sources = _ball_points(11, seed=7, rmax=0.8 * RADIUS)
    whole = eeg_sphere_potentials(sources, points, default_fit, ORIGIN, RADIUS)
    for k in (0, 5, 10):
        one = eeg_sphere_potentials(sources[k:k + 1], points, default_fit, ORIGIN, RADIUS)
        np.testing.assert_allclose(whole[:, 3 * k:3 * k + 3], one, rtol=1e-14, atol=0)
    monkeypatch.setattr(eeg_sphere, "_PAIRS_PER_CHUNK", 20)  # 2 sources per chunk
    chunked = eeg_sphere_potentials(sources, points, default_fit, ORIGIN, RADIUS)
    np.testing.assert_allclose(chunked, whole, rtol=1e-14, atol=0)


def test_scalp_projection(default_fit):
    """scalp_project moves points radially onto the sphere of ``radius`` before evaluating."""
    on_sphere = _scalp_points(20, seed=8)
    scale = np.linspace(0.8, 1.3, 20)[:, None]
    moved = ORIGIN + (on_sphere - ORIGIN) * scale
    sources = _ball_points(5, seed=9, rmax=0.7 * RADIUS)
    reference = eeg_sphere_potentials(sources, on_sphere, default_fit, ORIGIN, RADIUS)
    projected = eeg_sphere_potentials(sources, moved, default_fit, ORIGIN, RADIUS,
                                      scalp_project=True)
    np.testing.assert_allclose(projected, reference, rtol=1e-12, atol=1e-12 * abs(reference).max())
    unprojected = eeg_sphere_potentials(sources, moved, default_fit, ORIGIN, RADIUS)
    assert np.abs(unprojected - reference).max() > 0.1 * np.abs(reference).max()
    with pytest.raises(InputError, match="origin"):
        eeg_sphere_potentials(sources, ORIGIN[None], default_fit, ORIGIN, RADIUS,
                              scalp_project=True)


def test_source_at_origin_is_finite_limit(default_fit):
    """At the origin (MNE-Python gives NaN there) the potential is the r_q -> 0 limit.

    Only the n = 1 term survives: V = 3 f_1 Q.r / (4 pi sigma_scalp R^3) on the scalp,
    which is also what MNE-Python gives for a source 1e-9 m off the origin.
    """
    points = _scalp_points(30, seed=10)
    at_origin = eeg_sphere_potentials(ORIGIN[None], points, default_fit, ORIGIN, RADIUS)
    assert np.all(np.isfinite(at_origin))
    expected = 3 * default_fit.lambda_.sum() * (points - ORIGIN) / (4 * np.pi * RADIUS ** 3)
    np.testing.assert_allclose(at_origin, expected, rtol=1e-12, atol=0)
    # Continuity: sources 1e-11 ... 1e-7 m away agree to ~|r_q| / R (measured 1.4e-6 at 1e-7 m).
    for offset in (1e-11, 1e-9, 1e-7):
        near = ORIGIN + offset * np.array([0.6, 0.0, -0.8])
        pot = eeg_sphere_potentials(near[None], points, default_fit, ORIGIN, RADIUS)
        assert np.abs(pot - at_origin).max() < max(20 * offset / RADIUS, 1e-7) * \
            np.abs(at_origin).max()


def test_sources_outside_inner_layer_are_zero(default_fit):
    """Sources at or beyond the innermost layer radius (0.9 R here) give exactly zero."""
    origin = np.zeros(3)  # so that the source at 0.9 R is exactly on the boundary
    points = _scalp_points(10, seed=11, origin=origin)
    sources = np.outer([0.5, 0.899999, 0.9, 0.95, 1.2], [0.0, 0.0, RADIUS])
    pot = eeg_sphere_potentials(sources, points, default_fit, origin, RADIUS).reshape(10, 5, 3)
    assert np.all(np.abs(pot[:, :2]).max(axis=(0, 2)) > 0)
    np.testing.assert_array_equal(pot[:, 2:], 0.0)


def test_empty_inputs(default_fit):
    assert eeg_sphere_potentials(np.zeros((0, 3)), _scalp_points(4, 0), default_fit, ORIGIN,
                                 RADIUS).shape == (4, 0)
    assert eeg_sphere_potentials(ORIGIN[None], np.zeros((0, 3)), default_fit, ORIGIN,
                                 RADIUS).shape == (0, 3)
