"""Fuzzing the FIF readers: a damaged file gives one clear error, never a crash.

Seeds are small valid FIF files: synthetic ones written by mne_cli's own
writers (always available) and small real files of the shared test data
(skipped when absent; the real recordings are cut down to their measurement
information, closed properly, so that the fuzzed files stay small; files of
16 MB and more would be memory-mapped by ``open_fif``, a path not fuzzed here).
A gzip-compressed seed exercises the ``.fif.gz`` layer with flips and cuts
only. Hypothesis mutates a seed with one to three of:

* ``flip``: a bit flipped at a random byte offset;
* ``cut``: the file truncated at a random length;
* ``size``, ``type``, ``kind``, ``next``: a field of one tag's 16-byte header
  (kind, type, size, next, big-endian int32) overwritten with a random or
  special value (huge, negative, zero, just wrong);
* ``resize``: a tag's size field off by a few bytes;
* ``word``: one 4-byte word of a tag's payload overwritten the same way, with
  a bias to one-integer tags (counts such as NCHAN or NPOINTS becoming huge
  or negative); ``tail``: one of the last words of a matrix payload (the
  dimensions and ndim of a dense matrix, the header of a sparse one).

Property: each reader either returns or raises
:class:`~mne_cli.errors.MneCliError` whose message is one line containing the
path. Anything else (IndexError, ValueError, struct.error, MemoryError,
OverflowError, ...) fails the test, and so do a Python warning (numpy's
RuntimeWarning would be an extra stderr line of a command) and a read that
takes longer than the hang limit (an alarm interrupts it) or Hypothesis'
deadline. Huge sizes fail fast because the readers compare every count with
the bytes actually present before allocating anything; run long campaigns
under ``ulimit -v`` so that a regression shows as a MemoryError, not a swap
storm.

Runs are deterministic (``derandomize=True``). The CI budget is
``MNE_CLI_FUZZ_EXAMPLES`` examples per reader (default 400: about 20 s for
the file). A longer local campaign (about 15 minutes)::

    (ulimit -v 8000000; MNE_CLI_FUZZ_EXAMPLES=6000 MNE_CLI_FUZZ_SEED=1 \\
        python -m pytest tests/test_fuzz_fif.py -q -p no:cacheprovider -k fuzzed)

(``MNE_CLI_FUZZ_SEED`` switches derandomisation off and draws other
examples from that seed.) Crashers found that way are kept below as
explicit regression cases (``REGRESSIONS``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import struct
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from mne_cli.errors import MneCliError
from mne_cli.fiff import Block, Frame, Kind, open_fif
from mne_cli.fiff.constants import ChannelKind, Method, SourceOri, SourceSpaceType, Type
from mne_cli.fiff.tag import HEADER, HEADER_SIZE, NEXT_NONE, pack_header
from mne_cli.geometry.icosahedron import icosahedron
from mne_cli.geometry.surface import vertex_normals
from mne_cli.io.bem import (
    read_bem_solution,
    read_bem_surfaces,
    write_bem_solution,
    write_bem_surfaces,
)
from mne_cli.io.forward import read_forward, write_forward
from mne_cli.io.meas import read_meas_info, write_meas_info
from mne_cli.io.source_space import (
    grid_volume_mri,
    read_source_spaces,
    write_source_spaces,
)
from mne_cli.io.transform import read_trans, write_trans
from mne_cli.objects import (
    BemSolution,
    BemSurface,
    Channel,
    CompensationMatrix,
    DigPoint,
    FileId,
    Forward,
    ForwardBlock,
    MeasInfo,
    SourceSpace,
    Transform,
)

from .conftest import TESTING

EXAMPLES = int(os.environ.get("MNE_CLI_FUZZ_EXAMPLES", "400"))
SEED = os.environ.get("MNE_CLI_FUZZ_SEED")
HANG_SECONDS = 10  # a single read of a seed-sized file takes milliseconds

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    database=None,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


def _seeded(test):
    return hypothesis_seed(int(SEED))(test) if SEED is not None else test


# --- synthetic seeds ------------------------------------------------------------

def _bem_surface(surf_id, radius, grade, sigma=0.3):
    unit, tris = icosahedron(grade)
    rr = unit * radius
    return BemSurface(surf_id, sigma, rr, tris, vertex_normals(rr, tris))


def _surface_space() -> SourceSpace:
    """An ico-1 surface space with use_tris, patch information and distances."""
    unit, tris = icosahedron(1)
    rr = 0.07 * unit
    inuse = np.zeros(len(rr), np.int64)
    inuse[:12] = 1
    rng = np.random.default_rng(3)
    dist = scipy.sparse.triu(scipy.sparse.random(len(rr), len(rr), 0.1, random_state=rng),
                             1, format="csr") * 0.01
    _, use_tris = icosahedron(0)
    return SourceSpace(SourceSpaceType.SURFACE, rr, unit.copy(), inuse, id=101,
                       subject="fuzz", tris=tris, use_tris=use_tris,
                       nearest=np.arange(len(rr)) % 12, nearest_dist=np.full(len(rr), 0.002),
                       dist=dist, dist_limit=0.01)


def _volume_space() -> SourceSpace:
    """A 4 x 4 x 4 grid with neighbours and a non-empty MRI interpolator."""
    from mne_cli.source_space.volume import make_volume_source_space

    space = make_volume_source_space(None, None, 0.02, 0.0, 0.0, sphere=(np.zeros(3), 0.03))
    npts = len(space.rr)
    space.mri = grid_volume_mri(space.src_mri_t, space.voxel_dims, npts)
    space.mri.interpolator = scipy.sparse.eye(npts, format="csr", dtype=np.float32)
    return space


def _discrete_space(n=6) -> SourceSpace:
    rng = np.random.default_rng(5)
    nn = rng.normal(size=(n, 3))
    return SourceSpace(SourceSpaceType.DISCRETE, rng.uniform(-0.04, 0.04, (n, 3)),
                       nn / np.linalg.norm(nn, axis=1, keepdims=True), np.ones(n, np.int64))


MEG_NAMES = ["MEG 0111", "MEG 0112", "A-very-long-gradiometer-name", "MEG 0121"]
EEG_NAMES = ["EEG 001", "EEG 002", "EEG 003"]
REF_NAMES = ["REF 001", "REF 002"]


def _channels() -> list[Channel]:
    channels = []
    for k, (name, kind) in enumerate([(n, ChannelKind.MEG) for n in MEG_NAMES]
                                     + [(n, ChannelKind.EEG) for n in EEG_NAMES]
                                     + [(n, ChannelKind.MEG_REF) for n in REF_NAMES]):
        loc = np.zeros(12)
        loc[:3] = [0.01 * k, 0.02, 0.1]
        loc[3:] = np.eye(3).ravel()
        coil = {ChannelKind.MEG: 3012, ChannelKind.EEG: 1, ChannelKind.MEG_REF: 5001}[kind]
        channels.append(Channel(scanno=k + 1, logno=k + 1, kind=kind, range=1.0, cal=1.0,
                                coil_type=coil, loc=loc, unit=201, unit_mul=0, name=name))
    return channels


def _meas_info() -> MeasInfo:
    shift = np.eye(4)
    shift[:3, 3] = [0.001, 0.002, 0.04]
    dig = [DigPoint(k % 4 + 1, k, np.array([0.01 * k, 0.08, 0.02])) for k in range(5)]
    comp = CompensationMatrix(1, False, MEG_NAMES[:2], REF_NAMES,
                              np.arange(4, dtype=float).reshape(2, 2))
    return MeasInfo(channels=_channels(), dev_head_t=Transform(Frame.DEVICE, Frame.HEAD, shift),
                    ctf_head_t=Transform(Frame.CTF_HEAD, Frame.HEAD, np.eye(4)),
                    bads=[MEG_NAMES[2], EEG_NAMES[0]], comps=[comp], sfreq=600.0,
                    highpass=0.1, lowpass=200.0, meas_id=FileId(1, (2, 3), 4, 5),
                    meas_date=(1_000_000, 7), dig=dig, description="fuzz seed")


def _forward() -> Forward:
    spaces = [_discrete_space(), _surface_space()]
    nsource = sum(s.nuse for s in spaces)
    rng = np.random.default_rng(9)
    channels = [ch for ch in _channels() if ch.kind != ChannelKind.MEG_REF]

    def block(method, names):
        return ForwardBlock(method, list(names), rng.normal(size=(len(names), 3 * nsource)),
                            rng.normal(size=(len(names), 9 * nsource)))

    return Forward(source_spaces=spaces, coord_frame=Frame.HEAD, source_ori=SourceOri.FREE,
                   mri_head_t=Transform(Frame.MRI, Frame.HEAD, np.eye(4)), channels=channels,
                   meg=block(Method.MEG, MEG_NAMES), eeg=block(Method.EEG, EEG_NAMES),
                   dev_head_t=Transform(Frame.DEVICE, Frame.HEAD, np.eye(4)),
                   bads=[EEG_NAMES[1]], meas_file="fuzz_raw.fif",
                   meas_id=FileId(1, (2, 3), 4, 5), mri_file="fuzz-trans.fif")


def _write_synthetic(folder: Path) -> dict[str, Path]:
    paths = {}

    def target(name):
        paths[name] = folder / f"{name}.fif"
        return paths[name]

    write_bem_surfaces(target("bem-1"), [_bem_surface(1, 0.08, 1)])
    write_bem_surfaces(target("bem-3"), [_bem_surface(4, 0.09, 0), _bem_surface(3, 0.085, 0),
                                         _bem_surface(1, 0.08, 0, sigma=None)])
    surf = _bem_surface(1, 0.08, 0)
    write_bem_solution(target("bem-sol"),
                       BemSolution([surf], 2, np.random.default_rng(1).normal(size=(12, 12))),
                       "prepare_bem_model --bem x")
    write_source_spaces(target("src-surface"), [_surface_space()])
    write_source_spaces(target("src-volume"), [_volume_space()])
    write_source_spaces(target("src-discrete"), [_discrete_space()], "make_source_space")
    write_forward(target("fwd"), _forward())
    write_meas_info(target("meas"), _meas_info())
    write_trans(target("trans"), Transform(Frame.HEAD, Frame.MRI, np.eye(4)))
    paths["bem-1-gz"] = folder / "bem-1.fif.gz"   # the gzip layer (flips and cuts only)
    paths["bem-1-gz"].write_bytes(gzip.compress(paths["bem-1"].read_bytes(), mtime=0))
    return paths


# --- real seeds -------------------------------------------------------------------

REAL_FILES = {
    "real-bem-1": "subjects/sample/bem/sample-320-bem.fif",
    "real-bem-3": "subjects/sample/bem/sample-320-320-320-bem.fif",
    "real-bem-sol": "subjects/sample/bem/sample-320-bem-sol.fif",
    "real-trans": "MEG/sample/sample_audvis_trunc-trans.fif",
}
REAL_MEASUREMENTS = {
    "real-meas-sss": "SSS/sample_audvis_trunc_raw_sss.fif",
    "real-meas-ctf": "CTF/somMDYO-18av.ds_raw.fif",
    "real-meas-122": "misc/neuromag122_test_file-raw.fif",
}


def measurement_head(path: Path) -> bytes | None:
    """A real recording cut after its FIFFB_MEAS_INFO block, the open blocks closed.

    The tags are kept byte for byte; BLOCK_END tags for the blocks still open
    and a final NOP (next = -1) are appended. None when the file does not
    chain its tags sequentially up to that point.
    """
    fif = open_fif(path)
    stack = []
    for tag in fif.tags:
        if tag.next not in (0, NEXT_NONE):
            return None
        if tag.kind == Kind.BLOCK_START:
            stack.append(int(fif.read_tag(tag)[0]))
        elif tag.kind == Kind.BLOCK_END:
            block = stack.pop()
            if block == Block.MEAS_INFO:
                end = tag.pos + HEADER_SIZE + tag.size
                tail = b"".join(pack_header(Kind.BLOCK_END, Type.INT, 4) + struct.pack(">i", b)
                                for b in reversed(stack))
                return bytes(fif.data[:end]) + tail + pack_header(Kind.NOP, Type.VOID, 0,
                                                                  NEXT_NONE)
    return None


def _write_real(folder: Path) -> dict[str, Path]:
    paths = {}
    for name, relative in REAL_FILES.items():
        if (TESTING / relative).exists():
            paths[name] = TESTING / relative
    for name, relative in REAL_MEASUREMENTS.items():
        if (TESTING / relative).exists():
            head = measurement_head(TESTING / relative)
            if head is not None:
                paths[name] = folder / f"{name}.fif"
                paths[name].write_bytes(head)
    return paths


# --- readers and their seeds ---------------------------------------------------------

READERS = {
    "read_bem_surfaces": (read_bem_surfaces, ["bem-1", "bem-3", "bem-sol", "bem-1-gz",
                                              "real-bem-1", "real-bem-3", "real-bem-sol"]),
    "read_bem_solution": (read_bem_solution, ["bem-sol", "bem-1", "real-bem-sol"]),
    "read_source_spaces": (read_source_spaces, ["src-surface", "src-volume", "src-discrete",
                                                "fwd"]),
    "read_forward": (read_forward, ["fwd"]),
    "read_meas_info": (read_meas_info, ["meas", "fwd", "real-meas-sss", "real-meas-ctf",
                                        "real-meas-122"]),
    "read_trans": (read_trans, ["trans", "fwd", "real-trans"]),
}


class Seeds(dict):
    """Seed name -> bytes, with a short repr for Hypothesis' failure reports."""

    def __repr__(self):
        return f"<seeds {', '.join(f'{k} ({len(v)} B)' for k, v in self.items())}>"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    folder = tmp_path_factory.mktemp("fuzz_seeds")
    paths = {**_write_synthetic(folder), **_write_real(folder)}
    return Seeds((name, path.read_bytes()) for name, path in paths.items())


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzzed")


