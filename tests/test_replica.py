"""Replication from the journal: a replica fed batch by batch equals the centre, table by
table (audit_subjects and the journal included); wrong batches are refused with a reason and
change nothing; a node killed mid-batch comes back at the old position or the new one; a
partner node stores what it cannot read, in order.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import cycle
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx, town_file
from lgcloud.audit import service as audit_service
from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk, login
from lgcloud.continuity import keys
from lgcloud.continuity.digests import database_digests
from lgcloud.continuity.envelope import EnvelopeRefused, open_envelope, open_payload, seal
from lgcloud.continuity.replica import (
    FORMAT,
    ApplyResult,
    PartnerStore,
    apply_batch,
    make_batch,
    replica_position,
)
from lgcloud.core.errors import AuthenticationError
from lgcloud.db.engine import make_engine, sqlite_url
from lgcloud.generate.finance import seal_image
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register.domain import (
    HEAD,
    AddressIn,
    Birth,
    EventKind,
    MoveIn,
    MoveWithin,
    NewPerson,
    Removal,
    Sex,
)
from lgcloud.register.models import PersonVersion
from lgcloud.register.queries import audited_search
from lgcloud.register.service import record_event
from lgcloud.seals.models import SealRegistration
from lgcloud.seals.service import abolish_seal, register_seal
from lgcloud.taxation.models import TaxInstallment, TaxPayment
from lgcloud.taxation.service import record_payment
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only

Kind = Literal["snapshot", "journal"]
KNOWN_NAME = "鷲尾\u3000綾乃"  # a resident whose name must never be readable on a partner
PASSWORD = "replica-pass-1"


# ----------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Keys:
    signer: keys.SigningKey
    recovery: keys.RecoveryKey
    recipients: list[Any]
    identities: list[Any]

    @property
    def public(self) -> str:
        return self.signer.public_b64


def make_keys(directory: Path) -> Keys:
    signer = keys.load_or_create_signing_key(directory / "centre-signing.pem")
    recovery = keys.new_recovery_key()
    return Keys(
        signer,
        recovery,
        keys.recipients_of([recovery.recipient]),
        [keys.identity_from_text(recovery.identity)],
    )


def backup(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (the backup API, WAL content included)."""
    dst.unlink(missing_ok=True)
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def batch(
    engine: Engine,
    k: Keys,
    after: int,
    *,
    town: str = TOWN_A,
    max_entries: int = 500,
    max_bytes: int = 8_000_000,
) -> bytes:
    data = make_batch(
        engine,
        town=town,
        after_seq=after,
        recipients=k.recipients,
        signer=k.signer,
        max_entries=max_entries,
        max_bytes=max_bytes,
    )
    assert data is not None
    return data


def apply(replica: Engine, data: bytes, k: Keys, town: str = TOWN_A) -> ApplyResult:
    return apply_batch(
        replica, data, town=town, centre_public_b64=k.public, identities=k.identities
    )


def ship(
    centre: Engine,
    replica: Engine,
    k: Keys,
    sizes: list[int],
    *,
    max_bytes: int = 8_000_000,
) -> int:
    """Ship every newer entry in batches of the given sizes (cycled); returns the batches."""
    for shipped, size in enumerate(cycle(sizes)):
        position, _ = replica_position(replica)
        data = make_batch(
            centre,
            town=TOWN_A,
            after_seq=position,
            recipients=k.recipients,
            signer=k.signer,
            max_entries=size,
            max_bytes=max_bytes,
        )
        if data is None:
            return shipped
        result = apply(replica, data, k)
        assert result.first_seq == position + 1
        assert result.position == result.last_seq == replica_position(replica)[0]
        assert result.applied == result.last_seq - result.first_seq + 1
        assert result.last_seq in transaction_ends(centre)  # never half a transaction
    raise AssertionError("unreachable")


