"""The taxes' names, in a module of their own so that the command line can name them in its
help without loading the taxation service (docs: lgcloud.interface.commands)."""

from __future__ import annotations

TAX_LABELS = {
    "resident": "個人住民税 (市町村民税・県民税)",
    "property": "固定資産税",
    "light_vehicle": "軽自動車税 (種別割)",
}

__all__ = ["TAX_LABELS"]
