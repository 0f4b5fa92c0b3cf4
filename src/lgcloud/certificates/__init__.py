"""Certificates: the outputs a town must never stop issuing."""
