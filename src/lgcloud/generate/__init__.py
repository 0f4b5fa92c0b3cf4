"""Deterministic synthetic-town generator for the resident register."""
