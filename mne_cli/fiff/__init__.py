"""The FIF file format: constants, tags, block tree, writer."""

from .constants import Block, Frame, Kind, Type
from .tree import FifFile, Node, open_fif
from .write import FifWriter, fif_writer, new_file_id

__all__ = [
           "Block",
           "FifFile",
           "FifWriter",
           "Frame",
           "Kind",
           "Node",
           "Type",
           "fif_writer",
           "new_file_id",
           "open_fif",
]
