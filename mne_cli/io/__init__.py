"""Readers and writers of the file formats, one module per object."""
