"""Write the bundled demo subject of ``share/demo`` with mne_cli's own writers.

Run from anywhere: ``python share/demo/make_demo.py`` (or ``make -C
share/demo subject``). The geometry is fully determined by the constants
below (nothing random is drawn): rerunning changes only the time stamps the
writers put into the file headers. The script ends by measuring the
clearances the demo relies on and refuses to finish if one is too small.

What it makes (MRI coordinates are FreeSurfer surface RAS; millimetres in
this script, metres in the FIF files):

``subjects/demo/bem/{inner_skull,outer_skull,outer_skin}.surf``
    A three-shell head centred at ``CENTRE``. Each shell is the grade-4
    icosahedron (2562 vertices, 5120 triangles, in MNE-C's numbering, so that
    ``surf2bem --ico 3`` can decimate it) pushed radially onto a
    superellipsoid of exponent 2.5 (a little boxier than an ellipsoid, as
    heads are) times a gentle third-order perturbation (``_bumps``, within
    about 3 %). Inner-skull semi-axes 74 / 86 / 74 mm (mean radius about
    78 mm, an adult skull), then +6 mm for the outer skull and +12 mm for the
    scalp: the shells are 5.9-6.2 mm apart everywhere, like the sample
    subject's. Radial scaling keeps the triangles counter-clockwise seen from
    outside.

``subjects/demo/surf/{lh,rh}.{white,sphere}``
    A cortex-like pair of grade-5 icosahedra (10242 vertices, 20480
    triangles each). ``?h.sphere`` is the unit icosahedron scaled to
    100 mm, as FreeSurfer's spheres are, so ``--ico`` / ``--oct`` / ``--spacing``
    pick exact template vertices. ``?h.white`` deforms the same vertices
    into a hemisphere about 58 x 128 x 96 mm: half-ellipsoids of 25 mm
    (lateral) and 30 mm (medial, flattened into a superellipse of exponent
    3) across, 62 mm front-back and 46 mm up-down, centred 33 mm left / right
    of the midline and 4 mm above the head centre, with meandering
    sinusoidal gyri of 2.5 mm amplitude and 24 mm wavelength along the
    surface normal (damped on the medial face; a different phase per side,
    so the hemispheres are not mirror images). These sizes leave at least
    10 mm to the inner skull, so ``--mindist 5`` keeps every source, and
    5.6 mm between the hemispheres.

``demo-trans.fif``
    The head -> MRI transform. The fiducials (LPA, nasion, RPA) are where
    slightly asymmetric rays from the head centre, about 30 degrees below
    the horizontal, meet the scalp mesh; the head frame is built from them
    as the Neuromag convention defines it (x through RPA, y through the
    nasion, origin on the LPA-RPA line). The transform comes out as a
    4-degree rotation plus a 35 mm translation: the head origin lies between
    the ears, 46 mm below the centre of the head, so a sphere model
    belongs near (0, 3, 42) mm in head coordinates.

``demo_run1_raw.fif``, ``demo_run2_raw.fif``
    Vectorview-like measurement information (no data). 102 sensor locations
    on a helmet (a superellipsoid of exponent 2.5, semi-axes 110 / 122 /
    112 mm about the device origin, reaching 100 degrees from the top, 70
    over the face), each with two planar gradiometers (coil types 3012 and
    3013, frames turned 90 degrees about the outward normal) and one
    magnetometer (3024), named ``MEG xxy2``, ``MEG xxy3``, ``MEG xxy1`` and
    ordered as in real files; 60 EEG electrodes on the scalp mesh (head
    frame) with the reference electrode above the nasion in ``loc[3:6]``;
    the fiducials, four HPI coils, the EEG positions and 40 head-shape
    points as digitisation; 1 kHz sampling, 0.1-330 Hz. The runs differ only
    in the device -> head transform: in run 1 the head centre sits 6 mm
    above and 4 mm behind the helmet centre (sensors 19-28 mm from the
    scalp); in run 2 the head is moved 4.8 mm and turned 4.9 degrees more
    (15-31 mm), the situation ``average_forward_solutions`` is meant for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mne_cli.fiff.constants import FILE_VERSION, ChannelKind, Frame, Unit
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import distance_to_surface, triangle_normals, vertex_normals
from mne_cli.io.meas import write_meas_info
from mne_cli.io.surface import write_freesurfer_surface
from mne_cli.io.transform import write_trans
from mne_cli.objects import Channel, DigPoint, FileId, MeasInfo, Transform

HERE = Path(__file__).resolve().parent
SUBJECT_DIR = HERE / "subjects" / "demo"
MM = 1e-3  # metres per millimetre

# --- head ------------------------------------------------------------------
CENTRE = np.array([1.0, -10.0, 12.0])            # head centre, MRI frame, mm
INNER_SKULL_AXES = np.array([74.0, 86.0, 74.0])  # semi-axes, mm
SHELL_EXPONENT = 2.5                             # superellipsoid exponent (2: ellipsoid)
SHELL_STEP = 6.0                                 # mm from shell to shell
BEM_GRADE = 4

# --- cortex ----------------------------------------------------------------
CORTEX_GRADE = 5
HEMI_OFFSET = np.array([33.0, -2.0, 4.0])  # hemisphere centre - CENTRE (x sign per side)
HEMI_AXES = {"lateral": 25.0, "medial": 30.0, "y": 62.0, "z": 46.0}
MEDIAL_EXPONENT = 3.0                      # superellipse exponent of the medial face
GYRUS_AMPLITUDE = 2.5                      # mm
GYRUS_WAVELENGTH = 24.0                    # mm
SPHERE_RADIUS = 100.0                      # mm, FreeSurfer's ?h.sphere

# --- sensors ---------------------------------------------------------------
HELMET_AXES = np.array([110.0, 122.0, 112.0])  # mm, device frame
HELMET_EXPONENT = 2.5                          # superellipsoid, like the head
N_MEG_LOCATIONS = 102
N_EEG = 60
N_HEADSHAPE = 40
CENTRE_IN_DEVICE = np.array([0.0, -4.0, 6.0])   # where the head centre sits, mm
RUN_POSES = {  # (rotation about x, y, z in degrees, extra shift in mm) of the head
    1: ((4.0, 1.0, -1.0), (0.0, 0.0, 0.0)),
    2: ((7.0, -1.5, 2.0), (2.0, -3.0, 3.0)),
}
SFREQ, LOWPASS, HIGHPASS = 1000.0, 330.0, 0.1
MEAS_SECS = 1705312800  # 2024-01-15 10:00:00 UTC


# --- small geometry helpers --------------------------------------------------

def _bumps(u: np.ndarray) -> np.ndarray:
    """Relative radial perturbation (n,) of unit directions u (n, 3): a smooth
    third-order polynomial, within about +-3 %."""
    x, y, z = u.T
    return 0.03 * y * z - 0.02 * z ** 3 + 0.015 * x * y + 0.01 * (x ** 2 - y ** 2)


def _shell(u: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Points (n, 3), mm, of the perturbed superellipsoid along unit directions
    u from CENTRE."""
    radius = np.sum(np.abs(u / axes) ** SHELL_EXPONENT, axis=1) ** (-1.0 / SHELL_EXPONENT)
    return CENTRE + u * (radius * (1.0 + _bumps(u)))[:, None]


