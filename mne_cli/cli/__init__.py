"""Command-line front ends: one thin click command per MNE-C tool."""
