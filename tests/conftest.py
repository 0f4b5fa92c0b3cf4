"""Shared fixtures: real SQLite town databases built by the real migrations, in tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, func, select

from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.core.context import Actor, RequestContext
from lgcloud.db.pgserver import PgServer, PostgresMissingError, throwaway_server
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import (
    AddressIn,
    Birth,
    EventKind,
    MoveIn,
    MoveWithin,
    NewPerson,
    PersonState,
    Sex,
    Status,
)
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform

# CI machines are small and noisy: a property is about correctness, never about time
# (timings live in bench/), so no per-example deadline.
settings.register_profile(
    "lgcloud", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("lgcloud")

TOWN_A = "153079"  # 聖籠町
TOWN_B = "154059"  # 出雲崎町
TODAY = date(2026, 11, 23)


#: which engine the centre's platforms of the tests run on: "sqlite" (files, the default)
#: or "postgresql" (a server started by the suite; ./scripts/test runs both)
TEST_ENGINE = os.environ.get("LGCLOUD_TEST_ENGINE", "sqlite")
_centre_server: list[PgServer] = []  # the suite's server when TEST_ENGINE is postgresql
_databases = iter(range(1, 10**9))


def make_platform(data_dir: Path, **kw: Any) -> Platform:
    """A centre's platform on the suite's engine: SQLite files in ``data_dir``, or a fresh
    PostgreSQL database (and one per town onboarded) on the suite's server, each copied
    from a template already migrated to head."""
    if TEST_ENGINE != "postgresql":
        return Platform(data_dir, **kw)
    if not _centre_server:
        pytest.fail("the PostgreSQL test server is not running (pg_centre fixture)")
    from lgcloud.db.engine import create_server_database  # noqa: PLC0415

    url = create_server_database(
        _centre_server[0].admin_url, f"c{os.getpid()}_{next(_databases)}", template="tpl_platform"
    )
    return Platform(data_dir, database_url=url, town_template="tpl_town", **kw)


@pytest.fixture(scope="session", autouse=TEST_ENGINE == "postgresql")
def pg_centre(request: pytest.FixtureRequest) -> None:
    """With LGCLOUD_TEST_ENGINE=postgresql: start the suite's server for every centre, with
    the platform's and a town's schema migrated once into template databases."""
    if TEST_ENGINE != "postgresql":
        return
    from lgcloud.db import migrate  # noqa: PLC0415
    from lgcloud.db.engine import make_engine  # noqa: PLC0415

    server: PgServer = request.getfixturevalue("pg_server")
    for schema in ("platform", "town"):
        engine = make_engine(server.create_database(f"tpl_{schema}"))
        migrate.upgrade(engine, schema)
        engine.dispose()
    _centre_server.append(server)


BATCH_COMMANDS: list[str] = []  # the CLI's batch commands run in this process (recorded)


@pytest.fixture(autouse=True)
def batch_priority_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch command (``lgcloud export`` …) lowers its process's priority; invoked in the
    test process (CliRunner) it would lower the whole suite's, for good: recorded instead."""
    import lgcloud.certificates.cli  # noqa: PLC0415
    import lgcloud.core.jobs  # noqa: PLC0415
    import lgcloud.interchange.cli  # noqa: PLC0415

    def record() -> None:
        BATCH_COMMANDS.append("as_batch")

    # where the commands look it up (a module-level import binds its own name)
    monkeypatch.setattr(lgcloud.core.jobs, "as_batch", record)
    monkeypatch.setattr(lgcloud.interchange.cli, "as_batch", record)
    monkeypatch.setattr(lgcloud.certificates.cli, "as_batch", record)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform with two empty towns (on the suite's engine)."""
    p = make_platform(tmp_path / "data")
    onboard_town(p, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(p, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    yield p
    p.dispose()


def town_file(platform: Platform, code: str) -> Path:
    """The SQLite file of a town hosted with the default layout."""
    return platform.data_dir / "towns" / f"{code}.sqlite"


def add_clerks(
    platform: Platform,
    code: str,
    clerks: Mapping[str, Iterable[Role]],
    password: str,
    *,
    pins: Mapping[str, str] | str | None = None,
    surname: str = "試験",
) -> None:
    """Create ``staff number → roles`` in town ``code``, each named ``<surname>　<staff>``
    with ``password`` and a PIN (one for all, or per staff number) for quick switching."""
    for staff, roles in clerks.items():
        with platform.town(code) as town:  # one each: argon2 runs before the write lock
            create_clerk(
                town,
                RequestContext(code, Actor(None, "setup", "")),
                staff_number=staff,
                name=f"{surname}\u3000{staff}",
                roles=set(roles),
                password=password,
                pin=pins.get(staff) if isinstance(pins, Mapping) else pins,
            )


def page_client(app: Any, staff: str, password: str, town: str = TOWN_A) -> Any:
    """A browser-like client of ``app`` logged in on the login page as ``staff`` (the session
    cookie kept; redirects not followed, so a test sees each 303)."""
    from fastapi.testclient import TestClient  # noqa: PLC0415

    c = TestClient(app, follow_redirects=False)
    r = c.post("/login", data={"town_code": town, "staff_number": staff, "password": password})
    assert r.status_code == 303, r.text
    return c


#: a wife's name with an Ideographic Variation Sequence (葛 + U+E0102)
FAMILY_WIFE = "葛\U000e0102西\u3000花子"


def record_family(platform: Platform, code: str, surname: str) -> dict[str, str]:
    """Three life events of one family: a couple moves in (the wife's name has an IVS), a
    son is born, and all three move within the town. Returns 宛名番号 by role and the
    世帯番号 ("head", "wife", "child", "household")."""
    ctx = make_ctx(code)
    with platform.town(code) as town:
        moved_in = record_event(
            town,
            ctx,
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2015, 4, 1),
                persons=[
                    NewPerson(
                        name=f"{surname}\u3000太郎",
                        kana="タカハシ\u3000タロウ",
                        birth_date=date(1980, 1, 2),
                        sex=Sex.MALE,
                        relationship="世帯主",
                    ),
                    NewPerson(
                        name=FAMILY_WIFE,
                        kana="カサイ\u3000ハナコ",
                        birth_date=date(1982, 3, 4),
                        sex=Sex.FEMALE,
                        relationship="妻",
                    ),
                ],
                address=AddressIn(address="大字諏訪山1番地", district="諏訪山"),
                previous_address="新潟県新潟市北区葛塚1番1号",
            ),
            today=TODAY,
        )
    household = moved_in.new_households[0]
    head, wife = moved_in.subjects
    with platform.town(code) as town:
        born = record_event(
            town,
            ctx,
            Birth(
                effective_date=date(2018, 5, 5),
                household_number=household,
                person=NewPerson(
                    name=f"{surname}\u3000一郎",
                    kana="タカハシ\u3000イチロウ",
                    birth_date=date(2018, 5, 5),
                    sex=Sex.MALE,
                    relationship="子",
                ),
            ),
            today=TODAY,
        )
        record_event(
            town,
            ctx,
            MoveWithin(
                effective_date=date(2020, 6, 1),
                members=[head, wife, born.subjects[0]],
                address=AddressIn(address="大字亀塚2番地", district="亀塚"),
            ),
            today=TODAY,
        )
    return {"head": head, "wife": wife, "child": born.subjects[0], "household": household}


def person_state(number: str = "0000000019", **values: Any) -> PersonState:
    """A resident's register record for the pure rules' tests (a head of household at
    大字諏訪山1番地 since 2000, born 1980); ``values`` replace any field."""
    day = date(2000, 1, 1)
    base = PersonState(
        addressee_number=number,
        status=Status.RESIDENT,
        name="試験\u3000太郎",
        kana="",
        birth_date=date(1980, 1, 1),
        sex=Sex.MALE,
        resident_code=None,
        household_number="0000000027",
        relationship="世帯主",
        address="大字諏訪山1番地",
        address_detail="",
        postal_code="",
        district="諏訪山",
        resident_since=day,
        settled_on=day,
        notified_on=None,
        last_event=EventKind.INITIAL_LOAD,
        valid_from=day,
    )
    return replace(base, **values)


def move_in_one(
    platform: Platform,
    town: str,
    name: str,
    *,
    resident_code: str | None = None,
    address: str = "大字東港1番地",
) -> str:
    """One person moving into a household of their own (as its head); their 宛名番号."""
    return move_in_result(
        platform, town, name, resident_code=resident_code, address=address
    ).subjects[0]


def move_in_result(
    platform: Platform,
    town: str,
    name: str,
    *,
    resident_code: str | None = None,
    address: str = "大字東港1番地",
) -> Any:
    """:func:`move_in_one`'s event, with what ``record_event`` answered (``EventResult``)."""
    from lgcloud.register.domain import (  # noqa: PLC0415
        HEAD,
        AddressIn,
        EventKind,
        MoveIn,
        NewPerson,
        Sex,
    )
    from lgcloud.register.service import record_event  # noqa: PLC0415

    with platform.town(town) as t:
        return record_event(
            t,
            make_ctx(town),
            MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN,
                effective_date=date(2020, 4, 1),
                previous_address="新潟県新潟市中央区1番地",
                address=AddressIn(address=address),
                persons=[
                    NewPerson(
                        name=name,
                        birth_date=date(1960, 1, 1),
                        sex=Sex.MALE,
                        relationship=HEAD,
                        resident_code=resident_code,
                    )
                ],
            ),
            today=TODAY,
        )