def test_seeds_are_valid(seeds, tmp_path):
    """Every seed reads cleanly with each of its readers (else fuzzing it proves little)."""
    for reader, names in READERS.values():
        for name in names:
            if name in seeds:
                path = tmp_path / f"{name}.fif"
                path.write_bytes(seeds[name])
                reader(path)


# --- mutations --------------------------------------------------------------------

INT32_SPECIAL = [0, 1, -1, 2, 3, 4, 8, 12, 16, 20, 100, 65535, 1 << 20, (1 << 30) + 7,
                 (1 << 31) - 1, -(1 << 31), -2, -16]
INT32 = st.one_of(st.sampled_from(INT32_SPECIAL), st.integers(-(1 << 31), (1 << 31) - 1))
_ELEMENTS = [Type.INT, Type.FLOAT, Type.DOUBLE, Type.JULIAN, Type.COMPLEX_FLOAT,
             Type.COMPLEX_DOUBLE, Type.SHORT, Type.BYTE, Type.STRING]
TYPE_CODES = st.one_of(
    st.sampled_from([v for k, v in vars(Type).items() if k.isupper() and "MASK" not in k]),
    st.sampled_from([m | e for m in (Type.MATRIX_DENSE, Type.MATRIX_SPARSE_CCS,
                                     Type.MATRIX_SPARSE_RCS, 0x40300000) for e in _ELEMENTS]),
    st.integers(0, (1 << 32) - 1),
)
KINDS = st.one_of(st.sampled_from([Kind.BLOCK_START, Kind.BLOCK_END, Kind.NOP, Kind.FILE_ID,
                                   Kind.NCHAN, Kind.CH_INFO, Kind.COORD_TRANS,
                                   Kind.MNE_SOURCE_SPACE_NPOINTS, Kind.BEM_SURF_NNODE,
                                   Kind.BEM_SURF_TRIANGLES]),
                  st.integers(-(1 << 31), (1 << 31) - 1))
