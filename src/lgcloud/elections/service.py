"""選挙人名簿管理 writes, each one audited write: the polling table, elections and their
stations, registration runs (previewed, then fixed), check-ins, 閲覧, the 裁判員候補者 draw,
and the check-ins a town node received while the centre was unreachable. The rules are in
``domain.py``, the reads in ``queries.py``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lgcloud.core.clock import JST, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.ids import format_numbered, is_issuable_sequence
from lgcloud.elections import documents, domain, parameters, queries
from lgcloud.elections.models import (
    Checkin,
    Election,
    Elector,
    Inspection,
    JurorDraw,
    PollingArea,
    PollingDistrict,
    PollingStation,
    RegistrationRun,
)
from lgcloud.notices.service import Progress, RunResult, issue_notices
from lgcloud.parameters.queries import parameters_on
from lgcloud.register.models import PersonVersion, TownInfo
from lgcloud.register.service import locked_sequence
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import finish_write
from lgcloud.worklist.service import raise_task

AREA = "elections"
#: how long a 処理待ち item of the roll may wait (days) before it is flagged
TASK_DAYS = 14


def rules_on(town: Town, day: date) -> domain.Rules:
    p = parameters_on(
        town,
        day,
        parameters.VOTING_AGE,
        parameters.RESIDENCE_MONTHS,
        parameters.STRIKE_OFF_MONTHS,
    )
    return domain.Rules(
        voting_age=p.int(parameters.VOTING_AGE),
        residence_months=p.int(parameters.RESIDENCE_MONTHS),
        strike_off_months=p.int(parameters.STRIKE_OFF_MONTHS),
    )


# ------------------------------------------------------------------ the polling table


def set_polling_district(town: Town, ctx: RequestContext, code: str, name: str, place: str) -> None:
    """Add or rename a 投票区 and its 投票所."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > 8 or not code.isascii() or not code.isalnum():
        raise RuleViolationError("投票区の番号は英数字8字以内です", field="code")
    if not name or len(name) > 60:
        raise RuleViolationError("投票区の名前を60字以内で入力してください", field="name")
    row = town.session.get(PollingDistrict, code)
    if row is None:
        town.session.add(PollingDistrict(code=code, name=name, place=place.strip()[:120]))
    else:
        row.name, row.place = name, place.strip()[:120]
    finish_write(town.session, ctx, "polling_district_set", detail={"code": code, "name": name})


def set_polling_area(town: Town, ctx: RequestContext, area: str, polling_code: str) -> None:
    """One row of the table 行政区 or 字 → 投票区. Electors already on the roll keep their
    投票区 until a run or a 転居 reassigns them (第17条の分合は選管の告示による)."""
    area = area.strip()
    if not area or len(area) > 80:
        raise RuleViolationError("行政区または字を80字以内で入力してください", field="area")
    if town.session.get(PollingDistrict, polling_code) is None:
        raise RuleViolationError(f"投票区 {polling_code} はありません", field="polling_code")
    row = town.session.get(PollingArea, area)
    if row is None:
        town.session.add(PollingArea(area=area, polling_code=polling_code))
    else:
        row.polling_code = polling_code
    finish_write(
        town.session, ctx, "polling_area_set", detail={"area": area, "polling_code": polling_code}
    )


# ---------------------------------------------------------------------------- elections


def create_election(
    town: Town,
    ctx: RequestContext,
    *,
    code: str,
    name: str,
    national: bool,
    polling_day: date,
    reference_date: date,
    registration_date: date,
    early_from: date,
) -> Election:
    code, name = code.strip(), name.strip()
    if not code or len(code) > 20 or not code.isascii():
        raise RuleViolationError("選挙の記号は半角20字以内です", field="code")
    if not name or len(name) > 80:
        raise RuleViolationError("選挙の名前を80字以内で入力してください", field="name")
    if not reference_date <= registration_date <= polling_day:
        raise RuleViolationError(
            "基準日 ≦ 登録日 ≦ 選挙期日 にしてください（第22条第2項）", field="registration_date"
        )
    if not early_from < polling_day:
        raise RuleViolationError("期日前投票は選挙期日より前に始まります", field="early_from")
    if town.session.scalar(select(Election.id).where(Election.code == code)) is not None:
        raise RuleViolationError(f"選挙 {code} はもうあります", field="code")
    e = Election(
        code=code,
        name=name,
        national=national,
        polling_day=polling_day,
        reference_date=reference_date,
        registration_date=registration_date,
        early_from=early_from,
        created_at=utcnow(),
    )
    town.session.add(e)
    town.session.flush()
    finish_write(town.session, ctx, "election_created", detail={"code": code, "name": name})
    return e


