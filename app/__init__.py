"""Attunement application: composition root, session engine, CLI and (only here) the Qt GUI."""

__version__ = "0.1.0"
