"""The audit trail on a real town database: tampering is detected and located, and the
investigation questions (who viewed this person, what did this clerk do) are answered.

Tampering is done the way an intruder with write access to the database file would: raw
SQL, or Core statements that recompute a forged entry's own hash with the real hash
function (so only the chain, not the entry itself, can give it away).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from typer.testing import CliRunner

from conftest import TODAY, TOWN_A, TOWN_B, cli_env, make_ctx
from lgcloud.audit import service as audit_service
from lgcloud.audit.chain import GENESIS_HASH, HASHED_FIELDS, ChainReport, entry_hash, verify_chain
from lgcloud.audit.models import AuditEntry, AuditHead
from lgcloud.cli import app
from lgcloud.core.context import RequestContext
from lgcloud.register.domain import (
    HEAD,
    AddressIn,
    Birth,
    Correction,
    CorrectionFields,
    EventKind,
    MoveIn,
    NewPerson,
    Sex,
)
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import finish_write

ENTRIES = AuditEntry.__table__
CLERK_A = make_ctx(clerk_id=1, name="住民 一子", staff="T001")
CLERK_B = make_ctx(clerk_id=2, name="窓口 二郎", staff="T002")


@dataclass
class AuditedTown:
    platform: Platform
    people: list[str]
    viewed: str  # the person clerk B viewed
    view_seqs: list[int]  # seqs of clerk B's entries
    total: int

    def verify(self) -> ChainReport:
        with self.platform.town(TOWN_A) as town:
            return audit_service.verify(town.session)

    def rows(self) -> list[dict[str, Any]]:
        """Audit rows with Python values (JSON decoded, aware datetimes), in chain order."""
        with self.platform.town(TOWN_A) as town:
            result = town.session.execute(select(ENTRIES).order_by(ENTRIES.c.seq, ENTRIES.c.id))
            return [dict(r._mapping) for r in result]

    def row(self, seq: int) -> dict[str, Any]:
        (found,) = [r for r in self.rows() if r["seq"] == seq]
        return found

    def raw(self, sql: str, **params: Any) -> None:
        with self.platform.town(TOWN_A) as town:
            town.session.execute(text(sql), params)


def rehash(row: dict[str, Any]) -> str:
    return entry_hash({name: row[name] for name in HASHED_FIELDS})


def forged(after: dict[str, Any], seq: int) -> dict[str, Any]:
    """An entry that looks like clerk B read someone's record, linked after ``after``."""
    fields = {name: after[name] for name in HASHED_FIELDS}
    fields.update(
        seq=seq,
        clerk_id=2,
        clerk_name="窓口 二郎",
        staff_number="T002",
        action="view_person",
        subjects=["0000000019"],
        purpose="偽装",
        detail={},
        prev_hash=after["entry_hash"],
    )
    return {**fields, "entry_hash": entry_hash(fields)}


def first(report: ChainReport) -> tuple[str, int, int | None]:
    assert not report.ok
    p = report.problems[0]
    return p.kind, p.position, p.seq