def reseal(data: bytes, k: Keys, mutate: Callable[[dict[str, Any], list[Any]], None]) -> bytes:
    """A batch's header and entries changed by ``mutate``, sealed again by the centre."""
    envelope = open_envelope(data, kind="journal", centre_public_b64=k.public)
    entries = json.loads(open_payload(envelope, k.identities))["entries"]
    header = {
        key: envelope.header[key]
        for key in ("format", "town", "first_seq", "last_seq", "count", "created_at")
    }
    header["last_committed_at"] = envelope.header["last_committed_at"]
    mutate(header, entries)
    payload = json.dumps({"entries": entries}, ensure_ascii=False).encode()
    return seal("journal", header, payload, k.recipients, k.signer)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def assert_same(centre_db: Path, replica_db: Path) -> None:
    want, got = database_digests(centre_db), database_digests(replica_db)
    assert sorted(got) == sorted(want)
    assert {"audit_subjects", "journal", "seal_registrations"} <= set(want)
    different = [t for t in want if want[t] != got[t]]
    assert different == [], {t: (want[t], got[t]) for t in different}


def transaction_ends(engine: Engine) -> set[int]:
    """Seqs of the entries that end a transaction (finish_write's, carrying the audit seq)."""
    with engine.connect() as conn:
        return set(
            conn.scalars(select(JournalEntry.seq).where(JournalEntry.audit_seq.is_not(None)))
        )


def last_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(JournalEntry.seq))).scalar_one())


# ----------------------------------------------------------------------- centre writes


def clerk(platform: Platform, town: str, staff: str) -> None:
    with platform.town(town) as t:
        create_clerk(
            t,
            make_ctx(town),
            staff_number=staff,
            name="継続\u3000試験",
            roles={Role.COUNTER_CLERK, Role.BUSINESS_STAFF},
            password=PASSWORD,
            pin="2468",
        )


def everyday_writes(platform: Platform) -> None:
    """After a generated town's load: life events, a search, seals, a payment, a failed
    login — ORM inserts, updates (bytes included), audit subjects, Core audit rows."""
    ctx = make_ctx()

    def event(e: Any) -> tuple[str, ...]:
        with platform.town(TOWN_A) as town:
            result = record_event(town, ctx, e, today=TODAY)
        return result.subjects

    def new(name: str, rel: str, born: date, sex: Sex = Sex.FEMALE) -> NewPerson:
        return NewPerson(name=name, kana="ワシオ", birth_date=born, sex=sex, relationship=rel)

    head, spouse, child = event(
        MoveIn(
            kind=EventKind.DOMESTIC_MOVE_IN,
            effective_date=date(2026, 4, 1),
            previous_address="東京都千代田区千代田1番1号",
            address=AddressIn(address="聖籠町大字諏訪山11番地", postal_code="9570117"),
            persons=[
                new(KNOWN_NAME, HEAD, date(1985, 7, 7)),
                new("鷲尾\u3000健", "夫", date(1983, 3, 3), Sex.MALE),
                new("鷲尾\u3000湊", "子", date(2008, 8, 8), Sex.MALE),
            ],
        )
    )
    with platform.town(TOWN_A) as town:
        household = town.session.scalar(
            select(PersonVersion.household_number).where(
                PersonVersion.addressee_number == head, PersonVersion.is_current
            )
        )
    assert household is not None
    event(
        Birth(
            effective_date=date(2026, 9, 1),
            household_number=household,
            person=new("鷲尾\u3000凪", "子", date(2026, 9, 1)),
        )
    )
    event(
        MoveWithin(
            effective_date=date(2026, 10, 1),
            members=[child],
            address=AddressIn(address="聖籠町大字蓮野3番地"),
            relationships={child: HEAD},
        )
    )
    event(
        Removal(
            kind=EventKind.DOMESTIC_MOVE_OUT,
            effective_date=date(2026, 11, 1),
            members=[spouse],
            destination_address="新潟県新潟市中央区1番地",
        )
    )
    assert audited_search(platform, ctx, "ワシオ")
    with platform.town(TOWN_A) as town:
        register_seal(
            town, ctx, head, image_png=seal_image("鷲尾"), registered_on=date(2026, 11, 2)
        )
        # a generated registration is abolished: an update whose row image carries bytes
        other = town.session.scalar(
            select(SealRegistration.addressee_number)
            .where(
                SealRegistration.abolished_on.is_(None), SealRegistration.addressee_number != head
            )
            .order_by(SealRegistration.registration_number)
            .limit(1)
        )
        assert other is not None
        abolish_seal(town, ctx, other, abolished_on=date(2026, 11, 3), reason="亡失")
    with platform.town(TOWN_A) as town:
        unpaid = town.session.scalar(
            select(TaxInstallment.id)
            .where(TaxInstallment.id.not_in(select(TaxPayment.installment_id)))
            .order_by(TaxInstallment.id)
            .limit(1)
        )
        assert unpaid is not None
        record_payment(town, ctx, unpaid, paid_on=date(2026, 11, 4), amount=100)
    with pytest.raises(AuthenticationError):
        login(platform, make_ctx(), "K001", "wrong-password-0")  # failed_attempts updated