def add_station(
    town: Town,
    ctx: RequestContext,
    election_code: str,
    *,
    code: str,
    name: str,
    polling_codes: list[str],
) -> PollingStation:
    """A polling station of the election; no 投票区 listed: a 期日前投票所 for all."""
    e = queries.election(town, election_code)
    known = {d.code for d in queries.polling_districts(town)}
    unknown = [c for c in polling_codes if c not in known]
    if unknown:
        raise RuleViolationError(f"投票区 {'・'.join(unknown)} はありません", field="polling_codes")
    if not code.strip() or not name.strip():
        raise RuleViolationError("投票所の記号と名前を入力してください", field="code")
    s = PollingStation(
        election_id=e.id, code=code.strip(), name=name.strip(), polling_codes=polling_codes
    )
    town.session.add(s)
    try:
        town.session.flush()
    except IntegrityError as exc:
        raise RuleViolationError(f"投票所 {code} はもうあります", field="code") from exc
    finish_write(
        town.session, ctx, "polling_station_added", detail={"election": e.code, "code": s.code}
    )
    return s


# ------------------------------------------------------------------- registration runs


@dataclass(frozen=True)
class RunSummary:
    code: str
    kind: str
    reference_date: date
    registration_date: date
    to_register: int
    to_strike: int
    unassigned: list[str]
    refused: dict[str, int]
    status: str


def summary_of(run: RegistrationRun) -> RunSummary:
    return RunSummary(
        code=run.code,
        kind=run.kind,
        reference_date=run.reference_date,
        registration_date=run.registration_date,
        to_register=len(run.plan["register"]),
        to_strike=len(run.plan["strike"]),
        unassigned=list(run.plan["unassigned"]),
        refused=dict(run.plan["refused"]),
        status=run.status,
    )


def preview_registration(
    platform: Platform,
    ctx: RequestContext,
    *,
    reference_date: date | None = None,
    election_code: str | None = None,
) -> RunSummary:
    """Plan a 定時登録 (``reference_date``: a registration month's 1st) or the 選挙時登録 of
    ``election_code``, reading the register outside any write; store the plan for a clerk
    to check and fix. Nothing is on the roll until it is fixed."""
    with platform.read_town(ctx.town_code) as town:
        if election_code is not None:
            e = queries.election(town, election_code)
            kind, election_id = "election", e.id
            reference, registration, age_by = e.reference_date, e.registration_date, e.polling_day
        else:
            if reference_date is None:
                raise RuleViolationError("基準日を入力してください", field="reference_date")
            p = parameters_on(
                town, reference_date, parameters.REGISTRATION_MONTHS, parameters.REGISTRATION_DAY
            )
            months = domain.parse_months(p.text(parameters.REGISTRATION_MONTHS))
            domain.check_regular_reference(reference_date, months)
            kind, election_id, reference, age_by = "regular", None, reference_date, reference_date
            registration = reference_date.replace(day=p.int(parameters.REGISTRATION_DAY))
        position = queries.register_position(town)
        electors = queries.active_electors(town)
        marked = {n: e.marked_on for n, e in electors.items() if e.marked_on is not None}
        plan = domain.plan_registration(
            queries.candidates(town),
            registered=electors,
            marked=marked,
            reference=reference,
            age_by=age_by,
            rules=rules_on(town, reference),
            table=queries.polling_table(town),
        )
    run = RegistrationRun(
        code=secrets.token_hex(6),
        kind=kind,
        election_id=election_id,
        reference_date=reference,
        registration_date=registration,
        age_by=age_by,
        status="previewed",
        register_position=position,
        plan={
            "register": plan.register,
            "strike": plan.strike,
            "unassigned": plan.unassigned,
            "refused": {str(k): v for k, v in plan.refused.items()},
        },
        previewed_at=utcnow(),
        previewed_by=ctx.actor.name,
    )
    with platform.town(ctx.town_code) as town:
        town.session.add(run)
        finish_write(
            town.session,
            ctx,
            "electoral_registration_previewed",
            detail={
                "run": run.code,
                "kind": kind,
                "reference_date": reference.isoformat(),
                "register": len(plan.register),
                "strike": len(plan.strike),
                "unassigned": len(plan.unassigned),
            },
        )
        return summary_of(run)


