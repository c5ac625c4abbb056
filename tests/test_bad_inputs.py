"""Every command turns bad input into one line on stderr and leaves no trace.

A data table (``ROWS``) lists, per command, the bad inputs that apply to it:
random bytes, truncated files, text instead of a surface, missing files,
unknown subjects, an unset ``SUBJECTS_DIR``, impossible ``--ico`` grades,
surfaces in metres, wrongly nested or inward-wound surfaces, sources outside
the skull, channels without coil definitions, bad option values, an output in
a missing directory and an output that is a directory. Each row is run through
click's ``CliRunner`` with ``--quiet`` (so progress messages stay away; only
warnings and errors reach stderr) and must:

* exit with status 1 (runtime error) or 2 (usage error), through ``SystemExit``
  (no uncaught exception), with nothing on stdout;
* print exactly one non-empty stderr line: ``<command>: <message>`` for status 1,
  ``Error: <message>`` for status 2 (click's usage errors are preceded by its
  fixed ``Usage:`` and ``Try '... --help'`` lines, which carry no information
  about the failure and are skipped), never a traceback;
* name the offending file, and any other phrase the row asks for;
* leave an output file that existed before the run byte-identical, and no
  temporary file (``.*.tmp``) beside it.

All inputs are synthetic (mne_cli's own writers, built lazily in one folder
per module) except the rows tagged ``real``, which damage a real measurement
file of the shared test data and skip when it is absent.

Adding a command: one row per case, e.g.
``Row("new_tool", "random-bytes", ["--in", "{random}", "--out", "{out}"], "{random}")``;
the ``{key}`` placeholders are the files of :class:`Library` plus ``{out}``
(a sentinel-filled existing output), ``{out_nodir}`` (an output in a missing
directory) and ``{out_isdir}`` (an existing directory).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from mne_cli.errors import MneCliError
from mne_cli.fiff.constants import (
    BemSurfId,
    ChannelKind,
    Frame,
    Method,
    SourceOri,
    SourceSpaceType,
)
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import vertex_normals
from mne_cli.io.bem import write_bem_surfaces
from mne_cli.io.forward import write_forward
from mne_cli.io.meas import write_meas_info
from mne_cli.io.source_space import write_source_spaces
from mne_cli.io.surface import write_freesurfer_surface, write_tri
from mne_cli.objects import (
    BemSurface,
    Channel,
    Forward,
    ForwardBlock,
    MeasInfo,
    SourceSpace,
    Transform,
)

from .conftest import case_file, testing_file

SENTINEL = b"sentinel: an earlier output that a failed run must not touch\n"
USAGE_BOILERPLATE = re.compile(r"^(Usage: |Try '.* (--help|-h)' for help\.)")


# --- synthetic inputs ------------------------------------------------------------

def _sphere(grade: int, radius: float, centre=(0.0, 0.0, 0.0)):
    unit, tris = icosahedron(grade)
    return unit * radius + np.asarray(centre), tris


def _bem_surface(surf_id, radius, sigma=0.3, frame=Frame.MRI, grade=2, swap=False):
    rr, tris = _sphere(grade, radius)
    if swap:
        tris = tris[:, [0, 2, 1]]
    return BemSurface(surf_id, sigma, rr, tris, vertex_normals(rr, tris), frame)


def _cube():
    """A closed cube, 160 mm across: 8 vertices, 12 outward triangles (not icosahedral)."""
    rr = 0.08 * np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    tris = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                     [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return rr, tris


def _channel(k: int, kind: int, coil_type: int, position) -> Channel:
    loc = np.zeros(12)
    loc[:3] = position
    if kind == ChannelKind.MEG:
        ez = np.asarray(position) / np.linalg.norm(position)
        ex = np.cross([0.0, 1.0, 0.0], ez)
        ex /= np.linalg.norm(ex)
        loc[3:] = np.concatenate([ex, np.cross(ez, ex), ez])
    return Channel(scanno=k + 1, logno=k + 1, kind=kind, range=1.0, cal=1.0,
                   coil_type=coil_type, loc=loc, unit=112 if kind == ChannelKind.MEG else 107,
                   unit_mul=0, name=f"{'MEG' if kind == ChannelKind.MEG else 'EEG'} {k + 1:03d}")


def _meas(coil_type: int = 3022) -> MeasInfo:
    # Outside the default sphere-model head (90 mm around (0, 0, 40) mm).
    positions = [[0.0, 0.0, 0.15], [0.1, 0.0, 0.12], [0.0, 0.1, 0.12], [-0.1, 0.0, 0.12]]
    return MeasInfo(channels=[_channel(k, ChannelKind.MEG, coil_type, p)
                              for k, p in enumerate(positions)],
                    dev_head_t=Transform.identity(Frame.DEVICE, Frame.HEAD), sfreq=1000.0)


def _discrete_space(rr) -> SourceSpace:
    rr = np.asarray(rr, float)
    return SourceSpace(SourceSpaceType.DISCRETE, rr, np.tile([0.0, 0.0, 1.0], (len(rr), 1)),
                       np.ones(len(rr), np.int64), coord_frame=Frame.MRI)


def _forward(seed: int, names=("MEG 001", "MEG 002", "MEG 003")) -> Forward:
    rng = np.random.default_rng(seed)
    channels = [_channel(k, ChannelKind.MEG, 3022, [0.01 * k, 0.0, 0.12])
                for k in range(len(names))]
    for ch, name in zip(channels, names):
        ch.name = name
    space = _discrete_space([[0.0, 0.0, 0.03], [0.01, 0.0, 0.03]])
    return Forward(source_spaces=[space], coord_frame=Frame.HEAD, source_ori=SourceOri.FREE,
                   mri_head_t=Transform.identity(Frame.MRI, Frame.HEAD), channels=channels,
                   meg=ForwardBlock(Method.MEG, list(names), rng.normal(size=(len(names), 6))),
                   dev_head_t=Transform.identity(Frame.DEVICE, Frame.HEAD))


def _truncate(source: Path, target: Path) -> None:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])


class Library:
    """The input files of the table, each made on first use (``lib["key"]`` -> path str).

    Keys are the methods named ``make_<key>``; each writes ``self.root/<file>``
    and returns that path.
    """

    def __init__(self, root: Path):
        self.root = root
        self._made: dict[str, Path] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self._made:
            maker = getattr(self, f"make_{key}", None)
            if maker is None:
                raise KeyError(f"no input named {key!r} in the test library")
            self._made[key] = maker()
        return str(self._made[key])

    def path(self, key: str) -> Path:
        return Path(self[key])

    # generic damage
    def make_random(self):
        path = self.root / "random-bytes.fif"
        path.write_bytes(np.random.default_rng(7).integers(0, 256, 4000, np.uint8).tobytes())
        return path

    def make_text(self):
        path = self.root / "notes.txt"
        path.write_text("This is a text file, not what the command expects.\n" * 5)
        return path

    def make_empty(self):
        path = self.root / "empty.fif"
        path.write_bytes(b"")
        return path

    def make_missing(self):
        return self.root / "no-such-file.fif"

    # FreeSurfer and .tri surfaces (ico-3 spheres at the origin, mm on disk)
    def _surf(self, name, rr, tris):
        path = self.root / name
        write_freesurfer_surface(path, rr, tris)
        return path

    def make_surf(self):
        return self._surf("inner_skull.surf", *_sphere(3, 0.08))

    def make_surf_truncated(self):
        path = self.root / "truncated.surf"
        _truncate(self.path("surf"), path)
        return path

    def make_surf_metres(self):
        rr, tris = _sphere(3, 0.08)
        return self._surf("metres.surf", rr / 1000, tris)   # 0.08 'mm' on disk

    def make_surf_inverted(self):
        rr, tris = _sphere(3, 0.08)
        return self._surf("inverted.surf", rr, tris[:, [0, 2, 1]])

    def make_surf_open(self):
        rr, tris = _sphere(3, 0.08)
        return self._surf("open.surf", rr, tris[1:])

    def make_surf_defect(self):
        rr, tris = _sphere(3, 0.08)
        return self._surf("defect.surf", np.vstack([rr, [[0.0, 0.0, 0.2]]]), tris)

    def make_surf_cube(self):
        return self._surf("cube.surf", *_cube())

    def make_surf_shuffled(self):
        rr, tris = _sphere(3, 0.08)
        return self._surf("shuffled.surf", rr, tris[::-1])

    def make_surf_scalp_small(self):
        return self._surf("outer_skin.surf", *_sphere(3, 0.07))

    def make_surf_skull(self):
        return self._surf("outer_skull.surf", *_sphere(3, 0.085))

    def make_surf_skull_off_centre(self):
        return self._surf("off_centre_skull.surf", *_sphere(3, 0.085, (0.02, 0.0, 0.0)))

    def make_surf_scalp(self):
        return self._surf("scalp.surf", *_sphere(3, 0.09))

    def make_tri_metres(self):
        path = self.root / "metres.tri"
        rr, tris = _sphere(3, 0.08)
        write_tri(path, rr / 1000, tris)
        return path

    # a subject for make_source_space: ico-3 hemispheres and their spheres
    def make_subjects(self):
        root = self.root / "subjects"
        surf = root / "subj" / "surf"
        surf.mkdir(parents=True)
        unit, tris = icosahedron(3)
        for hemi, x in (("lh", -0.03), ("rh", 0.03)):
            write_freesurfer_surface(surf / f"{hemi}.white", unit * 0.03 + [x, 0, 0.04], tris)
            write_freesurfer_surface(surf / f"{hemi}.sphere", unit * 0.1, tris)
            write_freesurfer_surface(surf / f"{hemi}.sphere.reg", unit * 0.1, tris)
        (root / "flatsphere" / "surf").mkdir(parents=True)
        write_freesurfer_surface(root / "flatsphere" / "surf" / "lh.white", unit * 0.03, tris)
        write_freesurfer_surface(root / "flatsphere" / "surf" / "lh.sphere",
                                 unit * [0.05, 0.1, 0.1], tris)
        (root / "nosphere" / "surf").mkdir(parents=True)
        write_freesurfer_surface(root / "nosphere" / "surf" / "lh.white", unit * 0.03, tris)
        # subjects whose bem/inner_skull.surf is in metres, or wound inward
        rr, tris = _sphere(3, 0.08)
        for name, points, triangles in (("metresbem", rr / 1000, tris),
                                        ("invbem", rr, tris[:, [0, 2, 1]])):
            (root / name / "bem").mkdir(parents=True)
            write_freesurfer_surface(root / name / "bem" / "inner_skull.surf", points, triangles)
        return root

    def make_subject_white(self):
        return self.path("subjects") / "subj" / "surf" / "lh.white"

    def make_cube_hemi(self):
        """A non-icosahedral ``lh.white`` beside a non-icosahedral ``lh.sphere``."""
        folder = self.root / "cube"
        folder.mkdir()
        rr, tris = _cube()
        write_freesurfer_surface(folder / "lh.white", rr, tris)
        write_freesurfer_surface(folder / "lh.sphere", 0.1 * rr / np.linalg.norm(rr, axis=1,
                                                                                keepdims=True),
                                 tris)
        return folder / "lh.white"

    # BEM geometry files (ico-2 spheres)
    def _bem(self, name, surfaces):
        path = self.root / name
        write_bem_surfaces(path, surfaces)
        return path

    def make_bem1(self):
        return self._bem("one-bem.fif", [_bem_surface(BemSurfId.BRAIN, 0.08)])

    def make_bem3(self):
        return self._bem("three-bem.fif", [_bem_surface(BemSurfId.HEAD, 0.09),
                                           _bem_surface(BemSurfId.SKULL, 0.085, 0.006),
                                           _bem_surface(BemSurfId.BRAIN, 0.08)])

    def make_bem_truncated(self):
        path = self.root / "truncated-bem.fif"
        _truncate(self.path("bem3"), path)
        return path

    def make_bem_nosigma(self):
        return self._bem("nosigma-bem.fif", [_bem_surface(BemSurfId.BRAIN, 0.08, sigma=None)])

    def make_bem_scalp_only(self):
        return self._bem("scalp-bem.fif", [_bem_surface(BemSurfId.HEAD, 0.09)])

    def make_bem_head_frame(self):
        return self._bem("head-frame-bem.fif",
                         [_bem_surface(BemSurfId.BRAIN, 0.08, frame=Frame.HEAD)])

    def make_bem_metres(self):
        """Radius 0.08 mm: a surface given in metres and converted as if mm."""
        return self._bem("tiny-bem.fif", [_bem_surface(BemSurfId.BRAIN, 0.08e-3)])

    def make_bem_inverted(self):
        return self._bem("inverted-bem.fif", [_bem_surface(BemSurfId.BRAIN, 0.08, swap=True)])

    def make_bem_misnested(self):
        return self._bem("misnested-bem.fif", [_bem_surface(BemSurfId.HEAD, 0.07),
                                               _bem_surface(BemSurfId.SKULL, 0.085, 0.006),
                                               _bem_surface(BemSurfId.BRAIN, 0.08)])

    # measurement, source space, transform, forward solutions
    def make_meas(self):
        path = self.root / "meas-raw.fif"
        write_meas_info(path, _meas())
        return path

    def make_meas_badcoil(self):
        path = self.root / "badcoil-raw.fif"
        write_meas_info(path, _meas(coil_type=9999))
        return path

    def make_meas_truncated(self):
        path = self.root / "truncated-raw.fif"
        _truncate(self.path("meas"), path)
        return path

    # real inputs of the sample subject (skip when the shared data is absent)
    def make_real_meas(self):
        return testing_file("SSS/sample_audvis_trunc_raw_sss.fif")

    def make_real_trans(self):
        return testing_file("MEG/sample/sample_audvis_trunc-trans.fif")

    def make_real_bem1(self):
        return testing_file("subjects/sample/bem/sample-1280-bem.fif")

    def make_real_sol(self):
        from mne_cli.bem.solution import make_bem_solution
        from mne_cli.io.bem import read_bem_surfaces, write_bem_solution

        surfaces = read_bem_surfaces(
            testing_file("subjects/sample/bem/sample-1280-1280-1280-bem.fif"))
        path = self.root / "sample-1280-1280-1280-bem-sol.fif"
        write_bem_solution(path, make_bem_solution(surfaces, "linear"))
        return path

    def make_real_meas_truncated(self):
        path = self.root / "sss-truncated-raw.fif"
        _truncate(testing_file("SSS/sample_audvis_trunc_raw_sss.fif"), path)
        return path

    def make_real_meas_bad_size(self):
        """The real recording with the size field of its first channel tag made huge."""
        from mne_cli.fiff import Kind, open_fif

        source = testing_file("SSS/sample_audvis_trunc_raw_sss.fif")
        tag = next(t for t in open_fif(source).tags if t.kind == Kind.CH_INFO)
        data = bytearray(source.read_bytes())
        data[tag.pos + 8:tag.pos + 12] = (0x7FFFFFF0).to_bytes(4, "big")
        path = self.root / "sss-damaged-raw.fif"
        path.write_bytes(bytes(data))
        return path

    def make_src(self):
        path = self.root / "points-src.fif"
        write_source_spaces(path, [_discrete_space([[0.0, 0.0, 0.03], [0.01, 0.0, 0.02]])])
        return path

    def make_src_outside(self):
        path = self.root / "outside-src.fif"
        write_source_spaces(path, [_discrete_space([[0.0, 0.0, 0.2], [0.2, 0.0, 0.0]])])
        return path

    def make_src_truncated(self):
        path = self.root / "truncated-src.fif"
        _truncate(self.path("src"), path)
        return path

    def make_trans_truncated(self):
        from mne_cli.io.transform import write_trans

        path = self.root / "full-trans.fif"
        write_trans(path, Transform.identity(Frame.HEAD, Frame.MRI))
        truncated = self.root / "truncated-trans.fif"
        _truncate(path, truncated)
        return truncated

    def make_trans_text(self):
        path = self.root / "identity.trans"
        path.write_text("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
        return path

    def make_trans_text_bad(self):
        path = self.root / "bad.trans"
        path.write_text("1 0 0 0\n0 1 0 0\n")
        return path

    def make_pos_bad(self):
        path = self.root / "bad.pos"
        path.write_text("10 20 30 0 0 1\nten twenty thirty 0 0 1\n")
        return path

    def make_fwd_a(self):
        path = self.root / "a-fwd.fif"
        write_forward(path, _forward(1))
        return path

    def make_fwd_b(self):
        path = self.root / "b-fwd.fif"
        write_forward(path, _forward(2))
        return path

    def make_fwd_other(self):
        path = self.root / "other-fwd.fif"
        write_forward(path, _forward(3, names=("MEG 011", "MEG 012", "MEG 013")))
        return path

    def make_fwd_truncated(self):
        path = self.root / "truncated-fwd.fif"
        _truncate(self.path("fwd_a"), path)
        return path

    def make_coildef_truncated(self):
        from mne_cli.coil_defs import (
            builtin_coil_defs,
            default_program_line,
            format_coil_defs,
        )

        text = format_coil_defs(builtin_coil_defs()[:3], default_program_line())
        path = self.root / "coil_def.dat"
        path.write_text(text[: len(text) - 40])
        return path


# --- the table ---------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One bad invocation.

    ``args`` and ``named`` may hold ``{key}`` placeholders (see the module
    docstring); ``named`` must appear in the error line (None: no file to name),
    as must every phrase of ``says``. ``env`` values are formatted the same way;
    None unsets a variable (``SUBJECTS_DIR`` and ``SUBJECT`` are always unset
    unless a row sets them).
    """

    command: str
    case: str
    args: list[str]
    named: str | None = None
    code: int = 1
    says: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    marks: tuple = ()