_FIELD = {"kind": 0, "type": 4, "size": 8, "next": 12}


def mutation_strategy(data: bytes, tags: list[tuple[int, int, int, int]]):
    """Mutations of one seed; ``tags`` as :func:`_tags` returns them."""
    flips_and_cuts = [
        st.tuples(st.just("flip"), st.integers(0, len(data) - 1), st.integers(0, 7)),
        st.tuples(st.just("cut"), st.integers(0, len(data) - 1)),
    ]
    if not tags:  # not a plain FIF file (gzip)
        return st.one_of(flips_and_cuts)
    tag = st.integers(0, len(tags) - 1)
    scalars = [k for k, (_, _, type_code, size) in enumerate(tags)
               if type_code == Type.INT and size == 4]
    matrices = [k for k, (_, _, type_code, size) in enumerate(tags)
                if type_code & Type.MATRIX_CODE_MASK and size >= 16]
    options = [
        *flips_and_cuts,
        st.tuples(st.just("size"), tag, INT32),
        st.tuples(st.just("resize"), tag, st.integers(-24, 24)),
        st.tuples(st.just("next"), tag, INT32),
        st.tuples(st.just("type"), tag, TYPE_CODES),
        st.tuples(st.just("kind"), tag, KINDS),
        st.tuples(st.just("word"), tag, st.integers(0, 1 << 16), INT32),
    ]
    if scalars:   # counts, ids, frames: NCHAN, NPOINTS, NTRI, ...
        options.append(st.tuples(st.just("word"), st.sampled_from(scalars), st.just(0), INT32))
    if matrices:  # dimensions and ndim of dense matrices, sparse headers
        options.append(st.tuples(st.just("tail"), st.sampled_from(matrices),
                                 st.integers(1, 4), INT32))
    return st.one_of(options)


