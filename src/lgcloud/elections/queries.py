"""選挙人名簿管理 reads: the register as the rules read it, the roll with names and addresses
from the register, the polling table, turnout. Each takes a town handle (a
``Platform.read_town`` transaction off the counter's write path)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, true

from lgcloud.core.clock import JST
from lgcloud.core.errors import NotFoundError
from lgcloud.elections.domain import Candidate
from lgcloud.elections.models import (
    Checkin,
    Election,
    Elector,
    PollingArea,
    PollingDistrict,
    PollingStation,
)
from lgcloud.register.domain import EventKind, Status
from lgcloud.register.models import LifeEventRecord, PersonVersion
from lgcloud.tenancy.platform import Town

#: the events that begin a residence here (the 住民票 is made by them)
_ENTRIES = (
    EventKind.BIRTH,
    EventKind.DOMESTIC_MOVE_IN,
    EventKind.FOREIGN_MOVE_IN,
    EventKind.EX_OFFICIO_ENTRY,
    EventKind.INITIAL_LOAD,
)


def register_position(town: Town) -> int:
    """The register's last life event (a run previewed at one position is fixed at it)."""
    return town.session.scalar(select(func.max(LifeEventRecord.id))) or 0


def candidates(town: Town, numbers: list[str] | None = None) -> list[Candidate]:
    """Every current resident (or those of ``numbers``) as the registration rules read
    them: two queries, whatever the town's size (the current versions, and the notification
    day of the event that began each one's residence)."""
    entries = select(
        PersonVersion.addressee_number, PersonVersion.version_no, PersonVersion.notified_on
    ).where(PersonVersion.last_event.in_([str(k) for k in _ENTRIES]))
    current = select(
        PersonVersion.addressee_number,
        PersonVersion.birth_date,
        PersonVersion.nationality,
        PersonVersion.resident_since,
        PersonVersion.district,
        PersonVersion.address,
    ).where(PersonVersion.is_current == true(), PersonVersion.status == Status.RESIDENT)
    if numbers is not None:
        entries = entries.where(PersonVersion.addressee_number.in_(numbers))
        current = current.where(PersonVersion.addressee_number.in_(numbers))
    entry_notified: dict[str, tuple[int, date | None]] = {}
    for number, version_no, notified in town.session.execute(entries):
        seen = entry_notified.get(number)
        if seen is None or version_no > seen[0]:
            entry_notified[number] = (version_no, notified)
    out = []
    for row in town.session.execute(current):
        notified = entry_notified.get(row.addressee_number, (0, None))[1]
        since = row.resident_since
        out.append(
            Candidate(
                addressee_number=row.addressee_number,
                birth_date=row.birth_date,
                is_resident=True,
                is_japanese=row.nationality is None,
                # a notification before the residence began is not possible; one recorded
                # later than the move is the day the 住民票 was made (第21条第1項)
                recorded_since=max(since, notified) if notified else since,
                district=row.district,
                address=row.address,
            )
        )
    return out


def polling_table(town: Town) -> dict[str, str]:
    return dict(
        town.session.execute(select(PollingArea.area, PollingArea.polling_code)).tuples().all()
    )


def polling_districts(town: Town) -> list[PollingDistrict]:
    return list(town.session.scalars(select(PollingDistrict).order_by(PollingDistrict.code)))


def active_electors(town: Town) -> dict[str, Elector]:
    """Everyone on the roll (not struck off), by 宛名番号."""
    return {
        e.addressee_number: e
        for e in town.session.scalars(select(Elector).where(Elector.struck_on.is_(None)))
    }


def elector_of(town: Town, addressee_number: str) -> Elector | None:
    return town.session.scalar(
        select(Elector).where(
            Elector.addressee_number == addressee_number, Elector.struck_on.is_(None)
        )
    )


def elector_by_number(town: Town, elector_number: str) -> Elector:
    e = town.session.scalar(select(Elector).where(Elector.elector_number == elector_number))
    if e is None:
        raise NotFoundError(f"名簿番号 {elector_number} は名簿にありません")
    return e


def election(town: Town, code: str) -> Election:
    e = town.session.scalar(select(Election).where(Election.code == code))
    if e is None:
        raise NotFoundError(f"選挙 {code} はありません")
    return e


def elections(town: Town) -> list[Election]:
    return list(town.session.scalars(select(Election).order_by(Election.polling_day.desc())))


