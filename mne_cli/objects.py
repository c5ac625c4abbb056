"""The data objects shared by the tools.

Plain dataclasses: geometry in metres, conductivities in S/m, indices
0-based (the FIF layer converts 1-based triangles at the file boundary).
Array shapes are given in each docstring.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from .fiff.constants import BemApprox, Frame


@dataclass
class FileId:
    """The FIF id struct (type 31): file or block identity."""

    version: int
    machid: tuple[int, int]
    secs: int
    usecs: int


@dataclass
class Transform:
    """An affine coordinate transform, ``p_to = R @ p_from + t``.

    Attributes
    ----------
    from_frame, to_frame : int
        Coordinate-frame codes (:class:`mne_cli.fiff.constants.Frame`).
    matrix : ndarray, shape (4, 4)
        Homogeneous matrix; translation in metres.
    """

    from_frame: int
    to_frame: int
    matrix: np.ndarray

    def inverse(self) -> Transform:
        """The transform in the other direction."""
        return Transform(self.to_frame, self.from_frame, np.linalg.inv(self.matrix))

    def towards(self, from_frame: int, to_frame: int) -> Transform | None:
        """This transform as ``from_frame -> to_frame`` (inverted if stored the
        other way), or None when it connects other frames."""
        if (self.from_frame, self.to_frame) == (from_frame, to_frame):
            return self
        if (self.from_frame, self.to_frame) == (to_frame, from_frame):
            return self.inverse()
        return None

    def then(self, other: Transform) -> Transform:
        """This transform followed by ``other`` (frames must chain)."""
        if other.from_frame != self.to_frame:
            raise ValueError(f"cannot chain frame {self.to_frame} into {other.from_frame}")
        return Transform(self.from_frame, other.to_frame, other.matrix @ self.matrix)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map positions, shape (n, 3), with the full affine transform."""
        return points @ self.matrix[:3, :3].T + self.matrix[:3, 3]

    def rotate(self, vectors: np.ndarray) -> np.ndarray:
        """Map directions, shape (n, 3), with the rotation part only."""
        return vectors @ self.matrix[:3, :3].T

    @classmethod
    def identity(cls, from_frame: int, to_frame: int) -> Transform:
        return cls(from_frame, to_frame, np.eye(4))


@dataclass
class Channel:
    """One channel description (FIF ch_info struct, type 30).

    ``loc`` holds 12 floats: for MEG the coil origin ``r0`` (m, device frame)
    and the unit vectors ``ex, ey, ez``; for EEG the electrode position and
    the reference electrode position (m, head frame). ``coil_type`` keeps the
    compensation grade in its high 16 bits, as on disk.
    """

    scanno: int
    logno: int
    kind: int
    range: float
    cal: float
    coil_type: int
    loc: np.ndarray
    unit: int
    unit_mul: int
    name: str

    @property
    def coil_id(self) -> int:
        """Coil definition id (low 16 bits of ``coil_type``)."""
        return self.coil_type & 0xFFFF

    @property
    def comp_grade(self) -> int:
        """Software compensation grade (high 16 bits of ``coil_type``)."""
        return self.coil_type >> 16


@dataclass
class DigPoint:
    """One digitised point (FIF dig_point struct, type 33); ``r`` in metres."""

    kind: int
    ident: int
    r: np.ndarray
    coord_frame: int = Frame.HEAD


@dataclass
class CompensationMatrix:
    """One CTF/4D software-compensation matrix.

    ``data`` has shape (len(row_names), len(col_names)): compensated channels
    by reference channels.
    """

    kind: int
    calibrated: bool
    row_names: list[str]
    col_names: list[str]
    data: np.ndarray

    @property
    def grade(self) -> int:
        """Compensation grade: CTF kind codes 'G1BR'..'G3BR' map to 1..3."""
        ctf = {0x47314252: 1, 0x47324252: 2, 0x47334252: 3}
        return ctf.get(self.kind, self.kind)


