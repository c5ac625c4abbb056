"""mne_cli test suite."""
