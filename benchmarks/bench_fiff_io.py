"""Read and write a large forward solution: mne_cli against MNE-Python.

A synthetic forward file the size of an oct-6 cortex solution (8196 free-
orientation sources, 306 MEG + 60 EEG channels, 34 MB of float32 gain) is
written once; then each library reads it and writes it back, timed side by
side in this one process. Usage::

    python benchmarks/bench_fiff_io.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mne_cli.fiff.constants import ChannelKind, Frame, Method, SourceOri, SourceSpaceType
from mne_cli.io.forward import read_forward, write_forward
from mne_cli.io.meas import read_meas_info
from mne_cli.objects import Channel, Forward, ForwardBlock, SourceSpace, Transform

NSOURCE = 8196
NMEG, NEEG = 306, 60


def _synthetic_forward() -> Forward:
    rng = np.random.default_rng(0)
    rr = rng.normal(size=(NSOURCE, 3))
    rr *= 0.07 / np.linalg.norm(rr, axis=1, keepdims=True)
    nn = rr / np.linalg.norm(rr, axis=1, keepdims=True)
    space = SourceSpace(SourceSpaceType.DISCRETE, rr, nn, np.ones(NSOURCE, int))
    channels = []
    for k in range(NMEG + NEEG):
        meg = k < NMEG
        loc = np.zeros(12)
        loc[:3] = rng.normal(size=3) * 0.1
        loc[3:] = np.eye(3).ravel() if meg else 0.0
        channels.append(Channel(k + 1, k + 1, ChannelKind.MEG if meg else ChannelKind.EEG,
                                1.0, 1.0, 3012 if meg else 1, loc, 112 if meg else 107, 0,
                                f"MEG {k:04d}" if meg else f"EEG {k - NMEG:03d}"))
    names = [ch.name for ch in channels]
    return Forward(
        source_spaces=[space], coord_frame=Frame.HEAD, source_ori=SourceOri.FREE,
        mri_head_t=Transform.identity(Frame.MRI, Frame.HEAD), channels=channels,
        meg=ForwardBlock(Method.MEG, names[:NMEG], rng.normal(size=(NMEG, 3 * NSOURCE))),
        eeg=ForwardBlock(Method.EEG, names[NMEG:], rng.normal(size=(NEEG, 3 * NSOURCE))),
        dev_head_t=Transform.identity(Frame.DEVICE, Frame.HEAD))


def _testing_raw() -> Path | None:
    root = os.environ.get("MNE_CLI_TESTING_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    raw = base / "mne-testing" / "SSS" / "sample_audvis_trunc_raw_sss.fif"
    return raw if raw.exists() else None


def _best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    args = parser.parse_args()

    import mne

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big-fwd.fif"
        write_forward(path, _synthetic_forward())
        ours_fwd = read_forward(path)
        mne_fwd = mne.read_forward_solution(path, verbose=False)
        rows = [
            ("read forward", lambda: read_forward(path),
             lambda: mne.read_forward_solution(path, verbose=False)),
            ("write forward", lambda: write_forward(Path(tmp) / "ours-fwd.fif", ours_fwd),
             lambda: mne.write_forward_solution(Path(tmp) / "mne-fwd.fif", mne_fwd,
                                                overwrite=True, verbose=False)),
        ]
        raw = _testing_raw()
        if raw is not None:
            rows.append(("read meas info", lambda: read_meas_info(raw),
                         lambda: mne.io.read_info(raw, verbose=False)))
        print(f"{'case':<16}{'mne_cli (s)':>12}{'MNE-Python (s)':>16}{'ratio':>8}")
        for label, ours, theirs in rows:
            t_ours, t_theirs = _best(ours, args.repeat), _best(theirs, args.repeat)
            print(f"{label:<16}{t_ours:>12.3f}{t_theirs:>16.3f}{t_theirs / t_ours:>7.1f}x")


if __name__ == "__main__":
    main()