@dataclass
class MeasInfo:
    """What the tools use of a measurement file (SPEC section 3.5).

    Attributes
    ----------
    channels : list of Channel
        In file order.
    dev_head_t : Transform or None
        Device to head transform.
    """

    channels: list[Channel]
    dev_head_t: Transform | None = None
    ctf_head_t: Transform | None = None
    bads: list[str] = field(default_factory=list)
    comps: list[CompensationMatrix] = field(default_factory=list)
    sfreq: float | None = None
    highpass: float | None = None
    lowpass: float | None = None
    meas_id: FileId | None = None
    meas_date: tuple[int, int] | None = None
    dig: list[DigPoint] = field(default_factory=list)
    description: str | None = None


@dataclass
class BemSurface:
    """One BEM surface.

    Attributes
    ----------
    id : int
        1 inner skull (brain), 3 outer skull, 4 scalp, -1 unknown.
    sigma : float or None
        Conductivity inside the surface, S/m; None when not given.
    rr : ndarray, shape (n, 3)
        Vertex positions, metres.
    tris : ndarray, shape (t, 3), int
        Triangles, 0-based, counter-clockwise seen from outside.
    nn : ndarray, shape (n, 3)
        Unit vertex normals.
    """

    id: int
    sigma: float | None
    rr: np.ndarray
    tris: np.ndarray
    nn: np.ndarray
    coord_frame: int = Frame.MRI


@dataclass
class BemSolution:
    """BEM geometry with its potential solution.

    ``solution`` has shape (N, N): as read from a file, a read-only float32
    view of the file's bytes (big-endian); float64 when computed. N = total
    vertices (linear collocation,
    ``approx`` 2) or total triangles (constant collocation, ``approx`` 1).
    ``factors`` (a :class:`mne_cli.bem.solution.FactoredBemSystem`) stands
    in for ``solution`` when the system was factored instead of inverted.
    ``solver`` "openmeeg" marks a symmetric-BEM solution in OpenMEEG's layout
    (MNE-Python's ``make_bem_solution(solver="openmeeg")``): ``solution`` is
    then the packed upper triangle of the inverse head matrix, shape
    (N (N + 1) / 2,), with N = all vertices plus the triangles of every
    surface but the outermost (the first, in file order).
    """

    surfaces: list[BemSurface]
    approx: int | None = None
    solution: np.ndarray | None = None
    coord_frame: int = Frame.MRI
    factors: object | None = None
    solver: str = "mne"

    @property
    def size(self) -> int:
        """N, the number of unknowns (solution rows)."""
        if self.solver == "openmeeg":
            return (sum(len(s.rr) for s in self.surfaces)
                    + sum(len(s.tris) for s in self.surfaces[1:]))
        if self.solution is not None:
            return len(self.solution)
        if self.factors is not None:
            return self.factors.size
        constant = self.approx == BemApprox.CONSTANT
        sizes = [len(s.tris) if constant else len(s.rr) for s in self.surfaces]
        return sum(sizes)

    @property
    def scalp_column(self) -> int:
        """Unknown of the first scalp (first surface) node: 0, or, in OpenMEEG's layout
        (potentials of the innermost surface first), after the inner surfaces' vertices."""
        if self.solver == "openmeeg":
            return sum(len(s.rr) for s in self.surfaces[1:])
        return 0


