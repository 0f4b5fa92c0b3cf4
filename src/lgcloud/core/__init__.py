"""Shared building blocks: identifiers and check digits, errors, clock, logging, contexts."""