_SD = {"SUBJECTS_DIR": "{subjects}"}
MSS, VSS, S2B, PBM, FWD, AVG, LCD = ("make_source_space", "volume_source_space", "surf2bem",
                                     "prepare_bem_model", "forward_solution",
                                     "average_forward_solutions", "list_coil_def")
SSS, SFM, DFS = "mne_setup_source_space", "mne_setup_forward_model", "mne_do_forward_solution"
_FWD_OK = ["--src", "{src}", "--meas", "{meas}", "--notrans", "--fwd", "{out}"]


def _fwd(*replace, extra=()):
    """forward_solution's good arguments with option values replaced: ("--src", "{x}")."""
    args = list(_FWD_OK)
    for option, value in zip(replace[::2], replace[1::2]):
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    return args + list(extra)


ROWS = [
    # make_source_space
    Row(MSS, "random-bytes-surface", ["--surf", "{random}", "--spacing", "7", "--src", "{out}"],
        "{random}"),
    Row(MSS, "text-surface", ["--surf", "{text}", "--spacing", "7", "--src", "{out}"], "{text}"),
    Row(MSS, "truncated-surface", ["--surf", "{surf_truncated}", "--spacing", "7",
                                   "--src", "{out}"], "{surf_truncated}"),
    Row(MSS, "missing-surface-no-subjects-dir", ["--surf", "{missing}", "--src", "{out}"],
        "{missing}", says=("SUBJECTS_DIR",)),
    Row(MSS, "unknown-subject", ["--subject", "nobody", "--ico", "3", "--src", "{out}"],
        "nobody", env=_SD),
    Row(MSS, "subjects-dir-unset", ["--subject", "subj", "--ico", "3", "--src", "{out}"],
        says=("SUBJECTS_DIR",)),
    Row(MSS, "no-subject", ["--ico", "3", "--src", "{out}"], says=("subject",), env=_SD),
    Row(MSS, "default-output-subjects-dir-unset", ["--surf", "{subject_white}", "--subject",
                                                   "subj", "--ico", "3"], says=("SUBJECTS_DIR",)),
    Row(MSS, "ico-9", ["--subject", "subj", "--ico", "9", "--src", "{out}"], says=("9",),
        env=_SD),
    Row(MSS, "ico-5-on-grade-3", ["--subject", "subj", "--ico", "5", "--src", "{out}"],
        "lh.white", env=_SD),
    Row(MSS, "oct-0", ["--subject", "subj", "--oct", "0", "--src", "{out}"], code=2,
        says=("--oct",), env=_SD),
    Row(MSS, "ico-on-8-vertex-mesh", ["--surf", "{cube_hemi}", "--ico", "1", "--src", "{out}"],
        "lh.white"),
    Row(MSS, "sphere-not-spherical", ["--subject", "flatsphere", "--surf", "lh.white", "--ico",
                                      "2", "--src", "{out}"], "lh.sphere", env=_SD),
    Row(MSS, "no-sphere", ["--subject", "nosphere", "--surf", "lh.white", "--ico", "2",
                           "--src", "{out}"], "lh.sphere", env=_SD),
    Row(MSS, "spacing-too-small", ["--subject", "subj", "--spacing", "1", "--src", "{out}"],
        code=2, says=("--spacing",), env=_SD),
    Row(MSS, "spacing-not-a-number", ["--subject", "subj", "--spacing", "seven",
                                      "--src", "{out}"], code=2, says=("seven",), env=_SD),
    Row(MSS, "morph-unknown-subject", ["--subject", "subj", "--ico", "2", "--morph", "nobody",
                                       "--src", "{out}"], "nobody", env=_SD),
    Row(MSS, "output-dir-missing", ["--subject", "subj", "--ico", "2", "--src", "{out_nodir}"],
        "{out_nodir}", env=_SD),
    Row(MSS, "output-is-dir", ["--subject", "subj", "--ico", "2", "--src", "{out_isdir}"],
        code=2, says=("--src",), env=_SD),

    # volume_source_space
    Row(VSS, "random-bytes-bem", ["--bem", "{random}", "--src", "{out}"], "{random}"),
    Row(VSS, "truncated-bem", ["--bem", "{bem_truncated}", "--src", "{out}"],
        "{bem_truncated}"),
    Row(VSS, "text-bem", ["--bem", "{text}", "--src", "{out}"], "{text}"),
    Row(VSS, "missing-bem", ["--bem", "{missing}", "--src", "{out}"], "{missing}"),
    Row(VSS, "bem-without-inner-skull", ["--bem", "{bem_scalp_only}", "--src", "{out}"],
        "{bem_scalp_only}"),
    Row(VSS, "bem-in-head-frame", ["--bem", "{bem_head_frame}", "--src", "{out}"],
        "{bem_head_frame}"),
    Row(VSS, "random-bytes-surface", ["--surf", "{random}", "--src", "{out}"], "{random}"),
    Row(VSS, "text-surface", ["--surf", "{text}", "--src", "{out}"], "{text}"),
    Row(VSS, "truncated-surface", ["--surf", "{surf_truncated}", "--src", "{out}"],
        "{surf_truncated}"),
    Row(VSS, "missing-surface", ["--surf", "{missing}", "--src", "{out}"], "{missing}"),
    Row(VSS, "surface-in-metres", ["--surf", "{surf_metres}", "--src", "{out}"],
        "{surf_metres}"),
    Row(VSS, "inverted-surface", ["--surf", "{surf_inverted}", "--src", "{out}"],
        "{surf_inverted}"),
    Row(VSS, "bad-pos-file", ["--pos", "{pos_bad}", "--src", "{out}"], "{pos_bad}"),
    Row(VSS, "missing-pos-file", ["--pos", "{missing}", "--src", "{out}"], "{missing}"),
    Row(VSS, "text-mri", ["--mri", "{text}", "--src", "{out}"], "{text}"),
    Row(VSS, "negative-grid", ["--grid", "-5", "--src", "{out}"], code=2, says=("--grid",)),
    # (a grid below 1 mm would also get the "lengths are in mm" warning line)
    Row(VSS, "grid-too-many-points", ["--grid", "1", "--rad", "2000", "--src", "{out}"],
        says=("--grid",)),
    Row(VSS, "zero-radius", ["--rad", "0", "--src", "{out}"], code=2, says=("--rad",)),
    Row(VSS, "grid-not-a-number", ["--grid", "five", "--src", "{out}"], code=2,
        says=("five",)),
    Row(VSS, "origin-two-numbers", ["--origin", "0:0", "--src", "{out}"], code=2,
        says=("0:0",)),
    Row(VSS, "no-output", ["--grid", "10"], code=2, says=("--src",)),
    Row(VSS, "output-dir-missing", ["--grid", "20", "--src", "{out_nodir}"], "{out_nodir}"),
    Row(VSS, "output-is-dir", ["--grid", "20", "--src", "{out_isdir}"], code=2,
        says=("--src",)),

    # surf2bem
    Row(S2B, "random-bytes-surface", ["--surf", "{random}", "--id", "1", "--fif", "{out}"],
        "{random}"),
    Row(S2B, "text-surface", ["--surf", "{text}", "--id", "1", "--fif", "{out}"], "{text}"),
    Row(S2B, "truncated-surface", ["--surf", "{surf_truncated}", "--fif", "{out}"],
        "{surf_truncated}"),
    Row(S2B, "missing-surface", ["--surf", "{missing}", "--fif", "{out}"], "{missing}"),
    Row(S2B, "random-bytes-tri", ["--tri", "{random}", "--fif", "{out}"], "{random}"),
    Row(S2B, "missing-tri", ["--tri", "{missing}", "--fif", "{out}"], "{missing}"),
    Row(S2B, "ico-9-on-grade-3", ["--surf", "{surf}", "--ico", "9", "--fif", "{out}"],
        "inner_skull.surf"),
    Row(S2B, "ico-4-on-grade-3", ["--surf", "{surf}", "--ico", "4", "--fif", "{out}"],
        "inner_skull.surf"),
    Row(S2B, "ico-non-icosahedral", ["--surf", "{surf_cube}", "--ico", "1", "--fif", "{out}"],
        "cube.surf"),
    Row(S2B, "ico-shuffled-triangles", ["--surf", "{surf_shuffled}", "--ico", "2",
                                        "--fif", "{out}"], "shuffled.surf"),
    Row(S2B, "surface-in-metres", ["--surf", "{surf_metres}", "--id", "1", "--check",
                                   "--fif", "{out}"], "metres.surf", says=("small",)),
    Row(S2B, "tri-in-metres", ["--tri", "{tri_metres}", "--id", "1", "--check",
                               "--fif", "{out}"], "metres.tri", says=("--meters",)),
    Row(S2B, "inverted-triangles", ["--surf", "{surf_inverted}", "--id", "1", "--check",
                                    "--fif", "{out}"], "inverted.surf", says=("not complete",)),
    Row(S2B, "open-surface", ["--surf", "{surf_open}", "--id", "1", "--check",
                              "--fif", "{out}"], "open.surf", says=("not complete",)),
    Row(S2B, "topological-defect", ["--surf", "{surf_defect}", "--id", "1", "--fif", "{out}"],
        "defect.surf", says=("--force",)),
    Row(S2B, "wrongly-nested", ["--surf", "{surf_scalp_small}", "--id", "4", "--sigma", "0.3",
                                "--surf", "{surf_skull}", "--id", "3", "--sigma", "0.006",
                                "--surf", "{surf}", "--id", "1", "--sigma", "0.3",
                                "--check", "--fif", "{out}"], "outer_skin.surf",
        says=("not completely inside",)),
    Row(S2B, "intersecting", ["--surf", "{surf_scalp}", "--id", "4", "--sigma", "0.3",
                              "--surf", "{surf_skull_off_centre}", "--id", "3", "--sigma", "0.006",
                              "--surf", "{surf}", "--id", "1", "--sigma", "0.3",
                              "--check", "--fif", "{out}"], "off_centre_skull.surf",
        says=("not completely inside",)),
    Row(S2B, "negative-sigma", ["--surf", "{surf}", "--sigma", "-0.3", "--fif", "{out}"],
        "inner_skull.surf", says=("--sigma",)),
    Row(S2B, "sigma-not-a-number", ["--surf", "{surf}", "--sigma", "high", "--fif", "{out}"],
        code=2, says=("high",)),
    Row(S2B, "option-before-surface", ["--id", "1", "--surf", "{surf}", "--fif", "{out}"],
        code=2, says=("--id",)),
    Row(S2B, "no-surface", ["--fif", "{out}"], code=2, says=("--surf",)),
    Row(S2B, "output-dir-missing", ["--surf", "{surf}", "--id", "1", "--fif", "{out_nodir}"],
        "{out_nodir}"),
    Row(S2B, "output-is-dir", ["--surf", "{surf}", "--id", "1", "--fif", "{out_isdir}"],
        code=2, says=("--fif",)),

    # prepare_bem_model
    Row(PBM, "random-bytes", ["--bem", "{random}", "--sol", "{out}"], "{random}"),
    Row(PBM, "empty-file", ["--bem", "{empty}", "--sol", "{out}"], "{empty}"),
    Row(PBM, "truncated", ["--bem", "{bem_truncated}", "--sol", "{out}"], "{bem_truncated}"),
    Row(PBM, "text-file", ["--bem", "{text}", "--sol", "{out}"], "{text}"),
    Row(PBM, "missing", ["--bem", "{missing}", "--sol", "{out}"], "{missing}"),
    Row(PBM, "not-a-bem", ["--bem", "{meas}", "--sol", "{out}"], "{meas}"),
    Row(PBM, "no-conductivity", ["--bem", "{bem_nosigma}", "--sol", "{out}"], "{bem_nosigma}",
        says=("conductivity",)),
    Row(PBM, "no-inner-skull", ["--bem", "{bem_scalp_only}", "--sol", "{out}"],
        "{bem_scalp_only}"),
    Row(PBM, "head-frame", ["--bem", "{bem_head_frame}", "--sol", "{out}"],
        "{bem_head_frame}", says=("MRI",)),
    Row(PBM, "surface-in-metres", ["--bem", "{bem_metres}", "--sol", "{out}"],
        "{bem_metres}"),
    Row(PBM, "inverted-triangles", ["--bem", "{bem_inverted}", "--sol", "{out}"],
        "{bem_inverted}"),
    Row(PBM, "wrongly-nested", ["--bem", "{bem_misnested}", "--sol", "{out}"],
        "{bem_misnested}"),
    Row(PBM, "unknown-method", ["--bem", "{bem1}", "--method", "quadratic", "--sol", "{out}"],
        code=2, says=("quadratic",)),
    Row(PBM, "output-is-input", ["--bem", "{bem1}", "--sol", "{bem1}"], code=2,
        says=("--sol",)),
    Row(PBM, "output-dir-missing", ["--bem", "{bem1}", "--sol", "{out_nodir}"], "{out_nodir}"),
    Row(PBM, "output-is-dir", ["--bem", "{bem1}", "--sol", "{out_isdir}"], code=2,
        says=("--sol",)),

    # forward_solution
    Row(FWD, "random-bytes-src", _fwd("--src", "{random}"), "{random}"),
    Row(FWD, "truncated-src", _fwd("--src", "{src_truncated}"), "{src_truncated}"),
    Row(FWD, "missing-src", _fwd("--src", "{missing}"), "{missing}"),
    Row(FWD, "bem-as-src", _fwd("--src", "{bem1}"), "{bem1}"),
    Row(FWD, "random-bytes-meas", _fwd("--meas", "{random}"), "{random}"),
    Row(FWD, "truncated-meas", _fwd("--meas", "{meas_truncated}"), "{meas_truncated}"),
    Row(FWD, "truncated-real-meas", _fwd("--meas", "{real_meas_truncated}"),
        "{real_meas_truncated}"),
    Row(FWD, "damaged-real-meas", _fwd("--meas", "{real_meas_bad_size}"),
        "{real_meas_bad_size}"),
    Row(FWD, "missing-meas", _fwd("--meas", "{missing}"), "{missing}"),
    Row(FWD, "text-meas", _fwd("--meas", "{text}"), "{text}"),
    Row(FWD, "random-bytes-mri", _fwd(extra=["--mri", "{random}"]), "{random}"),
    Row(FWD, "missing-mri", _fwd(extra=["--mri", "{missing}"]), "{missing}"),
    Row(FWD, "mri-without-transform", _fwd(extra=["--mri", "{bem1}"]), "{bem1}"),
    Row(FWD, "bad-trans-text", _fwd(extra=["--trans", "{trans_text_bad}"]),
        "{trans_text_bad}"),
    Row(FWD, "random-bytes-bem", _fwd("--bem", "{random}"), "{random}"),
    Row(FWD, "truncated-bem", _fwd("--bem", "{bem_truncated}"), "{bem_truncated}"),
    Row(FWD, "missing-bem", _fwd("--bem", "{missing}"), "{missing}"),
    Row(FWD, "bem-inverted-triangles", _fwd("--bem", "{bem_inverted}"), "{bem_inverted}"),
    Row(FWD, "bem-in-metres", _fwd("--bem", "{bem_metres}"), "{bem_metres}"),
    Row(FWD, "truncated-mri", _fwd(extra=["--mri", "{trans_truncated}"]), "{trans_truncated}"),
    Row(FWD, "sources-outside-skull", _fwd("--src", "{src_outside}", "--bem", "{bem1}"),
        "{src_outside}"),
    Row(FWD, "coil-type-not-defined", _fwd("--meas", "{meas_badcoil}"), "coil_def.dat",
        says=("9999",)),
    Row(FWD, "origin-not-three-numbers", _fwd("--origin", "0:40"), code=2, says=("0:40",)),
    Row(FWD, "mindist-not-a-number", _fwd("--mindist", "near"), code=2, says=("near",)),
    Row(FWD, "no-transform", ["--src", "{src}", "--meas", "{meas}", "--fwd", "{out}"], code=2,
        says=("--mri",)),
    Row(FWD, "missing-label", _fwd("--label", "{missing}"), "{missing}"),
    Row(FWD, "output-dir-missing", _fwd("--fwd", "{out_nodir}"), "{out_nodir}"),
    Row(FWD, "output-is-dir", _fwd("--fwd", "{out_isdir}"), code=2, says=("--fwd",)),

    # average_forward_solutions
    Row(AVG, "random-bytes", ["--fwd", "{random}", "--out", "{out}"], "{random}"),
    Row(AVG, "truncated", ["--fwd", "{fwd_a}", "--fwd", "{fwd_truncated}", "--out", "{out}"],
        "{fwd_truncated}"),
    Row(AVG, "text-file", ["--fwd", "{text}", "--out", "{out}"], "{text}"),
    Row(AVG, "missing", ["--fwd", "{fwd_a}", "--fwd", "{missing}", "--out", "{out}"],
        "{missing}"),
    Row(AVG, "not-a-forward", ["--fwd", "{bem1}", "--out", "{out}"], "{bem1}"),
    Row(AVG, "weight-does-not-parse", ["--fwd", "{fwd_a}:two", "--fwd", "{fwd_b}",
                                       "--out", "{out}"], "{fwd_a}:two"),
    Row(AVG, "weight-not-a-number", ["--fwd", "{fwd_a}:nan", "--fwd", "{fwd_b}", "--out",
                                     "{out}"], "{fwd_a}:nan", says=("not a weight",)),
    Row(AVG, "negative-weight", ["--fwd", "{fwd_a}:-1", "--fwd", "{fwd_b}", "--out", "{out}"],
        "{fwd_a}"),
    Row(AVG, "zero-weights", ["--fwd", "{fwd_a}:0", "--fwd", "{fwd_b}:0", "--out", "{out}"],
        says=("zero",)),
    Row(AVG, "incompatible", ["--fwd", "{fwd_a}", "--fwd", "{fwd_other}", "--out", "{out}"],
        "{fwd_other}"),
    Row(AVG, "output-is-input", ["--fwd", "{fwd_a}", "--fwd", "{fwd_b}", "--out", "{fwd_b}"],
        code=2, says=("--out",)),
    Row(AVG, "no-input", ["--out", "{out}"], code=2, says=("--fwd",)),
    Row(AVG, "output-dir-missing", ["--fwd", "{fwd_a}", "--fwd", "{fwd_b}",
                                    "--out", "{out_nodir}"], "{out_nodir}"),
    Row(AVG, "output-is-dir", ["--fwd", "{fwd_a}", "--out", "{out_isdir}"], code=2,
        says=("--out",)),

    # list_coil_def
    Row(LCD, "random-bytes", ["--in", "{random}", "--out", "{out}"], "{random}"),
    Row(LCD, "text-file", ["--in", "{text}", "--out", "{out}"], "{text}"),
    Row(LCD, "truncated", ["--in", "{coildef_truncated}", "--out", "{out}"],
        "{coildef_truncated}"),
    Row(LCD, "missing", ["--in", "{missing}", "--out", "{out}"], "{missing}"),
    Row(LCD, "unknown-coil-type", ["--type", "9999", "--out", "{out}"], says=("9999",)),
    Row(LCD, "type-not-a-number", ["--type", "planar", "--out", "{out}"], code=2,
        says=("planar",)),
    Row(LCD, "output-dir-missing", ["--out", "{out_nodir}"], "{out_nodir}"),
    Row(LCD, "output-is-dir", ["--out", "{out_isdir}"], code=2, says=("--out",)),

    # mne_setup_source_space
    Row(SSS, "unknown-subject", ["--subject", "nobody", "--ico", "3", "--src", "{out}"],
        "nobody", env=_SD),
    Row(SSS, "subjects-dir-unset", ["--subject", "subj", "--ico", "3"], says=("SUBJECTS_DIR",)),
    Row(SSS, "no-subject", ["--ico", "3"], says=("subject",), env=_SD),
    Row(SSS, "ico-9", ["--subject", "subj", "--ico", "9"], says=("9",), env=_SD),
    Row(SSS, "missing-surface", ["--subject", "subj", "--surface", "pial", "--src", "{out}"],
        "lh.pial", env=_SD),
    Row(SSS, "existing-output", ["--subject", "subj", "--ico", "2", "--src", "{out}"], "{out}",
        says=("--overwrite",), env=_SD),

    # mne_setup_forward_model
    Row(SFM, "unknown-subject", ["--subject", "nobody", "--homog", "--surf"], "nobody",
        env=_SD),
    Row(SFM, "no-surfaces", ["--subject", "subj", "--homog", "--surf"], "inner_skull.surf",
        env=_SD),
    Row(SFM, "surface-in-metres", ["--subject", "metresbem", "--homog", "--surf"],
        "inner_skull.surf", says=("metres",), env=_SD),
    Row(SFM, "inverted-triangles", ["--subject", "invbem", "--homog", "--surf"],
        "inner_skull.surf", env=_SD),
    Row(SFM, "impossible-ico", ["--subject", "metresbem", "--homog", "--surf", "--ico", "7"],
        "inner_skull.surf", env=_SD),
    Row(SFM, "conductivity-not-a-number", ["--subject", "subj", "--brainc", "high"], code=2,
        says=("high",), env=_SD),

    # mne_do_forward_solution
    Row(DFS, "missing-meas", ["--meas", "{missing}"], "{missing}"),
    Row(DFS, "unknown-subject", ["--subject", "nobody", "--meas", "{meas}"], "nobody", env=_SD),
    Row(DFS, "no-source-space", ["--subject", "subj", "--meas", "{meas}", "--spacing", "oct-6"],
        "subj-oct-6-src.fif", env=_SD),
    Row(DFS, "spacing-not-a-spacing", ["--subject", "subj", "--meas", "{meas}", "--spacing",
                                       "fine"], code=2, says=("fine",), env=_SD),
    Row(DFS, "megonly-and-eegonly", ["--meas", "{meas}", "--megonly", "--eegonly"], code=2,
        says=("--megonly",)),
    # (the search without --mri/--trans would find the library's other -trans.fif files)
    Row(DFS, "missing-mri", ["--src", "{src}", "--bem", "{bem1}", "--meas", "{meas}", "--mri",
                             "nothere-trans.fif", "--fwd", "{out}"], "nothere-trans.fif"),
    Row(DFS, "random-bytes-meas", ["--src", "{src}", "--bem", "{bem1}", "--trans",
                                   "{trans_text}", "--meas", "{random}", "--fwd", "{out}"],
        "{random}"),
    Row(DFS, "existing-output", ["--src", "{src}", "--bem", "{bem1}", "--trans", "{trans_text}",
                                 "--meas", "{meas}", "--fwd", "{out}"], "{out}",
        says=("--overwrite",)),
]


