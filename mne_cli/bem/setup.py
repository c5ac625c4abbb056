"""A subject's BEM model and solution by MNE-C's rules: mne_setup_forward_model's job (SPEC 12).

Reads ``bem/{outer_skin,outer_skull,inner_skull}`` (``.tri``, or ``.surf``;
a ``<subject>-`` prefix on the names is accepted too), checks them, solves
the linear-collocation BEM and writes ``bem/<model>-bem.fif`` and
``bem/<model>-bem-sol.fif``. The solution is computed before anything is
written, and the model file is moved into place only after the solution
file was written, so a failed run leaves no new file behind and earlier
ones untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..atomic import check_output, staged_output
from ..errors import InputError
from ..fiff.constants import BemSurfId
from ..objects import BemSolution
from ..progress import SILENT, Progress
from ..subject import first_existing, refuse_overwrite, subject_dir
from .model import SurfaceSource, make_bem_model
from .solution import make_bem_solution

logger = logging.getLogger(__name__)

#: (file name stem, surface id), outermost first.
LAYERS = (("outer_skin", BemSurfId.HEAD), ("outer_skull", BemSurfId.SKULL),
          ("inner_skull", BemSurfId.BRAIN))


def setup_forward_model(subject: str | None = None, *, subjects_dir=None, surf: bool = False,
                        ico: int | None = None, homog: bool = False,
                        conductivity=(0.3, 0.006, 0.3), shift=(0.0, 0.0, 0.0),
                        nosol: bool = False, noswap: bool = False, meters: bool = False,
                        model: str | None = None, overwrite: bool = False,
                        method: str = "linear", progress: Progress = SILENT,
                        command_line: str | None = None) -> BemSolution:
    """Make, check, solve and write a subject's BEM (MNE-C's mne_setup_forward_model).

    Parameters
    ----------
    subject : str
        The subject (``$SUBJECTS_DIR/<subject>``).
    subjects_dir : str or path-like, optional
        Default ``$SUBJECTS_DIR``.
    surf : bool
        Read FreeSurfer ``.surf`` files instead of ASCII ``.tri`` files.
    ico : int, optional
        Downsample the (icosahedral) surfaces to this grade.
    homog : bool
        One layer: the inner skull only.
    conductivity : (brain, skull, scalp), S/m
        Inner to outer, as MNE-Python's ``make_bem_model``.
    shift : (inner skull, outer skull, scalp), metres
        Outward shifts along the vertex normals.
    nosol : bool
        Write the geometry only.
    noswap, meters : bool
        ``.tri`` triangles already counterclockwise; ``.tri`` in metres.
    model : str, optional
        Model name (default ``<subject>-<ntri>[-<ntri>-<ntri>]``).
    overwrite : bool
        Replace existing model files (else they are an error).
    method : {"linear", "symmetric"}
        The BEM solution (:func:`~mne_cli.bem.solution.make_bem_solution`).
    progress, command_line
        Progress of the coefficient stage; provenance of the solution file.

    Returns
    -------
    BemSolution
        The model surfaces, with ``solution`` (N, N) unless ``nosol``.

    Raises
    ------
    InputError, GeometryError, OutputError
        A missing subject or surface, a failed check, an existing output.
    """
    home = subject_dir(subject, "to find the BEM surfaces", subjects_dir)
    bem_dir = home / "bem"
    brainc, skullc, scalpc = conductivity
    innershift, outershift, scalpshift = shift
    values = {BemSurfId.HEAD: (scalpc, scalpshift), BemSurfId.SKULL: (skullc, outershift),
              BemSurfId.BRAIN: (brainc, innershift)}
    extension = ".surf" if surf else ".tri"
    # .tri files are swapped unless --noswap: inward triangles mean the other choice.
    swap_fix = ("run without --noswap" if noswap else
                "add --noswap (these .tri triangles are already counterclockwise)")
    layers = LAYERS[2:] if homog else LAYERS
    paths = []
    for stem, _ in layers:
        path = first_existing([bem_dir / f"{stem}{extension}",
                               bem_dir / f"{home.name}-{stem}{extension}"])
        if path is None:
            hint = "" if surf else " (FreeSurfer surfaces need --surf)"
            raise InputError(f"{bem_dir / (stem + extension)}: no such surface{hint}")
        paths.append(path)
    # Outputs checked before any surface is read: the names are known with
    # --model or --ico (20 * 4^ico triangles a surface), the folder always.
    if model is None and ico is not None:
        model = "-".join([home.name] + [str(20 * 4 ** ico)] * len(layers))
    check_output(bem_dir / f"{model or home.name}-bem.fif")
    named_early = model is not None
    if named_early:
        _refuse_overwrite_model(bem_dir / model, nosol, overwrite)
    sources = []
    for path, (_, surf_id) in zip(paths, layers):
        sigma, outward = values[surf_id]
        sources.append(SurfaceSource(str(path), ascii=not surf, id=surf_id, sigma=sigma,
                                     shift=outward, swap=not surf and not noswap,
                                     meters=meters, ico=ico,
                                     swap_fix=None if surf else swap_fix))
    surfaces = make_bem_model(sources, check=True)
    if model is None:
        counts = {s.id: len(s.tris) for s in surfaces}
        model = "-".join([home.name] + [str(counts[surf_id])
                                        for _, surf_id in LAYERS if surf_id in counts])
    from ..io.bem import bem_file_names, write_bem_solution, write_bem_surfaces

    bem_file, sol_file = map(Path, bem_file_names(str(bem_dir / model)))
    if not named_early:
        _refuse_overwrite_model(bem_dir / model, nosol, overwrite)
    solution = None
    if not nosol:
        solution = make_bem_solution(surfaces, method, source=str(bem_file),
                                     progress=progress)
    # The model file is moved into place last, after its solution was written:
    # a failed run leaves no model without its solution, and earlier files as
    # they were.
    with staged_output(bem_file) as staged:
        write_bem_surfaces(staged, surfaces)
        if solution is not None:
            write_bem_solution(sol_file, solution, command_line)
    logger.info("Wrote %s", bem_file)
    if solution is not None:
        logger.info("Wrote %s", sol_file)
        return solution
    return BemSolution(surfaces)


def _refuse_overwrite_model(model: Path, nosol: bool, overwrite: bool) -> None:
    """The model's -bem.fif (and -bem-sol.fif) may be replaced only with --overwrite."""
    from ..io.bem import bem_file_names

    bem_file, sol_file = map(Path, bem_file_names(str(model)))
    for path in (bem_file,) if nosol else (bem_file, sol_file):
        refuse_overwrite(path, overwrite)
