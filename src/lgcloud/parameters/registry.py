"""The declared parameters: each business area declares its own (``<area>/parameters.py``)
when imported; the complete list loads every installed area first (``core/areas.py``)."""

from __future__ import annotations

from datetime import date

from lgcloud.core.areas import load_areas
from lgcloud.core.errors import NotFoundError
from lgcloud.parameters.rules import Parameters, Spec, resolve

_SPECS: dict[str, Spec] = {}


def declare(*specs: Spec) -> None:
    """A business area declares its parameters when its ``parameters`` module is imported
    (the same spec twice is fine; two different specs under one key are a mistake)."""
    for spec in specs:
        known = _SPECS.get(spec.key)
        if known is not None and known != spec:
            raise ValueError(f"parameter {spec.key} declared twice, differently")
        _SPECS[spec.key] = spec


def spec_of(key: str) -> Spec:
    spec = _SPECS.get(key)
    if spec is None:
        load_areas()
        spec = _SPECS.get(key)
    if spec is None:
        raise NotFoundError(f"パラメータ {key} はありません", field="key")
    return spec


def declared() -> list[Spec]:
    load_areas()
    return [_SPECS[k] for k in sorted(_SPECS)]


def shipped_on(day: date, *keys: str) -> Parameters:
    """The values lgcloud ships for ``keys`` on ``day``, without any town's own entries:
    what the generator and the rules' tests use (no town, no I/O)."""
    return resolve([spec_of(k) for k in keys], {}, day)