@dataclass
class SourceSpace:
    """One source space (surface, volume or discrete).

    Attributes
    ----------
    type : int
        1 surface, 2 volume, 3 discrete.
    id : int
        101 left hemisphere, 102 right hemisphere, -1 unknown.
    rr, nn : ndarray, shape (np, 3)
        Positions (m) and unit normals, in ``coord_frame``.
    inuse : ndarray, shape (np,), int
        1 where the point is a source.
    tris, use_tris : ndarray, shape (t, 3), int or None
        Full and decimated triangulations, 0-based vertex numbers.
    nearest, nearest_dist : ndarray, shape (np,) or None
        Patch information: closest source vertex and geodesic distance (m).
    dist : scipy.sparse matrix, shape (np, np) or None
        Geodesic distances between sources (m), one triangle stored.
    neighbors : list of ndarray or None
        Volume spaces: neighbour indices per point (-1 = none).
    """

    type: int
    rr: np.ndarray
    nn: np.ndarray
    inuse: np.ndarray
    id: int = -1
    coord_frame: int = Frame.MRI
    subject: str | None = None
    tris: np.ndarray | None = None
    use_tris: np.ndarray | None = None
    nearest: np.ndarray | None = None
    nearest_dist: np.ndarray | None = None
    dist: scipy.sparse.spmatrix | None = None
    dist_limit: float | None = None
    neighbors: list[np.ndarray] | None = None
    voxel_dims: np.ndarray | None = None
    src_mri_t: Transform | None = None
    mri: VolumeMri | None = None
    comment: str | None = None

    @property
    def nuse(self) -> int:
        return int(np.count_nonzero(self.inuse))

    @property
    def vertno(self) -> np.ndarray:
        """In-use vertex numbers, ascending."""
        return np.flatnonzero(self.inuse)

    def in_frame(self, frame: int, trans: Transform) -> SourceSpace:
        """This space in ``frame``: itself if already there, else mapped by
        ``trans`` (stored in either direction; positions affine, normals
        rotated).

        Raises
        ------
        ValueError
            ``trans`` does not connect the space's frame with ``frame``.
        """
        if self.coord_frame == frame:
            return self
        oriented = trans.towards(self.coord_frame, frame)
        if oriented is None:
            raise ValueError(f"a transform from frame {trans.from_frame} to {trans.to_frame} "
                             f"cannot take a source space from frame {self.coord_frame} to "
                             f"{frame}")
        return dataclasses.replace(self, rr=oriented.apply(self.rr),
                                   nn=oriented.rotate(self.nn), coord_frame=frame)


@dataclass
class VolumeMri:
    """A volume source space's parent-MRI information (block 353).

    ``interpolator`` has shape (nvox, np): MRI voxels by grid points.
    """

    mri_ras_t: Transform
    vox_mri_t: Transform
    width: int
    height: int
    depth: int
    interpolator: scipy.sparse.csr_matrix
    file_name: str | None = None
    seg_mri_file: str | None = None  # tag 3598: segmentation volume (aseg) of a label space


@dataclass
class ForwardBlock:
    """One modality of a forward solution.

    ``sol`` has shape (nchan, nsource_components): the usual gain matrix
    (the file stores its transpose). ``sol_grad``: (nchan, 3 * components).
    """

    method: int
    ch_names: list[str]
    sol: np.ndarray
    sol_grad: np.ndarray | None = None


@dataclass
class Forward:
    """A forward solution with everything its file carries."""

    source_spaces: list[SourceSpace]
    coord_frame: int
    source_ori: int
    mri_head_t: Transform
    channels: list[Channel]
    meg: ForwardBlock | None = None
    eeg: ForwardBlock | None = None
    dev_head_t: Transform | None = None
    bads: list[str] = field(default_factory=list)
    meas_file: str | None = None
    meas_id: FileId | None = None
    mri_file: str | None = None
    mri_id: FileId | None = None


@dataclass
class CoilDef:
    """One MEG coil definition of coil_def.dat (SPEC section 10).

    Attributes
    ----------
    coil_class : int
        1 magnetometer, 2 axial gradiometer, 3 planar gradiometer,
        4 second-order axial gradiometer.
    coil_id : int
        Coil type id (the low 16 bits of a channel's ``coil_type``).
    accuracy : int
        0 point, 1 normal, 2 accurate.
    size, baseline : float
        Loop size and baseline, metres (for display only).
    weights : ndarray, shape (n,)
    points : ndarray, shape (n, 3)
        Integration points in the coil frame, metres.
    directions : ndarray, shape (n, 3)
        Unit vectors of the sensed field component.
    """

    coil_class: int
    coil_id: int
    accuracy: int
    size: float
    baseline: float
    description: str
    weights: np.ndarray
    points: np.ndarray
    directions: np.ndarray