@pytest.fixture
def audited(platform: Platform) -> AuditedTown:
    """About twenty audited actions by two clerks: life events by A, views and searches by B."""
    people: list[str] = []
    view_seqs: list[int] = []
    for i in range(6):
        with platform.town(TOWN_A) as town:
            r = record_event(
                town,
                CLERK_A,
                MoveIn(
                    kind=EventKind.DOMESTIC_MOVE_IN,
                    effective_date=date(2020, 1, 1 + i),
                    previous_address="新潟県新潟市",
                    address=AddressIn(address=f"聖籠町大字蓮野{i + 1}番地"),
                    persons=[
                        NewPerson(
                            name=f"監査\u3000{i}郎",
                            birth_date=date(1970 + i, 1, 1),
                            sex=Sex.MALE,
                            relationship=HEAD,
                        ),
                        NewPerson(
                            name=f"監査\u3000{i}子",
                            birth_date=date(1972 + i, 1, 1),
                            sex=Sex.FEMALE,
                            relationship="妻",
                        ),
                    ],
                ),
                today=TODAY,
            )
            people += r.subjects
            if i == 0:
                household = r.new_households[0]
    viewed = people[0]
    for i in range(6):  # B views a few people, twice the same one
        with platform.town(TOWN_A) as town:
            who = viewed if i in (1, 4) else people[i + 2]
            ctx = RequestContext(TOWN_A, CLERK_B.actor, purpose="窓口での本人確認")
            view_seqs.append(finish_write(town.session, ctx, "view_person", subjects=[who]).seq)
    with platform.town(TOWN_A) as town:
        entry = finish_write(
            town.session, CLERK_B, "search", subjects=people[:4], detail={"query": "監査"}
        )
        view_seqs.append(entry.seq)
    for i in range(4):
        with platform.town(TOWN_A) as town:
            record_event(
                town,
                CLERK_A,
                Correction(
                    effective_date=date(2021, 1, 1 + i),
                    member=people[2 * i + 1],
                    fields=CorrectionFields(kana=f"カンサ {i}コ"),
                    reason="読み仮名の追加",
                ),
                today=TODAY,
            )
    born = date(2022, 5, 5)
    with platform.town(TOWN_A) as town:
        (baby,) = record_event(
            town,
            CLERK_A,
            Birth(
                effective_date=born,
                household_number=household,
                person=NewPerson(
                    name="監査\u3000太郎", birth_date=born, sex=Sex.MALE, relationship="子"
                ),
            ),
            today=TODAY,
        ).subjects
    people.append(baby)
    with platform.town(TOWN_A) as town:
        view_seqs.append(finish_write(town.session, CLERK_B, "view_person", subjects=[viewed]).seq)
    with platform.town(TOWN_A) as town:
        total = town.session.scalar(select(AuditHead.seq))
    assert total == 6 + 6 + 1 + 4 + 1 + 1
    town = AuditedTown(platform, people, viewed, view_seqs, total)
    assert town.verify().ok
    return town


# ------------------------------------------------------------------------------ intact


def test_intact_chain_verifies(audited: AuditedTown) -> None:
    report = audited.verify()
    assert report.ok
    assert report.problems == ()
    assert report.entries == audited.total == report.head_seq
    rows = audited.rows()
    assert [r["seq"] for r in rows] == list(range(1, audited.total + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for prev, row in pairwise(rows):
        assert row["prev_hash"] == prev["entry_hash"]
    for row in rows:
        assert rehash(row) == row["entry_hash"]
    assert report.head_hash == rows[-1]["entry_hash"]


def test_chains_are_per_town(audited: AuditedTown) -> None:
    with audited.platform.town(TOWN_B) as town:
        report = audit_service.verify(town.session)
        assert report.ok
        assert report.entries == 0
        finish_write(town.session, make_ctx(TOWN_B), "view_person", subjects=["0000000019"])
    with audited.platform.town(TOWN_B) as town:
        report = audit_service.verify(town.session)
    assert report.ok
    assert report.entries == 1
    assert audited.verify().entries == audited.total


def test_empty_chain_verifies() -> None:
    report = verify_chain([], head=None)
    assert report.ok
    assert (report.entries, report.head_seq, report.head_hash) == (0, 0, GENESIS_HASH)


# ---------------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("clerk_name", "別人"),
        ("action", "search"),
        ("subjects", '["0000000027"]'),
        ("detail", '{"query": "監査"}'),
        ("at", "2020-01-01 00:00:00.000000"),
        ("prev_hash", "0" * 64),
    ],
)
def test_edited_entry_is_reported_at_its_seq(audited: AuditedTown, column: str, value: str) -> None:
    audited.raw(f"UPDATE audit_entries SET {column} = :v WHERE seq = 7", v=value)
    report = audited.verify()
    assert first(report) == ("edited", 7, 7)
    # The entries after it still link to its stored hash: nothing else is reported.
    assert len(report.problems) == 1