# ------------------------------------------------------------------ the shared centre


@dataclass
class Centre:
    platform: Platform
    k: Keys
    base: Path  # town A's database copied after its first write
    base_position: int
    load_end: int  # the generated town's load: entries 2..load_end, one transaction
    last_seq: int

    @property
    def engine(self) -> Engine:
        return self.platform.town_engine(TOWN_A)

    @property
    def db(self) -> Path:
        return town_file(self.platform, TOWN_A)

    def replica(self, path: Path) -> Engine:
        backup(self.base, path)
        return make_engine(sqlite_url(str(path)))


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centre]:
    root = tmp_path_factory.mktemp("replica-centre")
    platform = Platform(root / "data")
    onboard_town(platform, TOWN_A, "聖籠町", kana="セイロウマチ", prefecture="新潟県")
    onboard_town(platform, TOWN_B, "出雲崎町", kana="イズモザキマチ", prefecture="新潟県")
    k = make_keys(root)
    clerk(platform, TOWN_A, "K001")
    clerk(platform, TOWN_B, "K001")
    base = root / "base.sqlite"
    backup(town_file(platform, TOWN_A), base)
    generate_town(platform, TOWN_A, residents=600, seed=11, today=TODAY)
    everyday_writes(platform)
    engine = platform.town_engine(TOWN_A)
    ends = sorted(transaction_ends(engine))
    assert ends[:2] == [1, ends[1]] and ends[1] > 3  # the load is several entries
    assert ends[2:] == list(range(ends[1] + 1, last_seq(engine) + 1))  # one entry each
    yield Centre(platform, k, base, 1, ends[1], last_seq(engine))
    platform.dispose()


# ------------------------------------------------------------------------ equality


def test_replica_follows_the_centre_table_by_table(platform: Platform, tmp_path: Path) -> None:
    k = make_keys(tmp_path)
    clerk(platform, TOWN_A, "K001")
    clerk(platform, TOWN_B, "K001")
    replica_db = tmp_path / "replica.sqlite"
    backup(town_file(platform, TOWN_A), replica_db)
    replica = make_engine(sqlite_url(str(replica_db)))
    centre = platform.town_engine(TOWN_A)
    try:
        assert replica_position(replica)[0] == 1
        assert (
            make_batch(centre, town=TOWN_A, after_seq=1, recipients=k.recipients, signer=k.signer)
            is None
        )  # nothing newer yet

        started = time.perf_counter()
        generate_town(platform, TOWN_A, residents=300, seed=5, today=TODAY)
        # max_bytes below any entry: one transaction per batch (the load is one)
        assert ship(centre, replica, k, [500], max_bytes=1) == 1
        everyday_writes(platform)
        clerk(platform, TOWN_A, "K002")
        assert ship(centre, replica, k, [2, 3]) > 3  # a few writes per batch
        clerk(platform, TOWN_A, "K003")
        assert ship(centre, replica, k, [500]) == 1  # the rest in one batch
        seconds = time.perf_counter() - started

        assert_same(town_file(platform, TOWN_A), replica_db)
        position, as_of = replica_position(replica)
        with centre.connect() as conn:
            newest = conn.execute(
                select(JournalEntry.seq, JournalEntry.committed_at).order_by(
                    JournalEntry.seq.desc()
                )
            ).first()
        assert newest is not None
        assert (position, as_of) == (newest.seq, newest.committed_at)
        assert as_of is not None and as_of.tzinfo is not None
        # the rebuilt who-viewed index agrees with the hashed chain
        with Session(replica) as s:
            report = audit_service.verify(s)
        assert report.ok, report.problems
        print(f"replica of a 300-resident town kept current in {seconds:.2f} s")
    finally:
        replica.dispose()


