"""FIF numbers: tag kinds, data types, block kinds and enumerations.

The values are those of the FIF format description (SPEC section 1.9) as
used by MNE-C and MNE-Python. ``SCALAR_DTYPES`` is the single table that
maps a scalar type code to its big-endian numpy dtype; every reader and
writer takes element sizes from it.
"""

import numpy as np


class Type:
    """Data-type codes of a tag header (SPEC section 1.4)."""

    VOID = 0
    BYTE = 1
    SHORT = 2
    INT = 3
    FLOAT = 4
    DOUBLE = 5
    JULIAN = 6
    USHORT = 7
    UINT = 8
    ULONG = 9
    STRING = 10
    LONG = 11
    DAU_PACK13 = 13
    DAU_PACK14 = 14
    DAU_PACK16 = 16
    COMPLEX_FLOAT = 20
    COMPLEX_DOUBLE = 21
    OLD_PACK = 23
    CH_INFO = 30
    ID = 31
    DIR_ENTRY = 32
    DIG_POINT = 33
    CH_POS = 34
    COORD_TRANS = 35
    DIG_STRING = 36

    # Matrix codes: the element type in the low bits, the kind of matrix in
    # the high bits.
    MATRIX_DENSE = 0x40000000
    MATRIX_SPARSE_CCS = 0x40100000
    MATRIX_SPARSE_RCS = 0x40200000
    MATRIX_CODE_MASK = 0xFFFF0000
    ELEMENT_MASK = 0x0000FFFF


# The one code -> dtype table (big-endian, as on disk).
SCALAR_DTYPES = {
    Type.BYTE: np.dtype(">u1"),
    Type.SHORT: np.dtype(">i2"),
    Type.INT: np.dtype(">i4"),
    Type.FLOAT: np.dtype(">f4"),
    Type.DOUBLE: np.dtype(">f8"),
    Type.JULIAN: np.dtype(">i4"),
    Type.USHORT: np.dtype(">u2"),
    Type.UINT: np.dtype(">u4"),
    Type.ULONG: np.dtype(">u8"),
    Type.LONG: np.dtype(">i8"),
    Type.DAU_PACK16: np.dtype(">i2"),
    Type.COMPLEX_FLOAT: np.dtype(">c8"),
    Type.COMPLEX_DOUBLE: np.dtype(">c16"),
}

# Element types allowed in dense matrices, and in sparse ones.
DENSE_MATRIX_ELEMENTS = (
    Type.INT, Type.JULIAN, Type.FLOAT, Type.DOUBLE,
    Type.COMPLEX_FLOAT, Type.COMPLEX_DOUBLE,
)
SPARSE_MATRIX_ELEMENTS = (Type.INT, Type.FLOAT, Type.DOUBLE)


def type_for_dtype(dtype) -> int:
    """The scalar type code that stores values of ``dtype`` without loss.

    Used by writers so that no writer restates a code/dtype pair.
    """
    preferred = {
        "i": Type.INT, "u": Type.INT, "b": Type.INT,
        "f": Type.FLOAT if np.dtype(dtype).itemsize <= 4 else Type.DOUBLE,
        "c": Type.COMPLEX_FLOAT if np.dtype(dtype).itemsize <= 8 else Type.COMPLEX_DOUBLE,
    }
    try:
        return preferred[np.dtype(dtype).kind]
    except KeyError:
        raise TypeError(f"no FIF type for dtype {dtype}") from None