def test_edited_entry_hash_is_reported(audited: AuditedTown) -> None:
    audited.raw("UPDATE audit_entries SET entry_hash = :h WHERE seq = 7", h="f" * 64)
    assert first(audited.verify()) == ("edited", 7, 7)


def test_deleted_entry_is_reported_at_the_next_seq(audited: AuditedTown) -> None:
    audited.raw("DELETE FROM audit_entries WHERE seq = 7")
    report = audited.verify()
    assert first(report) == ("deleted", 7, 8)
    assert "7〜7" in report.problems[0].message
    assert len(report.problems) == 1


def test_deleted_first_entry_is_reported(audited: AuditedTown) -> None:
    audited.raw("DELETE FROM audit_entries WHERE seq = 1")
    assert first(audited.verify()) == ("deleted", 1, 2)


def test_deleted_last_entry_is_caught_by_the_head(audited: AuditedTown) -> None:
    n = audited.total
    audited.raw("DELETE FROM audit_entries WHERE seq = :n", n=n)
    report = audited.verify()
    assert first(report) == ("deleted", n, n)
    assert report.entries == n - 1
    assert f"{n}〜{n}" in report.problems[0].message


def test_head_mismatch_is_reported(audited: AuditedTown) -> None:
    audited.raw("UPDATE audit_head SET entry_hash = :h", h="a" * 64)
    n = audited.total
    assert first(audited.verify()) == ("head_mismatch", n, n)


def test_forged_duplicate_seq_is_reported_as_inserted(audited: AuditedTown) -> None:
    six = audited.row(6)
    with audited.platform.town(TOWN_A) as town:
        town.session.execute(insert(ENTRIES).values(**forged(six, 7)))
    rows = audited.rows()
    assert [r["seq"] for r in rows[5:9]] == [6, 7, 7, 8]
    report = audited.verify()
    # The forged entry hashes correctly; the duplicate seq gives it away right where it sits.
    assert first(report) == ("inserted", 8, 7)


def test_entry_inserted_by_renumbering_is_reported(audited: AuditedTown) -> None:
    """The intruder shifts entries 7… up by one, re-links and re-hashes them, fixes the head,
    and puts a forged entry at seq 7 after entry 6: only the original entry 7 (now at
    position 8) still points to entry 6, two back."""
    rows = audited.rows()
    six = rows[5]
    fake = forged(six, 7)
    with audited.platform.town(TOWN_A) as town:
        prev_hash = fake["entry_hash"]
        link_to = six["entry_hash"]  # the original entry 7 keeps its link to entry 6
        for row in rows[6:]:
            new = {**row, "seq": row["seq"] + 1, "prev_hash": link_to}
            new["entry_hash"] = rehash(new)
            town.session.execute(
                update(ENTRIES)
                .where(ENTRIES.c.id == row["id"])
                .values(seq=new["seq"], prev_hash=new["prev_hash"], entry_hash=new["entry_hash"])
            )
            link_to = prev_hash = new["entry_hash"]
        town.session.execute(insert(ENTRIES).values(**fake))
        town.session.execute(
            update(AuditHead.__table__).values(seq=audited.total + 1, entry_hash=prev_hash)
        )
    report = audited.verify()
    assert report.entries == audited.total + 1
    assert first(report) == ("inserted", 8, 8)
    assert len(report.problems) == 1
    # The forged entry itself is well formed: hashes match and seqs are contiguous.
    after = audited.rows()
    assert [r["seq"] for r in after] == list(range(1, audited.total + 2))
    assert after[6]["purpose"] == "偽装"
    assert all(rehash(r) == r["entry_hash"] for r in after)


