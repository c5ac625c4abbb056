"""EEG potentials in a multilayer sphere via Berg-Scherg equivalent dipoles.

Mirrors MNE-C's ``fwd_eeg_sphere_models.c`` (model file, series
coefficients, equivalent-dipole fit, ``fwd_eeg_spherepot``) with the fit
carried out as MNE-Python's ``make_sphere_model`` does it (COBYLA from
mu = 0), so that the potentials agree with MNE-Python. SPEC 3.7 (model
file) and 9.9 ("Sphere model, EEG").

Units: radii of a model are relative (outermost layer = 1) and are scaled
by the scalp radius (m) at use; conductivities are S/m; positions are
metres; potentials are V per A m of dipole moment.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import linalg
from scipy.optimize import fmin_cobyla

from ..errors import InputError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL",
    "BergFit",
    "EegSphereModel",
    "eeg_sphere_potentials",
    "find_eeg_models_file",
    "fit_berg_scherg",
    "read_eeg_models",
    "select_eeg_model",
    "series_coefficients",
]

#: Name of the model that is always available (SPEC 3.7).
DEFAULT_NAME = "Default"
#: Number of terms of the exact series and of equivalent dipoles (MNE-C, MNE-Python).
N_TERMS = 200
N_FIT = 3
#: COBYLA settings of MNE-Python 1.13 ``_fit_berg_scherg_cached``: constraint
#: |mu| <= 1 - 2 catol, initial and final trust-region radius. (rhoend is
#: 1e-4 there, not 1e-5: with 1e-5 mu moves by up to ~3e-3 and no longer
#: matches MNE-Python's sphere forward.)
_COBYLA_CATOL = 1e-6
_COBYLA_RHOBEG = 0.5
_COBYLA_RHOEND = 1e-4
#: Objective value returned for |mu| >= 1 (outside the conductor), as MNE.
_INFEASIBLE = 100.0
#: An equivalent dipole closer to the origin than this fraction of the scalp
#: radius uses the limit r_d -> 0 of the potential formula (the formula
#: divides by |r_d|^2; its rounding error grows like eps R / |r_d| while the
#: limit is off by ~|r_d| / R, so 1e-9 balances the two near 1e-8 relative).
_ORIGIN_FRACTION = 1e-9
#: (source, point) pairs per chunk: the temporaries take ~180 bytes per pair
#: (measured with tracemalloc), so ~55 MB at most whatever the source count.
_PAIRS_PER_CHUNK = 300_000


@dataclass(frozen=True)
class EegSphereModel:
    """Concentric-sphere conductivity model for EEG (MNE-C ``fwdEegSphereModel``).

    Attributes
    ----------
    name : str
        Model name as given in the model file (``Default`` is built in).
    radii : ndarray, shape (nlayer,)
        Relative layer radii, strictly ascending, the outermost equal to 1
        (dimensionless; multiplied by the scalp radius in metres at use).
    sigmas : ndarray, shape (nlayer,)
        Conductivity inside each layer, S/m, innermost first (the last one is
        the scalp).
    """

    name: str
    radii: np.ndarray
    sigmas: np.ndarray

    def __post_init__(self) -> None:
        radii = np.array(self.radii, dtype=np.float64).ravel()
        sigmas = np.array(self.sigmas, dtype=np.float64).ravel()
        problem = None
        if radii.size == 0 or radii.shape != sigmas.shape:
            problem = (f"needs as many radii as conductivities and at least one layer "
                       f"(got {radii.size} and {sigmas.size})")
        elif not (np.all(np.isfinite(radii)) and np.all(radii > 0)
                  and np.all(np.diff(radii) > 0) and radii[-1] == 1.0):
            problem = f"needs positive ascending relative radii ending at 1 (got {radii})"
        elif not (np.all(np.isfinite(sigmas)) and np.all(sigmas > 0)):
            problem = f"needs positive finite conductivities (got {sigmas})"
        if problem:
            raise InputError(f"EEG sphere model '{self.name}' {problem}.")
        radii.flags.writeable = False
        sigmas.flags.writeable = False
        object.__setattr__(self, "radii", radii)
        object.__setattr__(self, "sigmas", sigmas)

    @property
    def nlayer(self) -> int:
        """Number of layers."""
        return int(self.radii.size)

    @property
    def scalp_sigma(self) -> float:
        """Conductivity of the outermost layer, S/m."""
        return float(self.sigmas[-1])

    def describe(self) -> str:
        """One line ``name: r1 s1, r2 s2 ...`` for logs."""
        layers = ", ".join(f"{r:.3f} ({s:g} S/m)" for r, s in zip(self.radii, self.sigmas))
        return f"{self.name}: {layers}"


#: Built-in model (brain, CSF, skull, scalp; SPEC 3.7).
DEFAULT_MODEL = EegSphereModel(
    DEFAULT_NAME,
    np.array([0.90, 0.92, 0.97, 1.00]),
    np.array([0.33, 1.0, 0.004, 0.33]),
)


@dataclass(frozen=True)
class BergFit:
    """Berg-Scherg equivalent dipoles of a sphere model (SPEC 9.9 step 3).

    Attributes
    ----------
    mu : ndarray, shape (nfit,)
        Radial position factors, |mu| < 1, in decreasing order: the j-th
        equivalent dipole sits at ``mu[j] * r_q``.
    lambda_ : ndarray, shape (nfit,)
        Magnitude factors already divided by the scalp conductivity, m/S
        (i.e. 1/(S/m)); ``sum(lambda_) * sigma_scalp == f_1``.
    rv : float
        Relative residual variance of the weighted fit (dimensionless).
    inner_radius : float
        Relative radius of the innermost layer of the model fitted: sources
        at or beyond ``inner_radius * radius`` from the origin give zero.
    """

    mu: np.ndarray
    lambda_: np.ndarray
    rv: float
    inner_radius: float = 1.0


def find_eeg_models_file(explicit: str | os.PathLike | None) -> Path | None:
    """Locate the EEG sphere-model file (MNE-C ``--eegmodels``, SPEC 3.7).

    Parameters
    ----------
    explicit : str or path or None
        File named on the command line; it must exist.

    Returns
    -------
    path : Path or None
        ``explicit``, else ``$HOME/.mne/EEG_models`` when that file exists,
        else None (only the built-in ``Default`` model is then available).
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError(f"EEG model file {path} does not exist; give an existing file "
                             "to --eegmodels or leave the option out.")
        return path
    home = os.environ.get("HOME")
    if not home:
        return None
    path = Path(home) / ".mne" / "EEG_models"
    return path if path.is_file() else None


