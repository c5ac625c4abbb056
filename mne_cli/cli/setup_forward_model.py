"""mne_setup_forward_model: the MNE-C convenience script for BEM models (SPEC 12).

The job (search rules, checks, the order of writing) is
:func:`mne_cli.bem.setup.setup_forward_model`; this module only parses.
"""

import click

from .options import MM_SMALL, common_options, tool_command
from .progress import TerminalProgress
from .runner import command_line


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
@click.option("--method", type=click.Choice(["linear", "symmetric"]), default="linear",
              show_default=True,
              help="Linear collocation, or the symmetric BEM (OpenMEEG's formulation).")
@click.option("--noswap", is_flag=True,
              help="The .tri triangles are already counterclockwise (ignored with --surf).")
@click.option("--meters", is_flag=True, help=".tri coordinates are in metres.")
@click.option("--model", metavar="NAME", help="Model name: writes bem/<model>-bem.fif (default "
                              "<subject>-<ntri>[-<ntri>-<ntri>]).")
@click.option("--overwrite", is_flag=True, help="Replace existing model files.")
@common_options
def main(subject, surf, ico, homog, brainc, skullc, scalpc, innershift, outershift,
         scalpshift, nosol, method, noswap, meters, model, overwrite):
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
    from ..bem.setup import setup_forward_model

    with TerminalProgress() as progress:
        setup_forward_model(subject, surf=surf, ico=ico, homog=homog,
                            conductivity=(brainc, skullc, scalpc),
                            shift=(innershift, outershift, scalpshift), nosol=nosol,
                            noswap=noswap, meters=meters, model=model, overwrite=overwrite,
                            method=method, progress=progress,
                            command_line=command_line(click.get_current_context()))