def _rotation(degrees: tuple[float, float, float]) -> np.ndarray:
    """Rotation matrix, shape (3, 3): about x, then y, then z (degrees)."""
    ax, ay, az = np.deg2rad(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _transform(from_frame: int, to_frame: int, rot: np.ndarray, move_mm: np.ndarray) -> Transform:
    matrix = np.eye(4)
    matrix[:3, :3] = rot
    matrix[:3, 3] = np.asarray(move_mm) * MM
    return Transform(from_frame, to_frame, matrix)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _cap_directions(count: int, keep) -> np.ndarray:
    """Exactly ``count`` roughly even unit vectors (count, 3) for which
    ``keep(theta, phi)`` holds (theta from +z, phi from +y towards +x,
    radians): the first Fibonacci sphere lattice that yields that many."""
    golden = np.pi * (3.0 - np.sqrt(5.0))
    for total in range(count, 20 * count):
        k = np.arange(total)
        z = 1.0 - (2.0 * k + 1.0) / total
        ring = np.sqrt(1.0 - z ** 2)
        u = np.column_stack([ring * np.cos(golden * k), ring * np.sin(golden * k), z])
        theta = np.arccos(np.clip(u[:, 2], -1, 1))
        phi = np.arctan2(u[:, 0], u[:, 1])
        chosen = u[keep(theta, phi)]
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"no Fibonacci lattice gives {count} points in the cap")