def read_eeg_models(path: str | os.PathLike | None) -> dict[str, EegSphereModel]:
    """Read an EEG sphere-model definition file (SPEC 3.7).

    Each non-comment line is ``name:r1:s1:r2:s2:...`` (radii in any
    consistent unit, conductivities in S/m); lines starting with ``#`` and
    blank lines are ignored. Layers are sorted by radius and radii divided by
    the largest one. A later definition of a name replaces an earlier one.

    Parameters
    ----------
    path : str or path or None
        Model file; None gives only the built-in model.

    Returns
    -------
    models : dict of str to EegSphereModel
        File models plus ``Default`` (DEFAULT_MODEL unless the file defines
        a model of that name), in file order with ``Default`` first.

    Raises
    ------
    InputError
        The file cannot be read or a line is malformed (the message names
        the file and line).
    """
    models: dict[str, EegSphereModel] = {DEFAULT_NAME: DEFAULT_MODEL}
    if path is None:
        return models
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"Cannot read the EEG model file {path}: "
                         f"{exc.strerror or exc}.") from exc
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        model = _parse_model_line(line, f"EEG model file {path}, line {lineno}")
        if model.name in seen:
            logger.warning("EEG model file %s, line %d: model '%s' redefined; "
                           "the later definition is used", path, lineno, model.name)
        seen.add(model.name)
        models[model.name] = model
    logger.info("Read %d EEG sphere model(s) from %s", len(seen), path)
    return models