def test_random_batch_sizes_give_the_same_replica(centre: Centre) -> None:
    # no shrinking: each example replays a whole town; the failing sizes are printed
    @settings(max_examples=8, phases=(Phase.explicit, Phase.reuse, Phase.generate))
    @given(
        sizes=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=5),
        max_bytes=st.sampled_from([1, 60_000, 8_000_000]),
    )
    def check(sizes: list[int], max_bytes: int) -> None:
        with tempfile.TemporaryDirectory() as d:
            replica_db = Path(d) / "replica.sqlite"
            replica = centre.replica(replica_db)
            try:
                ship(centre.engine, replica, centre.k, sizes, max_bytes=max_bytes)
                assert replica_position(replica)[0] == centre.last_seq
            finally:
                replica.dispose()
            assert_same(centre.db, replica_db)

    check()


def test_batch_limits_and_transactions(centre: Centre) -> None:
    k, engine, g, last = centre.k, centre.engine, centre.load_end, centre.last_seq

    def header(data: bytes) -> dict[str, Any]:
        return open_envelope(data, kind="journal", centre_public_b64=k.public).header

    def span(data: bytes) -> tuple[int, int]:
        h = header(data)
        assert h["count"] == h["last_seq"] - h["first_seq"] + 1
        return h["first_seq"], h["last_seq"]

    h = header(batch(engine, k, g, max_entries=3))
    assert (h["format"], h["town"], h["first_seq"], h["last_seq"], h["count"]) == (
        FORMAT,
        TOWN_A,
        g + 1,
        g + 3,
        3,
    )
    with engine.connect() as conn:
        committed = conn.scalar(select(JournalEntry.committed_at).where(JournalEntry.seq == g + 3))
    assert committed is not None
    assert datetime.fromisoformat(h["last_committed_at"]) == committed
    # a byte limit below any entry still ships one transaction
    assert span(batch(engine, k, g, max_bytes=1)) == (g + 1, g + 1)
    # ... and a transaction of several entries is never cut, whatever the limits
    assert span(batch(engine, k, 1, max_entries=1)) == (2, g)
    assert span(batch(engine, k, 1, max_bytes=1)) == (2, g)
    assert span(batch(engine, k, 0, max_entries=3)) == (1, 1)  # 2..g does not fit after 1
    assert span(batch(engine, k, 0, max_entries=g)) == (1, g)
    # a byte limit stops before the transaction that would exceed it
    full = header(batch(engine, k, g, max_bytes=10**9))
    assert (full["first_seq"], full["last_seq"]) == (g + 1, last)
    half = full["plaintext_bytes"] // 2
    h = header(batch(engine, k, g, max_bytes=half))
    assert g + 1 < h["last_seq"] < last
    assert h["plaintext_bytes"] <= half
    assert (
        make_batch(engine, town=TOWN_A, after_seq=last, recipients=k.recipients, signer=k.signer)
        is None
    )


# ------------------------------------------------------------------------- refusals


