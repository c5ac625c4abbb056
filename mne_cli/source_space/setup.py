"""Source spaces from files: the jobs of make_source_space, mne_setup_source_space and
volume_source_space (SPEC sections 5, 6 and 12)."""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path

from .. import subject as _subject
from ..errors import InputError, UsageError
from ..objects import SourceSpace
from ..progress import SILENT, Progress
from ..subject import subject_dir, subject_name
from ..units import MM_PER_M

logger = logging.getLogger(__name__)

#: make_source_space's default spacing (m): MNE-C's 7 mm.
DEFAULT_SPACING = 0.007
_GRADE = re.compile(r"^(ico|oct)-?(-?\d+)$")


def setup_source_space(subject: str | None = None, spacing=DEFAULT_SPACING, *,
                       surfaces=None, surface: str = "white", morph: str | None = None,
                       dist: float | None = None, subjects_dir=None, fname=None,
                       overwrite: bool = True, progress: Progress = SILENT,
                       command_line: str | None = None) -> list[SourceSpace]:
    """Cortical source spaces, one a surface (MNE-C's mne_make_source_space).

    Parameters
    ----------
    subject : str, optional
        The subject whose ``surf/`` folder holds the surfaces (and spheres).
    spacing : float or str
        A source spacing in metres (graph-distance decimation, rounded up
        to whole mm as MNE-C does), or ``"ico-4"`` / ``"oct-6"`` (also
        ``"ico4"``, ``"oct6"``): the vertices nearest to a subdivided
        icosahedron or octahedron on ``?h.sphere``.
    surfaces : sequence of str or path-like, optional
        Surface files, one source space each; names that are not files are
        looked up in ``<subjects_dir>/<subject>/surf``. Default: the
        subject's ``lh.<surface>`` and ``rh.<surface>``, which must exist
        (mne_setup_source_space's rule).
    morph : str, optional
        Map the source spaces onto this subject through ``?h.sphere.reg``.
    dist : float, optional
        Also compute the geodesic distances between sources up to this
        limit (m); ``inf`` for all pairs.
    subjects_dir : str or path-like, optional
        Default ``$SUBJECTS_DIR``.
    fname : str or path-like, optional
        Write the source spaces here (``-src.fif``); checked before any work.
    overwrite : bool
        When False, an existing ``fname`` is an error (mne_setup_source_space).
    progress, command_line
        Progress of the distance stage; provenance of the written file.

    Returns
    -------
    list of SourceSpace
        In the order of the surfaces, with patch information.

    Raises
    ------
    InputError, GeometryError, OutputError
        A surface not found or unusable, an output that cannot be written.
    UsageError
        A spacing below 2 mm or a grade of 0.
    """
    from ..atomic import check_output
    from ..io.source_space import write_source_spaces
    from ..subject import refuse_overwrite

    spacing_edges, grade = spacing_choice(spacing)
    if surfaces is None:
        home = subject_dir(subject, "to find the cortical surfaces", subjects_dir)
        paths = [home / "surf" / f"{hemi}.{surface}" for hemi in ("lh", "rh")]
        for path in paths:
            if not path.is_file():
                raise InputError(f"{path}: no such surface (check --surface and --subject)")
        subject = home.name
    else:
        paths = resolve_surfaces(surfaces, subject, subjects_dir)
    if fname is not None:
        if overwrite:
            check_output(fname, "--src", paths)
        else:
            refuse_overwrite(Path(fname), overwrite)
    spaces = build_source_spaces(paths, spacing_edges, grade, subject, morph, dist,
                                 subjects_dir, progress)
    if fname is not None:
        write_source_spaces(fname, spaces, command_line)
    return spaces


def standard_source_space_file(subject: str | None, spacing, subjects_dir=None,
                               why: str = "for the default output name (or give --src)",
                               make_folder: bool = False) -> Path:
    """MNE-C's name for a subject's source space: ``bem/<subject>-<spacing>-src.fif``.

    ``spacing`` as :func:`setup_source_space`; ``make_folder`` makes the
    subject's bem/ folder when missing (mne_setup_source_space does).
    """
    from ..subject import source_space_name

    label = spacing_label(*spacing_choice(spacing))
    if make_folder:
        folder = subject_dir(subject, why, subjects_dir) / "bem"
        folder.mkdir(exist_ok=True)
    else:
        folder = _subject.subjects_dir(why, subjects_dir) / subject_name(subject, why) / "bem"
    return folder / source_space_name(folder.parent.name, label)