# The failing inputs of shared/cases (see its README) in the rows above.
_CASE_ROWS = [
    Row(S2B, "sigma-not-finite", ["--surf", "{surf}", "--id", "1", "--sigma", "nan", "--fif",
                                  "{out}"], "inner_skull.surf", says=("--sigma", "nan")),
    Row(FWD, "case-eeg-nan-positions-bem",
        _fwd("--meas", "{case_eeg_nan}", "--bem", "{real_sol}"), "{case_eeg_nan}",
        says=("3 of 67 EEG channels", "ECG, HEOG, VEOG")),
    Row(FWD, "case-eeg-nan-positions-sphere", _fwd("--meas", "{case_eeg_nan}"),
        "{case_eeg_nan}", says=("3 of 67 EEG channels",)),
    Row(FWD, "case-bad-trans", ["--src", "{src}", "--meas", "{real_meas}", "--mri",
                                "{case_bad_trans}", "--bem", "{real_sol}", "--fwd", "{out}"],
        "{case_bad_trans}", says=("33 of 306 MEG sensors", "--allowinside")),
    Row(DFS, "case-eeg-nan-positions", ["--src", "{src}", "--bem", "{real_sol}", "--trans",
                                        "{trans_text}", "--meas", "{case_eeg_nan}", "--fwd",
                                        "{out}", "--overwrite"], "{case_eeg_nan}"),
    Row(DFS, "case-bad-trans", ["--src", "{src}", "--bem", "{real_sol}", "--mri",
                                "{case_bad_trans}", "--meas", "{real_meas}", "--fwd", "{out}",
                                "--overwrite"], "{case_bad_trans}"),
    Row(S2B, "case-self-intersecting-check", ["--surf", "{case_fold}", "--id", "1", "--sigma",
                                              "0.3", "--check", "--fif", "{out}"],
        "inner_skull_fold.surf"),
    Row(S2B, "case-self-intersecting-checkmore", ["--surf", "{case_fold}", "--id", "1",
                                                  "--sigma", "0.3", "--checkmore", "--fif",
                                                  "{out}"], "inner_skull_fold.surf"),
    Row(VSS, "case-self-intersecting-surf", ["--surf", "{case_fold}", "--grid", "10", "--src",
                                             "{out}"], "inner_skull_fold.surf",
        says=("intersects itself",)),
]
_CASE_FILES = {"case_eeg_nan": "eeg-nan-positions_raw.fif", "case_bad_trans": "bad-trans.fif",
               "case_mgh70": "mgh70_eeg_raw.fif", "case_fold": "inner_skull_fold.surf",
               "case_ras": "ras_cubic.mgz"}