def _swap_7_and_8(audited: AuditedTown, *, rehash_both: bool = True) -> None:
    seven, eight = audited.row(7), audited.row(8)
    with audited.platform.town(TOWN_A) as town:
        for row, seq in ((seven, 8), (eight, 7)):
            new = {**row, "seq": seq}
            digest = rehash(new) if rehash_both or row is eight else row["entry_hash"]
            town.session.execute(
                update(ENTRIES).where(ENTRIES.c.id == row["id"]).values(seq=seq, entry_hash=digest)
            )


def test_swapped_entries_are_detected_at_the_first_of_them(audited: AuditedTown) -> None:
    _swap_7_and_8(audited)
    report = audited.verify()
    _, position, seq = first(report)
    assert (position, seq) == (7, 7)
    assert report.problems[0].kind in {"reordered", "deleted"}


def test_swapped_entries_are_reported_as_reordered(audited: AuditedTown) -> None:
    _swap_7_and_8(audited)
    assert first(audited.verify()) == ("reordered", 7, 7)


def test_reorder_that_keeps_a_stale_hash_is_reported_as_reordered(audited: AuditedTown) -> None:
    # Only the entry moved up is re-hashed: it still points at the old entry 7 (now at 8).
    _swap_7_and_8(audited, rehash_both=False)
    report = audited.verify()
    assert first(report) == ("reordered", 7, 7)
    assert ("edited", 8, 8) in [(p.kind, p.position, p.seq) for p in report.problems]


def test_verification_stops_after_a_few_problems(audited: AuditedTown) -> None:
    audited.raw("UPDATE audit_entries SET clerk_name = '別人'")
    report = audited.verify()
    assert len(report.problems) == 10
    assert [p.seq for p in report.problems] == list(range(1, 11))


# ----------------------------------------------------------------- investigation queries


def test_who_viewed_lists_every_entry_concerning_the_person(audited: AuditedTown) -> None:
    with audited.platform.town(TOWN_A) as town:
        lines = audit_service.who_viewed(town.session, audited.viewed)
    seqs = [x.seq for x in lines]
    assert seqs == sorted(seqs, reverse=True)
    # The move-in (seq 1), B's two views, B's search listing them, B's last view.
    assert seqs == [audited.total, audited.view_seqs[-2], 11, 8, 1]
    assert [(x.action, x.staff_number) for x in lines] == [
        ("view_person", "T002"),
        ("search", "T002"),
        ("view_person", "T002"),
        ("view_person", "T002"),
        ("life_event", "T001"),
    ]
    assert lines[2].purpose == "窓口での本人確認"
    assert all(audited.viewed in x.subjects for x in lines)
    with audited.platform.town(TOWN_A) as town:
        assert audit_service.who_viewed(town.session, "9999999991") == []
        assert [x.seq for x in audit_service.who_viewed(town.session, audited.viewed, limit=2)] == [
            audited.total,
            audited.view_seqs[-2],
        ]


def test_by_clerk_lists_only_that_clerks_entries(audited: AuditedTown) -> None:
    with audited.platform.town(TOWN_A) as town:
        b = audit_service.by_clerk(town.session, "T002")
        a = audit_service.by_clerk(town.session, "T001")
        nobody = audit_service.by_clerk(town.session, "T999")
    assert [x.seq for x in b] == sorted(audited.view_seqs, reverse=True)
    assert {x.clerk_name for x in b} == {"窓口 二郎"}
    assert {x.action for x in b} == {"view_person", "search"}
    assert [x.seq for x in a] == sorted(
        set(range(1, audited.total + 1)) - set(audited.view_seqs), reverse=True
    )
    assert {x.action for x in a} == {"life_event"}
    assert {x.clerk_name for x in a} == {"住民 一子"}
    assert nobody == []


def test_views_are_chained_like_changes(audited: AuditedTown) -> None:
    row = audited.row(audited.view_seqs[0])
    assert row["action"] == "view_person"
    assert row["subjects"] == [audited.people[2]]
    assert row["clerk_id"] == 2
    assert row["town_code"] == TOWN_A


