"""Identity confirmed for someone who lost their papers in a disaster (issue 18, item 3):
what the person states — name, birth date, address, the people they live with — checked
against the register, and the check kept in the audit trail.

The person is looked for as the shelter matcher looks for a row (``matching``), among the
people born on the stated day or a typing slip away, and must be its 一致 with the birth
date exactly as registered. That alone is what a stranger who knows a resident's name and
birthday could state, so it is not enough: the address must agree with the registered one,
or the person must name at least one of the people registered in their household. The
result lists each fact and whether it agreed, so the clerk sees why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from lgcloud.core.clock import today_jst
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import RuleViolationError
from lgcloud.register import queries as register_queries
from lgcloud.register.folding import name_key
from lgcloud.safety.matching import (
    ResidentIndex,
    Verdict,
    dates_near,
    normalize_address,
    parse_birth_date,
    read_evacuee,
)
from lgcloud.safety.service import load_residents
from lgcloud.tenancy.platform import Town
from lgcloud.trail.journal import finish_write

ACTION = "safety_identity_checked"
#: how alike the stated address must be to the registered one (rapidfuzz partial ratio of
#: the normalised texts, 0–100): the 番地 may be said without 大字, the 方書 left out
ADDRESS_MIN = 85


@dataclass(frozen=True)
class IdentityCheck:
    confirmed: bool
    number: str  # the person found ("" when nobody)
    name: str  # as registered
    checks: tuple[tuple[str, bool, str], ...]  # (fact, agrees, what was compared)
    reason: str


def check_identity(
    town: Town,
    ctx: RequestContext,
    *,
    name: str,
    birth: str,
    kana: str = "",
    address: str = "",
    members: Sequence[str] = (),
    as_of: date | None = None,
) -> IdentityCheck:
    """Check what a person without papers states against the register; audited (the
    person found, if any, is its subject)."""
    if not name.strip():
        raise RuleViolationError("氏名を入力してください", field="name")
    try:
        born = parse_birth_date(birth)
    except ValueError as e:
        raise RuleViolationError(str(e), field="birth") from None
    if born is None:
        raise RuleViolationError("生年月日を入力してください", field="birth")
    stated = {"氏名": name, "ふりがな": kana, "生年月日": birth, "住所": address}
    row = read_evacuee("本人確認", 1, stated)
    people = load_residents(town, born_on=dates_near(born))
    index = ResidentIndex.build(people, as_of or today_jst())
    m = index.match(row)
    checks: list[tuple[str, bool, str]] = []
    found = next((r for r in people if r.number == m.number), None)
    if m.verdict is not Verdict.MATCH or found is None or found.birth != born:
        reason = (
            f"住民記録に候補が {len(m.candidates)} 人います。確かな一人に絞れません"
            if m.verdict is Verdict.CANDIDATES
            else "述べられた氏名と生年月日の人は住民記録にいません"
        )
        result = IdentityCheck(False, "", "", (), reason)
    else:
        checks.append(("氏名・生年月日", True, "住民記録と一致"))
        said = normalize_address(address) if address.strip() else ""
        registered = normalize_address(found.address)
        address_ok = bool(said) and fuzz.partial_ratio(said, registered) >= ADDRESS_MIN
        checks.append(("住所", address_ok, "述べられていません" if not said else found.address))
        state = register_queries.get_person(town, found.number)
        household = [
            p
            for p in register_queries.current_household(town, state.household_number)
            if p.addressee_number != found.number
        ]
        keys = {name_key(p.name) for p in household} | {
            name_key(p.name.partition("\u3000")[2]) for p in household
        }
        named = [x for x in members if x.strip() and name_key(x) in keys]
        checks.append(
            (
                "世帯員",
                bool(named),
                f"述べた {len([x for x in members if x.strip()])} 人のうち {len(named)} 人が世帯員",
            )
        )
        confirmed = address_ok or bool(named)
        reason = (
            "述べられた事実が住民記録と一致しました"
            if confirmed
            else "氏名と生年月日だけでは本人と確認できません（住所か同じ世帯の人の名前が必要です）"
        )
        result = IdentityCheck(confirmed, found.number, state.name, tuple(checks), reason)
    finish_write(
        town.session,
        ctx,
        ACTION,
        subjects=[result.number] if result.number else [],
        detail={
            "confirmed": result.confirmed,
            "checks": [[what, ok] for what, ok, _ in result.checks],
            "stated": {"name": name, "birth": birth, "address": address, "members": len(members)},
        },
    )
    return result


__all__ = ["ACTION", "IdentityCheck", "check_identity"]