def _next_elector_numbers(town: Town, count: int) -> list[str]:
    """名簿番号 from the town's ``elector`` series, locked (``FOR UPDATE``) in the caller's
    write, skipping the sequences whose check digit does not exist."""
    row = locked_sequence(town, "elector")
    out: list[str] = []
    seq = row.next_value
    while len(out) < count:
        if is_issuable_sequence(seq):
            out.append(format_numbered(seq))
        seq += 1
    row.next_value = seq
    return out


#: electors written per transaction when a run is fixed
FIX_CHUNK = 500


def fix_registration(
    platform: Platform, ctx: RequestContext, run_code: str, *, chunk: int = FIX_CHUNK
) -> RunSummary:
    """登録: put the previewed plan on the roll. Refused when the register has changed since
    the preview (preview again: the plan would be stale) or when someone qualified has no
    投票区 (complete the polling table first).

    Written in short transactions of ``chunk`` electors (a town's first run is 25,000
    people: one write would hold the town's write lock for seconds, and the counter would
    wait). Each chunk re-checks its people against the register as it is then — someone
    who died or moved out meanwhile is left out, a 転居 gets the new address's 投票区 —
    and is audited with its people. The run is ``fixing`` until the last chunk; fixing it
    again resumes (those already on the roll are skipped), so a crash loses nothing."""
    with platform.town(ctx.town_code) as town:
        run = _run(town, run_code)
        if run.status not in ("previewed", "fixing"):
            raise RuleViolationError(f"この登録処理はすでに{_STATUS[run.status]}です", field="run")
        if run.status == "previewed":
            if queries.register_position(town) != run.register_position:
                raise RuleViolationError(
                    "プレビューの後に異動が記録されました。もう一度プレビューしてください",
                    field="run",
                )
            if run.plan["unassigned"]:
                raise RuleViolationError(
                    f"投票区の決まらない方が{len(run.plan['unassigned'])}人います。"
                    "投票区の表に行政区または字を加えてから、もう一度プレビューしてください",
                    field="run",
                )
        struck = []
        if run.plan["strike"]:
            for e in town.session.scalars(
                select(Elector).where(
                    Elector.addressee_number.in_(list(run.plan["strike"])),
                    Elector.struck_on.is_(None),
                )
            ):
                e.struck_on = run.registration_date
                e.strike_reason = run.plan["strike"][e.addressee_number]
                struck.append(e.addressee_number)
        run.status = "fixing"
        finish_write(
            town.session,
            ctx,
            "electoral_registration_fixing",
            subjects=sorted(struck),
            detail={
                "run": run.code,
                "to_register": len(run.plan["register"]),
                "struck": len(struck),
            },
        )
        plan = sorted(run.plan["register"].items())
        reference, age_by, registered_on = run.reference_date, run.age_by, run.registration_date
        rules = rules_on(town, reference)
    registered, left_out = 0, []
    for start in range(0, len(plan), chunk):
        part = dict(plan[start : start + chunk])
        with platform.town(ctx.town_code) as town:
            on_roll = set(
                town.session.scalars(
                    select(Elector.addressee_number).where(
                        Elector.addressee_number.in_(list(part)), Elector.struck_on.is_(None)
                    )
                )
            )
            now = {c.addressee_number: c for c in queries.candidates(town, list(part))}
            table = queries.polling_table(town)
            todo: dict[str, str] = {}
            for number, planned in part.items():
                if number in on_roll:
                    continue
                c = now.get(number)
                if c is None or domain.refusal(c, reference=reference, age_by=age_by, rules=rules):
                    left_out.append(number)  # died, moved out, … since the preview
                    continue
                todo[number] = domain.polling_district_for(c.district, c.address, table) or planned
            if not todo:  # all of it already on the roll (a resumed run): nothing to write
                continue
            numbers = _next_elector_numbers(town, len(todo))
            town.session.add_all(
                Elector(
                    elector_number=elector_number,
                    addressee_number=addressee,
                    polling_code=polling,
                    registered_on=registered_on,
                    run_code=run_code,
                    marked_on=None,
                    mark_reason=None,
                    struck_on=None,
                    strike_reason=None,
                )
                for elector_number, (addressee, polling) in zip(numbers, todo.items(), strict=True)
            )
            finish_write(
                town.session,
                ctx,
                "electors_registered",
                subjects=sorted(todo),
                detail={"run": run_code, "registered": len(todo)},
            )
        registered += len(todo)
    with platform.town(ctx.town_code) as town:
        run = _run(town, run_code)
        run.status = "fixed"
        run.fixed_at = utcnow()
        run.fixed_by = ctx.actor.name
        run.plan = {**run.plan, "left_out": sorted(left_out)}
        finish_write(
            town.session,
            ctx,
            "electoral_registration_fixed",
            subjects=sorted(left_out),
            detail={"run": run_code, "registered": registered, "left_out": len(left_out)},
        )
        return summary_of(run)


