"""Forward solutions: mne_cli's ``forward_solution`` against ``mne.make_forward_solution``.

Three cases, all with the ``sample`` subject of the reference case
(``refcase/subjects``: an ico-4 cortex of 5124 sources inside the real
sample BEM surfaces), the Vectorview + EEG recording
``SSS/sample_audvis_trunc_raw_sss.fif`` (306 MEG + 60 EEG channels) and
``MEG/sample/sample_audvis_trunc-trans.fif``:

1. ``bem``     ico-4 cortex, 3-layer ico-4 BEM (0.3 / 0.006 / 0.3 S/m), mindist 5 mm
2. ``volume``  5 mm grid inside the inner skull (mindist 5 mm), same BEM, mindist 5 mm
3. ``sphere``  ico-4 cortex, sphere model at (0, 0, 40) mm (head frame), scalp radius 90 mm

The inputs (source spaces, ``-bem.fif`` and its ``-bem-sol.fif``) are made
once with our own tools (``make_source_space``, ``volume_source_space``,
``surf2bem``, ``prepare_bem_model``) outside the timed part, and both
libraries read the same files. Our side runs the ``forward_solution``
command in-process (``main.main(args=[...])``, always ``--accurate``: MNE-Python
always integrates coils accurately); MNE-Python's side calls
``mne.make_forward_solution`` and ``mne.write_forward_solution``, so each
side reads its inputs and writes a ``-fwd.fif``. Each run is a fresh child
process (``measure.py``): wall time and peak resident memory, imports not
counted. Afterwards the two gain matrices are compared on their common
channels and sources (relative Frobenius difference) as a sanity check.

Data: ``../shared/data`` beside the checkout, or ``$MNE_CLI_TESTING_DATA``
(the folder holding ``mne-testing`` and ``refcase``); without them the
script says so and exits. Usage::

    python benchmarks/bench_forward.py [--case bem --case sphere] [--cache DIR]

``--cache DIR`` keeps the prepared inputs there (the BEM solution takes
about 16 s) and reuses them on the next run; by default a temporary folder
is used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure

SURFACES = (("outer_skin", 4, 0.3), ("outer_skull", 3, 0.006), ("inner_skull", 1, 0.3))

# case -> (description, source space key, BEM used, issue's MNE-Python figure, our target)
CASES = {
    "bem": ("ico-4 cortex, 3-layer BEM", "ico4", True, "19.2 s", 4.0),
    "volume": ("5 mm volume, 3-layer BEM", "vol5", True, "26 s", 6.0),
    "sphere": ("ico-4 cortex, sphere", "ico4", False, "2.5 s", 0.6),
}

OUR_PRELOAD = (
    "numpy", "scipy.linalg", "scipy.sparse", "scipy.optimize", "scipy.spatial",
    "mne_cli.cli.forward_solution", "mne_cli.forward.compute",
    "mne_cli.forward.source_selection", "mne_cli.forward.eeg_sphere", "mne_cli.io.coil_def",
    "mne_cli.io.forward", "mne_cli.io.meas", "mne_cli.io.source_space", "mne_cli.io.bem",
    "mne_cli.io.transform", "mne_cli.bem.solution",
)
# mne loads its submodules lazily: import the ones used so that neither side pays imports.
MNE_PRELOAD = ("numpy", "scipy.linalg", "mne", "mne.forward", "mne.bem", "mne.source_space",
               "mne.io", "mne.transforms")


def _data_root() -> Path:
    env = os.environ.get("MNE_CLI_TESTING_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def find_inputs() -> dict[str, Path] | None:
    """Paths of the shared reference files, or None when any is missing."""
    root = _data_root()
    paths = {
        "subjects_dir": root / "refcase" / "subjects",
        "meas": root / "mne-testing" / "SSS" / "sample_audvis_trunc_raw_sss.fif",
        "trans": root / "mne-testing" / "MEG" / "sample" / "sample_audvis_trunc-trans.fif",
    }
    needed = [paths["meas"], paths["trans"],
              *(paths["subjects_dir"] / "sample" / "surf" / f for f in ("lh.white", "rh.white")),
              *(paths["subjects_dir"] / "sample" / "bem" / f"{n}.surf" for n, _, _ in SURFACES)]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        print(f"Reference data not found ({missing[0]}); set MNE_CLI_TESTING_DATA to the "
              "folder holding mne-testing and refcase.")
        return None
    return paths


def _tool(module: str, args: list[str]) -> None:
    """Run one of our commands in its own process (so this one stays small)."""
    code = f"from mne_cli.cli.{module} import main; main()"
    subprocess.run([sys.executable, "-c", code, *args, "--quiet"], check=True)


def prepare(cache: Path, paths: dict[str, Path]) -> dict[str, str]:
    """Make the source spaces and the BEM solution with our tools (reused when present).

    They run in child processes: Linux carries a parent's peak RSS into the
    ``ru_maxrss`` of the children it starts, so the benchmark process itself
    must never hold much memory (no BEM solution, no ``import mne`` before
    the last measurement).
    """
    os.environ["SUBJECTS_DIR"] = str(paths["subjects_dir"])
    bem_dir = paths["subjects_dir"] / "sample" / "bem"
    files = {"ico4": cache / "sample-ico-4-src.fif", "bem": cache / "sample-5120x3-bem.fif",
             "sol": cache / "sample-5120x3-bem-sol.fif", "vol5": cache / "sample-vol5-src.fif"}
    if not files["ico4"].exists():
        print("Preparing the ico-4 cortical source space ...", flush=True)
        _tool("make_source_space",
              ["--subject", "sample", "--ico", "4", "--src", str(files["ico4"])])
    if not files["bem"].exists():
        args = []
        for name, surf_id, sigma in SURFACES:
            args += ["--surf", str(bem_dir / f"{name}.surf"), "--id", str(surf_id),
                     "--sigma", str(sigma)]
        _tool("surf2bem", [*args, "--fif", str(files["bem"])])
    if not files["sol"].exists():
        print("Preparing the 3-layer ico-4 BEM solution (about 16 s) ...", flush=True)
        _tool("prepare_bem_model", ["--bem", str(files["bem"]), "--sol", str(files["sol"])])
    if not files["vol5"].exists():
        print("Preparing the 5 mm volume source space ...", flush=True)
        _tool("volume_source_space", ["--bem", str(files["bem"]), "--grid", "5",
                                      "--mindist", "5", "--src", str(files["vol5"])])
    return {key: str(path) for key, path in files.items()}


def _run_mne_cli(args: list[str]) -> None:
    from mne_cli.cli.forward_solution import main

    main.main(args=args, standalone_mode=False)


def _run_mne_python(kwargs: dict, fwd_file: str) -> None:
    import mne

    if kwargs["bem"] == "sphere":
        kwargs = {**kwargs, "bem": mne.make_sphere_model(r0=(0.0, 0.0, 0.04), head_radius=0.09,
                                                         verbose=False)}
    fwd = mne.make_forward_solution(verbose=False, **kwargs)
    mne.write_forward_solution(fwd_file, fwd, overwrite=True, verbose=False)


def case_inputs(case: str, files: dict[str, str], paths: dict[str, Path], out: Path):
    """Our command line and MNE-Python's keyword arguments for one case."""
    _, src_key, use_bem, _, _ = CASES[case]
    ours = ["--src", files[src_key], "--meas", str(paths["meas"]), "--mri", str(paths["trans"]),
            "--fwd", str(out / f"{case}-ours-fwd.fif"), "--accurate", "--quiet"]
    theirs = {"info": str(paths["meas"]), "trans": str(paths["trans"]), "src": files[src_key],
              "meg": True, "eeg": True}
    if use_bem:
        ours += ["--bem", files["sol"], "--mindist", "5"]
        theirs.update(bem=files["sol"], mindist=5.0)
    else:  # the sphere model is made in MNE-Python's child (see _run_mne_python)
        ours += ["--origin", "0:0:40", "--eegrad", "90"]
        theirs["bem"] = "sphere"
    return ours, theirs