# -------------------------------------------------------------------------------- CLI


def _cli_verify(platform: Platform) -> Any:
    return CliRunner(env=cli_env(platform)).invoke(
        app, ["audit", "verify", "--town", TOWN_A, "--data-dir", str(platform.data_dir)]
    )


def test_cli_verify_exits_zero_on_an_intact_chain(audited: AuditedTown) -> None:
    result = _cli_verify(audited.platform)
    assert result.exit_code == 0, result.output
    assert f"OK: {audited.total} entries" in result.output


def test_cli_verify_exits_one_on_a_tampered_chain(audited: AuditedTown) -> None:
    with audited.platform.town(TOWN_A) as town:
        town.session.execute(delete(ENTRIES).where(ENTRIES.c.seq == 7))
    result = _cli_verify(audited.platform)
    assert result.exit_code == 1, result.output
    assert "deleted" in result.output
    assert "position 7 seq 8" in result.output


def test_cli_verify_exits_one_on_an_edited_entry(audited: AuditedTown) -> None:
    audited.raw("UPDATE audit_entries SET subjects = '[]' WHERE seq = 3")
    result = _cli_verify(audited.platform)
    assert result.exit_code == 1, result.output
    assert "edited" in result.output
    assert "position 3 seq 3" in result.output


def test_tampered_subject_index_is_detected(platform: Platform) -> None:
    """who-viewed reads audit_subjects; verify checks it against the hashed subjects."""
    ctx = make_ctx(TOWN_A)
    with platform.town(TOWN_A) as town:
        finish_write(town.session, ctx, "view_person", subjects=["0000000019"])
        finish_write(town.session, ctx, "view_person", subjects=["0000000027"])
        assert audit_service.verify(town.session).ok
        town.session.execute(
            text("DELETE FROM audit_subjects WHERE addressee_number = '0000000027'")
        )
        report = audit_service.verify(town.session)
    assert not report.ok
    assert [(p.kind, p.seq) for p in report.problems] == [("index_mismatch", 2)]
    with platform.town(TOWN_A) as town:
        assert audit_service.who_viewed(town.session, "0000000027") == []  # what verify caught


def _journal_since(platform: Platform, code: str, seq: int) -> list[Any]:
    from lgcloud.trail.models import JournalEntry  # noqa: PLC0415

    with platform.read_town(code) as town:
        return list(
            town.session.scalars(
                select(JournalEntry).where(JournalEntry.seq > seq).order_by(JournalEntry.seq)
            )
        )


def _images(entry: Any) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c["table"], c["op"], c["row"]) for c in entry.changes]