def mutate(data: bytes, mutations) -> bytes:
    """Apply ``mutations`` in order.

    Tag indices refer to the unmutated seed's tags; a regression case may
    name a tag as ``(kind, n)`` instead: the n-th tag of that kind.
    """
    tags = _tags(data)
    out = bytearray(data)
    mutations = [_by_index(tags, m) for m in mutations]

    def put(at, fmt, value):
        if 0 <= at and at + 4 <= len(out):
            out[at:at + 4] = struct.pack(fmt, value)

    for mutation in mutations:
        what = mutation[0]
        if what == "flip":
            _, offset, bit = mutation
            if offset < len(out):
                out[offset] ^= 1 << bit
        elif what == "cut":
            del out[mutation[1]:]
        elif what == "type":
            _, index, value = mutation
            put(tags[index][0] + 4, ">I", value & 0xFFFFFFFF)
        elif what in _FIELD:
            _, index, value = mutation
            put(tags[index][0] + _FIELD[what], ">i", value)
        elif what == "resize":
            _, index, delta = mutation
            pos, _, _, size = tags[index]
            put(pos + 8, ">i", size + delta)
        elif what == "word":
            _, index, word, value = mutation
            pos, _, _, size = tags[index]
            if size >= 4:
                put(pos + HEADER_SIZE + 4 * (word % (size // 4)), ">i", value)
        elif what == "tail":
            _, index, word, value = mutation
            pos, _, _, size = tags[index]
            put(pos + HEADER_SIZE + size - 4 * word, ">i", value)
        else:
            raise ValueError(f"unknown mutation {mutation!r}")
    return bytes(out)


def _by_index(tags, mutation):
    if mutation[0] in ("flip", "cut") or not isinstance(mutation[1], tuple):
        return mutation
    kind, nth = mutation[1]
    index = [k for k, tag in enumerate(tags) if tag[1] == kind][nth]
    return (mutation[0], index, *mutation[2:])


def _tags(data: bytes) -> list[tuple[int, int, int, int]]:
    """(offset, kind, type, payload size) of each tag of a valid, sequentially chained
    seed; empty for a gzip-compressed one."""
    found, pos = [], 0
    if data[:2] == b"\x1f\x8b":
        return found
    while pos + HEADER_SIZE <= len(data):
        kind, type_code, size, next_ = HEADER.unpack_from(data, pos)
        found.append((pos, kind, type_code, size))
        if next_ == NEXT_NONE:
            break
        pos = next_ if next_ > 0 else pos + HEADER_SIZE + size
    return found


# --- the property -------------------------------------------------------------------

class Hang(Exception):
    """A reader ran longer than HANG_SECONDS."""


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_SECONDS):
    """Interrupt the block with :class:`Hang` after ``seconds`` (SIGALRM, main thread)."""
    def alarm(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_reader(reader, path: Path) -> None:
    """The property: return normally, or MneCliError with one line naming ``path``.

    Python warnings (numpy's RuntimeWarning, ComplexWarning, ...) count as
    failures: a command would print them on stderr beside its one error line.
    """
    with hang_guard(), warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            reader(path)
        except MneCliError as err:
            message = str(err)
            assert "\n" not in message, message
            assert str(path) in message, message


@pytest.mark.slow
@pytest.mark.parametrize("reader_name", list(READERS))
@_seeded
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_file(reader_name, seeds, work, data):
    reader, names = READERS[reader_name]
    available = [n for n in names if n in seeds]
    name = data.draw(st.sampled_from(available), label="seed")
    seed_bytes = seeds[name]
    mutations = data.draw(st.lists(mutation_strategy(seed_bytes, _tags(seed_bytes)),
                                   min_size=1, max_size=3), label="mutations")
    path = work / f"{reader_name}-fuzzed.fif"
    path.write_bytes(mutate(seed_bytes, mutations))
    check_reader(reader, path)


# --- regressions ----------------------------------------------------------------------
# Crashers found by long campaigns: (reader, seed, mutations). Tag indices refer to
# the seed's tags in file order.

REGRESSIONS = [
    # A damaged type code handed the readers None, a string or a struct where they
    # expected an array or a channel: TypeError, ValueError, AttributeError.
    ("read_bem_solution", "bem-1", [("type", (Kind.BEM_SURF_TRIANGLES, 0), Type.VOID)]),
    ("read_bem_surfaces", "bem-1", [("type", (Kind.BEM_SURF_NODES, 0), Type.STRING)]),
    ("read_source_spaces", "src-surface",
     [("type", (Kind.MNE_SOURCE_SPACE_TRIANGLES, 0), Type.STRING)]),
    ("read_source_spaces", "src-volume",
     [("type", (Kind.MNE_SOURCE_SPACE_NEIGHBORS, 0), Type.DIG_POINT)]),
    ("read_forward", "fwd", [("type", (Kind.CH_INFO, 0), Type.VOID)]),
    ("read_forward", "fwd", [("type", (Kind.COORD_TRANS, 0), Type.VOID)]),
    # A damaged integer tag: int(NaN) ValueError, int(inf) OverflowError.
    ("read_trans", "fwd", [("type", (Kind.BLOCK_START, 0), Type.FLOAT),
                           ("word", (Kind.BLOCK_START, 0), 0, (1 << 31) - 1)]),
    ("read_meas_info", "meas", [("type", (Kind.NCHAN, 0), Type.FLOAT),
                                ("word", (Kind.NCHAN, 0), 0, 0x7F800000)]),
    # A signalling NaN among the coordinates: numpy's RuntimeWarning on stderr when
    # converted to float64, and NaN geometry accepted.
    ("read_bem_surfaces", "bem-3", [("word", (Kind.BEM_SURF_NODES, 0), 0, -4194305)]),
    ("read_forward", "fwd", [("tail", (Kind.MNE_SOURCE_SPACE_POINTS, 0), 4, -4194305)]),
    ("read_bem_solution", "bem-sol", [("tail", (Kind.BEM_SURF_NORMALS, 0), 4, -4194305)]),
    # Float triangles holding NaN, cast to int: RuntimeWarning.
    ("read_bem_surfaces", "bem-1", [("type", (Kind.BEM_SURF_TRIANGLES, 0),
                                     Type.MATRIX_DENSE | Type.FLOAT),
                                    ("word", (Kind.BEM_SURF_TRIANGLES, 0), 0, -4194305)]),
    # inf * 0 while decoding an old-style packed tag: RuntimeWarning.
    ("read_meas_info", "meas", [("type", (Kind.CH_INFO, 0), Type.OLD_PACK),
                                ("word", (Kind.CH_INFO, 0), 1, 0x7F800000)]),
    # A zero on the diagonal of a stored rotation: LinAlgError inverting it.
    ("read_trans", "fwd", [("word", (Kind.COORD_TRANS, 0), 2, 0)]),
    # Complex numbers where real ones belong: numpy's ComplexWarning on stderr.
    ("read_bem_surfaces", "real-bem-3", [("type", (Kind.BEM_SURF_NORMALS, 1),
                                          Type.MATRIX_DENSE | Type.COMPLEX_FLOAT),
                                         ("tail", (Kind.BEM_SURF_NORMALS, 1), 2, 81)]),
    # A huge NCHAN made read_channels allocate [None] * NCHAN: MemoryError, or
    # seconds to minutes of filling memory.
    ("read_meas_info", "meas", [("word", (Kind.NCHAN, 0), 0, (1 << 31) - 1)]),
    ("read_meas_info", "real-meas-122", [("word", (Kind.NCHAN, 0), 0, (1 << 31) - 1)]),
    ("read_meas_info", "real-meas-sss", [("word", (Kind.NCHAN, 2), 0, (1 << 31) - 1)]),
    # Huge MRI dimensions without an interpolator tag: an empty sparse matrix of
    # 2**33 rows (MemoryError); negative ones: ValueError.
    ("read_source_spaces", "src-volume",
     [("word", (Kind.MRI_WIDTH, 0), 0, (1 << 31) - 1),
      ("kind", (Kind.MNE_SOURCE_SPACE_INTERPOLATOR, 0), Kind.NOP)]),
    ("read_source_spaces", "src-volume",
     [("word", (Kind.MRI_DEPTH, 0), 0, -4),
      ("kind", (Kind.MNE_SOURCE_SPACE_INTERPOLATOR, 0), Kind.NOP)]),
]


@pytest.mark.parametrize("reader_name, seed_name, mutations",
                         [pytest.param(*r, id=f"{r[0]}-{r[1]}-{i}")
                          for i, r in enumerate(REGRESSIONS)])
def test_regression(reader_name, seed_name, mutations, seeds, tmp_path):
    if seed_name not in seeds:
        pytest.skip(f"seed {seed_name} needs the shared test data")
    path = tmp_path / "fuzzed.fif"
    path.write_bytes(mutate(seeds[seed_name], mutations))
    check_reader(READERS[reader_name][0], path)


def test_deeply_nested_blocks(tmp_path):
    """Thousands of nested blocks (valid structure, absurd depth) are refused cleanly,
    not with a RecursionError from walking the tree."""
    depth = 5000
    start = pack_header(Kind.BLOCK_START, Type.INT, 4) + struct.pack(">i", Block.BEM)
    end = pack_header(Kind.BLOCK_END, Type.INT, 4) + struct.pack(">i", Block.BEM)
    file_id = pack_header(Kind.FILE_ID, Type.ID, 20) + struct.pack(">5i", 1, 2, 3, 4, 5)
    path = tmp_path / "nested.fif"
    path.write_bytes(file_id + start * depth + end * depth
                     + pack_header(Kind.NOP, Type.VOID, 0, NEXT_NONE))
    for reader, _ in READERS.values():
        with pytest.raises(MneCliError, match="nested") as err:
            reader(path)
        assert str(path) in str(err.value)
