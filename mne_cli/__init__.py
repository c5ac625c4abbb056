"""mne_cli: pure-Python replacements for the MNE-C forward-modelling tools.

Every command is one function of this package (the command line only parses
its options, converts mm to metres and calls it), and every object it reads
or writes has a reader and a writer here::

    import mne_cli

    mne_cli.make_bem_model(...)          # surf2bem
    mne_cli.make_bem_solution(...)       # prepare_bem_model
    mne_cli.setup_source_space(...)      # make_source_space, mne_setup_source_space
    mne_cli.setup_volume_source_space(...)   # volume_source_space
    mne_cli.make_forward_solution(...)   # forward_solution
    mne_cli.average_forward_solutions(...)   # average_forward_solutions
    mne_cli.write_coil_def(...)          # list_coil_def
    mne_cli.setup_forward_model(...)     # mne_setup_forward_model
    mne_cli.do_forward_solution(...)     # mne_do_forward_solution

Lengths are in metres and conductivities in S/m everywhere in the API. The
names are MNE-Python's where the job is the same. They are imported on first
use, so ``import mne_cli`` stays cheap (the commands' ``--help`` too).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> (module, attribute in it).
_API = {
    # The jobs of the commands.
    "make_bem_model": ("mne_cli.bem.model", "make_bem_model"),
    "make_bem_solution": ("mne_cli.bem.solution", "make_bem_solution"),
    "setup_forward_model": ("mne_cli.bem.setup", "setup_forward_model"),
    "setup_source_space": ("mne_cli.source_space.setup", "setup_source_space"),
    "setup_volume_source_space": ("mne_cli.source_space.setup", "setup_volume_source_space"),
    "make_forward_solution": ("mne_cli.forward.make", "make_forward_solution"),
    "do_forward_solution": ("mne_cli.forward.search", "do_forward_solution"),
    "average_forward_solutions": ("mne_cli.forward.average", "average_forward_solutions"),
    "write_coil_def": ("mne_cli.coil_defs", "write_coil_def"),
    # Readers and writers.
    "read_bem_surfaces": ("mne_cli.io.bem", "read_bem_surfaces"),
    "write_bem_surfaces": ("mne_cli.io.bem", "write_bem_surfaces"),
    "read_bem_solution": ("mne_cli.io.bem", "read_bem_solution"),
    "write_bem_solution": ("mne_cli.io.bem", "write_bem_solution"),
    "read_source_spaces": ("mne_cli.io.source_space", "read_source_spaces"),
    "write_source_spaces": ("mne_cli.io.source_space", "write_source_spaces"),
    "read_forward_solution": ("mne_cli.io.forward", "read_forward"),
    "write_forward_solution": ("mne_cli.io.forward", "write_forward"),
    "read_trans": ("mne_cli.io.transform", "read_trans"),
    "write_trans": ("mne_cli.io.transform", "write_trans"),
    "read_surface": ("mne_cli.io.surface", "read_freesurfer_surface"),
    "write_surface": ("mne_cli.io.surface", "write_freesurfer_surface"),
    "read_tri": ("mne_cli.io.surface", "read_tri"),
    "write_tri": ("mne_cli.io.surface", "write_tri"),
    "read_coil_defs": ("mne_cli.io.coil_def", "read_coil_defs"),
    "write_coil_defs": ("mne_cli.io.coil_def", "write_coil_defs"),
    "read_meas_info": ("mne_cli.io.meas", "read_meas_info"),
    "write_meas_info": ("mne_cli.io.meas", "write_meas_info"),
    "read_label": ("mne_cli.io.label", "read_label"),
    # What the jobs take and return.
    "SurfaceSource": ("mne_cli.bem.model", "SurfaceSource"),
    "BemSurface": ("mne_cli.objects", "BemSurface"),
    "BemSolution": ("mne_cli.objects", "BemSolution"),
    "SourceSpace": ("mne_cli.objects", "SourceSpace"),
    "Forward": ("mne_cli.objects", "Forward"),
    "Transform": ("mne_cli.objects", "Transform"),
    "MneCliError": ("mne_cli.errors", "MneCliError"),
    "InputError": ("mne_cli.errors", "InputError"),
    "GeometryError": ("mne_cli.errors", "GeometryError"),
    "FifError": ("mne_cli.errors", "FifError"),
    "OutputError": ("mne_cli.errors", "OutputError"),
    "UsageError": ("mne_cli.errors", "UsageError"),
    "thread_limits": ("mne_cli.parallel", "limits"),
}

__all__ = ["__version__"] + list(_API)


def __getattr__(name: str):
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'mne_cli' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
