"""Why a 住登外者 is registered, in a module of their own so that the command line can list
them in its help without loading the domain's models (docs: lgcloud.interface.commands)."""

from __future__ import annotations

REASONS = (
    "転出者（課税・収納）",
    "市町村外の資産所有者",
    "他市町村の住民（給付・資格）",
    "法人",
    "その他",
)

__all__ = ["REASONS"]
