"""Symmetric BEM, solution plus an oct-4 MEG+EEG forward: mne_cli against MNE-Python with OpenMEEG.

The sample subject's 3-layer head (0.3 / 0.006 / 0.3 S/m) at ico-3
(``sample-1280-1280-1280-bem.fif``, 4486 symmetric unknowns) or ico-4 (the
``*.surf`` surfaces, 17926 unknowns), the refcase cortex's oct-4 source
space (made once, before the clocks start), and the sample measurement's
MEG and EEG channels. Each case runs in a fresh child process (time and
peak resident memory its own): mne_cli's symmetric BEM, MNE-Python's
``make_bem_solution(solver="openmeeg")`` and forward, and mne_cli's linear
collocation; then the two symmetric forwards are compared (RDM and MAG per
channel type, median and worst over sources). Needs the shared test data,
mne and openmeeg. Usage::

    python benchmarks/bench_symmetric_forward.py [--grade 3] [--skip-openmeeg]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure, report


def _data() -> Path:
    root = os.environ.get("MNE_CLI_TESTING_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    folder = base / "refcase"
    if not (folder / "subjects" / "sample" / "surf" / "lh.white").exists():
        sys.exit(f"{folder}: the refcase subject is missing (set MNE_CLI_TESTING_DATA)")
    return folder


def _write_inputs(tmp: Path, grade: int) -> dict:
    """The head model, source space and file names every case uses."""
    from bench_bem import write_head

    from mne_cli.source_space.setup import setup_source_space

    data = _data()
    subjects = data / "subjects"
    model = subjects / "sample" / "bem" / "sample-1280-1280-1280-bem.fif"
    if grade != 3:
        model = tmp / "head-bem.fif"
        write_head(model, grade)
    src = tmp / "oct4-src.fif"
    setup_source_space("sample", "oct-4", subjects_dir=subjects, fname=src)
    meg = data / "MEG" / "sample"
    return {"model": str(model), "src": str(src),
            "meas": str(meg / "sample_audvis_trunc_raw_sss.fif"),
            "trans": str(meg / "sample_audvis_trunc-trans.fif"), "tmp": str(tmp)}


def _run_mne_cli(files: dict, method: str) -> None:
    from mne_cli.bem.solution import make_bem_solution
    from mne_cli.forward.make import make_forward_solution

    solution = make_bem_solution(files["model"], method=method)
    make_forward_solution(files["src"], files["meas"], files["trans"], bem=solution, meg=True,
                          eeg=True, mindist=0.005,
                          fname=Path(files["tmp"]) / f"mne_cli-{method}-fwd.fif")


def _run_mne_python(files: dict) -> None:
    import mne

    model = mne.read_bem_surfaces(files["model"])
    solution = mne.make_bem_solution(model, solver="openmeeg", verbose=False)
    forward = mne.make_forward_solution(files["meas"], files["trans"], files["src"], solution,
                                        meg=True, eeg=True, mindist=5.0, verbose=False)
    mne.write_forward_solution(Path(files["tmp"]) / "mne-openmeeg-fwd.fif", forward,
                               overwrite=True, verbose=False)


def _compare(tmp: str) -> None:
    import mne
    import numpy as np

    ours = mne.read_forward_solution(Path(tmp) / "mne_cli-symmetric-fwd.fif", verbose=False)
    theirs = mne.read_forward_solution(Path(tmp) / "mne-openmeeg-fwd.fif", verbose=False)
    for kind in ("mag", "grad", "eeg"):
        picks = mne.pick_types(ours["info"], meg=kind if kind != "eeg" else False,
                               eeg=kind == "eeg")
        a = ours["sol"]["data"][picks].reshape(len(picks), -1, 3).transpose(1, 2, 0)
        b = theirs["sol"]["data"][picks].reshape(len(picks), -1, 3).transpose(1, 2, 0)
        if kind == "eeg":   # average reference, as EEG is used
            a = a - a.mean(axis=-1, keepdims=True)
            b = b - b.mean(axis=-1, keepdims=True)
        na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
        rdm = np.linalg.norm(a / na[..., None] - b / nb[..., None], axis=-1)
        mag = na / nb
        print(f"  {kind:4s} RDM median {np.median(rdm):.4f} worst {rdm.max():.4f}; "
              f"MAG median {np.median(mag):.4f} range {mag.min():.3f}-{mag.max():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade", type=int, default=3, help="icosahedron grade, 3 or 4")
    parser.add_argument("--skip-openmeeg", action="store_true",
                        help="time mne_cli only (MNE-Python with OpenMEEG takes minutes)")
    args = parser.parse_args()
    preload = ["numpy", "scipy.linalg", "mne_cli.bem.solution", "mne_cli.forward.make"]
    with tempfile.TemporaryDirectory() as tmp:
        files = _write_inputs(Path(tmp), args.grade)
        from mne_cli.bem.solution import solution_unknowns
        from mne_cli.io.bem import read_bem_surfaces

        unknowns = solution_unknowns(read_bem_surfaces(files["model"]), "symmetric", "model")
        print(f"sample 3-layer ico-{args.grade} head ({unknowns} symmetric unknowns), "
              "oct-4 sources, MEG+EEG")
        results = {"mne_cli symmetric": measure(_run_mne_cli, (files, "symmetric"), preload)}
        if not args.skip_openmeeg:
            results["MNE-Python + OpenMEEG"] = measure(_run_mne_python, (files,),
                                                       ["numpy", "mne", "openmeeg"])
        results["mne_cli linear"] = measure(_run_mne_cli, (files, "linear"), preload)
        if args.skip_openmeeg:
            report(results, "mne_cli symmetric", "mne_cli linear")
            return
        report(results, "mne_cli symmetric", "MNE-Python + OpenMEEG")
        print("mne_cli symmetric against MNE-Python + OpenMEEG:")
        _compare(tmp)


if __name__ == "__main__":
    main()
