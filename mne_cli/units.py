"""Unit conversion at the boundary: command lines and FreeSurfer files use
millimetres, FIF files and the core use metres (SPEC section 0)."""

MM_PER_M = 1000.0