def _run(town: Town, run_code: str) -> RegistrationRun:
    run = town.session.scalar(select(RegistrationRun).where(RegistrationRun.code == run_code))
    if run is None:
        raise NotFoundError(f"登録処理 {run_code} はありません")
    return run


def discard_registration(town: Town, ctx: RequestContext, run_code: str) -> None:
    run = _run(town, run_code)
    if run.status != "previewed":
        raise RuleViolationError(f"この登録処理はすでに{_STATUS[run.status]}です", field="run")
    run.status = "discarded"
    finish_write(town.session, ctx, "electoral_registration_discarded", detail={"run": run_code})


_STATUS = {
    "previewed": "プレビュー済み",
    "fixing": "確定の途中",
    "fixed": "確定済み",
    "discarded": "取消済み",
}


# ------------------------------------------------------------ following the register


def apply_roll_changes(
    town: Town,
    changes: list[domain.RollChange],
    electors: Mapping[str, Elector],
    *,
    event_id: int | None,
    today: date,
) -> list[str]:
    """What a register change does to the roll (``electors``: the rows of the people it
    names who are on the roll), in the register change's transaction (its audit entry
    covers it). A 転居 to an address the polling table does not know keeps the old 投票区
    and raises a 処理待ち item, so nothing is guessed and nothing is lost."""
    lines: list[str] = []
    if not changes:
        return lines
    table = queries.polling_table(town)
    for c in changes:
        e = electors[c.addressee_number]
        if c.action is domain.RollAction.STRIKE:
            e.struck_on, e.strike_reason = c.on, c.reason
            lines.append(f"{c.addressee_number}: 選挙人名簿から抹消（{c.reason}）")
        elif c.action is domain.RollAction.MARK:
            e.marked_on, e.mark_reason = c.on, c.reason
            lines.append(f"{c.addressee_number}: 選挙人名簿に{c.reason}の表示")
        else:
            polling = domain.polling_district_for(c.district, c.address, table)
            if polling is None:
                raise_task(
                    town,
                    area=AREA,
                    kind="polling_unassigned",
                    addressee_number=c.addressee_number,
                    summary=f"転居先「{c.address}」の投票区が決まりません（投票区の表に追加）",
                    proposal={"address": c.address, "district": c.district},
                    raised_on=today,
                    days_allowed=TASK_DAYS,
                    event_id=event_id,
                )
                lines.append(f"{c.addressee_number}: 転居先の投票区が未定（処理待ち）")
            elif polling != e.polling_code:
                e.polling_code = polling
                lines.append(f"{c.addressee_number}: 投票区を {polling} に変更")
    return lines


# ---------------------------------------------------------------------------- 受付