def gain_difference(ours_file: str, theirs_file: str) -> tuple[float, float, str]:
    """Relative Frobenius differences (MEG, EEG) of the gains on common channels and sources."""
    import mne
    import numpy as np

    a = mne.read_forward_solution(ours_file, verbose=False)
    b = mne.read_forward_solution(theirs_file, verbose=False)
    ours_names = a["sol"]["row_names"]
    names = [n for n in b["sol"]["row_names"] if n in set(ours_names)]
    cols_a, cols_b, offset_a, offset_b = [], [], 0, 0
    for sa, sb in zip(a["src"], b["src"]):
        _, ia, ib = np.intersect1d(sa["vertno"], sb["vertno"], return_indices=True)
        cols_a += list(offset_a + ia)
        cols_b += list(offset_b + ib)
        offset_a += len(sa["vertno"])
        offset_b += len(sb["vertno"])
    cols_a = (3 * np.array(cols_a)[:, None] + np.arange(3)).ravel()
    cols_b = (3 * np.array(cols_b)[:, None] + np.arange(3)).ravel()
    diffs = []
    for eeg in (False, True):  # separately: EEG (V/Am) would swamp MEG (T/Am) in one norm
        kind = [n for n in names
                if (mne.channel_type(b["info"], b["info"]["ch_names"].index(n)) == "eeg") == eeg]
        if not kind:
            diffs.append(float("nan"))
            continue
        ga = a["sol"]["data"][np.ix_([ours_names.index(n) for n in kind], cols_a)]
        gb = b["sol"]["data"][np.ix_([b["sol"]["row_names"].index(n) for n in kind], cols_b)]
        diffs.append(float(np.linalg.norm(ga - gb) / np.linalg.norm(gb)))
    counts = (f"{len(names)} channels, {len(cols_a) // 3} common sources "
              f"(ours {a['nsource']}, MNE-Python {b['nsource']})")
    return diffs[0], diffs[1], counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="run only this case (repeatable; default: all three)")
    parser.add_argument("--cache", type=Path,
                        help="keep the prepared inputs in this folder and reuse them")
    args = parser.parse_args()
    paths = find_inputs()
    if paths is None:
        return
    cases = args.case or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        files = prepare(cache, paths)
        runs = []
        for case in cases:
            ours_args, theirs_kwargs = case_inputs(case, files, paths, Path(tmp))
            theirs_file = str(Path(tmp) / f"{case}-mne-fwd.fif")
            print(f"Running {case}: mne_cli ...", end=" ", flush=True)
            ours = measure(_run_mne_cli, (ours_args,), OUR_PRELOAD)
            print("MNE-Python ...", flush=True)
            theirs = measure(_run_mne_python, (theirs_kwargs, theirs_file), MNE_PRELOAD)
            runs.append((case, ours, theirs, ours_args[ours_args.index("--fwd") + 1], theirs_file))
        # only now may this process import mne and hold the gains (see prepare)
        rows = [(case, ours, theirs, *gain_difference(ours_file, theirs_file))
                for case, ours, theirs, ours_file, theirs_file in runs]
    print()
    print(f"{'case':26s} {'ours':>15s} {'MNE-Python':>15s} {'speed':>6s} {'memory':>6s} "
          f"{'target':>7s} {'MEG diff':>8s} {'EEG diff':>8s}")
    for case, ours, theirs, meg, eeg, _ in rows:
        target = CASES[case][4]
        print(f"{CASES[case][0]:26s} {ours[0]:6.2f}s {ours[1]:5.0f}MiB "
              f"{theirs[0]:6.2f}s {theirs[1]:5.0f}MiB {theirs[0] / ours[0]:5.1f}x "
              f"{theirs[1] / ours[1]:5.1f}x {'<=' if ours[0] <= target else '> '}{target:4.1f}s "
              f"{meg:8.1e} {eeg:8.1e}")
    print("time and peak RSS of each child process; speed, memory: MNE-Python's over ours;")
    print("diff: |G_ours - G_mne|_F / |G_mne|_F on common channels and sources")
    for case, _, _, _, _, counts in rows:
        print(f"  {case}: {counts}; issue's MNE-Python time {CASES[case][3]}")


if __name__ == "__main__":
    main()
