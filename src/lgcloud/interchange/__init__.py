"""Interchange: standard-layout import and export, so no town is locked in."""