@dataclass(frozen=True)
class CheckinResult:
    elector_number: str
    addressee_number: str
    name: str
    polling_code: str
    kind: str
    station: str
    checked_at: datetime


def _already(c: Checkin) -> RuleViolationError:
    at = c.checked_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    where = f"{c.station}（{domain.CHECKIN_LABELS[domain.CheckinKind(c.kind)]}）"
    node = f"・{c.node}" if c.node and c.node != "centre" else ""
    return RuleViolationError(
        f"この選挙人はすでに受付済みです: {at} {where}{node}。二重の受付はできません",
        field="voter",
    )


def check_in(
    platform: Platform,
    ctx: RequestContext,
    *,
    election_code: str,
    station_code: str,
    elector_number: str | None = None,
    addressee_number: str | None = None,
    now: datetime | None = None,
) -> CheckinResult:
    """投票の受付 by 入場券 (名簿番号) or by a search (宛名番号). A second check-in of the same
    voter anywhere — another station, 期日前 then 当日 — is refused with where and when the
    first was. The checks are reads outside any write; the write is one insert and its
    audit entry, so a polling station never waits behind another's reads. The database's
    unique key (election, voter) decides when two stations scan the same voter at the same
    moment: exactly one insert succeeds, the other gets the same refusal."""
    now = now or utcnow()
    with platform.read_town(ctx.town_code) as town:
        e = queries.election(town, election_code)
        st = queries.station(town, e.id, station_code)
        if elector_number is not None:
            elector = queries.elector_by_number(town, elector_number)
        elif addressee_number is not None:
            found = queries.elector_of(town, addressee_number)
            if found is None:
                raise RuleViolationError("選挙人名簿に登録されていません", field="voter")
            elector = found
        else:
            raise RuleViolationError("入場券の番号か宛名番号が必要です", field="voter")
        first = queries.checkin_of(town, e.id, elector.addressee_number)
        if first is not None:
            raise _already(first)
        kind = domain.checkin_kind_on(
            now.astimezone(JST).date(), polling_day=e.polling_day, early_from=e.early_from
        )
        domain.check_voter(
            on_roll=True,
            struck=elector.struck_on is not None,
            marked=elector.marked_on is not None,
            national=e.national,
            polling=elector.polling_code,
            station_districts=st.polling_codes if kind is domain.CheckinKind.ELECTION_DAY else [],
        )
        name = _current_name(town, elector.addressee_number)
        election_id, voter = e.id, elector.addressee_number
        row = Checkin(
            election_id=e.id,
            addressee_number=elector.addressee_number,
            elector_number=elector.elector_number,
            polling_code=elector.polling_code,
            kind=str(kind),
            station=st.name,
            checked_at=now,
            clerk_name=ctx.actor.name,
            node=ctx.node,
        )
        detail = {"election": e.code, "station": st.code, "kind": str(kind)}
    try:
        with platform.town(ctx.town_code) as town:
            town.session.add(row)
            town.session.flush()
            finish_write(town.session, ctx, "voter_checked_in", subjects=[voter], detail=detail)
    except IntegrityError:
        # another station's check-in of the same voter committed after our read
        with platform.read_town(ctx.town_code) as town:
            first = queries.checkin_of(town, election_id, voter)
        if first is None:
            raise
        raise _already(first) from None
    return CheckinResult(
        row.elector_number, voter, name, row.polling_code, row.kind, row.station, now
    )


def _current_name(town: Town, addressee_number: str) -> str:
    return (
        town.session.scalar(
            select(PersonVersion.name).where(
                PersonVersion.addressee_number == addressee_number,
                PersonVersion.is_current.is_(True),
            )
        )
        or ""
    )


