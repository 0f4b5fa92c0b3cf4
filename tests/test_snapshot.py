"""Snapshots: consistent copy, signed manifest, refusal of every doubtful copy, crash safety."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519
from sqlalchemy import Engine, create_engine, func, select, table, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from conftest import (
    FAMILY_WIFE,
    TODAY,
    TOWN_A,
    TOWN_B,
    PgServer,
    make_ctx,
    record_family,
    town_file,
)
from lgcloud.audit import service as audit_service
from lgcloud.audit.chain import HASHED_FIELDS, entry_hash
from lgcloud.audit.models import AuditEntry, AuditHead
from lgcloud.auth.models import Clerk
from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.continuity import keys, snapshot
from lgcloud.continuity.digests import database_digests, page_digests
from lgcloud.continuity.envelope import MAGIC, SIGNATURE_BYTES, EnvelopeRefused, seal
from lgcloud.db.engine import sqlite_url
from lgcloud.db.migrate import head_revision
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import queries
from lgcloud.register.domain import (
    AddressIn,
    EventKind,
    MoveIn,
    NewPerson,
    Removal,
    Sex,
)
from lgcloud.register.service import record_event
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.models import JournalEntry

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only

PREFIX = MAGIC + b"snapshot\n"
SURNAME = "髙橋"
WIFE = FAMILY_WIFE
GEN_TOWN = "155811"


# ---------------------------------------------------------------- helpers and fixtures


@dataclass(frozen=True)
class Keys:
    signer: keys.SigningKey
    recipients: list[x25519.Recipient]
    identities: list[x25519.Identity]
    recipient_text: str
    other_identity: x25519.Identity


def make_keys(directory: Path) -> Keys:
    recovery, other = keys.new_recovery_key(), keys.new_recovery_key()
    return Keys(
        keys.load_or_create_signing_key(directory / "centre.pem"),
        keys.recipients_of([recovery.recipient]),
        [keys.identity_from_text(recovery.identity)],
        recovery.recipient,
        keys.identity_from_text(other.identity),
    )


def populate(platform: Platform, code: str, surname: str) -> dict[str, str]:
    """A few life events and a clerk; returns the people's 宛名番号 by role."""
    ctx = make_ctx(code)
    family = record_family(platform, code, surname)
    head, wife = family["head"], family["wife"]
    with platform.town(code) as town:
        record_event(
            town,
            ctx,
            Removal(
                kind=EventKind.DEATH,
                effective_date=date(2021, 1, 1),
                members=[head],
                relationships={wife: "世帯主"},
            ),
            today=TODAY,
        )
        create_clerk(
            town,
            ctx,
            staff_number="K042",
            name="窓口\u3000次郎",
            roles={Role.COUNTER_CLERK},
            password="correct horse battery",
        )
    return family


def ro_engine(path: Path) -> Engine:
    return create_engine(
        "sqlite+pysqlite://",
        creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True),
        poolclass=NullPool,
    )


def rw_engine(path: Path) -> Engine:
    """A plain engine on a copy (no WAL switch, so the file stays one self-contained file)."""
    return create_engine(sqlite_url(str(path)), poolclass=NullPool)