def _parse_model_line(line: str, where: str) -> EegSphereModel:
    """One ``name:r1:s1:...`` line -> model; ``where`` names file and line for errors."""
    fields = [field.strip() for field in line.split(":")]
    name, values = fields[0], fields[1:]
    if not name:
        raise InputError(f"{where}: the model name (before the first ':') is empty.")
    if len(values) < 2 or len(values) % 2:
        raise InputError(f"{where}: model '{name}' needs radius:conductivity pairs after "
                         f"the name, found {len(values)} value(s).")
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        bad = next(v for v in values if not _is_float(v))
        raise InputError(f"{where}: model '{name}' has the non-numeric value '{bad}'.") \
            from None
    radii, sigmas = numbers[0::2], numbers[1::2]
    if not (np.all(np.isfinite(numbers)) and np.all(radii > 0) and np.all(sigmas > 0)):
        raise InputError(f"{where}: model '{name}' needs positive finite radii and "
                         "conductivities.")
    order = np.argsort(radii, kind="stable")
    radii, sigmas = radii[order], sigmas[order]
    if np.any(np.diff(radii) <= 0):
        raise InputError(f"{where}: model '{name}' has two layers with the same radius.")
    return EegSphereModel(name, radii / radii[-1], sigmas)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def select_eeg_model(models: dict[str, EegSphereModel], name: str | None,
                     source: str | os.PathLike | None = None) -> EegSphereModel:
    """Pick a model by name (MNE-C ``--eegmodel``).

    Parameters
    ----------
    models : dict of str to EegSphereModel
        As returned by :func:`read_eeg_models`.
    name : str or None
        Model name; None selects ``Default``.
    source : str or path or None
        Where the models came from (file name), for the error message.

    Returns
    -------
    model : EegSphereModel

    Raises
    ------
    InputError
        ``name`` is not among the models; the message lists the available ones.
    """
    name = DEFAULT_NAME if name is None else name
    if name in models:
        return models[name]
    where = f"the EEG model file {source}" if source is not None else "the built-in models"
    raise InputError(f"EEG sphere model '{name}' is not defined in {where}; available "
                     f"models: {', '.join(sorted(models))}.")


def series_coefficients(model: EegSphereModel, nterms: int = N_TERMS) -> np.ndarray:
    """Exact multilayer-sphere series coefficients f_n, n = 1 ... nterms.

    Mirrors MNE-C ``fwd_eeg_get_multi_sphere_model_coeffs`` (SPEC 9.9 step 2):
    f_n scales the n-th Legendre term of the scalp potential relative to a
    homogeneous sphere with the scalp conductivity.

    Parameters
    ----------
    model : EegSphereModel
        Layers innermost first, relative radii.
    nterms : int
        Number of coefficients.

    Returns
    -------
    fn : ndarray, shape (nterms,)
        Dimensionless; all ones for a single layer.
    """
    nlayer = model.nlayer
    if nlayer == 1:
        return np.ones(nterms)
    inner = model.radii[:-1]
    c1 = model.sigmas[:-1] / model.sigmas[1:]
    c2 = c1 - 1.0
    # A scalar loop over n on purpose (200 x a few 2x2 products, ~1 ms): it
    # reproduces MNE-C's and MNE-Python's rounding bit for bit. That matters
    # because the Berg-Scherg search starts at mu = 0, where the objective is
    # degenerate and symmetric, and last-bit differences in f_n change the
    # path COBYLA takes (results then differ by ~1e-3 instead of ~1e-15).
    cr = inner.copy()  # rho_k^(2n+1), built by repeated multiplication
    cr_step = inner * inner
    fn = np.empty(nterms)
    for n in range(1, nterms + 1):
        cr = cr * cr_step
        prod = np.eye(2)
        for k in range(nlayer - 2, -1, -1):  # M = A_1 (A_2 (... A_{L-1}))
            a_k = np.array([[n + (n + 1.0) * c1[k], (n + 1.0) * c2[k] / cr[k]],
                            [n * c2[k] * cr[k], (n + 1.0) + n * c1[k]]])
            prod = a_k @ prod
        fn[n - 1] = (n * (2.0 * n + 1.0) ** (nlayer - 1)
                     / (n * prod[1, 1] + (n + 1.0) * prod[1, 0]))
    return fn


