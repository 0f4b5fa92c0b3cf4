"""Panels one business area adds to another area's page, so that the page's owner need not
import the area that adds to it (as NetBox's plugins add template extensions to its object
pages). The register's person page is the counter's main screen; certificates add their
issuing form and issuance history to it, later areas will add theirs the same way.

A panel names the page, the template it puts in each slot of the page, and a function
giving the values its templates need; the page calls that function inside its own read of the town,
so everything on the page comes from one snapshot. Areas add their panels when their
pages module is imported (the app factory imports every area's pages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lgcloud.interface.deps import Acting
from lgcloud.tenancy.platform import Town

#: (the town's read session, the acting clerk, the page's subject) → the template's values
PanelValues = Callable[[Town, Acting, str], dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    page: str  # e.g. "person"
    values: PanelValues
    #: slot → template; the person page's slots: "main" (under the household), "side"
    #: (a column beside it), "below" (under both)
    templates: dict[str, str]


_PANELS: list[Panel] = []


def add_panel(panel: Panel) -> None:
    """Add a panel (once: importing a module twice does not add it twice)."""
    if panel not in _PANELS:
        _PANELS.append(panel)


def panels_of(page: str) -> list[Panel]:
    return [p for p in _PANELS if p.page == page]


def panel_values(page: str, town: Town, a: Acting, subject: str) -> dict[str, Any]:
    """The values of every panel of ``page`` and, under ``panels``, their templates by
    slot for the page to include."""
    values: dict[str, Any] = {}
    slots: dict[str, list[str]] = {}
    for p in panels_of(page):
        values.update(p.values(town, a, subject))
        for slot, template in p.templates.items():
            slots.setdefault(slot, []).append(template)
    values["panels"] = slots
    return values