def one_resident_csv(path: Path, **values: str) -> Path:
    """A residents.csv of one current resident (a household's head), written with the csv
    module (not the project's export); ``values`` override columns by their Japanese name."""
    import csv  # noqa: PLC0415

    from lgcloud.interchange.residents import COLUMNS  # noqa: PLC0415

    row = dict.fromkeys(COLUMNS, "")
    row |= {
        "宛名番号": "0000000011",
        "世帯番号": "0000000501",
        "漢字氏名": "鈴木\u3000一",
        "生年月日": "1960-01-01",
        "性別": "1",
        "続柄": "世帯主",
        "住所": "大字諏訪山1番地",
        "住民日": "2000-04-01",
        "住定日": "2000-04-01",
    } | values
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\r\n")
        w.writeheader()
        w.writerow(row)
    return path


def follow_journal(engine: Engine, replica: Path, town: str, keys_dir: Path) -> None:
    """Bring the SQLite copy ``replica`` of ``town`` up to date with ``engine``'s journal,
    three entries per signed, encrypted batch, as a node following the centre would."""
    from lgcloud.continuity import keys  # noqa: PLC0415
    from lgcloud.continuity.replica import apply_batch, make_batch  # noqa: PLC0415
    from lgcloud.db.engine import make_engine, sqlite_url  # noqa: PLC0415
    from lgcloud.trail.models import JournalEntry  # noqa: PLC0415

    signer = keys.load_or_create_signing_key(keys_dir / "centre.pem")
    key = keys.new_recovery_key()
    target = make_engine(sqlite_url(str(replica)))
    with target.connect() as conn:
        position = conn.scalar(select(func.max(JournalEntry.seq))) or 0
    while batch := make_batch(
        engine,
        town=town,
        after_seq=position,
        recipients=keys.recipients_of([key.recipient]),
        signer=signer,
        max_entries=3,
    ):
        position = apply_batch(
            target,
            batch,
            town=town,
            centre_public_b64=signer.public_b64,
            identities=[keys.identity_from_text(key.identity)],
        ).position
    target.dispose()


