"""Geometry shared by the tools: triangle data, normals, solid angles."""