def station(town: Town, election_id: int, code: str) -> PollingStation:
    s = town.session.scalar(
        select(PollingStation).where(
            PollingStation.election_id == election_id, PollingStation.code == code
        )
    )
    if s is None:
        raise NotFoundError(f"投票所 {code} はこの選挙にありません")
    return s


def stations(town: Town, election_id: int) -> list[PollingStation]:
    return list(
        town.session.scalars(
            select(PollingStation)
            .where(PollingStation.election_id == election_id)
            .order_by(PollingStation.code)
        )
    )


def checkin_of(town: Town, election_id: int, addressee_number: str) -> Checkin | None:
    return town.session.scalar(
        select(Checkin).where(
            Checkin.election_id == election_id, Checkin.addressee_number == addressee_number
        )
    )


def roll_counts(town: Town) -> tuple[dict[str, int], int]:
    """Electors on the roll per 投票区, and how many of them are marked (転出表示): one
    grouped query, not the roll itself (the overview page shows these on every visit)."""
    counts: dict[str, int] = {}
    marked = 0
    for code, is_marked, n in town.session.execute(
        select(Elector.polling_code, Elector.marked_on.is_not(None), func.count())
        .where(Elector.struck_on.is_(None))
        .group_by(Elector.polling_code, Elector.marked_on.is_not(None))
    ):
        counts[code] = counts.get(code, 0) + n
        marked += n if is_marked else 0
    return counts, marked


@dataclass(frozen=True)
class RollEntry:
    """One line of the roll: the 名簿番号 and 投票区 with the register's name and address."""

    elector_number: str
    addressee_number: str
    polling_code: str
    name: str
    kana: str
    birth_date: date
    sex: int
    address: str
    postal_code: str
    district: str
    household_number: str
    registered_on: date
    marked_on: date | None
    mark_reason: str | None


def roll(town: Town, polling_code: str | None = None) -> list[RollEntry]:
    """The roll (not struck off), in the order it is printed: 投票区, then address and
    household (a household's voters together), then 名簿番号."""
    q = (
        select(
            Elector.elector_number,
            Elector.addressee_number,
            Elector.polling_code,
            PersonVersion.name,
            PersonVersion.kana,
            PersonVersion.birth_date,
            PersonVersion.sex,
            PersonVersion.address,
            PersonVersion.postal_code,
            PersonVersion.district,
            PersonVersion.household_number,
            Elector.registered_on,
            Elector.marked_on,
            Elector.mark_reason,
        )
        .join(
            PersonVersion,
            (PersonVersion.addressee_number == Elector.addressee_number)
            & (PersonVersion.is_current == true()),
        )
        .where(Elector.struck_on.is_(None))
    )
    if polling_code is not None:
        q = q.where(Elector.polling_code == polling_code)
    rows = [RollEntry(*r) for r in town.session.execute(q)]
    rows.sort(key=lambda r: (r.polling_code, r.address, r.household_number, r.elector_number))
    return rows


@dataclass(frozen=True)
class Turnout:
    polling_code: str
    electors: int
    voted: int
    #: hour of the day (JST) → check-ins in that hour, 期日前 counted under hour -1
    by_hour: dict[int, int]

    @property
    def rate(self) -> float:
        return self.voted / self.electors if self.electors else 0.0


def turnout(town: Town, e: Election) -> list[Turnout]:
    """投票者数 per 投票区 and hour of 選挙期日 (期日前 votes as their own column)."""
    electors = Counter(
        dict(
            town.session.execute(
                select(Elector.polling_code, func.count())
                .where(Elector.struck_on.is_(None))
                .group_by(Elector.polling_code)
            )
            .tuples()
            .all()
        )
    )
    by: dict[str, Counter[int]] = defaultdict(Counter)
    for code, kind, at in town.session.execute(
        select(Checkin.polling_code, Checkin.kind, Checkin.checked_at).where(
            Checkin.election_id == e.id
        )
    ):
        hour = -1 if kind == "early" else _jst(at).hour
        by[code][hour] += 1
    codes = sorted(set(electors) | set(by))
    return [
        Turnout(code, electors.get(code, 0), sum(by[code].values()), dict(sorted(by[code].items())))
        for code in codes
    ]


def _jst(at: datetime) -> datetime:
    return at.astimezone(JST)


def recent_checkins(town: Town, election_id: int, station: str, *, limit: int) -> list[Checkin]:
    """A station's last check-ins, newest first (the 受付 page lists them)."""
    return list(
        town.session.scalars(
            select(Checkin)
            .where(Checkin.election_id == election_id, Checkin.station == station)
            .order_by(Checkin.id.desc())
            .limit(limit)
        )
    )