def test_wrong_batches_are_refused_and_change_nothing(centre: Centre, tmp_path: Path) -> None:
    k, engine, g = centre.k, centre.engine, centre.load_end
    replica_db = tmp_path / "replica.sqlite"
    replica = centre.replica(replica_db)
    try:
        load = batch(engine, k, 1, max_entries=1)
        assert apply(replica, load, k) == ApplyResult(2, g, g - 1, g)
        good = batch(engine, k, g, max_entries=3)  # g+1..g+3
        other = make_keys(tmp_path / "other")
        cases: list[tuple[str, bytes, str]] = [
            ("replayed", load, "既に適用済み"),
            ("replayed", batch(engine, k, 0, max_entries=1), f"{g} 番まで適用済み"),
            ("gap", batch(engine, k, g + 1, max_entries=2), f"{g + 1} 番から"),
            ("wrong_town", batch(centre.platform.town_engine(TOWN_B), k, 0, town=TOWN_B), ""),
            ("bad_signature", flip(good, 30), ""),  # in the signed header
            ("digest_mismatch", flip(good, len(good) - 1), ""),  # in the ciphertext
            ("truncated", good[:-100], ""),
            ("truncated", good[:40], ""),
            ("not_an_envelope", b"PK\x03\x04" + good[4:], ""),
            ("bad_signature", batch(engine, other, g, max_entries=3), ""),
            (
                "wrong_key",
                make_batch(
                    engine, town=TOWN_A, after_seq=g, recipients=other.recipients, signer=k.signer
                )
                or b"",
                "",
            ),
        ]

        def skip_one(header: dict[str, Any], entries: list[Any]) -> None:
            del entries[1]

        def unsupported(header: dict[str, Any], entries: list[Any]) -> None:
            header["format"] = "lgcloud-journal/9"

        def phantom_update(header: dict[str, Any], entries: list[Any]) -> None:
            # the first entries are genuine; the last updates a row the replica does not hold
            entries[-1]["changes"].append(
                {
                    "table": "number_sequences",
                    "op": "update",
                    "row": {"name": "nobody", "next_value": 1},
                }
            )

        def unknown_column(header: dict[str, Any], entries: list[Any]) -> None:
            entries[-1]["changes"][0]["row"] = {**entries[-1]["changes"][0]["row"], "x": 1}

        def writes_journal(header: dict[str, Any], entries: list[Any]) -> None:
            entries[0]["changes"].append({"table": "journal", "op": "delete", "row": {"seq": 1}})

        cases += [
            ("malformed", reseal(good, k, skip_one), "連番"),
            ("unsupported_format", reseal(good, k, unsupported), ""),
            ("apply_failed", reseal(good, k, phantom_update), "複製は変更されていません"),
            ("apply_failed", reseal(good, k, unknown_column), "ない列"),
            ("malformed", reseal(good, k, writes_journal), "journal"),
        ]
        before = database_digests(replica_db)
        for reason, data, words in cases:
            with pytest.raises(EnvelopeRefused) as exc:
                apply(replica, data, k)
            assert exc.value.reason == reason, (reason, exc.value.message)
            assert words in exc.value.message
            assert database_digests(replica_db) == before, reason
            assert replica_position(replica)[0] == g
        # refusals leave the replica able to continue
        assert apply(replica, good, k) == ApplyResult(g + 1, g + 3, 3, g + 3)
        ship(engine, replica, k, [4])
    finally:
        replica.dispose()
    assert_same(centre.db, replica_db)


def test_half_a_transaction_is_refused_at_commit(centre: Centre, tmp_path: Path) -> None:
    """A (hand-made) batch ending inside the load: its chunks refer to the load's event row,
    journalled in the load's last entry, so the foreign keys fail at commit; nothing stays."""
    k, engine = centre.k, centre.engine

    def cut(header: dict[str, Any], entries: list[Any]) -> None:
        del entries[-1]
        header["last_seq"] -= 1
        header["count"] -= 1

    replica_db = tmp_path / "replica.sqlite"
    replica = centre.replica(replica_db)
    try:
        before = database_digests(replica_db)
        with pytest.raises(EnvelopeRefused) as exc:
            apply(replica, reseal(batch(engine, k, 1, max_entries=1), k, cut), k)
        assert exc.value.reason == "apply_failed"
        assert "FOREIGN KEY" in exc.value.message
        assert centre.load_end > 3
        assert database_digests(replica_db) == before
        assert replica_position(replica)[0] == 1
    finally:
        replica.dispose()