ROWS += _CASE_ROWS


# --- running a row ------------------------------------------------------------------

@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Library:
    return Library(tmp_path_factory.mktemp("bad_inputs"))


class _Values(dict):
    """Placeholder values: the output paths, then the library (built on demand)."""

    def __init__(self, library: Library, outputs: dict[str, str]):
        super().__init__(outputs)
        self.library = library

    def __missing__(self, key):
        if key in _CASE_FILES:
            return str(case_file(_CASE_FILES[key]))
        return self.library[key]


def _main(command: str):
    return importlib.import_module(f"mne_cli.cli.{command.removeprefix('mne_')}").main


def _error_lines(stderr: str, code: int) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code == 2:
        lines = [line for line in lines if not USAGE_BOILERPLATE.match(line)]
    return lines


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


@pytest.mark.parametrize("row", [pytest.param(r, id=f"{r.command}-{r.case}", marks=r.marks)
                                 for r in ROWS])
def test_bad_input(row, library, tmp_path, runner):
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    out = out_folder / "result.fif"
    out.write_bytes(SENTINEL)
    (out_folder / "existing-folder").mkdir()
    outputs = {"out": str(out), "out_nodir": str(out_folder / "missing" / "result.fif"),
               "out_isdir": str(out_folder / "existing-folder")}
    values = _Values(library, outputs)
    args = [a.format_map(values) for a in row.args] + ["--quiet"]
    env = {"SUBJECTS_DIR": None, "SUBJECT": None, "MNE_ROOT": None}
    env.update({k: v if v is None else v.format_map(values) for k, v in row.env.items()})
    named = row.named.format_map(values) if row.named else None

    result = runner.invoke(_main(row.command), args, env=env)

    report = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == row.code, report
    assert isinstance(result.exception, SystemExit), (result.exc_info, report)
    assert "Traceback" not in result.output, report
    assert result.stdout == "", report
    lines = _error_lines(result.stderr, row.code)
    assert len(lines) == 1, report
    prefix = f"{row.command}: " if row.code == 1 else "Error: "
    assert lines[0].startswith(prefix), report
    if named is not None:
        assert named in lines[0], report
    for phrase in row.says:
        assert phrase in lines[0], report
    assert out.read_bytes() == SENTINEL
    assert not (out_folder / "missing").exists()
    assert _leftovers(out_folder) == []
    assert sorted(p.name for p in out_folder.iterdir()) == ["existing-folder", "result.fif"]