class Kind:
    """Tag kinds (what a tag's data means)."""

    FILE_ID = 100
    DIR_POINTER = 101
    DIR = 102
    BLOCK_ID = 103
    BLOCK_START = 104
    BLOCK_END = 105
    FREE_LIST = 106
    NOP = 108
    PARENT_FILE_ID = 109
    PARENT_BLOCK_ID = 110

    NCHAN = 200
    SFREQ = 201
    CH_INFO = 203
    MEAS_DATE = 204
    COMMENT = 206
    LOWPASS = 219
    COORD_TRANS = 222
    HIGHPASS = 223
    DIG_POINT = 213
    SUBJ_HIS_ID = 410

    MRI_WIDTH = 2010
    MRI_HEIGHT = 2012
    MRI_DEPTH = 2014

    BEM_SURF_ID = 3101
    BEM_SURF_NAME = 3102
    BEM_SURF_NNODE = 3103
    BEM_SURF_NTRI = 3104
    BEM_SURF_NODES = 3105
    BEM_SURF_TRIANGLES = 3106
    BEM_SURF_NORMALS = 3107
    BEM_POT_SOLUTION = 3110
    BEM_APPROX = 3111
    BEM_COORD_FRAME = 3112
    BEM_SIGMA = 3113

    MNE_ROW_NAMES = 3502
    MNE_COL_NAMES = 3503
    MNE_NROW = 3504
    MNE_NCOL = 3505
    MNE_COORD_FRAME = 3506
    MNE_CH_NAME_LIST = 3507
    MNE_FILE_NAME = 3508

    MNE_SOURCE_SPACE_POINTS = 3510
    MNE_SOURCE_SPACE_NORMALS = 3511
    MNE_SOURCE_SPACE_NPOINTS = 3512
    MNE_SOURCE_SPACE_SELECTION = 3513
    MNE_SOURCE_SPACE_NUSE = 3514
    MNE_SOURCE_SPACE_NEAREST = 3515
    MNE_SOURCE_SPACE_NEAREST_DIST = 3516
    MNE_SOURCE_SPACE_ID = 3517
    MNE_SOURCE_SPACE_TYPE = 3518

    MNE_FORWARD_SOLUTION = 3520
    MNE_SOURCE_ORIENTATION = 3521
    MNE_INCLUDED_METHODS = 3522
    MNE_FORWARD_SOLUTION_GRAD = 3523

    MNE_ENV_WORKING_DIR = 3550
    MNE_ENV_COMMAND_LINE = 3551

    MNE_CTF_COMP_KIND = 3580
    MNE_CTF_COMP_DATA = 3581
    MNE_CTF_COMP_CALIBRATED = 3582

    MNE_SOURCE_SPACE_NTRI = 3590
    MNE_SOURCE_SPACE_TRIANGLES = 3591
    MNE_SOURCE_SPACE_NUSE_TRI = 3592
    MNE_SOURCE_SPACE_USE_TRIANGLES = 3593
    MNE_SOURCE_SPACE_NNEIGHBORS = 3594
    MNE_SOURCE_SPACE_NEIGHBORS = 3595
    MNE_SOURCE_SPACE_VOXEL_DIMS = 3596
    MNE_SOURCE_SPACE_INTERPOLATOR = 3597
    MNE_SOURCE_SPACE_MRI_FILE = 3598
    MNE_SOURCE_SPACE_DIST = 3599
    MNE_SOURCE_SPACE_DIST_LIMIT = 3600

    CH_DACQ_NAME = 258  # full channel name inside an extended FIFFB_CH_INFO block


class Block:
    """Block kinds (the value of BLOCK_START / BLOCK_END tags)."""

    ROOT = 999  # our label for the file itself; never written
    MEAS = 100
    MEAS_INFO = 101
    RAW_DATA = 102
    PROCESSED_DATA = 103
    ISOTRAK = 107
    HPI_MEAS = 108
    HPI_RESULT = 109
    BEM = 310
    BEM_SURF = 311
    MNE = 350
    MNE_SOURCE_SPACE = 351
    MNE_FORWARD_SOLUTION = 352
    MNE_PARENT_MRI_FILE = 353
    MNE_PARENT_MEAS_FILE = 354
    MNE_NAMED_MATRIX = 357
    MNE_ENV = 358
    MNE_BAD_CHANNELS = 359
    MNE_CTF_COMP = 370
    MNE_CTF_COMP_DATA = 371
    CH_INFO = 113  # MNE-Python's extended channel information (long names)


class Frame:
    """Coordinate-frame codes."""

    UNKNOWN = 0
    DEVICE = 1
    ISOTRAK = 2
    HPI = 3
    HEAD = 4
    MRI = 5
    MRI_SLICE = 6
    MRI_DISPLAY = 7
    CTF_DEVICE = 1001
    CTF_HEAD = 1004
    MRI_VOXEL = 2001
    SCANNER_RAS = 2002
    MNI_TAL = 2003
    FS_TAL_GTZ = 2004
    FS_TAL_LTZ = 2005


class BemSurfId:
    UNKNOWN = -1
    BRAIN = 1
    CSF = 2
    SKULL = 3
    HEAD = 4


class BemApprox:
    CONSTANT = 1
    LINEAR = 2


class SourceSpaceType:
    SURFACE = 1
    VOLUME = 2
    DISCRETE = 3


class SourceSpaceId:
    LEFT = 101
    RIGHT = 102
    UNKNOWN = -1


class SourceOri:
    FIXED = 1
    FREE = 2


class Method:
    MEG = 1
    EEG = 2
    MEG_EEG = 3


class ChannelKind:
    MEG = 1
    EEG = 2
    MEG_REF = 301


class Unit:
    V = 107
    T = 112
    T_M = 201


# Id struct version stamped on files we write (1.4, as MNE-Python).
FILE_VERSION = (1 << 16) | 4
