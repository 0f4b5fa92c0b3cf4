"""選挙人名簿管理 tables in a town's database. An elector row holds only what the roll adds
to the register (名簿番号, 投票区, 登録日, 表示, 抹消): names and addresses are read from the
register, so a correction there is on the roll at once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lgcloud.db.base import TownBase, UTCDateTime


class PollingDistrict(TownBase):
    """投票区 and its 投票所 (公職選挙法 第17条・第18条)."""

    __tablename__ = "election_polling_districts"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    place: Mapped[str] = mapped_column(String(120), default="")  # 投票所


class PollingArea(TownBase):
    """One row of the town's table 行政区 or 字 (an address prefix) → 投票区."""

    __tablename__ = "election_polling_areas"
    area: Mapped[str] = mapped_column(String(80), primary_key=True)
    polling_code: Mapped[str] = mapped_column(ForeignKey("election_polling_districts.code"))


class Elector(TownBase):
    """A registration on the 選挙人名簿 (one per person; a struck-off row stays as history)."""

    __tablename__ = "electors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    elector_number: Mapped[str] = mapped_column(String(10), unique=True)  # 名簿番号
    addressee_number: Mapped[str] = mapped_column(ForeignKey("persons.addressee_number"))
    polling_code: Mapped[str] = mapped_column(String(8))
    registered_on: Mapped[date] = mapped_column(Date)  # 登録日
    run_code: Mapped[str] = mapped_column(String(16))
    marked_on: Mapped[date | None] = mapped_column(Date)  # 表示 (第27条第1項)
    mark_reason: Mapped[str | None] = mapped_column(String(40))
    struck_on: Mapped[date | None] = mapped_column(Date)  # 抹消 (第28条)
    strike_reason: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        Index("ix_electors_person", "addressee_number", "struck_on"),
        Index("ix_electors_polling", "polling_code"),
    )


class Election(TownBase):
    """An election the town's 選管 runs (its 選挙時登録, its polling stations, its check-ins)."""

    __tablename__ = "elections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    national: Mapped[bool] = mapped_column(Boolean)  # 国政選挙 (else 地方選挙)
    polling_day: Mapped[date] = mapped_column(Date)  # 選挙期日
    reference_date: Mapped[date] = mapped_column(Date)  # 選挙時登録の基準日
    registration_date: Mapped[date] = mapped_column(Date)  # 選挙時登録の登録日
    early_from: Mapped[date] = mapped_column(Date)  # 期日前投票の初日
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PollingStation(TownBase):
    """A place where voters are checked in for one election; ``polling_codes`` empty means
    every 投票区 (a 期日前投票所)."""

    __tablename__ = "election_stations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    polling_codes: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("election_id", "code"),)


class RegistrationRun(TownBase):
    """A 定時登録 or 選挙時登録: previewed (the plan stored), then fixed or discarded."""

    __tablename__ = "election_registration_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # regular | election
    election_id: Mapped[int | None] = mapped_column(ForeignKey("elections.id"))
    reference_date: Mapped[date] = mapped_column(Date)
    registration_date: Mapped[date] = mapped_column(Date)
    age_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # previewed | fixed | discarded
    #: the register's last life event when previewed: fixing refuses if it moved since
    register_position: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    previewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    previewed_by: Mapped[str] = mapped_column(String(80))
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fixed_by: Mapped[str | None] = mapped_column(String(80))


class Checkin(TownBase):
    """投票の受付: one per voter and election, enforced by the database (two stations
    checking in the same voter at once: exactly one insert succeeds)."""

    __tablename__ = "election_checkins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"))
    addressee_number: Mapped[str] = mapped_column(String(10))
    elector_number: Mapped[str] = mapped_column(String(10))
    polling_code: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))  # early | election_day
    station: Mapped[str] = mapped_column(String(80))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clerk_name: Mapped[str] = mapped_column(String(80))
    node: Mapped[str] = mapped_column(String(40), default="")

    __table_args__ = (
        UniqueConstraint("election_id", "addressee_number"),
        Index("ix_election_checkins_time", "election_id", "checked_at"),
    )


class Inspection(TownBase):
    """選挙人名簿抄本の閲覧: the application, its purpose and who viewed."""

    __tablename__ = "election_inspections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    applied_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(30))
    applicant: Mapped[str] = mapped_column(String(120))
    viewers: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    polling_code: Mapped[str] = mapped_column(String(8))
    clerk_name: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JurorDraw(TownBase):
    """裁判員候補者予定者 drawn from the roll: the seed and the result, so it can be redrawn."""

    __tablename__ = "election_juror_draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    roll_size: Mapped[int] = mapped_column(Integer)
    drawn: Mapped[list[str]] = mapped_column(JSON)  # 名簿番号
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clerk_name: Mapped[str] = mapped_column(String(80))