def spacing_choice(spacing) -> tuple[int | None, int | None]:
    """(spacing in mesh edges, None) or (None, grade: k ico-k, -k oct-k) of a ``spacing``."""
    if isinstance(spacing, str):
        match = _GRADE.match(spacing.strip().lower())
        if match is None:
            raise UsageError(f"{spacing!r} is not a spacing: give metres, 'ico-<k>' or "
                             "'oct-<k>'", option="--spacing")
        kind, grade = match.group(1), int(match.group(2))
        if kind == "oct":
            if grade <= 0:
                raise UsageError("the octahedron grade must be >= 1", option="--oct")
            return None, -grade
        if grade == 0:
            raise UsageError("the grade must not be 0", option="--ico")
        return None, grade   # ico-(-k) is oct-k, as MNE-C's --ico -k
    edges = math.ceil(float(spacing) * MM_PER_M - 1e-9)
    if edges < 2:
        raise UsageError("the spacing must be at least 2 mm", option="--spacing")
    return edges, None


def spacing_label(spacing_edges: int | None, grade: int | None) -> str:
    """The <spacing> part of source-space names: 7, ico-4, oct-6."""
    if grade is not None:
        return f"ico-{grade}" if grade > 0 else f"oct-{-grade}"
    return str(spacing_edges)


def resolve_surfaces(items, subject: str | None, root=None) -> list[Path]:
    """Surface names: existing paths, else ``<subjects_dir>/<subject>/surf/<item>``."""
    paths = []
    for item in items:
        if not item:
            continue
        path = Path(item)
        if path.exists():
            paths.append(path)
            continue
        why = f"to find the surface {item}"
        candidate = _subject.subjects_dir(why, root) / subject_name(subject, why) / "surf" / item
        if not candidate.exists():
            raise InputError(f"{item}: no such surface (looked for {path} and {candidate})")
        paths.append(candidate)
    if not paths:
        raise UsageError("--surf names no surface")
    return paths


def build_source_spaces(paths, spacing_edges, grade, subject, morph, dist, root=None,
                        progress: Progress = SILENT) -> list[SourceSpace]:
    """One source space per surface, morphed if asked, with patch information.

    ``dist`` is the distance limit in metres (None for no distances).
    """
    from .surface import add_patch_info, make_surface_source_space, morph_source_space

    spaces = []
    for path in paths:
        path = Path(path)
        hemi = path.name.split(".")[0]
        space = make_surface_source_space(
            path, spacing=spacing_edges, grade=grade,
            sphere_path=path.parent / f"{hemi}.sphere", subject=subject)
        if morph:
            why = "for --morph"
            base = _subject.subjects_dir(why, root)
            source_subject = subject_name(subject, why)
            space = morph_source_space(
                space, base / source_subject / "surf" / f"{hemi}.sphere.reg",
                base / morph / "surf" / f"{hemi}.sphere.reg",
                base / morph / "surf" / path.name, morph)
        add_patch_info(space, dist, progress)
        spaces.append(space)
    return spaces


