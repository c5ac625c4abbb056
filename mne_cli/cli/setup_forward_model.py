"""mne_setup_forward_model: the MNE-C convenience script for BEM models (SPEC 12).

Reads the subject's ``bem/{inner_skull,outer_skull,outer_skin}.surf`` (or
``.tri``), writes ``bem/<model>-bem.fif`` and, unless --nosol,
``bem/<model>-bem-sol.fif``, through the same core as surf2bem and
prepare_bem_model (no subprocess). The solution is computed before anything
is written, and the model file is moved into place only after the solution
file was written, so a failed run leaves no new file behind and earlier ones
untouched.
"""

import logging
from pathlib import Path

import click

from ..atomic import check_output, staged_output
from ..errors import InputError
from ..fiff.constants import BemSurfId
from ..subject import first_existing, refuse_overwrite, subject_dir
from .options import MM_SMALL, common_options, tool_command
from .prepare_bem_model import bem_file_names
from .progress import TerminalProgress
from .runner import command_line

logger = logging.getLogger(__name__)

# (file name stem, surface id, conductivity option, shift option), outermost first.
LAYERS = (("outer_skin", BemSurfId.HEAD, "scalpc", "scalpshift"),
          ("outer_skull", BemSurfId.SKULL, "skullc", "outershift"),
          ("inner_skull", BemSurfId.BRAIN, "brainc", "innershift"))


@tool_command("mne_setup_forward_model")
@click.option("--subject", envvar="SUBJECT", metavar="NAME",
              help="Subject name (default: $SUBJECT).")
@click.option("--surf", is_flag=True,
              help="Read FreeSurfer surfaces (bem/<name>.surf) instead of ASCII .tri files.")
@click.option("--ico", type=int, metavar="GRADE",
              help="Downsample the surfaces to this icosahedron grade: the watershed "
                   "surfaces are ico-5 (20480 triangles), 4 gives 5120 and 3 gives 1280 "
                   "triangles a surface. Without --ico the surfaces are used as they are.")
@click.option("--homog", is_flag=True,
              help="Single-compartment model: the inner skull only (MEG only).")
@click.option("--brainc", type=float, metavar="S/M", default=0.3, show_default=True,
              help="Brain conductivity, S/m.")
@click.option("--skullc", type=float, metavar="S/M", default=0.006, show_default=True,
              help="Skull conductivity, S/m.")
@click.option("--scalpc", type=float, metavar="S/M", default=0.3, show_default=True,
              help="Scalp conductivity, S/m.")
@click.option("--innershift", type=MM_SMALL, default="0", show_default=True,
              help="Move the inner skull outwards along its normals, mm.")
@click.option("--outershift", type=MM_SMALL, default="0", show_default=True,
              help="Move the outer skull outwards along its normals, mm.")
@click.option("--scalpshift", type=MM_SMALL, default="0", show_default=True,
              help="Move the scalp outwards along its normals, mm.")
@click.option("--nosol", is_flag=True, help="Write the geometry only, not the BEM solution.")
@click.option("--noswap", is_flag=True,
              help="The .tri triangles are already counterclockwise (ignored with --surf).")
@click.option("--meters", is_flag=True, help=".tri coordinates are in metres.")
@click.option("--model", metavar="NAME", help="Model name: writes bem/<model>-bem.fif (default "
                              "<subject>-<ntri>[-<ntri>-<ntri>]).")
@click.option("--overwrite", is_flag=True, help="Replace existing model files.")
@common_options
def main(subject, surf, ico, homog, brainc, skullc, scalpc, innershift, outershift,
         scalpshift, nosol, noswap, meters, model, overwrite):
    """Set up the BEM model of a subject (MNE-C's convenience script).

    Reads bem/inner_skull, bem/outer_skull and bem/outer_skin (.tri, or .surf
    with --surf; a <subject>- prefix on the file names is also accepted),
    checks them (complete, outward, nested, not intersecting), computes the
    linear-collocation solution and writes bem/<model>-bem.fif and
    bem/<model>-bem-sol.fif. The default model name counts the triangles:
    <subject>-5120-5120-5120 (scalp, outer skull, inner skull), or
    <subject>-5120 with --homog. Shifts are in mm, conductivities in S/m.

    \b
    Example:
      export SUBJECTS_DIR=/data/subjects SUBJECT=sample
      mne_setup_forward_model --homog --surf --ico 4   # bem/sample-5120-bem{,-sol}.fif
    """
    from ..bem.model import SurfaceSource, make_bem_surfaces
    from ..bem.solution import make_bem_solution, refuse_unstorable
    from ..io.bem import write_bem_solution, write_bem_surfaces

    ctx = click.get_current_context()
    home = subject_dir(subject, "to find the BEM surfaces")
    bem_dir = home / "bem"
    values = {"scalpc": scalpc, "skullc": skullc, "brainc": brainc,
              "scalpshift": scalpshift, "outershift": outershift, "innershift": innershift}
    extension = ".surf" if surf else ".tri"
    sources = []
    # .tri files are swapped unless --noswap: inward triangles mean the other choice.
    swap_fix = ("run without --noswap" if noswap else
                "add --noswap (these .tri triangles are already counterclockwise)")
    layers = LAYERS[2:] if homog else LAYERS
    paths = []
    for stem, _, _, _ in layers:
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
    for path, (stem, surf_id, sigma, shift) in zip(paths, layers):
        sources.append(SurfaceSource(str(path), ascii=not surf, id=surf_id,
                                     sigma=values[sigma], shift=values[shift],
                                     swap=not surf and not noswap, meters=meters, ico=ico,
                                     swap_fix=None if surf else swap_fix))
    surfaces = make_bem_surfaces(sources, check=True)
    if model is None:
        counts = {s.id: len(s.tris) for s in surfaces}
        model = "-".join([home.name] + [str(counts[surf_id])
                                        for _, surf_id, _, _ in LAYERS if surf_id in counts])
    bem_file, sol_file = map(Path, bem_file_names(str(bem_dir / model)))
    if not named_early:
        _refuse_overwrite_model(bem_dir / model, nosol, overwrite)
    solution = None
    if not nosol:
        refuse_unstorable(surfaces, "linear", str(bem_file))
        with TerminalProgress() as progress:
            solution = make_bem_solution(surfaces, "linear", source=str(bem_file),
                                         progress=progress)
    # The model file is moved into place last, after its solution was written:
    # a failed run leaves no model without its solution, and earlier files as
    # they were.
    with staged_output(bem_file) as staged:
        write_bem_surfaces(staged, surfaces)
        if solution is not None:
            write_bem_solution(sol_file, solution, command_line(ctx))
    logger.info("Wrote %s", bem_file)
    if solution is not None:
        logger.info("Wrote %s", sol_file)


def _refuse_overwrite_model(model: Path, nosol: bool, overwrite: bool) -> None:
    """The model's -bem.fif (and -bem-sol.fif) may be replaced only with --overwrite."""
    bem_file, sol_file = map(Path, bem_file_names(str(model)))
    for path in (bem_file,) if nosol else (bem_file, sol_file):
        refuse_overwrite(path, overwrite)
