"""選挙人名簿管理, pure: who may be registered (公職選挙法 第21条), when (第22条), the marks
and strike-offs that follow the register (第27条・第28条), the 投票区 of an address (第17条),
the one check-in per voter and election, the purposes for which the roll may be inspected
(第28条の2〜第28条の4), and the 裁判員候補者 lottery (裁判員法 第21条). No I/O: the service
reads the register and the dated parameters and hands them in.

Periods are counted as the law counts them (民法 第140条・第143条, 年齢計算ニ関スル法律):
an age is attained at the end of the day before the birthday, and a period of months that
starts with an act done during a day starts the next day and ends at the end of the day
before the corresponding day (the month's last day when there is none). "On day D the
condition holds" means it held by the end of D; a resident born on 2 December 2008 is 18 on
1 December 2026, and one who notified a move-in on 1 September has been recorded three
months on 1 December.
"""

from __future__ import annotations

import calendar
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from lgcloud.core.dates import anniversary
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.ids import InvalidIdentifierError, validate_numbered
from lgcloud.register.domain import EventKind, RegisterChange, Status

# ------------------------------------------------------------------------ counting periods


def attains_age_on(birth: date, years: int) -> date:
    """The day at whose end a person born on ``birth`` attains ``years`` (年齢計算ニ関スル法律
    and 民法 第143条: the day before the anniversary; 29 February's anniversary in a common
    year is 1 March, so the age is attained on 28 February)."""
    return anniversary(birth, years) - timedelta(days=1)


