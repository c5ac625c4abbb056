"""The Transform arithmetic every tool relies on."""

from __future__ import annotations

import numpy as np
import pytest

from mne_cli.fiff.constants import Frame
from mne_cli.objects import Transform


def _rotation_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


@pytest.fixture
def head_mri():
    matrix = np.eye(4)
    matrix[:3, :3] = _rotation_z(0.3)
    matrix[:3, 3] = [0.01, -0.02, 0.03]
    return Transform(Frame.HEAD, Frame.MRI, matrix)


def test_apply_and_rotate(head_mri):
    points = np.array([[0.1, 0, 0], [0, 0.1, 0.05]])
    expected = points @ _rotation_z(0.3).T + [0.01, -0.02, 0.03]
    np.testing.assert_allclose(head_mri.apply(points), expected, rtol=0, atol=1e-15)
    # directions ignore the translation
    np.testing.assert_allclose(head_mri.rotate(points), points @ _rotation_z(0.3).T, atol=1e-15)


def test_inverse_and_towards(head_mri):
    inv = head_mri.inverse()
    assert (inv.from_frame, inv.to_frame) == (Frame.MRI, Frame.HEAD)
    points = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(inv.apply(head_mri.apply(points)), points, rtol=0, atol=1e-14)
    assert head_mri.towards(Frame.HEAD, Frame.MRI) is head_mri
    np.testing.assert_allclose(head_mri.towards(Frame.MRI, Frame.HEAD).matrix, inv.matrix, atol=1e-15)
    assert head_mri.towards(Frame.DEVICE, Frame.HEAD) is None


def test_then_chains_frames(head_mri):
    dev_head = Transform(Frame.DEVICE, Frame.HEAD, np.diag([1.0, 1.0, 1.0, 1.0]))
    dev_head.matrix[:3, 3] = [0, 0, 0.04]
    dev_mri = dev_head.then(head_mri)
    assert (dev_mri.from_frame, dev_mri.to_frame) == (Frame.DEVICE, Frame.MRI)
    point = np.array([[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(dev_mri.apply(point), head_mri.apply(point + [0, 0, 0.04]), atol=1e-15)
    with pytest.raises(ValueError, match="cannot chain"):
        head_mri.then(dev_head)
