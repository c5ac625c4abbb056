"""The FIF file format: constants, tags, block tree, writer."""

from .constants import Block, Frame, Kind, Type
from .tree import FifFile, Node, open_fif
from .write import FifWriter, fif_writer, new_file_id

__all__ = ["Block", "Frame", "Kind", "Type", "FifFile", "Node", "open_fif",
           "FifWriter", "fif_writer", "new_file_id"]