def test_rows_are_unique():
    ids = [(r.command, r.case) for r in ROWS]
    assert len(ids) == len(set(ids))


# --- every case of shared/cases in every input slot ---------------------------------

#: (command, arguments with ``{case}`` where the case file goes).
_SLOTS = {
    "fwd-meas-bem": (FWD, ["--src", "{src}", "--meas", "{case}", "--mri", "{real_trans}",
                           "--bem", "{real_sol}", "--fwd", "{out}"]),
    "fwd-meas-sphere": (FWD, ["--src", "{src}", "--meas", "{case}", "--mri", "{real_trans}",
                              "--fwd", "{out}"]),
    "fwd-mri": (FWD, ["--src", "{src}", "--meas", "{real_meas}", "--mri", "{case}",
                      "--bem", "{real_sol}", "--fwd", "{out}"]),
    "fwd-bem": (FWD, ["--src", "{src}", "--meas", "{real_meas}", "--mri", "{real_trans}",
                      "--bem", "{case}", "--fwd", "{out}"]),
    "fwd-src": (FWD, ["--src", "{case}", "--meas", "{real_meas}", "--mri", "{real_trans}",
                      "--fwd", "{out}"]),
    "dfs-meas": (DFS, ["--src", "{src}", "--bem", "{real_sol}", "--mri", "{real_trans}",
                       "--meas", "{case}", "--fwd", "{out}", "--overwrite"]),
    "s2b-surf": (S2B, ["--surf", "{case}", "--id", "1", "--sigma", "0.3", "--check",
                       "--fif", "{out}"]),
    "pbm-bem": (PBM, ["--bem", "{case}", "--sol", "{out}"]),
    "vss-surf": (VSS, ["--surf", "{case}", "--grid", "10", "--src", "{out}"]),
    "vss-bem": (VSS, ["--bem", "{case}", "--grid", "10", "--src", "{out}"]),
    "vss-mri": (VSS, ["--bem", "{real_bem1}", "--grid", "10", "--mri", "{case}",
                      "--src", "{out}"]),
    "mss-surf": (MSS, ["--surf", "{case}", "--spacing", "7", "--src", "{out}"]),
    "avg-fwd": (AVG, ["--fwd", "{case}", "--fwd", "{case}", "--out", "{out}"]),
}
#: The pairs that must succeed; every other pair must fail cleanly.
_CASE_OK = {("fwd-meas-bem", "case_mgh70"), ("fwd-meas-sphere", "case_mgh70"),
            ("dfs-meas", "case_mgh70"), ("vss-mri", "case_ras"),
            # a self-intersecting surface is still a surface to pick cortex vertices from
            ("mss-surf", "case_fold")}


