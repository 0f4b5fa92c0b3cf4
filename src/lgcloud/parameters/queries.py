"""Reading parameters as of a date: the shipped values (code) and the town's operator
entries (its database), resolved by ``rules.entry_on``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from lgcloud.parameters.models import ParameterEntry
from lgcloud.parameters.registry import declared, spec_of
from lgcloud.parameters.rules import Entry, Parameters, resolve
from lgcloud.tenancy.platform import Town


def operator_entries(town: Town, keys: Iterable[str] | None = None) -> dict[str, list[Entry]]:
    query = select(ParameterEntry).order_by(ParameterEntry.effective_from, ParameterEntry.id)
    if keys is not None:
        query = query.where(ParameterEntry.key.in_(list(keys)))
    out: dict[str, list[Entry]] = {}
    for row in town.session.scalars(query):
        out.setdefault(row.key, []).append(
            Entry(row.value, row.effective_from, row.effective_to, row.source, by_operator=True)
        )
    return out


def parameters_on(town: Town, day: date, *keys: str) -> Parameters:
    """The values of ``keys`` that hold on ``day`` (a business area's service calls this
    and hands the result to its pure rules)."""
    specs = [spec_of(k) for k in keys]
    return resolve(specs, operator_entries(town, keys), day)


def all_parameters_on(town: Town, day: date) -> Parameters:
    """Every declared parameter on ``day`` (the operator's page and ``lgcloud params``)."""
    return resolve(declared(), operator_entries(town), day)


def timeline(town: Town, key: str) -> list[Entry]:
    """Every value of a parameter, shipped and the operator's, by start date."""
    spec = spec_of(key)
    entries = [*spec.shipped, *operator_entries(town, [key]).get(key, [])]
    return sorted(entries, key=lambda e: (e.effective_from, e.by_operator))
