"""prepare_bem_model: the command against genuine MNE-C solution files."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.cli.prepare_bem_model import main
from mne_cli.fiff import Block, Kind, open_fif
from mne_cli.fiff.constants import BemApprox
from mne_cli.io.bem import (
    default_solution_name,
    read_bem_solution,
    read_bem_surfaces,
    write_bem_surfaces,
)

from .bem_helpers import three_layer_head
from .conftest import testing_file

SAMPLE_BEM = "subjects/sample/bem"


@pytest.mark.parametrize("name", ["sample-1280-bem", "sample-320-320-320-bem"])
def test_reproduces_mne_c_solution(runner, tmp_path, name):
    """Relative Frobenius difference from the MNE-C solution <= 1e-5 (measured 9e-7, 7e-8)."""
    bem = testing_file(f"{SAMPLE_BEM}/{name}.fif")
    reference = read_bem_solution(testing_file(f"{SAMPLE_BEM}/{name}-sol.fif"))
    out = tmp_path / f"{name}-sol.fif"
    result = runner.invoke(main, ["--bem", str(bem), "--sol", str(out)])
    assert result.exit_code == 0, result.output
    ours = read_bem_solution(out)
    assert ours.approx == reference.approx == BemApprox.LINEAR
    assert [s.id for s in ours.surfaces] == [s.id for s in reference.surfaces]
    difference = np.linalg.norm(ours.solution - reference.solution)
    assert difference / np.linalg.norm(reference.solution) <= 1e-5
    # The geometry is written back exactly as read.
    for a, b in zip(ours.surfaces, read_bem_surfaces(bem)):
        np.testing.assert_array_equal(a.rr, b.rr)
        np.testing.assert_array_equal(a.nn, b.nn)


def test_output_layout_and_mne_reads_it(runner, tmp_path):
    """ENV block first in the BEM block, then the geometry, approximation and solution."""
    mne = pytest.importorskip("mne")
    bem = tmp_path / "head-bem.fif"
    write_bem_surfaces(bem, three_layer_head(2))
    result = runner.invoke(main, ["--bem", str(bem)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "head-bem-sol.fif"
    (block,) = open_fif(out).root.find_blocks(Block.BEM)
    assert block.children[0].block == Block.MNE_ENV
    assert "prepare_bem_model --bem" in block.children[0].read_string(Kind.MNE_ENV_COMMAND_LINE)
    kinds = [tag.kind for tag in block.tags]
    assert kinds[-2:] == [Kind.BEM_APPROX, Kind.BEM_POT_SOLUTION]
    theirs = mne.read_bem_solution(str(out), verbose=False)
    np.testing.assert_array_equal(theirs["solution"], read_bem_solution(out).solution)


def test_constant_method(runner, tmp_path):
    bem = tmp_path / "head-bem.fif"
    write_bem_surfaces(bem, three_layer_head(1))
    out = tmp_path / "c-bem-sol.fif"
    result = runner.invoke(main, ["--bem", str(bem), "--sol", str(out), "--method", "constant"])
    assert result.exit_code == 0, result.output
    assert "not by MNE-Python" in result.output
    sol = read_bem_solution(out)
    assert sol.approx == BemApprox.CONSTANT and sol.solution.shape == (240, 240)


@pytest.mark.parametrize("bem, expected", [
    ("sample-5120-bem.fif", "sample-5120-bem-sol.fif"),
    ("sample-5120-bem-sol.fif", "sample-5120-bem-sol.fif"),
    ("dir/head", "dir/head-bem-sol.fif"),
])
def test_default_solution_name(bem, expected):
    assert default_solution_name(bem) == expected


def test_missing_conductivity(runner, tmp_path):
    head = three_layer_head(1)
    head[1].sigma = None
    bem = tmp_path / "nosigma-bem.fif"
    write_bem_surfaces(bem, head)
    result = runner.invoke(main, ["--bem", str(bem)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"prepare_bem_model: {bem}: No conductivity available for surface outer skull; "
        "add it with surf2bem --sigma")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nosigma-bem.fif"]


def test_missing_input_and_same_output(runner, tmp_path):
    result = runner.invoke(main, ["--bem", str(tmp_path / "none-bem.fif")])
    assert result.exit_code == 1 and "none-bem.fif" in result.output
    assert list(tmp_path.iterdir()) == []
    bem = tmp_path / "head-bem.fif"
    write_bem_surfaces(bem, three_layer_head(1))
    result = runner.invoke(main, ["--bem", str(bem), "--sol", str(bem)])
    assert result.exit_code == 2 and "--sol names the --bem input itself" in result.output


def test_solution_too_large_for_a_fif_file_is_refused_first(tmp_path, monkeypatch):
    """A model whose N x N float32 solution exceeds a FIF tag (2 GiB, N > 23170) is
    refused before the (hours-long) solve, naming N and the ways out; the limit is
    lowered here so that an ico-2 head shows it."""
    from click.testing import CliRunner

    from mne_cli.bem import solution as bem_solution

    assert bem_solution.MAX_STORED_UNKNOWNS == 23170   # sqrt((2^31 - 1 - 16) / 4)
    monkeypatch.setattr(bem_solution, "MAX_STORED_UNKNOWNS", 400)
    bem = tmp_path / "head-bem.fif"
    write_bem_surfaces(bem, three_layer_head(2))    # 3 x 162 = 486 unknowns
    result = CliRunner().invoke(main, ["--bem", str(bem), "--sol", str(tmp_path / "s.fif")])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "has 486 unknowns" in line and "forward_solution --bem" in line
    assert "Matrix coefficients" not in result.stderr and not (tmp_path / "s.fif").exists()


def test_writer_refuses_a_tag_over_2_gib(tmp_path):
    """The FIF writer itself never writes a tag whose size does not fit 31 bits."""
    from mne_cli.errors import OutputError
    from mne_cli.fiff import fif_writer

    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(23171, 23171),
                                           strides=(0, 0))
    with (pytest.raises(OutputError, match="larger than a FIF tag can hold"),
          fif_writer(tmp_path / "x.fif") as writer):
        writer.write_matrix(3506, huge)
    assert not (tmp_path / "x.fif").exists()