def test_overlapping_batch_applies_only_its_new_entries(centre: Centre, tmp_path: Path) -> None:
    k, engine, g = centre.k, centre.engine, centre.load_end
    replica_db = tmp_path / "replica.sqlite"
    replica = centre.replica(replica_db)
    try:
        apply(replica, batch(engine, k, 1, max_entries=1), k)
        apply(replica, batch(engine, k, g, max_entries=2), k)  # g+1..g+2
        result = apply(replica, batch(engine, k, g, max_entries=5), k)  # g+1..g+5
        assert result == ApplyResult(g + 1, g + 5, 3, g + 5)
        ship(engine, replica, k, [500])
    finally:
        replica.dispose()
    assert_same(centre.db, replica_db)


# ----------------------------------------------------------------------------- faults

APPLIER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from lgcloud.continuity.keys import identity_from_text
    from lgcloud.continuity.replica import apply_batch
    from lgcloud.db.engine import make_engine, sqlite_url

    replica, data, key, town, centre = sys.argv[1:6]
    engine = make_engine(sqlite_url(replica))
    payload = Path(data).read_bytes()
    identity = identity_from_text(Path(key).read_text())
    print("ready", flush=True)
    apply_batch(engine, payload, town=town, centre_public_b64=centre, identities=[identity])
    print("done", flush=True)
    """
)


def test_apply_killed_at_random_moments_is_all_or_nothing(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data")
    try:
        onboard_town(platform, TOWN_A, "聖籠町")
        k = make_keys(tmp_path)
        clerk(platform, TOWN_A, "K001")
        base = tmp_path / "base.sqlite"
        backup(town_file(platform, TOWN_A), base)
        generate_town(platform, TOWN_A, residents=2500, seed=13, today=TODAY)
        centre = platform.town_engine(TOWN_A)
        started = time.perf_counter()
        data = batch(centre, k, 1, max_entries=10_000, max_bytes=10**9)
        made = time.perf_counter() - started
        new = last_seq(centre)
    finally:
        platform.dispose()
    batch_file, key_file, script = tmp_path / "b.lgjournal", tmp_path / "key.txt", tmp_path / "a.py"
    batch_file.write_bytes(data)
    key_file.write_text(k.recovery.identity)
    script.write_text(APPLIER, encoding="utf-8")

    def applier(db: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(script), str(db), str(batch_file), str(key_file), TOWN_A,
             k.public],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    # how long one apply takes here, timed as the killed ones run: in a process of its
    # own, from "ready" to "done" (timed in this process, a first apply also paid for
    # lazy imports and a large heap and ran up to 4× longer, so every kill came too late)
    scratch_db = tmp_path / "scratch.sqlite"
    backup(base, scratch_db)
    calibration = applier(scratch_db)
    assert calibration.stdout is not None
    assert calibration.stdout.readline().strip() == b"ready"
    started = time.perf_counter()
    assert calibration.stdout.readline().strip() == b"done"
    applied_in = time.perf_counter() - started
    calibration.stdout.close()
    calibration.wait()
    print(
        f"2,500 residents: batch of {len(data):,} bytes made in {made:.2f} s, applied in "
        f"{applied_in:.2f} s"
    )

    replica_db = tmp_path / "replica.sqlite"
    backup(base, replica_db)
    rng = random.Random(20261123)
    outcomes: list[str] = []
    # five kills at least; more (up to twelve) until one has landed mid-apply
    while len(outcomes) < 5 or ("old" not in outcomes and len(outcomes) < 12):
        proc = applier(replica_db)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 1.5) * applied_in)  # some after the commit
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = b"done" in proc.stdout.read()
        proc.stdout.close()

        conn = sqlite3.connect(replica_db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            (position,) = conn.execute("SELECT max(seq) FROM journal").fetchone()
            persons = conn.execute("SELECT count(*) FROM persons").fetchone()[0]
        finally:
            conn.close()
        assert position in (1, new)
        assert (persons > 0) == (position == new)  # the data moves with the position
        outcomes.append("new" if position == new else "old")
        if position == new:
            backup(base, replica_db)  # start the next round from the old position again
        else:
            assert not finished
    print(f"kills: {outcomes}")
    assert "old" in outcomes, outcomes  # at least one kill landed mid-apply

    replica = make_engine(sqlite_url(str(replica_db)))
    try:
        assert apply(replica, data, k).position == new
    finally:
        replica.dispose()
    platform = Platform(tmp_path / "data")
    try:
        assert_same(town_file(platform, TOWN_A), replica_db)
    finally:
        platform.dispose()


# ----------------------------------------------------------------------- partner store


def snapshot_envelope(k: Keys, seq: int, journal_seq: int, town: str = TOWN_A) -> bytes:
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC).isoformat()
    header = {
        "town": town,
        "snapshot_seq": seq,
        "journal_seq": journal_seq,
        "as_of": now,
        "taken_at": now,
    }
    return seal(
        "snapshot", header, f"snapshot {seq} of {KNOWN_NAME}".encode(), k.recipients, k.signer
    )


def test_partner_store_keeps_order_and_cannot_read(centre: Centre, tmp_path: Path) -> None:
    k, engine, g, last = centre.k, centre.engine, centre.load_end, centre.last_seq
    root = tmp_path / "store"
    store = PartnerStore(root)
    assert store.latest(TOWN_A) == (None, [])
    assert store.bytes_received(TOWN_A) == 0
    received = 0

    def keep(data: bytes, kind: Kind = "journal") -> Path:
        nonlocal received
        item = store.store(data, kind=kind, town=TOWN_A, centre_public_b64=k.public)
        received += len(data)
        assert item.path.read_bytes() == data
        assert item.path.parent.parent == root / TOWN_A
        return item.path

    def refuse(data: bytes, kind: Kind = "journal") -> EnvelopeRefused:
        state, listing = store.state(TOWN_A), files()
        with pytest.raises(EnvelopeRefused) as exc:
            store.store(data, kind=kind, town=TOWN_A, centre_public_b64=k.public)
        assert store.state(TOWN_A) == state
        assert files() == listing
        return exc.value

    def files() -> list[Path]:
        return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")

    first = keep(batch(engine, k, 0, max_entries=1))
    assert first.name == "000000000001-000000000001.lgjournal"
    other = make_keys(tmp_path / "other")
    load = batch(engine, k, 1, max_entries=1)  # 2..g
    refused: list[tuple[str, bytes, Kind]] = [
        ("replayed", batch(engine, k, 0, max_entries=1), "journal"),
        ("gap", batch(engine, k, g, max_entries=2), "journal"),
        ("wrong_town", batch(centre.platform.town_engine(TOWN_B), k, 0, town=TOWN_B), "journal"),
        ("bad_signature", flip(load, 30), "journal"),
        ("digest_mismatch", flip(load, len(load) - 1), "journal"),
        ("truncated", load[:-1], "journal"),
        ("wrong_kind", load, "snapshot"),
        ("bad_signature", batch(engine, other, 1, max_entries=1), "journal"),
        ("wrong_town", snapshot_envelope(k, 1, g, town=TOWN_B), "snapshot"),
    ]
    for reason, data, kind in refused:
        assert refuse(data, kind).reason == reason
    assert store.state(TOWN_A)["journal_seq"] == 1

    keep(load)
    late = batch(engine, k, g + 2, max_entries=2)  # g+3..g+4
    exc = refuse(late)
    assert exc.reason == "gap"
    assert f"{g + 1} 番から" in exc.message
    # a snapshot holding the journal up to g+2: the journal may continue from g+3
    snap1 = keep(snapshot_envelope(k, 1, g + 2), "snapshot")
    assert snap1.name == "00000001.lgsnap"
    assert refuse(batch(engine, k, g, max_entries=2)).reason == "replayed"  # in the snapshot
    b1 = keep(late)
    rest = keep(batch(engine, k, g + 3))  # g+4..last, overlapping g+3..g+4
    assert store.latest(TOWN_A) == (snap1, [b1, rest])

    snap2 = keep(snapshot_envelope(k, 2, g + 4), "snapshot")
    assert store.latest(TOWN_A) == (snap2, [rest])
    for old in (snapshot_envelope(k, 1, g + 2), snapshot_envelope(k, 2, g + 4)):
        assert refuse(old, "snapshot").reason == "replayed"
    assert refuse(rest.read_bytes()).reason == "replayed"

    state = store.state(TOWN_A)
    assert state["snapshot"]["seq"] == 2
    assert state["snapshot"]["journal_seq"] == g + 4
    assert state["snapshot"]["as_of"] == "2026-11-23T03:00:00+00:00"
    assert state["journal_seq"] == last
    assert store.bytes_received(TOWN_A) == received
    assert json.loads((root / TOWN_A / "state.json").read_text(encoding="utf-8")) == state
    assert store.state(TOWN_B)["snapshot"] is None  # nothing for the other town
    with pytest.raises(ValueError, match="団体コード"):
        store.state("../x")

    # encrypted: the residents' names are in what is stored, but no stored byte shows them
    family = KNOWN_NAME.split("\u3000", maxsplit=1)[0]
    plain = [
        open_payload(
            open_envelope(p.read_bytes(), kind=kind, centre_public_b64=k.public), k.identities
        ).decode()
        for kind, pattern in (("journal", "*.lgjournal"), ("snapshot", "*.lgsnap"))
        for p in root.rglob(pattern)
    ]
    assert any(family in text for text in plain)  # the journal (a household move)
    assert any(KNOWN_NAME in text for text in plain)  # the (hand-made) snapshot
    assert len(files()) == 7  # 5 journal batches, 2 snapshots, the state
    for path in files():
        assert family.encode() not in path.read_bytes(), path


def test_partner_chain_brings_a_replica_to_the_centre(centre: Centre, tmp_path: Path) -> None:
    """latest() gives a chain that brings a copy at the snapshot's position to the centre's,
    overlapping batches included."""
    k, engine, g, last = centre.k, centre.engine, centre.load_end, centre.last_seq
    store = PartnerStore(tmp_path / "store")
    deliveries: list[tuple[bytes, Kind]] = [
        (batch(engine, k, 0, max_entries=1), "journal"),  # 1
        (batch(engine, k, 1, max_entries=1), "journal"),  # 2..g
        (snapshot_envelope(k, 1, g + 1), "snapshot"),
        (batch(engine, k, g, max_entries=3), "journal"),  # g+1..g+3
        (batch(engine, k, g + 1), "journal"),  # g+2..last, overlapping
    ]
    for data, kind in deliveries:
        store.store(data, kind=kind, town=TOWN_A, centre_public_b64=k.public)
    snapshot, chain = store.latest(TOWN_A)
    assert snapshot is not None
    assert [p.name for p in chain] == [
        f"{g + 1:012d}-{g + 3:012d}.lgjournal",
        f"{g + 2:012d}-{last:012d}.lgjournal",
    ]
    replica_db = tmp_path / "replica.sqlite"
    replica = centre.replica(replica_db)
    try:
        # stands for the snapshot's copy: the replica at g+1
        apply(replica, batch(engine, k, 1, max_entries=1), k)
        apply(replica, batch(engine, k, g, max_entries=1), k)
        assert replica_position(replica)[0] == g + 1
        results = [apply(replica, p.read_bytes(), k) for p in chain]
        assert [r.applied for r in results] == [2, last - g - 3]
    finally:
        replica.dispose()
    assert_same(centre.db, replica_db)
