"""Text for CSV files a clerk opens in a spreadsheet."""

from __future__ import annotations


def spreadsheet_cell(value: object) -> str:
    """Neutralise a cell a spreadsheet would read as a formula (CSV injection): text that
    starts with = + - @ gets a leading apostrophe, which the spreadsheet shows as text."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
