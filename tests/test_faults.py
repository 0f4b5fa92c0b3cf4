"""Fault test: a writer killed mid-write (SIGKILL) leaves no partial event behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import TOWN_A
from lgcloud.audit import service as audit_service
from lgcloud.register.domain import HEAD
from lgcloud.register.models import LifeEventRecord, PersonVersion
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path
    from lgcloud.core.context import Actor, RequestContext
    from lgcloud.register.domain import AddressIn, EventKind, MoveIn, NewPerson, Sex
    from lgcloud.register.service import record_event
    from lgcloud.tenancy.platform import Platform

    platform = Platform(Path(sys.argv[1]))
    ctx = RequestContext(sys.argv[2], Actor(1, "writer", "W1"))
    i = 0
    while True:
        i += 1
        with platform.town(sys.argv[2]) as town:
            record_event(town, ctx, MoveIn(
                kind=EventKind.DOMESTIC_MOVE_IN, effective_date=date(2020, 1, 1),
                persons=[NewPerson(name=f"試験\\u3000{i}郎", kana="シケン",
                                   birth_date=date(1990, 1, 1), sex=Sex.MALE,
                                   relationship="世帯主"),
                         NewPerson(name=f"試験\\u3000{i}子", kana="シケン",
                                   birth_date=date(1991, 1, 1), sex=Sex.FEMALE, relationship="妻")],
                address=AddressIn(address=f"大字試験{i}番地"), previous_address="新潟県新潟市",
            ), today=date(2026, 11, 23))
        if i == 1:
            print("started", flush=True)
    """
)


def test_killed_writer_leaves_consistent_town(platform: Platform, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    for kill_after in (0.3, 0.7, 1.1):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(platform.data_dir), TOWN_A],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"started"
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()

    with platform.town(TOWN_A) as town:
        s = town.session
        events = s.scalar(select(func.count()).select_from(LifeEventRecord))
        assert events is not None
        assert events > 3
        # every event is complete: two people, one head, one audit and one journal entry each
        current = list(
            s.execute(select(PersonVersion.household_number, PersonVersion.relationship))
        )
        assert len(current) == 2 * events
        heads = [h for h, rel in current if rel == HEAD]
        assert len(heads) == events == len(set(heads))
        report = audit_service.verify(s)
        assert report.ok, report.problems
        assert report.entries == events
        seqs = list(s.scalars(select(JournalEntry.seq).order_by(JournalEntry.seq)))
        assert seqs == list(range(1, events + 1))
    rc = subprocess.run(
        [
            "sqlite3",
            str(platform.data_dir / "towns" / f"{TOWN_A}.sqlite"),
            "PRAGMA integrity_check",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert rc.stdout.strip() == "ok"
