"""Source spaces: cortical surfaces (surface.py) and volume grids or point sets (volume.py)."""