def receive_node_checkins(
    town: Town, ctx: RequestContext, node: str, checkins: list[dict[str, Any]], today: date
) -> dict[str, int]:
    """Reconcile the check-ins a town node took while it served a copy (election day must
    survive a line cut): each one not yet here is recorded as it was taken; one already
    received (the same voter, node and time) is skipped; a voter also checked in elsewhere
    is a suspected 二重投票, kept as a 処理待ち item with both records — never dropped."""
    received = skipped = conflicts = 0
    for c in checkins:
        e = queries.election(town, c["election"])
        at = datetime.fromisoformat(c["checked_at"])
        first = queries.checkin_of(town, e.id, c["addressee_number"])
        if first is not None:
            if first.node == node and first.checked_at == at:
                skipped += 1
                continue
            conflicts += 1
            raise_task(
                town,
                area=AREA,
                kind="double_checkin",
                addressee_number=c["addressee_number"],
                summary=(f"{e.name}: 二重受付の疑い（{first.station} と {c['station']}@{node}）"),
                proposal={"first": _checkin_json(first), "node": c},
                raised_on=today,
                days_allowed=1,
            )
            continue
        town.session.add(
            Checkin(
                election_id=e.id,
                addressee_number=c["addressee_number"],
                elector_number=c["elector_number"],
                polling_code=c["polling_code"],
                kind=c["kind"],
                station=c["station"],
                checked_at=at,
                clerk_name=c["clerk_name"],
                node=node,
            )
        )
        received += 1
    town.session.flush()
    finish_write(
        town.session,
        ctx,
        "node_checkins_received",
        subjects=sorted({c["addressee_number"] for c in checkins}),
        detail={"node": node, "received": received, "skipped": skipped, "conflicts": conflicts},
    )
    return {"received": received, "skipped": skipped, "conflicts": conflicts}


def _checkin_json(c: Checkin) -> dict[str, Any]:
    return {
        "election_id": c.election_id,
        "addressee_number": c.addressee_number,
        "elector_number": c.elector_number,
        "polling_code": c.polling_code,
        "kind": c.kind,
        "station": c.station,
        "checked_at": c.checked_at.isoformat(),
        "clerk_name": c.clerk_name,
        "node": c.node,
    }


def node_checkins(town: Town, node: str) -> list[dict[str, Any]]:
    """The check-ins taken at ``node`` (what its hand-back carries)."""
    rows = town.session.execute(
        select(Checkin, Election.code)
        .join(Election, Election.id == Checkin.election_id)
        .where(Checkin.node == node)
        .order_by(Checkin.id)
    ).all()
    return [{**_checkin_json(c), "election": code} for c, code in rows]


# ------------------------------------------------------------------------------ 閲覧


def record_inspection(
    town: Town,
    ctx: RequestContext,
    *,
    applied_on: date,
    purpose: str,
    applicant: str,
    viewers: list[str],
    reason: str,
    polling_code: str,
) -> Inspection:
    """選挙人名簿抄本の閲覧: only for the purposes of 第28条の2〜第28条の4, with the
    application, its purpose and every viewer recorded; the audit entry names every
    elector of the 投票区 shown, so "who viewed this person" includes it."""
    domain.check_inspection(purpose, applicant, viewers, reason)
    if town.session.get(PollingDistrict, polling_code) is None:
        raise RuleViolationError(f"投票区 {polling_code} はありません", field="polling_code")
    row = Inspection(
        applied_on=applied_on,
        purpose=purpose,
        applicant=applicant.strip(),
        viewers=[v.strip() for v in viewers],
        reason=reason.strip(),
        polling_code=polling_code,
        clerk_name=ctx.actor.name,
        recorded_at=utcnow(),
    )
    town.session.add(row)
    town.session.flush()
    shown = town.session.scalars(
        select(Elector.addressee_number).where(
            Elector.polling_code == polling_code, Elector.struck_on.is_(None)
        )
    ).all()
    finish_write(
        town.session,
        ctx,
        "view_roll_inspection",
        subjects=list(shown),
        detail={
            "inspection": row.id,
            "purpose": purpose,
            "applicant": row.applicant,
            "viewers": row.viewers,
            "polling_code": polling_code,
        },
    )
    return row


# ------------------------------------------------------------------- 裁判員候補者


