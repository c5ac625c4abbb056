"""Source spaces: cortical surfaces (surface.py) and volume grids or point sets (volume.py)."""

from ..fiff.constants import SourceSpaceId


def hemisphere_of_points(rr) -> int:
    """101 (left) when the mean x of the points ``rr`` (n, 3) is negative, else 102 (right).

    Kept here, free of the heavy imports of the submodules, because the
    forward's label restriction needs it too.
    """
    return SourceSpaceId.LEFT if rr[:, 0].mean() < 0 else SourceSpaceId.RIGHT