class _LinearProblem:
    """Weighted linear part of the Berg-Scherg fit for given mu (SPEC 9.9 step 3).

    Unknowns are lambda_2 ... lambda_nfit; lambda_1 = f_1 - sum of the others
    makes the k = 0 equation exact. Equations k = 1 ... nterms - 1 are
    ``sum_j lambda_j (mu_j^k - mu_1^k) = f_{k+1} - mu_1^k f_1``, each
    multiplied by w_k (MNE-Python drops the last, zero-weight, equation).
    """

    def __init__(self, fn: np.ndarray, weights: np.ndarray) -> None:
        self.fn = fn
        self.k = np.arange(1, fn.size, dtype=np.float64)
        self.w = weights[:-1]

    def system(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted data y (nterms-1,) and design matrix (nterms-1, nfit-1)."""
        first = mu[0] ** self.k
        y = self.w * (self.fn[1:] - first * self.fn[0])
        design = self.w[:, None] * (mu[None, 1:] ** self.k[:, None] - first[:, None])
        return y, design

    def solve(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """Least-squares residual, the data and the SVD (u, s, vt) of the design."""
        y, design = self.system(mu)
        u, s, vt = linalg.svd(design, full_matrices=False)
        resid = y - u @ (y @ u)
        return resid, y, (u, s, vt)

    def objective(self, mu: np.ndarray) -> float:
        """Residual sum of squares, or a large constant outside |mu| < 1."""
        if np.max(np.abs(mu)) >= 1.0:
            return _INFEASIBLE
        resid = self.solve(mu)[0]
        return float(resid @ resid)


def fit_berg_scherg(model: EegSphereModel, nterms: int = N_TERMS, nfit: int = N_FIT) -> BergFit:
    """Fit Berg-Scherg equivalent dipoles to the exact series of a sphere model.

    Mirrors MNE-C ``fwd_eeg_fit_berg_scherg`` with the nonlinear search done
    as MNE-Python's ``make_sphere_model`` does it (SPEC 9.9 step 3): weights
    w_k = sqrt((2k+1)(3k+1)/k) f^(k-1) with f = innermost/outermost radius,
    k = 0 equation exact, weighted linear least squares for the remaining
    magnitudes, COBYLA over mu from 0 with |mu| <= 1 - 2e-6.

    Parameters
    ----------
    model : EegSphereModel
        Sphere model (relative radii, S/m).
    nterms : int
        Number of series terms fitted.
    nfit : int
        Number of equivalent dipoles (>= 2).

    Returns
    -------
    fit : BergFit
        mu in decreasing order; lambda_ divided by the scalp conductivity.
    """
    if nfit < 2 or nterms <= nfit:
        raise InputError(f"Berg-Scherg fit needs at least 2 dipoles and more terms than "
                         f"dipoles (got nfit={nfit}, nterms={nterms}).")
    fn = series_coefficients(model, nterms)
    f = model.radii[0] / model.radii[-1]
    k = np.arange(1, nterms + 1, dtype=np.float64)
    weights = np.sqrt((2.0 * k + 1.0) * (3.0 * k + 1.0) / k) * f ** (k - 1.0)
    weights[-1] = 0.0
    problem = _LinearProblem(fn, weights)
    bound = 1.0 - 2.0 * _COBYLA_CATOL
    mu = fmin_cobyla(problem.objective, np.zeros(nfit), [lambda x: bound - np.abs(x)],
                     rhobeg=_COBYLA_RHOBEG, rhoend=_COBYLA_RHOEND, catol=_COBYLA_CATOL,
                     disp=0)
    mu = np.asarray(mu, dtype=np.float64)
    resid, y, (u, s, vt) = problem.solve(mu)
    rest = ((y @ u) / s) @ vt  # lambda_2 ... lambda_nfit
    lambda_ = np.concatenate([[fn[0] - rest.sum()], rest])
    rv = float(resid @ resid / (y @ y))
    order = np.argsort(mu)[::-1]
    mu, lambda_ = mu[order], lambda_[order]
    logger.info("Equiv. model fitting -> RV = %g %%", 100.0 * rv)
    for j in range(nfit):
        logger.info("mu%d = %g    lambda%d = %g", j + 1, mu[j], j + 1, lambda_[j])
    return BergFit(mu=mu, lambda_=lambda_ / model.scalp_sigma, rv=rv,
                   inner_radius=float(model.radii[0]))


def eeg_sphere_potentials(sources: np.ndarray, points: np.ndarray, fit: BergFit,
                          origin: np.ndarray, radius: float,
                          scalp_project: bool = False) -> np.ndarray:
    """Potential of unit dipoles in the Berg-Scherg sphere model (SPEC 9.9 step 4).

    Mirrors MNE-C ``fwd_eeg_spherepot`` (MNE-Python ``_do_eeg_spherepot_coil``)
    summed over the equivalent dipoles.

    Parameters
    ----------
    sources : ndarray, shape (nsrc, 3)
        Dipole positions, metres, in the frame of ``points``.
    points : ndarray, shape (npts, 3)
        Electrode (integration) points, metres.
    fit : BergFit
        Equivalent dipoles of the model.
    origin : ndarray, shape (3,)
        Sphere centre, metres.
    radius : float
        Scalp (outermost layer) radius, metres; layer radii are
        ``relative * radius``.
    scalp_project : bool
        Move each point radially onto the sphere of ``radius`` first (MNE-C
        ``--eegscalp``).

    Returns
    -------
    pot : ndarray, shape (npts, 3 * nsrc)
        V per A m; column 3k + i is source k with unit moment along axis i.
        Sources at or beyond the innermost layer radius from the origin give
        0. A source at the origin gets the limit of the formula (only the
        n = 1 term survives there).
    """
    origin = np.asarray(origin, dtype=np.float64).reshape(3)
    rq_all = np.asarray(sources, dtype=np.float64).reshape(-1, 3) - origin
    r = np.asarray(points, dtype=np.float64).reshape(-1, 3) - origin
    rho = np.linalg.norm(r, axis=1)
    if scalp_project:
        if np.any(rho == 0):
            raise InputError("An EEG electrode lies at the sphere-model origin and cannot "
                             "be projected onto the scalp sphere; check the origin.")
        r = r * (radius / rho)[:, None]
        rho = np.full(len(r), float(radius))
    npts, nsrc = len(r), len(rq_all)
    pot = np.zeros((npts, 3 * nsrc))
    inside = np.linalg.norm(rq_all, axis=1) < fit.inner_radius * radius
    step = max(1, _PAIRS_PER_CHUNK // max(npts, 1))
    for start in range(0, nsrc, step):
        stop = min(start + step, nsrc)
        keep = np.flatnonzero(inside[start:stop])
        if keep.size == 0:
            continue
        values = _berg_potential(r, rho, rq_all[start + keep], fit, radius)  # (npts, nk, 3)
        block = np.zeros((npts, stop - start, 3))
        block[:, keep] = values
        pot[:, 3 * start:3 * stop] = block.reshape(npts, 3 * (stop - start))
    return pot


def _berg_potential(r: np.ndarray, rho: np.ndarray, rq: np.ndarray, fit: BergFit,
                    radius: float) -> np.ndarray:
    """Potential vector (coefficient of Q), shape (npts, nsrc, 3), V/(A m).

    For each equivalent dipole r_d = mu r_q, with s = r.r_d, a = |r - r_d|,
    F = a (rho a + rho^2 - s), c1 = 2 (s - |r_d|^2)/a^3 + 1/a - 1/rho and
    c2 = 2/a^3 + (a + rho)/(rho F):
    V . Q = lambda/|r_d|^2 [(c1 - c2 s) r_d . Q + c2 |r_d|^2 r . Q] / (4 pi).
    The vector is accumulated as coef_q * r_q + coef_r * r.
    """
    rho = rho[:, None]
    rho2 = rho * rho
    s_q = r @ rq.T                                        # r . r_q, (npts, nsrc)
    rq2 = np.einsum("si,si->s", rq, rq)[None, :]
    coef_q = np.zeros_like(s_q)
    coef_r = np.zeros_like(s_q)
    for mu, lam in zip(fit.mu, fit.lambda_):
        s = mu * s_q
        rd2 = mu * mu * rq2
        a = np.sqrt(np.maximum(rho2 + rd2 - 2.0 * s, 0.0))
        a3 = 2.0 / (a * a * a)
        f_big = a * (rho * a + rho2 - s)
        c1 = a3 * (s - rd2) + 1.0 / a - 1.0 / rho
        c2 = a3 + (a + rho) / (rho * f_big)
        # lambda/|r_d|^2 (c1 - c2 s) r_d = lambda mu/|r_d|^2 (c1 - c2 s) r_q; at
        # r_d -> 0 this tends to 0 (c1 - c2 s is O(|r_d|^2)), the formula
        # being only rounding noise there.
        far = rd2 > (_ORIGIN_FRACTION * radius) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(far, lam * mu * (c1 - c2 * s) / rd2, 0.0)
        coef_q += term
        coef_r += lam * c2
    scale = 0.25 / np.pi
    return scale * (coef_q[..., None] * rq[None, :, :] + coef_r[..., None] * r[:, None, :])
