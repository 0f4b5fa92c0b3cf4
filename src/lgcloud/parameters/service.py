"""The operator sets a parameter's value from a date (audited, journaled like any change)."""

from __future__ import annotations

from datetime import date

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.parameters.models import ParameterEntry
from lgcloud.parameters.registry import spec_of
from lgcloud.parameters.rules import parse
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

MAX_TEXT = 200


def set_parameter(
    town: Town,
    ctx: RequestContext,
    key: str,
    value: str,
    *,
    effective_from: date,
    today: date,
    source: str,
    reason: str,
    effective_to: date | None = None,
) -> ParameterEntry:
    """A new value of ``key`` from ``effective_from`` (not in the past: what was computed
    under the old value stays as it was). ``source`` cites the law, ordinance or decision."""
    spec = spec_of(key)
    value = value.strip()
    parse(spec.kind, value)
    if effective_from < today:
        raise RuleViolationError(
            "適用開始日は今日以降にしてください（過去の計算は変えません）", field="effective_from"
        )
    if effective_to is not None and effective_to <= effective_from:
        raise RuleViolationError("適用終了日は適用開始日より後です", field="effective_to")
    for name, text in (("source", source), ("reason", reason)):
        if not text.strip():
            raise RuleViolationError("根拠と理由を入力してください", field=name)
        if len(text) > MAX_TEXT:
            raise RuleViolationError(f"{MAX_TEXT}文字以内で入力してください", field=name)
    if len(value) > MAX_TEXT:
        raise RuleViolationError(f"{MAX_TEXT}文字以内で入力してください", field="value")
    row = ParameterEntry(
        key=key,
        value=value,
        effective_from=effective_from,
        effective_to=effective_to,
        source=source.strip(),
        reason=reason.strip(),
        recorded_at=utcnow(),
    )
    town.session.add(row)
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "parameter_set",
        detail={
            "key": key,
            "value": value,
            "effective_from": effective_from.isoformat(),
            "effective_to": effective_to.isoformat() if effective_to else None,
            "source": row.source,
            "reason": row.reason,
        },
    )
    return row