def _add_months(d: date, months: int) -> date | None:
    """The corresponding day ``months`` later, or None when that month has no such day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    if d.day > calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, d.day)


def period_end(act_on: date, months: int) -> date:
    """The last day of a period of ``months`` months begun by an act on ``act_on``
    (民法 第140条: the first day is not counted; 第143条第2項: the period ends on the day
    before the corresponding day, or on the month's last day when there is none)."""
    start = act_on + timedelta(days=1)
    corresponding = _add_months(start, months)
    if corresponding is None:
        y, m = divmod(start.month - 1 + months, 12)
        return date(start.year + y, m + 1, calendar.monthrange(start.year + y, m + 1)[1])
    return corresponding - timedelta(days=1)


# ------------------------------------------------------------------------------ the rules


@dataclass(frozen=True)
class Rules:
    """The dated parameters one run or one decision reads (``parameters.py``)."""

    voting_age: int
    residence_months: int
    strike_off_months: int


class Refusal(StrEnum):
    NOT_RESIDENT = "not_resident"
    FOREIGN = "foreign"
    UNDER_AGE = "under_age"
    TOO_RECENT = "too_recent"


REFUSAL_LABELS = {
    Refusal.NOT_RESIDENT: "住民でない（第21条第1項: 当該市町村の区域内に住所を有する者）",
    Refusal.FOREIGN: "日本国民でない（第9条第1項）",
    Refusal.UNDER_AGE: "年齢満18年に達していない（第9条第1項）",
    Refusal.TOO_RECENT: "住民票の作成（転入届）から3箇月たっていない（第21条第1項）",
}


@dataclass(frozen=True)
class Candidate:
    """What the rules read of one person in the register."""

    addressee_number: str
    birth_date: date
    is_resident: bool
    is_japanese: bool
    #: the day the 住民票 was made here: the 転入届 day for one who moved in by notification
    #: (第21条第1項 括弧書), else the day the record begins (birth, 職権記載)
    recorded_since: date
    district: str
    address: str


def refusal(c: Candidate, *, reference: date, age_by: date, rules: Rules) -> Refusal | None:
    """Why ``c`` may not be registered with 基準日 ``reference`` (None: they may be).
    ``age_by`` is the day by which the age must be attained: the 基準日 for 定時登録, the
    選挙期日 for 選挙時登録 (第22条第2項)."""
    if not c.is_resident:
        return Refusal.NOT_RESIDENT
    if not c.is_japanese:
        return Refusal.FOREIGN
    if attains_age_on(c.birth_date, rules.voting_age) > age_by:
        return Refusal.UNDER_AGE
    if period_end(c.recorded_since, rules.residence_months) > reference:
        return Refusal.TOO_RECENT
    return None


def strike_off_due(moved_out_on: date, on: date, rules: Rules) -> bool:
    """第28条第2号: a marked elector is struck off once four months have passed after the day
    they ceased to live here (from the day after the period's last day)."""
    return on > period_end(moved_out_on, rules.strike_off_months)


def parse_months(text: str) -> list[int]:
    months = sorted({int(m) for m in text.split(",") if m.strip()})
    if not months or any(not 1 <= m <= 12 for m in months):
        raise RuleViolationError(f"登録月「{text}」が正しくありません", field="months")
    return months


def check_regular_reference(reference: date, months: Sequence[int]) -> None:
    if reference.day != 1 or reference.month not in months:
        listed = "・".join(f"{m}月" for m in months)
        raise RuleViolationError(
            f"定時登録の基準日は{listed}の1日です（第22条第1項）", field="reference_date"
        )


# ------------------------------------------------------------------------------ 投票区


def polling_district_for(district: str, address: str, table: Mapping[str, str]) -> str | None:
    """The 投票区 of an address from the town's table (第17条: the 選管 divides the town):
    the 行政区 when the table names it, else the longest 字 (address prefix) it names."""
    if district and district in table:
        return table[district]
    best = max((k for k in table if k and address.startswith(k)), key=len, default=None)
    return table[best] if best is not None else None


# ---------------------------------------------------------------------- a registration run


@dataclass(frozen=True)
class Plan:
    """What a run will do: who is registered (宛名番号 → 投票区), who is struck off
    (宛名番号 → reason), who cannot be registered for want of a 投票区, and why the others
    are not registered (counted by reason)."""

    register: dict[str, str] = field(default_factory=dict)
    strike: dict[str, str] = field(default_factory=dict)
    unassigned: list[str] = field(default_factory=list)
    refused: Counter[Refusal] = field(default_factory=Counter)


def plan_registration(
    candidates: Iterable[Candidate],
    *,
    registered: Iterable[str],
    marked: Mapping[str, date],
    reference: date,
    age_by: date,
    rules: Rules,
    table: Mapping[str, str],
) -> Plan:
    """A 定時登録 or 選挙時登録 as of ``reference``: everyone qualified and not yet on the roll
    (``registered``), and every marked elector (``marked``: 宛名番号 → the day they left)
    whose four months have passed."""
    on_roll = set(registered)
    plan = Plan()
    for c in candidates:
        if c.addressee_number in on_roll:
            continue
        why = refusal(c, reference=reference, age_by=age_by, rules=rules)
        if why is not None:
            plan.refused[why] += 1
            continue
        polling = polling_district_for(c.district, c.address, table)
        if polling is None:
            plan.unassigned.append(c.addressee_number)
        else:
            plan.register[c.addressee_number] = polling
    for number, left_on in marked.items():
        if strike_off_due(left_on, reference, rules):
            plan.strike[number] = "転出後4箇月経過（第28条第2号）"
    return plan


# ------------------------------------------------------------- following the register


class RollAction(StrEnum):
    MARK = "mark"  # 表示 (第27条第1項)
    STRIKE = "strike"  # 抹消 (第28条)
    MOVE = "move"  # 投票区の変更 (転居)


#: removals after which a registered person no longer lives here (第27条第1項: 表示)
MARKING_REMOVALS = {
    EventKind.DOMESTIC_MOVE_OUT: "転出",
    EventKind.FOREIGN_MOVE_OUT: "国外転出",
    EventKind.EX_OFFICIO_REMOVAL: "職権消除",
}


@dataclass(frozen=True)
class RollChange:
    addressee_number: str
    action: RollAction
    on: date
    reason: str
    address: str = ""
    district: str = ""


def roll_changes(change: RegisterChange, on_roll: Iterable[str]) -> list[RollChange]:
    """What a register change does to the roll, for the people of it who are on the roll:
    死亡 and loss of Japanese nationality strike off (第28条第1号); moving out marks
    (第27条第1項) — struck off four months later by the next run; a move within changes
    the 投票区."""
    out: list[RollChange] = []
    registered = set(on_roll)
    for number, after in change.after.items():
        if number not in registered:
            continue
        before = change.before.get(number)
        if change.kind is EventKind.DEATH and after.status is Status.REMOVED:
            out.append(RollChange(number, RollAction.STRIKE, change.effective_date, "死亡"))
        elif after.nationality is not None and (before is None or before.nationality is None):
            out.append(
                RollChange(number, RollAction.STRIKE, change.effective_date, "日本国籍の喪失")
            )
        elif change.kind in MARKING_REMOVALS and after.status is Status.REMOVED:
            out.append(
                RollChange(
                    number, RollAction.MARK, change.effective_date, MARKING_REMOVALS[change.kind]
                )
            )
        elif (
            after.is_resident
            and before is not None
            and (before.address != after.address or before.district != after.district)
        ):
            out.append(
                RollChange(
                    number,
                    RollAction.MOVE,
                    change.effective_date,
                    "転居",
                    address=after.address,
                    district=after.district,
                )
            )
    return out


# ------------------------------------------------------------------------------ 受付


class CheckinKind(StrEnum):
    EARLY = "early"  # 期日前投票 (第48条の2)
    ELECTION_DAY = "election_day"  # 当日投票


CHECKIN_LABELS = {CheckinKind.EARLY: "期日前投票", CheckinKind.ELECTION_DAY: "当日投票"}


def checkin_kind_on(day: date, *, polling_day: date, early_from: date) -> CheckinKind:
    """Which voting a check-in on ``day`` is; outside both periods it is refused."""
    if day == polling_day:
        return CheckinKind.ELECTION_DAY
    if early_from <= day < polling_day:
        return CheckinKind.EARLY
    raise RuleViolationError(
        "投票を受け付ける期間ではありません（期日前投票は公示・告示日の翌日から選挙期日の前日まで）",
        field="election",
    )


def check_voter(
    *,
    on_roll: bool,
    struck: bool,
    marked: bool,
    national: bool,
    polling: str,
    station_districts: Sequence[str],
) -> None:
    """Whether a person may vote in this election at this station: on the roll, not struck
    off, not marked as moved out unless the election is national (第27条第1項の表示者は
    4箇月以内なら国政選挙で旧住所地において投票できる), and (on election day) at a station
    of their 投票区."""
    if not on_roll or struck:
        raise RuleViolationError("選挙人名簿に登録されていません", field="voter")
    if marked and not national:
        raise RuleViolationError(
            "転出表示がされているため、この選挙では投票できません（第27条第1項）", field="voter"
        )
    if station_districts and polling not in station_districts:
        raise RuleViolationError(
            f"この投票所の投票区ではありません（投票区 {polling}）", field="voter"
        )


# ----------------------------------------------------------------------- 入場券の番号


def ticket_code(elector_number: str) -> str:
    """What the 入場券 carries to be scanned: ``E`` and the 名簿番号 (its check digit
    catches a misread)."""
    return f"E{elector_number}"


def elector_number_from_code(code: str) -> str:
    text = code.strip().upper()
    text = text.removeprefix("E")
    try:
        return validate_numbered(text, "名簿番号")
    except InvalidIdentifierError as e:
        raise RuleViolationError(str(e), field="code") from e


# --------------------------------------------------------------------------- 閲覧


#: the purposes for which the roll's 抄本 may be inspected, and their article
INSPECTION_PURPOSES = {
    "confirm_person": "特定の者が選挙人名簿に登録された者であるかどうかの確認（第28条の2第1項）",
    "political_research": "公職の候補者等・政党その他の政治団体の政治活動（第28条の3第1項）",
    "public_research": (
        "統計調査・世論調査・学術研究その他の調査研究で公益性が高いと認められるもののうち"
        "政治・選挙に関するもの（第28条の4第1項）"
    ),
}


def check_inspection(purpose: str, applicant: str, viewers: Sequence[str], reason: str) -> None:
    if purpose not in INSPECTION_PURPOSES:
        raise RuleViolationError(
            "閲覧は法の定める目的（第28条の2〜第28条の4）に限られます", field="purpose"
        )
    if not applicant.strip() or len(applicant) > 120:
        raise RuleViolationError("申出者を120字以内で入力してください", field="applicant")
    if not viewers or any(not v.strip() or len(v) > 80 for v in viewers) or len(viewers) > 10:
        raise RuleViolationError("閲覧者（1〜10人）を入力してください", field="viewers")
    if not reason.strip() or len(reason) > 500:
        raise RuleViolationError("利用の目的を500字以内で具体的に入力してください", field="reason")


# ------------------------------------------------------------------ 裁判員候補者


def draw_jurors(elector_numbers: Iterable[str], count: int, seed: str) -> list[str]:
    """裁判員候補者予定者 by lottery from the roll (裁判員の参加する刑事裁判に関する法律
    第21条第1項: くじで選定). Reproducible: the same roll and the same recorded seed give the
    same draw (Python's Mersenne Twister seeded with the text is stable across versions)."""
    pool = sorted(set(elector_numbers))
    if count < 1:
        raise RuleViolationError("選定する人数は1人以上です", field="count")
    if count > len(pool):
        raise RuleViolationError(
            f"名簿の登録者（{len(pool)}人）より多くは選べません", field="count"
        )
    if not seed:
        raise RuleViolationError("くじの種が必要です", field="seed")
    # a lottery that must be re-drawn from its recorded seed, not a secret: the seed itself
    # comes from ``secrets`` in the service
    return sorted(random.Random(seed).sample(pool, count))  # noqa: S311