def _hit_surface(origin: np.ndarray, directions: np.ndarray, rr: np.ndarray,
                 tris: np.ndarray) -> np.ndarray:
    """Where rays from ``origin`` (3,) along ``directions`` (n, 3) first leave the
    triangulated surface (rr, tris); returns (n, 3) points (Moller-Trumbore)."""
    p0, e1, e2 = rr[tris[:, 0]], rr[tris[:, 1]] - rr[tris[:, 0]], rr[tris[:, 2]] - rr[tris[:, 0]]
    hits = np.empty((len(directions), 3))
    for i, d in enumerate(directions):
        pvec = np.cross(d, e2)
        det = np.einsum("ij,ij->i", e1, pvec)
        with np.errstate(divide="ignore", invalid="ignore"):
            tvec = origin - p0
            a = np.einsum("ij,ij->i", tvec, pvec) / det
            qvec = np.cross(tvec, e1)
            b = (qvec @ d) / det
            t = np.einsum("ij,ij->i", e2, qvec) / det
        ok = (np.abs(det) > 1e-12) & (a >= 0) & (b >= 0) & (a + b <= 1) & (t > 0)
        hits[i] = origin + d * t[ok].min()
    return hits


# --- artefacts ---------------------------------------------------------------

def make_bem_surfaces() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three shells (mm): name -> (rr, tris), innermost first."""
    u, tris = icosahedron(BEM_GRADE)
    shells = {}
    for k, name in enumerate(("inner_skull", "outer_skull", "outer_skin")):
        shells[name] = (_shell(u, INNER_SKULL_AXES + k * SHELL_STEP), tris)
    return shells


def make_hemisphere(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One white-matter surface (mm) and its sphere: (white rr, sphere rr, tris).

    ``side`` is -1 for the left, +1 for the right hemisphere. The medial
    direction is ``-side`` along x.
    """
    u, tris = icosahedron(CORTEX_GRADE)
    ux = u[:, 0] * side  # > 0 lateral, < 0 medial
    lateral = HEMI_AXES["lateral"] * np.clip(ux, 0, None)
    medial = -HEMI_AXES["medial"] * np.abs(np.clip(ux, None, 0)) ** (2 / MEDIAL_EXPONENT)
    centre = CENTRE + HEMI_OFFSET * np.array([side, 1.0, 1.0])
    base = centre + np.column_stack([(lateral + medial) * side,
                                     HEMI_AXES["y"] * u[:, 1], HEMI_AXES["z"] * u[:, 2]])
    # Meandering gyri: stripes across y, bent by z and x; a different phase
    # per side so that the hemispheres are not mirror images.
    q = base - centre
    k = 2 * np.pi / GYRUS_WAVELENGTH
    phase = (k * (0.95 * q[:, 1] + 0.3 * q[:, 2]) + 1.3 * np.sin(2 * np.pi * q[:, 2] / 40.0)
             + 0.8 * np.sin(2 * np.pi * q[:, 0] / 35.0) + (0.0 if side < 0 else 1.0))
    amplitude = GYRUS_AMPLITUDE * (1.0 - 0.8 * np.clip(-ux, 0, None) ** 2)
    white = base + (amplitude * np.sin(phase))[:, None] * vertex_normals(base, tris)
    # The gyri must not fold the surface over: every triangle keeps facing
    # the way it faced on the smooth base.
    facing = np.einsum("ij,ij->i", triangle_normals(white, tris)[0],
                       triangle_normals(base, tris)[0])
    if not facing.min() > 0.2:
        raise RuntimeError(f"demo cortex: a triangle turns over (cosine {facing.min():.2f})")
    return white, SPHERE_RADIUS * u, tris