def setup_volume_source_space(*, surface=None, bem=None, origin=None, radius: float = 0.09,
                              grid: float = 0.005, mindist: float = 0.005,
                              exclude: float = 0.0, mri=None, pos=None,
                              pos_frame: str = "mri", pos_in_metres: bool = False,
                              fname=None, command_line: str | None = None) -> SourceSpace:
    """A volume grid or a discrete source space (MNE-C's mne_volume_source_space).

    Parameters
    ----------
    surface : str or path-like, optional
        FreeSurfer surface bounding the grid.
    bem : str or path-like, optional
        BEM file whose inner skull (id 1) bounds the grid.
    origin : array-like, shape (3,), optional
        Without ``surface`` and ``bem``: centre of the bounding sphere (m,
        MRI frame; default the origin), of ``radius`` (m).
    grid, mindist, exclude : float
        Grid spacing; least distance of a point from the bounding surface;
        radius around the centre of mass inside which points are dropped
        (all in metres).
    mri : str or path-like, optional
        MGH/MGZ volume: add the interpolator from the grid to its voxels.
    pos : str or path-like, optional
        Text file of source points and normals: a discrete source space
        (the grid options are then ignored), in mm unless ``pos_in_metres``,
        in the MRI frame or, with ``pos_frame="head"``, the head frame.
    fname : str or path-like, optional
        Write the source space here (``-src.fif``); checked before any work.
    command_line : str, optional
        Recorded in the file's provenance block.

    Returns
    -------
    SourceSpace
        Every grid point with its in-use flag (MNE-Python needs the full
        grid), or the discrete points.

    Raises
    ------
    InputError, GeometryError, FifError, OutputError
        Unusable inputs, named with their file; no grid point in use.
    UsageError
        Both ``surface`` and ``bem``, or a non-positive grid or radius.
    """
    from ..atomic import check_output
    from ..fiff.constants import Frame
    from ..io.source_space import write_source_spaces
    from .volume import (
        make_discrete_source_space,
        make_volume_source_space,
        read_source_positions,
    )

    surf = None if surface is None else os.fspath(surface)
    bem = None if bem is None else os.fspath(bem)
    head, meters = pos_frame == "head", pos_in_metres
    if fname is not None:
        check_output(fname, "--src", [surf, bem, mri, pos])
    if pos is not None:
        logger.info("Discrete source space from %s (%s, %s frame); grid options are ignored",
                    pos, "m" if meters else "mm", "head" if head else "MRI")
        rr, nn = read_source_positions(pos, meters=meters)
        space = make_discrete_source_space(rr, nn, Frame.HEAD if head else Frame.MRI)
    else:
        if surf is not None and bem is not None:
            raise UsageError("--surf and --bem both give the bounding surface; use one")
        if grid <= 0:
            raise UsageError("--grid must be a positive spacing in mm")
        if head or meters:
            logger.warning("--head and --meters apply to --pos only; ignored")
        boundary, tris, sphere = _boundary(surf, bem, origin, radius)
        header = None
        if mri is not None:
            from ..io.mri import read_mri_header
            header = read_mri_header(mri)
        space = make_volume_source_space(boundary, tris, grid, mindist, exclude,
                                         sphere=sphere, mri_header=header)
        if space.nuse == 0:
            bound = surf or bem or "the sphere (--origin, --rad)"
            raise InputError(f"{bound}: no grid point lies inside the bounding surface and at "
                             "least --mindist from it; check that the surface is in mm, wound "
                             "outward and closed, and the --grid and --mindist values.")
    if fname is not None:
        write_source_spaces(fname, [space], command_line)
        logger.info("Wrote %s (%d points, %d in use)", fname, len(space.rr), space.nuse)
    return space


def _boundary(surf, bem, origin, rad):
    """(vertices m, triangles, None) of the surface or the BEM, or (None, None, sphere)."""
    import numpy as np

    from ..bem.model import refuse_self_intersection
    from ..fiff.constants import BemSurfId, Frame

    if surf is not None:
        from ..io.surface import read_freesurfer_surface
        rr, tris = read_freesurfer_surface(surf)
        logger.info("Bounding surface %s (%d vertices)", surf, len(rr))
        refuse_self_intersection(rr, tris, f"The bounding surface {surf}")
        return rr, tris, None
    if bem is not None:
        from ..io.bem import read_bem_surfaces
        inner = [s for s in read_bem_surfaces(bem) if s.id == BemSurfId.BRAIN]
        if not inner:
            raise InputError(f"{bem}: BEM model does not have the inner skull triangulation "
                             "(surface id 1)")
        if inner[0].coord_frame != Frame.MRI:
            raise InputError(f"{bem}: the inner skull is in coordinate frame "
                             f"{inner[0].coord_frame}, not MRI (5)")
        logger.info("Inner skull of %s (%d vertices)", bem, len(inner[0].rr))
        refuse_self_intersection(inner[0].rr, inner[0].tris, f"The inner skull of {bem}")
        return inner[0].rr, inner[0].tris, None
    if rad <= 0:
        raise UsageError("--rad must be a positive radius in mm")
    centre = np.zeros(3) if origin is None else np.asarray(origin, np.float64)
    logger.info("Sphere: origin (%.1f %.1f %.1f) mm, radius %.1f mm", *(centre * MM_PER_M),
                rad * MM_PER_M)
    return None, None, (centre, rad)
