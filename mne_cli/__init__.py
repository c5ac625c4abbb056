"""mne_cli: pure-Python replacements for the MNE-C forward-modelling tools."""

__version__ = "0.1.0"