@dataclass(frozen=True)
class World:
    platform: Platform
    keys: Keys
    people: dict[str, str]
    snap_a: bytes  # TOWN_A, snapshot_seq 5
    snap_b: bytes  # TOWN_B, snapshot_seq 1
    work_dir: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("snapshot-world")
    p = Platform(base / "data")
    onboard_town(p, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(p, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    people = populate(p, TOWN_A, SURNAME)
    populate(p, TOWN_B, "佐藤")
    k = make_keys(base)
    work = base / "work"
    work.mkdir()

    def take(code: str, seq: int) -> bytes:
        return snapshot.take_snapshot(
            p.town_engine(code),
            town=code,
            seq=seq,
            recipients=k.recipients,
            signer=k.signer,
            work_dir=work,
        )

    yield World(p, k, people, take(TOWN_A, 5), take(TOWN_B, 1), work)
    p.dispose()


@pytest.fixture
def dest_dir(tmp_path: Path) -> Path:
    d = tmp_path / "restore"
    d.mkdir()
    return d


def restore(world: World, data: bytes, dest: Path, **kw: Any) -> snapshot.RestoredSnapshot:
    args: dict[str, Any] = {
        "town": TOWN_A,
        "centre_public_b64": world.keys.signer.public_b64,
        "identities": world.keys.identities,
        "dest": dest,
        **kw,
    }
    return snapshot.restore_and_verify(data, **args)


def assert_refused(
    world: World, data: bytes, dest_dir: Path, reasons: str | set[str], **kw: Any
) -> EnvelopeRefused:
    dest = dest_dir / "town.sqlite"
    with pytest.raises(EnvelopeRefused) as info:
        restore(world, data, dest, **kw)
    wanted = {reasons} if isinstance(reasons, str) else reasons
    assert info.value.reason in wanted, (info.value.reason, str(info.value))
    assert str(info.value)  # a message for the operator
    assert not dest.exists()
    assert list(dest_dir.iterdir()) == []  # no temporary file left behind either
    return info.value


def header_of(world: World, data: bytes) -> dict[str, Any]:
    return snapshot.inspect_snapshot(data, centre_public_b64=world.keys.signer.public_b64)


def reseal(world: World, header: dict[str, Any], payload: bytes) -> bytes:
    """A payload sealed by the real centre key: only the content checks can catch it."""
    return seal("snapshot", header, payload, world.keys.recipients, world.keys.signer)


@pytest.fixture
def plain_copy(world: World, tmp_path: Path) -> Path:
    """A verified plaintext copy of TOWN_A's snapshot, to tamper with."""
    path = tmp_path / "copy.sqlite"
    restore(world, world.snap_a, path)
    return path


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def layout(data: bytes) -> tuple[int, int, int]:
    """(header start, signature start, ciphertext start) of an envelope."""
    (head_len,) = struct.unpack(">I", data[len(PREFIX) : len(PREFIX) + 4])
    head = len(PREFIX) + 4
    return head, head + head_len, head + head_len + SIGNATURE_BYTES


# ---------------------------------------------------------------- round trip


def test_round_trip_restores_an_identical_verified_town(world: World, dest_dir: Path) -> None:
    dest = dest_dir / "town.sqlite"
    restored = restore(world, world.snap_a, dest)
    assert restored.path == dest and dest.exists()
    assert [name for name, _ in restored.checks] == [
        "envelope",
        "order",
        "decrypt",
        "integrity",
        "schema",
        "digests",
        "journal",
        "audit_chain",
        "town",
    ]
    assert restored.seconds > 0
    assert sorted(p.name for p in dest_dir.iterdir()) == ["town.sqlite"]

    header = restored.header
    assert header["format"] == "lgcloud-snapshot/1"
    assert header["town"] == TOWN_A
    assert header["snapshot_seq"] == 5
    assert header["schema_version"] == head_revision("town")
    assert page_digests(dest) == header["tables"]

    # the same rows as the live town, table by table (by value), except the pruned journal
    source = database_digests(town_file(world.platform, TOWN_A))
    restored_values = database_digests(dest)
    assert set(source) == set(header["tables"]) == set(restored_values)
    for name, digest in source.items():
        assert header["tables"][name]["rows"] == restored_values[name]["rows"], name
        if name == "journal":
            continue
        assert restored_values[name] == digest, name
    assert header["tables"]["journal"]["rows"] == 1
    assert header["tables"]["person_versions"]["rows"] >= 7
    assert header["tables"]["clerks"]["rows"] == 1

    with world.platform.town(TOWN_A) as town:
        last = town.session.scalars(select(JournalEntry).order_by(JournalEntry.seq.desc())).first()
        audit_head = town.session.get(AuditHead, 1)
        assert last is not None and audit_head is not None
        assert header["journal_seq"] == last.seq == source["journal"]["rows"]
        assert header["as_of"] == last.committed_at.isoformat()
        assert header["audit_head"] == {"seq": audit_head.seq, "hash": audit_head.entry_hash}
    taken_at = datetime.fromisoformat(header["taken_at"])
    assert taken_at.tzinfo is not None
    assert datetime.fromisoformat(header["as_of"]) <= taken_at <= datetime.now(UTC)

    # the restored file is a working register: search, exact names, clerks
    engine = ro_engine(dest)
    try:
        with Session(engine) as s:
            town = Town(TOWN_A, s)
            found = queries.search(town, "高橋")
            assert [p.addressee_number for p in found] == [world.people["child"]]
            assert {
                p.addressee_number for p in queries.search(town, "たかはし", include_removed=True)
            } == {world.people["head"], world.people["child"]}
            assert queries.get_person(town, world.people["wife"]).name == WIFE
            assert (
                s.scalar(select(Clerk.name).where(Clerk.staff_number == "K042")) == "窓口\u3000次郎"
            )
            assert s.scalar(select(func.count()).select_from(JournalEntry)) == 1
    finally:
        engine.dispose()
    # a plain rollback-journal file: nothing beside it is needed to open it
    raw = dest.read_bytes()
    assert raw[:16] == b"SQLite format 3\x00"
    assert raw[18:20] == b"\x01\x01"
    # the pruned journal rows are gone from the file, not just unlinked (vacuumed)
    fragment = '"table": "life_events"'
    src = sqlite3.connect(town_file(world.platform, TOWN_A))
    try:
        pruned = src.execute(
            "SELECT count(*) FROM journal WHERE instr(changes, ?) > 0", (fragment,)
        ).fetchone()
    finally:
        src.close()
    assert pruned == (4,)
    assert fragment.encode() not in raw
    check = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    try:
        assert check.execute("PRAGMA freelist_count").fetchone() == (0,)
    finally:
        check.close()


def test_a_newer_snapshot_is_accepted_after_an_older_one(world: World, dest_dir: Path) -> None:
    restored = restore(world, world.snap_a, dest_dir / "town.sqlite", last_seq=4)
    assert restored.header["snapshot_seq"] == 5
    assert ("order", "番号 5（前回 4）") in restored.checks


def test_temporary_files_of_taking_are_removed(world: World) -> None:
    assert list(world.work_dir.iterdir()) == []


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("where", "reasons"),
    [
        ("magic", {"not_an_envelope"}),
        ("kind", {"wrong_kind"}),
        ("length_high", {"truncated"}),
        ("length_low", {"truncated", "bad_signature"}),
        ("header_first", {"bad_signature"}),
        ("header_middle", {"bad_signature"}),
        ("header_last", {"bad_signature"}),
        ("signature_first", {"bad_signature"}),
        ("signature_last", {"bad_signature"}),
        ("ciphertext_first", {"digest_mismatch"}),
        ("ciphertext_middle", {"digest_mismatch"}),
        ("ciphertext_last", {"digest_mismatch"}),
    ],
)
def test_a_flipped_byte_is_refused(
    world: World, dest_dir: Path, where: str, reasons: set[str]
) -> None:
    data = world.snap_a
    head, sig, ct = layout(data)
    at = {
        "magic": 0,
        "kind": len(MAGIC) + 1,
        "length_high": len(PREFIX),
        "length_low": len(PREFIX) + 3,
        "header_first": head,
        "header_middle": (head + sig) // 2,
        "header_last": sig - 1,
        "signature_first": sig,
        "signature_last": ct - 1,
        "ciphertext_first": ct,
        "ciphertext_middle": (ct + len(data)) // 2,
        "ciphertext_last": len(data) - 1,
    }[where]
    bad = flip(data, at)
    assert_refused(world, bad, dest_dir, reasons)
    # a partner node refuses it the same way, without any key
    with pytest.raises(EnvelopeRefused) as info:
        header_of(world, bad)
    assert info.value.reason in reasons


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        ("empty", "not_an_envelope"),
        ("mid_magic", "not_an_envelope"),
        ("mid_length", "truncated"),
        ("mid_header", "truncated"),
        ("mid_signature", "truncated"),
        ("no_ciphertext", "truncated"),
        ("mid_ciphertext", "truncated"),
        ("last_byte", "truncated"),
        ("one_extra_byte", "truncated"),
    ],
)
def test_a_truncated_snapshot_is_refused(
    world: World, dest_dir: Path, cut: str, reason: str
) -> None:
    data = world.snap_a
    head, sig, ct = layout(data)
    cuts: dict[str, Callable[[bytes], bytes]] = {
        "empty": lambda d: b"",
        "mid_magic": lambda d: d[:5],
        "mid_length": lambda d: d[: len(PREFIX) + 2],
        "mid_header": lambda d: d[: (head + sig) // 2],
        "mid_signature": lambda d: d[: sig + SIGNATURE_BYTES // 2],
        "no_ciphertext": lambda d: d[:ct],
        "mid_ciphertext": lambda d: d[: (ct + len(d)) // 2],
        "last_byte": lambda d: d[:-1],
        "one_extra_byte": lambda d: d + b"\x00",
    }
    assert_refused(world, cuts[cut](data), dest_dir, reason)


def test_another_towns_snapshot_is_refused(world: World, dest_dir: Path) -> None:
    err = assert_refused(world, world.snap_b, dest_dir, "wrong_town")
    assert TOWN_A in str(err) and TOWN_B in str(err)
    with pytest.raises(EnvelopeRefused) as info:
        snapshot.inspect_snapshot(
            world.snap_b, centre_public_b64=world.keys.signer.public_b64, town=TOWN_A
        )
    assert info.value.reason == "wrong_town"


@pytest.mark.parametrize("last_seq", [5, 9])
def test_a_replayed_snapshot_is_refused(world: World, dest_dir: Path, last_seq: int) -> None:
    err = assert_refused(world, world.snap_a, dest_dir, "replayed", last_seq=last_seq)
    assert "5" in str(err) and str(last_seq) in str(err)


def test_another_centres_signature_is_refused(world: World, dest_dir: Path, tmp_path: Path) -> None:
    other = keys.load_or_create_signing_key(tmp_path / "other-centre.pem")
    assert_refused(
        world, world.snap_a, dest_dir, "bad_signature", centre_public_b64=other.public_b64
    )


def test_the_wrong_recovery_key_cannot_open_it(world: World, dest_dir: Path) -> None:
    dest = dest_dir / "town.sqlite"
    with pytest.raises((keys.RecoveryKeyError, EnvelopeRefused)):
        restore(world, world.snap_a, dest, identities=[world.keys.other_identity])
    assert list(dest_dir.iterdir()) == []


def test_a_refusal_leaves_an_existing_restore_untouched(world: World, dest_dir: Path) -> None:
    dest = dest_dir / "town.sqlite"
    restore(world, world.snap_a, dest)
    before = dest.read_bytes()
    with pytest.raises(EnvelopeRefused):
        restore(world, flip(world.snap_a, len(world.snap_a) - 1), dest)
    assert dest.read_bytes() == before
    assert [p.name for p in dest_dir.iterdir()] == ["town.sqlite"]


def test_a_changed_row_is_refused_by_the_digests(
    world: World, dest_dir: Path, plain_copy: Path
) -> None:
    engine = rw_engine(plain_copy)
    with engine.begin() as conn:
        changed = conn.execute(
            text("UPDATE person_versions SET name = '偽\u3000名前' WHERE addressee_number = :n"),
            {"n": world.people["wife"]},
        )
        assert changed.rowcount >= 1
    engine.dispose()
    bad = reseal(world, header_of(world, world.snap_a), plain_copy.read_bytes())
    err = assert_refused(world, bad, dest_dir, "digests")
    assert "person_versions" in str(err)


def test_a_deleted_row_is_refused_naming_the_table_and_counts(
    world: World, dest_dir: Path, plain_copy: Path
) -> None:
    conn = sqlite3.connect(plain_copy)
    conn.execute("DELETE FROM clerks")
    conn.commit()
    conn.close()
    bad = reseal(world, header_of(world, world.snap_a), plain_copy.read_bytes())
    err = assert_refused(world, bad, dest_dir, "digests")
    assert "clerks" in str(err) and "0 行" in str(err) and "1 行" in str(err)


def test_an_extra_table_is_refused(world: World, dest_dir: Path, plain_copy: Path) -> None:
    conn = sqlite3.connect(plain_copy)
    conn.execute("CREATE TABLE smuggled (x)")
    conn.commit()
    conn.close()
    bad = reseal(world, header_of(world, world.snap_a), plain_copy.read_bytes())
    err = assert_refused(world, bad, dest_dir, "digests")
    assert "smuggled" in str(err)


def _edit_audit(path: Path, *, rehash: bool) -> None:
    """Change a clerk's name in an audit entry; with ``rehash``, also recompute the whole
    chain and its head, as someone who can rewrite the database would."""
    engine = rw_engine(path)
    with Session(engine) as s, s.begin():
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert len(entries) >= 3
        entries[1].clerk_name = "別人"
        if rehash:
            prev = entries[0].prev_hash
            for e in entries:
                e.prev_hash = prev
                e.entry_hash = entry_hash({f: getattr(e, f) for f in HASHED_FIELDS})
                prev = e.entry_hash
            s.execute(update(AuditHead).where(AuditHead.id == 1).values(entry_hash=prev))
    engine.dispose()


def test_an_edited_audit_entry_is_refused(world: World, dest_dir: Path, plain_copy: Path) -> None:
    _edit_audit(plain_copy, rehash=False)
    header = header_of(world, world.snap_a)
    # the centre's digests made from the edited file: only the chain itself can tell
    header["tables"] = page_digests(plain_copy)
    err = assert_refused(
        world, reseal(world, header, plain_copy.read_bytes()), dest_dir, "audit_chain"
    )
    assert "2 番" in str(err)


def test_a_rewritten_audit_chain_is_refused_by_the_signed_head(
    world: World, dest_dir: Path, plain_copy: Path
) -> None:
    _edit_audit(plain_copy, rehash=True)
    engine = ro_engine(plain_copy)
    with Session(engine) as s:
        assert audit_service.verify(s).ok  # the chain holds on its own...
    engine.dispose()
    header = header_of(world, world.snap_a)
    header["tables"] = page_digests(plain_copy)
    # ...but it no longer ends at the head the centre signed
    assert_refused(world, reseal(world, header, plain_copy.read_bytes()), dest_dir, "audit_chain")


def test_a_manifest_with_another_audit_head_is_refused(world: World, dest_dir: Path) -> None:
    restored = restore(world, world.snap_a, dest_dir / "ok.sqlite")
    payload = restored.path.read_bytes()
    restored.path.unlink()
    header = header_of(world, world.snap_a)
    header["audit_head"] = {**header["audit_head"], "seq": header["audit_head"]["seq"] + 1}
    assert_refused(world, reseal(world, header, payload), dest_dir, "audit_chain")


def test_a_payload_that_is_not_sqlite_is_refused(world: World, dest_dir: Path) -> None:
    header = header_of(world, world.snap_a)
    bad = reseal(world, header, "これはデータベースではありません".encode() * 200)
    err = assert_refused(world, bad, dest_dir, "integrity")
    assert "SQLite" in str(err)


def test_an_empty_payload_is_refused(world: World, dest_dir: Path) -> None:
    bad = reseal(world, header_of(world, world.snap_a), b"")
    assert_refused(world, bad, dest_dir, {"integrity", "schema"})


def test_a_corrupted_database_page_is_refused(
    world: World, dest_dir: Path, plain_copy: Path
) -> None:
    raw = bytearray(plain_copy.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    for i in range(page * 2, page * 2 + 64):  # clobber the start of page 3 (a b-tree page)
        raw[i] = 0xFF
    bad = reseal(world, header_of(world, world.snap_a), bytes(raw))
    assert_refused(world, bad, dest_dir, {"integrity", "digests"})


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("schema_version", "0000deadbeef", "schema"),
        ("journal_seq", 10**6, "journal"),
        ("format", "lgcloud-snapshot/0", "format"),
    ],
)
def test_a_manifest_that_does_not_describe_the_payload_is_refused(
    world: World, dest_dir: Path, field: str, value: Any, reason: str
) -> None:
    restored = restore(world, world.snap_a, dest_dir / "ok.sqlite")
    payload = restored.path.read_bytes()
    restored.path.unlink()
    header = {**header_of(world, world.snap_a), field: value}
    assert_refused(world, reseal(world, header, payload), dest_dir, reason)


def test_a_database_of_another_town_under_this_towns_manifest_is_refused(
    world: World, dest_dir: Path
) -> None:
    restored = restore(world, world.snap_b, dest_dir / "b.sqlite", town=TOWN_B)
    payload = restored.path.read_bytes()
    restored.path.unlink()
    header = {**header_of(world, world.snap_b), "town": TOWN_A}
    assert_refused(world, reseal(world, header, payload), dest_dir, "wrong_town")


# ---------------------------------------------------------------- what a partner sees


def test_a_partner_without_the_key_sees_the_manifest_but_no_personal_data(world: World) -> None:
    data = world.snap_a
    for secret in ("髙橋\u3000一郎", SURNAME, WIFE, "花子", "窓口\u3000次郎", "諏訪山", "亀塚"):
        assert secret.encode() not in data, secret
    assert b"SQLite format 3" not in data
    assert world.people["wife"].encode() not in data

    header = header_of(world, data)  # no recovery key involved
    assert header["town"] == TOWN_A
    assert header["snapshot_seq"] == 5
    assert header["format"] == "lgcloud-snapshot/1"
    assert set(header["tables"]) >= {"person_versions", "audit_entries", "journal", "clerks"}
    assert header["ciphertext_bytes"] == len(data) - layout(data)[2]
    assert header["plaintext_bytes"] > header["ciphertext_bytes"] / 100
    shown = json.dumps(header, ensure_ascii=False)
    assert SURNAME not in shown and "花子" not in shown


# ---------------------------------------------------------------- concurrency and engines


def _writer(
    platform: Platform, code: str, stop: threading.Event, errors: list[BaseException]
) -> None:
    ctx = make_ctx(code)
    i = 0
    try:
        while not stop.is_set():
            i += 1
            with platform.town(code) as town:
                record_event(
                    town,
                    ctx,
                    MoveIn(
                        kind=EventKind.DOMESTIC_MOVE_IN,
                        effective_date=date(2020, 1, 1),
                        persons=[
                            NewPerson(
                                name=f"並行\u3000{i}郎",
                                kana="ヘイコウ",
                                birth_date=date(1990, 1, 1),
                                sex=Sex.MALE,
                                relationship="世帯主",
                            )
                        ],
                        address=AddressIn(address=f"大字並行{i}番地"),
                        previous_address="新潟県新潟市",
                    ),
                    today=TODAY,
                )
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def _snapshots_during_writes(platform: Platform, code: str, tmp_path: Path, rounds: int) -> None:
    """Take snapshots while another thread records events: each one restores and verifies
    (a copy mixing two states would break the audit chain or its head)."""
    k = make_keys(tmp_path)
    stop, errors = threading.Event(), list[BaseException]()
    thread = threading.Thread(target=_writer, args=(platform, code, stop, errors), daemon=True)
    thread.start()
    journal_seqs = []
    try:
        time.sleep(0.2)
        for seq in range(1, rounds + 1):
            data = snapshot.take_snapshot(
                platform.town_engine(code),
                town=code,
                seq=seq,
                recipients=k.recipients,
                signer=k.signer,
                work_dir=tmp_path,
            )
            restored = snapshot.restore_and_verify(
                data,
                town=code,
                centre_public_b64=k.signer.public_b64,
                identities=k.identities,
                dest=tmp_path / f"r{seq}.sqlite",
                last_seq=seq - 1,
            )
            journal_seqs.append(restored.header["journal_seq"])
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert journal_seqs[-1] > journal_seqs[0]  # the writer really ran during the snapshots


def test_snapshots_taken_while_writers_commit_are_consistent(
    platform: Platform, tmp_path: Path
) -> None:
    populate(platform, TOWN_A, SURNAME)
    _snapshots_during_writes(platform, TOWN_A, tmp_path, rounds=6)


@pytest.fixture
def pg_platform(
    tmp_path: Path, pg_server: PgServer, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    p = Platform(tmp_path / "data")
    suffix = abs(hash(request.node.name)) % 10**8
    onboard_town(p, TOWN_A, "聖籠町", url=pg_server.create_database(f"snap{TOWN_A}_{suffix}"))
    yield p
    p.dispose()


def test_a_postgresql_town_snapshots_to_a_verified_sqlite_file(
    pg_platform: Platform, tmp_path: Path
) -> None:
    engine = pg_platform.town_engine(TOWN_A)
    assert engine.dialect.name == "postgresql"
    people = populate(pg_platform, TOWN_A, SURNAME)
    k = make_keys(tmp_path)
    data = snapshot.take_snapshot(
        engine, town=TOWN_A, seq=1, recipients=k.recipients, signer=k.signer, work_dir=tmp_path
    )
    dest = tmp_path / "restored.sqlite"
    restored = snapshot.restore_and_verify(
        data,
        town=TOWN_A,
        centre_public_b64=k.signer.public_b64,
        identities=k.identities,
        dest=dest,
    )
    header = restored.header
    assert page_digests(dest) == header["tables"]
    assert header["schema_version"] == head_revision("town")
    with engine.connect() as conn:
        for name, digest in header["tables"].items():
            if name == "alembic_version":
                continue
            count = conn.scalar(select(func.count()).select_from(table(name)))
            assert digest["rows"] == (1 if name == "journal" else count), name
        last = conn.execute(
            select(JournalEntry.seq, JournalEntry.committed_at).order_by(JournalEntry.seq.desc())
        ).first()
        head = conn.execute(select(AuditHead.seq, AuditHead.entry_hash)).one()
    assert last is not None
    assert header["journal_seq"] == last.seq
    assert header["as_of"] == last.committed_at.isoformat()
    assert header["audit_head"] == {"seq": head.seq, "hash": head.entry_hash}
    ro = ro_engine(dest)
    try:
        with Session(ro) as s:
            town = Town(TOWN_A, s)
            assert [p.addressee_number for p in queries.search(town, "高橋")] == [people["child"]]
            assert queries.get_person(town, people["wife"]).name == WIFE
    finally:
        ro.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centre.pem", "data", "restored.sqlite"]


def test_postgresql_snapshots_taken_while_writers_commit_are_consistent(
    pg_platform: Platform, tmp_path: Path
) -> None:
    populate(pg_platform, TOWN_A, SURNAME)
    _snapshots_during_writes(pg_platform, TOWN_A, tmp_path, rounds=6)


# ---------------------------------------------------------------- crash safety

SNAPSHOTTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lgcloud.continuity import keys, snapshot
    from lgcloud.core.files import write_atomically
    from lgcloud.tenancy.platform import Platform

    data_dir, town, key_file, recipient, dest, work = sys.argv[1:7]
    platform = Platform(Path(data_dir))
    signer = keys.load_or_create_signing_key(Path(key_file))
    recipients = keys.recipients_of([recipient])
    engine = platform.town_engine(town)
    print("ready", flush=True)
    seq = int(sys.argv[7])
    while True:
        seq += 1
        data = snapshot.take_snapshot(
            engine, town=town, seq=seq, recipients=recipients, signer=signer, work_dir=Path(work)
        )
        write_atomically(Path(dest), data)
    """
)


def test_a_snapshotter_killed_at_any_moment_never_leaves_a_partial_snapshot(
    tmp_path: Path,
) -> None:
    p = Platform(tmp_path / "data")
    generate_town(p, GEN_TOWN, residents=300, seed=11, today=TODAY)
    p.dispose()
    k = make_keys(tmp_path)
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    work.mkdir()
    dest = out / f"{GEN_TOWN}.snapshot"
    script = tmp_path / "snapshotter.py"
    script.write_text(SNAPSHOTTER, encoding="utf-8")
    rng = random.Random(20261123)
    last_seq = 0
    for run in range(6):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(p.data_dir),
                GEN_TOWN,
                str(tmp_path / "centre.pem"),
                k.recipient_text,
                str(dest),
                str(work),
                str(run * 1000),
            ],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()

        # only complete snapshots ever carry the snapshot's name
        assert [f.name for f in out.glob("*.snapshot")] in ([], [dest.name])
        if dest.exists():
            restored = snapshot.restore_and_verify(
                dest.read_bytes(),
                town=GEN_TOWN,
                centre_public_b64=k.signer.public_b64,
                identities=k.identities,
                dest=tmp_path / "restored.sqlite",
            )
            seq = restored.header["snapshot_seq"]
            assert seq >= last_seq  # the same file as before, or a newer complete one
            last_seq = seq
        # a crash may leave temporary files: never named like a snapshot, never complete
        # unless the crash came between the write and the rename
        for stray in out.iterdir():
            if stray == dest:
                continue
            assert stray.name.startswith(f".{dest.name}.") and stray.name.endswith(".tmp")
            reason = None
            try:
                snapshot.inspect_snapshot(
                    stray.read_bytes(), centre_public_b64=k.signer.public_b64, town=GEN_TOWN
                )
            except EnvelopeRefused as exc:
                reason = exc.reason
            assert reason in {None, "not_an_envelope", "truncated"}
        # a killed take leaves at most its plaintext work copy, which the job can sweep
        assert all(f.name.startswith(f".snapshot-{GEN_TOWN}-") for f in work.iterdir())
        snapshot.remove_stale_work_files(work, GEN_TOWN)
        assert list(work.iterdir()) == []
    assert dest.exists(), "no snapshot completed in any run: kill later"
    check = sqlite3.connect(town_file(p, GEN_TOWN))
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        check.close()


SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lgcloud.core.files import write_atomically

    dest = Path(sys.argv[1])
    versions = [Path(a).read_bytes() for a in sys.argv[2:]]
    print("ready", flush=True)
    i = 0
    while True:
        write_atomically(dest, versions[i % len(versions)])
        i += 1
    """
)


def test_write_atomically_killed_at_any_moment_leaves_old_or_new_complete_file(
    world: World, tmp_path: Path
) -> None:
    """The save itself, killed over and over: ``dest`` is always one whole version."""
    versions = [world.snap_a, world.snap_b]
    files = []
    for i, data in enumerate(versions):
        f = tmp_path / f"version{i}"
        f.write_bytes(data)
        files.append(str(f))
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "town.snapshot"
    script = tmp_path / "saver.py"
    script.write_text(SAVER, encoding="utf-8")
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(dest), *files],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if dest.exists():
            assert dest.read_bytes() in versions
        for stray in out.iterdir():
            if stray != dest:
                assert stray.name.startswith(".town.snapshot.") and stray.name.endswith(".tmp")
                stray.unlink()
    assert dest.exists()