def make_ctx(
    town: str = TOWN_A, clerk_id: int | None = 1, name: str = "試験 職員", staff: str = "T001"
) -> RequestContext:
    return RequestContext(town, Actor(clerk_id, name, staff))


@pytest.fixture
def ctx() -> RequestContext:
    return make_ctx()


# ---------------------------------------------------------------- a real PostgreSQL server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server on a private socket, started and stopped by the tests."""
    try:
        with throwaway_server() as server:
            yield server
    except PostgresMissingError as e:
        pytest.fail(str(e))


def run_export(client: Any, what: str, encoding: str = "utf-8") -> Any:
    """Start an export job on 取り込みと出力 (``POST /interchange/exports``), poll its page
    until it ends, and return the download's response (or the job page's, if it failed or
    was refused: its status is then not 200 or its phase not done)."""
    import re  # noqa: PLC0415
    import time  # noqa: PLC0415

    r = client.post(
        "/interchange/exports",
        data={"what": what, "encoding": encoding},
        follow_redirects=False,
    )
    if r.status_code != 303:
        return r
    url = r.headers["location"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = client.get(url, headers={"HX-Request": "true", "HX-Target": "export-job"})
        phase = re.search(r'data-phase="(\w+)"', page.text)
        if phase is not None and phase.group(1) not in ("queued", "running"):
            if phase.group(1) != "done":
                return page
            return client.get(url + "/download")
        time.sleep(0.1)
    raise AssertionError(f"export {url} did not end")


def as_json(value: Any) -> Any:
    """A JSON column read with raw SQL: text on SQLite, already decoded on PostgreSQL."""
    import json  # noqa: PLC0415

    return json.loads(value) if isinstance(value, str | bytes) else value


def cli_env(platform: Platform) -> dict[str, str]:
    """The environment for the ``lgcloud`` command on the same centre as ``platform``
    (its PostgreSQL database, when the suite runs on PostgreSQL)."""
    return {"LGCLOUD_DATABASE_URL": platform.database_url} if platform.database_url else {}


def start_lgcloud(
    args: list[str],
    log: Path,
    url: str,
    *,
    env: Mapping[str, str] | None = None,
    own_group: bool = False,
) -> subprocess.Popen[bytes]:
    """``python -m lgcloud <args>`` (a server), its output appended to ``log``, returned
    once ``url``/health answers. ``own_group``: in a process group of its own, so its
    worker processes can be stopped with it (``os.killpg``)."""
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    with log.open("ab") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lgcloud", *args],
            stdout=f,
            stderr=f,
            env=dict(env if env is not None else os.environ),
            start_new_session=own_group,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    if own_group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()
    raise AssertionError(f"{args[0]} did not start: {log.read_text()[-2000:]}")


def png_impression(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small PNG: a seal impression for 印鑑登録 in the tests."""
    import io  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415

    out = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(out, format="PNG")
    return out.getvalue()