def test_group_committed_reads_write_what_one_by_one_writes(platform: Platform) -> None:
    """finish_reads (the audit writer's batch) against finish_write once per read: the same
    chain, and per read one journal entry with the head's update to that entry, then the
    entry — on a town's very first entry too, where the head row is inserted."""
    from lgcloud.audit.service import EntryRequest  # noqa: PLC0415
    from lgcloud.trail.journal import finish_reads  # noqa: PLC0415

    ctx = make_ctx(TOWN_A)
    with platform.read_town(TOWN_A) as town:
        assert town.session.get(AuditHead, 1) is None  # no entry yet
    with platform.town(TOWN_A) as town:
        (first,) = finish_reads(town.session, [EntryRequest(ctx, "search", ["0000000019"])])
    (entry,) = _journal_since(platform, TOWN_A, 0)
    assert [(t, op) for t, op, _ in _images(entry)] == [
        ("audit_head", "insert"),
        ("audit_entries", "insert"),
    ]
    with platform.town(TOWN_A) as town:  # one by one, as any write ends
        finish_write(town.session, ctx, "view_person", subjects=["0000000019"])
    with platform.town(TOWN_A) as town:
        reads = [
            EntryRequest(ctx, "search", ["0000000019", "0000000027"], {"query": "タ"}),
            EntryRequest(ctx, "view_person", ["0000000027"]),
            EntryRequest(ctx, "view_person", []),
        ]
        seqs = finish_reads(town.session, reads)
    assert seqs == [first + 2, first + 3, first + 4]
    one_by_one, *batched = _journal_since(platform, TOWN_A, 1)
    assert [e.audit_seq for e in batched] == seqs
    assert [e.seq for e in batched] == [one_by_one.seq + 1, one_by_one.seq + 2, one_by_one.seq + 3]
    with platform.read_town(TOWN_A) as town:
        stored = {
            e.seq: e
            for e in town.session.scalars(select(AuditEntry).where(AuditEntry.seq.in_(seqs)))
        }
        report = audit_service.verify(town.session)
        head = town.session.get(AuditHead, 1)
    assert report.ok and report.entries == first + 4
    assert head is not None
    assert (head.seq, head.entry_hash) == (seqs[-1], stored[seqs[-1]].entry_hash)
    for entry, read in zip([one_by_one, *batched], [None, *reads], strict=True):
        (head_t, head_op, head_row), (audit_t, audit_op, audit_row) = _images(entry)
        assert (head_t, head_op, audit_t, audit_op) == (
            "audit_head", "update", "audit_entries", "insert",
        )  # fmt: skip
        assert head_row == {
            "id": 1,
            "seq": audit_row["seq"],
            "entry_hash": audit_row["entry_hash"],
        }
        if read is not None:
            assert audit_row["subjects"] == list(read.subjects)
            assert stored[audit_row["seq"]].entry_hash == audit_row["entry_hash"]
    # the one-by-one entry's images have the same columns as the batched ones
    assert _images(one_by_one)[1][2].keys() == _images(batched[0])[1][2].keys()


# ------------------------------------------------- issue 15: an end that cannot be cut


def test_cutting_the_end_of_the_trail_is_found_and_not_signed(platform: Platform) -> None:
    """Deleting the last entries and rewriting the head passed `audit verify`, and the next
    snapshot signed the shorter trail. The newest signed snapshot's manifest anchors the
    end: the cut is reported with the missing range, and no snapshot is taken."""
    from conftest import move_in_one  # noqa: PLC0415
    from lgcloud.audit.models import AuditSubject  # noqa: PLC0415
    from lgcloud.continuity.centre import (  # noqa: PLC0415
        PositionWentBackError,
        latest_anchor,
        take_town_snapshot,
    )

    for i in range(4):
        move_in_one(platform, TOWN_A, f"佐藤\u3000{i}郎", address=f"大字東港{i}番地")
    take_town_snapshot(platform, TOWN_A)
    anchor = latest_anchor(platform, TOWN_A)
    assert anchor is not None and anchor.seq >= 4
    with platform.town(TOWN_A) as t:  # what someone with the database file can do
        seqs = sorted(t.session.scalars(select(AuditEntry.seq)))
        keep, cut = seqs[:-3], seqs[-3:]
        t.session.execute(delete(AuditSubject).where(AuditSubject.entry_seq.in_(cut)))
        t.session.execute(delete(AuditEntry).where(AuditEntry.seq.in_(cut)))
        last = t.session.scalars(select(AuditEntry).where(AuditEntry.seq == keep[-1])).one()
        head = t.session.get(AuditHead, 1)
        assert head is not None
        head.seq, head.entry_hash = last.seq, last.entry_hash
    with platform.read_town(TOWN_A) as t:
        assert audit_service.verify(t.session).ok  # the chain alone cannot tell
        report = audit_service.verify(t.session, anchor)
    assert not report.ok
    (problem,) = report.problems
    assert problem.kind == "truncated"
    assert f"{cut[0]}〜{anchor.seq} 番" in problem.message
    with pytest.raises(PositionWentBackError):
        take_town_snapshot(platform, TOWN_A)