def draw_jurors(
    town: Town, ctx: RequestContext, *, year: int, count: int, seed: str | None = None
) -> JurorDraw:
    """裁判員候補者予定者名簿 for ``year``: ``count`` electors by lottery from the roll
    (those marked as moved out excluded), with the seed recorded so anyone can redraw it
    and get the same people. The seed is random unless given (a redraw)."""
    pool = town.session.scalars(
        select(Elector.elector_number).where(
            Elector.struck_on.is_(None), Elector.marked_on.is_(None)
        )
    ).all()
    seed = seed or secrets.token_hex(16)
    drawn = domain.draw_jurors(pool, count, seed)
    row = JurorDraw(
        year=year,
        count=count,
        seed=seed,
        roll_size=len(pool),
        drawn=drawn,
        drawn_at=utcnow(),
        clerk_name=ctx.actor.name,
    )
    town.session.add(row)
    town.session.flush()
    subjects = town.session.scalars(
        select(Elector.addressee_number).where(Elector.elector_number.in_(drawn))
    ).all()
    finish_write(
        town.session,
        ctx,
        "jurors_drawn",
        subjects=list(subjects),
        detail={"year": year, "count": count, "seed": seed, "roll_size": len(pool)},
    )
    return row


# ------------------------------------------------------------------ printed documents


def export_roll(
    platform: Platform,
    ctx: RequestContext,
    *,
    polling_code: str,
    fmt: str,
    extract: bool = False,
    as_of: date,
) -> bytes:
    """The roll (or its 抄本) of one 投票区 as PDF or CSV, read outside any write and audited
    (``export_electoral_roll``, every elector shown as a subject) before it is handed out."""
    if fmt not in ("pdf", "csv"):
        raise RuleViolationError("形式は pdf か csv です", field="fmt")
    with platform.read_town(ctx.town_code) as town:
        district = town.session.get(PollingDistrict, polling_code)
        if district is None:
            raise NotFoundError(f"投票区 {polling_code} はありません")
        entries = queries.roll(town, polling_code)
        info = town.session.get(TownInfo, ctx.town_code)
        name = info.name if info else ctx.town_code
    if fmt == "csv":
        body = documents.roll_csv(entries, extract=extract)
    else:
        body = documents.roll_pdf(
            entries, town=name, district=district, as_of=as_of, extract=extract
        )
    platform.record_read(
        ctx,
        "export_electoral_roll",
        subjects=[e.addressee_number for e in entries],
        detail={"polling_code": polling_code, "format": fmt, "extract": extract},
    )
    return body


def issue_tickets(
    platform: Platform,
    ctx: RequestContext,
    *,
    election_code: str,
    per_household: bool,
    out_dir: Path,
    today: date,
    per_file: int = 1000,
    progress: Progress | None = None,
) -> RunResult:
    """投票所入場券 for the whole roll as bulk notices (行政区順, each notice recorded
    against its voter); run it as batch work, off the counter's path."""
    with platform.read_town(ctx.town_code) as town:
        e = queries.election(town, election_code)
        entries = queries.roll(town)
        districts = {d.code: d for d in queries.polling_districts(town)}
        hours = parameters_on(town, e.polling_day, parameters.POLLING_HOURS).text(
            parameters.POLLING_HOURS
        )
    notices = documents.tickets(entries, e, districts, per_household=per_household, hours=hours)
    return issue_notices(
        platform,
        ctx,
        area=AREA,
        kind="nyujoken",
        title=f"{e.name} 投票所入場券",
        notices=notices,
        sort_by="district",
        per_file=per_file,
        out_dir=out_dir,
        today=today,
        progress=progress,
        engine=documents.engine(),
        template="ticket",
    )


def tickets_job(
    *,
    progress: Any,
    data_dir: str,
    node: str,
    database_url: str | None,
    ctx: RequestContext,
    election_code: str,
    per_household: bool,
    out_dir: str,
    today: date,
) -> dict[str, Any]:
    """The child process's entry (``core.jobs.run_in_child``) of an 入場券 run started from
    the election page: its own platform handle on the same data directory."""
    platform = Platform(Path(data_dir), node=node, database_url=database_url)
    try:
        result = issue_tickets(
            platform,
            ctx,
            election_code=election_code,
            per_household=per_household,
            out_dir=Path(out_dir),
            today=today,
            progress=lambda done, total: progress({"done": done, "total": total}),
        )
        return {"run": result.code, "printed": result.printed, "files": len(result.files)}
    finally:
        platform.dispose()