def _finite_output(path: Path) -> None:
    """The output reads back and holds no NaN or infinity."""
    from mne_cli.io.forward import read_forward
    from mne_cli.io.source_space import read_source_spaces

    try:
        fwd = read_forward(path)
    except MneCliError:  # not a forward solution: a source space
        for space in read_source_spaces(path):
            assert np.isfinite(space.rr).all() and np.isfinite(space.nn).all()
        return
    for block in (fwd.meg, fwd.eeg):
        if block is not None:
            assert np.isfinite(block.sol).all() and block.sol.any(axis=1).all()


@pytest.mark.parametrize("case", sorted(_CASE_FILES))
@pytest.mark.parametrize("slot", sorted(_SLOTS))
def test_shared_case_in_every_slot(slot, case, library, tmp_path, runner):
    """Exit 0 with finite, non-zero numbers, or one error line naming the case file."""
    command, template = _SLOTS[slot]
    out = tmp_path / "result-fwd.fif"
    values = _Values(library, {"out": str(out), "case": str(case_file(_CASE_FILES[case]))})
    args = [a.format_map(values) for a in template] + ["--quiet"]
    result = runner.invoke(_main(command), args, env={"SUBJECTS_DIR": None, "SUBJECT": None})
    report = f"exit {result.exit_code}\nstderr: {result.stderr!r}\n{result.exc_info}"
    assert isinstance(result.exception, (SystemExit, type(None))), report
    assert "Traceback" not in result.output, report
    if (slot, case) in _CASE_OK:
        assert result.exit_code == 0, report
        _finite_output(out)
        return
    assert result.exit_code in (1, 2), report
    lines = _error_lines(result.stderr, result.exit_code)
    assert len(lines) == 1, report
    assert _CASE_FILES[case] in lines[0], report
    assert not out.exists() and _leftovers(tmp_path) == []