def make_fiducials(scalp: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """LPA, nasion and RPA on the scalp mesh (MRI frame, mm)."""
    directions = _unit(np.array([[-1.0, 0.04, -0.56],    # LPA
                                 [0.03, 1.0, -0.45],     # nasion
                                 [1.0, -0.02, -0.60]]))  # RPA
    lpa, nasion, rpa = _hit_surface(CENTRE, directions, *scalp)
    return {"lpa": lpa, "nasion": nasion, "rpa": rpa}


def make_head_mri_trans(fid: dict[str, np.ndarray]) -> Transform:
    """head -> MRI from the fiducials (Neuromag head-frame definition)."""
    ex = _unit(fid["rpa"] - fid["lpa"])
    origin = fid["lpa"] + np.dot(fid["nasion"] - fid["lpa"], ex) * ex
    ey = _unit(fid["nasion"] - origin)
    ez = np.cross(ex, ey)
    return _transform(Frame.HEAD, Frame.MRI, np.column_stack([ex, ey, ez]), origin)


def make_dev_head_trans(run: int, head_mri: Transform) -> Transform:
    """device -> head: the head centre at CENTRE_IN_DEVICE (+ the run's shift),
    the head turned by the run's angles."""
    angles, shift = RUN_POSES[run]
    rot = _rotation(angles)  # device directions -> head directions
    centre_head = head_mri.inverse().apply(CENTRE[None] * MM)[0] / MM
    centre_device = CENTRE_IN_DEVICE + np.asarray(shift)
    return _transform(Frame.DEVICE, Frame.HEAD, rot, centre_head - rot @ centre_device)


def make_meg_channels() -> list[Channel]:
    """306 Vectorview-like MEG channels (device frame)."""
    # Helmet cap: down to 100 degrees from the top, 70 degrees over the face.
    def keep(theta, phi):
        face = np.clip(np.cos(phi), 0, None) ** 2
        return theta < np.deg2rad(100.0 - 30.0 * face)

    u = _cap_directions(N_MEG_LOCATIONS, keep)
    # Name sensors module by module, front to back, left to right.
    u = u[np.lexsort((u[:, 0], -u[:, 1]))]
    n = HELMET_EXPONENT
    r0 = u * np.sum(np.abs(u / HELMET_AXES) ** n, axis=1)[:, None] ** (-1 / n)  # mm
    ez = _unit(np.sign(r0) * np.abs(r0) ** (n - 1) / HELMET_AXES ** n)  # the surface normal
    r0 = r0 * MM
    ex = np.cross([0.0, 0.0, 1.0], ez)
    ex[np.linalg.norm(ex, axis=1) < 1e-6] = [1.0, 0.0, 0.0]
    ex = _unit(ex - np.sum(ex * ez, axis=1, keepdims=True) * ez)
    ey = np.cross(ez, ex)
    names = [f"{m:02d}{p}" for m in range(1, 27) for p in range(1, 5)][:N_MEG_LOCATIONS]
    channels = []
    for name, r, x, y, z in zip(names, r0, ex, ey, ez):
        for suffix, coil, unit, cal, frame in (
                ("2", 3012, Unit.T_M, 3.16e-9, (x, y, z)),
                ("3", 3013, Unit.T_M, 3.16e-9, (y, -x, z)),
                ("1", 3024, Unit.T, 4.14e-11, (x, y, z))):
            label = name + suffix
            channels.append(Channel(scanno=0, logno=int(label), kind=ChannelKind.MEG,
                                    range=1.0, cal=cal, coil_type=coil,
                                    loc=np.concatenate([r, *frame]), unit=unit, unit_mul=0,
                                    name=f"MEG {label}"))
    return channels


def make_eeg_positions(scalp: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """60 electrodes and the reference on the scalp mesh (MRI frame, mm)."""
    def keep(theta, phi):
        face = np.clip(np.cos(phi), 0, None) ** 2
        return theta < np.deg2rad(108.0 - 28.0 * face)

    electrodes = _hit_surface(CENTRE, _cap_directions(N_EEG, keep), *scalp)
    reference = _hit_surface(CENTRE, _unit(np.array([[0.0, 1.0, -0.25]])), *scalp)[0]
    return electrodes, reference


def make_eeg_channels(electrodes_head: np.ndarray, reference_head: np.ndarray) -> list[Channel]:
    """60 EEG channels, positions in metres in the head frame."""
    return [Channel(scanno=0, logno=k + 1, kind=ChannelKind.EEG, range=1.0, cal=1.9e-4,
                    coil_type=1, loc=np.concatenate([r, reference_head, np.zeros(6)]),
                    unit=Unit.V, unit_mul=0, name=f"EEG {k + 1:03d}")
            for k, r in enumerate(electrodes_head)]


def make_dig(fid_head: dict[str, np.ndarray], eeg_head: np.ndarray, ref_head: np.ndarray,
             scalp_head: tuple[np.ndarray, np.ndarray]) -> list[DigPoint]:
    """Digitisation (head frame, metres): fiducials, HPI coils, EEG, head shape."""
    cardinal = [DigPoint(1, ident, fid_head[name])
                for ident, name in ((1, "lpa"), (2, "nasion"), (3, "rpa"))]
    centre = scalp_head[0].mean(axis=0)
    hpi_dirs = _unit(np.array([[-0.45, 0.85, 0.1], [0.45, 0.85, 0.1],
                               [-0.9, -0.3, 0.05], [0.9, -0.3, 0.05]]))
    hpi = [DigPoint(2, k + 1, r) for k, r in enumerate(_hit_surface(centre, hpi_dirs, *scalp_head))]
    eeg = [DigPoint(3, 0, ref_head)] + [DigPoint(3, k + 1, r) for k, r in enumerate(eeg_head)]
    shape_dirs = _cap_directions(N_HEADSHAPE, lambda theta, phi: theta < np.deg2rad(95.0))
    extra = [DigPoint(4, k + 1, r)
             for k, r in enumerate(_hit_surface(centre, shape_dirs, *scalp_head))]
    return cardinal + hpi + eeg + extra


def make_meas_info(run: int, head_mri: Transform, channels: list[Channel],
                   dig: list[DigPoint]) -> MeasInfo:
    return MeasInfo(
        channels=channels, dev_head_t=make_dev_head_trans(run, head_mri), sfreq=SFREQ,
        lowpass=LOWPASS, highpass=HIGHPASS, dig=dig,
        meas_id=FileId(FILE_VERSION, (0x6D6E6563, 0x64656D6F), MEAS_SECS + 3600 * (run - 1), 0),
        meas_date=(MEAS_SECS + 3600 * (run - 1), 0),
        description=f"mne_cli demo subject, run {run} (measurement information only)")


# --- checks ------------------------------------------------------------------

def _min_distance(points: np.ndarray, rr: np.ndarray, tris: np.ndarray) -> float:
    """Smallest distance (mm) from ``points`` to the surface (rr, tris), exactly.

    A point's distance is at least its nearest-vertex distance minus the
    largest triangle circumradius, so only the points within that reach of
    the smallest nearest-vertex distance are measured exactly.
    """
    from scipy.spatial import cKDTree

    near = cKDTree(rr).query(points)[0]
    a, b, c = (np.linalg.norm(rr[tris[:, i]] - rr[tris[:, j]], axis=1)
               for i, j in ((0, 1), (1, 2), (2, 0)))
    area = np.linalg.norm(np.cross(rr[tris[:, 1]] - rr[tris[:, 0]],
                                   rr[tris[:, 2]] - rr[tris[:, 0]]), axis=1) / 2
    reach = np.max(a * b * c / (4 * area))  # no surface point is farther from every vertex
    return float(distance_to_surface(points[near <= near.min() + reach], rr, tris).min())


def check_geometry(shells, hemis, sensors_mri_mm) -> dict[str, float]:
    """Minimum distances (mm) the demo relies on; raises if one is too small."""
    inner, outer, scalp = shells.values()
    found = {
        "inner -> outer skull": _min_distance(inner[0], *outer),
        "outer skull -> scalp": _min_distance(outer[0], *scalp),
        "cortex -> inner skull": min(_min_distance(w, *inner) for w, _, _ in hemis),
        "lh -> rh": _min_distance(hemis[0][0], hemis[1][0], hemis[1][2]),
        "MEG sensors -> scalp": _min_distance(sensors_mri_mm, *scalp),
    }
    needed = {"inner -> outer skull": 4.0, "outer skull -> scalp": 4.0,
              "cortex -> inner skull": 8.0, "lh -> rh": 2.0, "MEG sensors -> scalp": 12.0}
    for key, value in found.items():
        if value < needed[key]:
            raise RuntimeError(f"demo geometry: {key} distance {value:.1f} mm < {needed[key]} mm")
    return found


# --- main --------------------------------------------------------------------

def main() -> None:
    # Build everything in memory first, check it, then write.
    shells = make_bem_surfaces()
    hemis = {"lh": make_hemisphere(-1), "rh": make_hemisphere(+1)}
    scalp = shells["outer_skin"]
    fiducials = make_fiducials(scalp)
    head_mri = make_head_mri_trans(fiducials)
    mri_head = head_mri.inverse()

    def to_head(points_mm):
        return mri_head.apply(np.atleast_2d(points_mm) * MM)

    electrodes, reference = make_eeg_positions(scalp)
    eeg_head, ref_head = to_head(electrodes), to_head(reference)[0]
    channels = make_meg_channels() + make_eeg_channels(eeg_head, ref_head)
    dig = make_dig({name: to_head(r)[0] for name, r in fiducials.items()}, eeg_head, ref_head,
                   (to_head(scalp[0]), scalp[1]))
    infos = {run: make_meas_info(run, head_mri, channels, dig) for run in (1, 2)}
    r0 = np.array([ch.loc[:3] for ch in channels if ch.kind == ChannelKind.MEG])
    sensors_mri = np.vstack([info.dev_head_t.then(head_mri).apply(r0) / MM
                             for info in infos.values()])
    found = check_geometry(shells, list(hemis.values()), sensors_mri)

    (SUBJECT_DIR / "bem").mkdir(parents=True, exist_ok=True)
    (SUBJECT_DIR / "surf").mkdir(parents=True, exist_ok=True)
    for name, (rr, tris) in shells.items():
        write_freesurfer_surface(SUBJECT_DIR / "bem" / f"{name}.surf", rr * MM, tris)
    for hemi, (white, sphere, tris) in hemis.items():
        write_freesurfer_surface(SUBJECT_DIR / "surf" / f"{hemi}.white", white * MM, tris)
        write_freesurfer_surface(SUBJECT_DIR / "surf" / f"{hemi}.sphere", sphere * MM, tris)
    write_trans(HERE / "demo-trans.fif", head_mri)
    for run, info in infos.items():
        write_meas_info(HERE / f"demo_run{run}_raw.fif", info)

    print("wrote the demo subject under", HERE)
    for key, value in found.items():
        print(f"  min distance {key}: {value:.1f} mm")
    print("  head -> MRI translation (mm):", np.round(head_mri.matrix[:3, 3] / MM, 1))
    print("  head centre in head frame (mm):", np.round(to_head(CENTRE)[0] / MM, 1))


if __name__ == "__main__":
    main()
