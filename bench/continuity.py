"""Continuity benchmarks (issue 4) on a generated 30,000-resident town, beside restic.

Run from the repository root:  .venv/bin/python bench/continuity.py [--json out.json] [--runs 3]
                                [--drill-residents N]

* **Steady state first**: the initial load is shipped to the sites as a snapshot and the
  journal entries they hold are pruned, as the running centre does; then
* **Snapshot → ship → verify**: ``take_town_snapshot`` (consistent SQLite copy, manifest,
  zstd, age, Ed25519), the envelope POSTed over HTTP to the town's own node (a real
  ``lgcloud node serve`` subprocess), which restores it into scratch and verifies it
  (integrity, schema, digests, journal, audit chain, town) before answering. Median of runs.
* **restic**: the same town database (a consistent copy made with the SQLite backup API,
  not timed) backed up into a fresh local repository (``restic init`` not timed) plus
  ``restic check --read-data``, timed together. Median of runs.
* **A day**: 1 % of the residents change through the normal write path (``record_event``:
  moves within the town and 職権修正), topped up with tax payments (``record_payment``)
  until the day has ~3,000 new rows; the bytes a partner node receives for it are the
  journal batches (``make_batch``, max 500 entries, as the shipper sends them), checked
  against what the shipper actually pushed to a partner node. restic's figure is the
  growth of its repository when the database after the day is backed up again.
* **Drills**: ``run_drill`` cases 1 and 3 once each (a federation of three towns of
  ``--drill-residents`` each, separate processes, SIGKILL); resume time and RPO.

Prints a table with the targets and optionally writes a flat JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.continuity import keys
from lgcloud.continuity.centre import (
    Shipper,
    centre_journal_seq,
    prune_journal,
    signing_key,
    take_town_snapshot,
)
from lgcloud.continuity.envelope import open_envelope
from lgcloud.continuity.federation import node_name, write_federation
from lgcloud.continuity.replica import make_batch
from lgcloud.continuity.sites import Sites, load_sites
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.logging import configure_logging
from lgcloud.core.ports import free_port
from lgcloud.drill import run_drill
from lgcloud.generate.town import generate_town
from lgcloud.register.domain import AddressIn, Correction, CorrectionFields, MoveWithin
from lgcloud.register.models import PersonVersion
from lgcloud.register.service import record_event
from lgcloud.taxation.models import TaxInstallment, TaxPayment
from lgcloud.taxation.service import record_payment
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.models import JournalEntry

TOWN = "153079"  # 聖籠町: the town whose copies are measured
PARTNER = "154059"  # 出雲崎町: its partner node stores the town's envelopes
TODAY = date(2026, 11, 23)
RESIDENTS = 30_000
DAY_CHANGED = RESIDENTS // 100  # 1 % of the residents: 300 life events, one resident each
DAY_ROWS = 3_000  # new rows the day should bring
MAX_ENTRIES = 500  # per journal batch, as the shipper sends them
RESTIC = shutil.which("restic") or "/usr/bin/restic"
TARGETS: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
    "case1_resume_s": ("≤ 10", lambda r: 10),
    "case3_resume_s": ("≤ 60", lambda r: 60),
    "rpo_s": ("≤ 60", lambda r: 60),
    "snapshot_verify_30k_s": ("≤ restic_30k_s", lambda r: r["restic_30k_s"]),
    "daily_delta_bytes": (
        "≤ restic_daily_delta_bytes / 10",
        lambda r: r["restic_daily_delta_bytes"] / 10,
    ),
}


class Progress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.started
        self.console.print(f"[dim]{elapsed:7.1f} s[/dim]  {message}")


# --------------------------------------------------------------------------- node process


class NodeProcess:
    """``python -m lgcloud node serve`` for one node of the sites file (no line watcher)."""

    def __init__(self, root: Path, sites: Sites, name: str) -> None:
        self.sites = sites
        self.name = name
        self.url = sites.node(name).url.rstrip("/")
        self.log = (root / f"{name}.log").open("ab")
        args = [
            sys.executable,
            "-m",
            "lgcloud",
            "node",
            "serve",
            "--sites",
            str(root / "sites.toml"),
            "--node",
            name,
            "--data-dir",
            str(root / "nodes" / name),
            "--no-watch",
        ]
        env = {**os.environ, "LGCLOUD_NODE": name}
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"node {name} did not start; see {root / (name + '.log')}")

    def post(self, path: str, body: bytes = b"") -> dict[str, Any]:
        r = httpx.post(
            self.url + path,
            content=body,
            headers={
                "authorization": f"Bearer {self.sites.token(self.name)}",
                "content-type": "application/octet-stream",
            },
            timeout=600,
        )
        reply: dict[str, Any] = r.json()
        if r.status_code != 200 or reply.get("refused"):
            raise SystemExit(f"{self.name}{path}: HTTP {r.status_code}: {reply}")
        return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------- helpers


def sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API, one step)."""
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=30)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def restic(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    r = subprocess.run(
        [RESTIC, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"restic {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def restic_env(repo: Path, cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RESTIC_REPOSITORY": str(repo),
        "RESTIC_PASSWORD": "bench-continuity-password",
        "RESTIC_CACHE_DIR": str(cache),
    }


# --------------------------------------------------------------------------- phases


def bench_snapshot(
    platform: Platform, node: NodeProcess, runs: int, log: Progress
) -> dict[str, float]:
    totals, snaps, ships, sizes = [], [], [], []
    for run in range(runs):
        t0 = time.perf_counter()
        record = take_town_snapshot(platform, TOWN)
        t1 = time.perf_counter()
        data = Path(record.path).read_bytes()
        reply = node.post(f"/continuity/{TOWN}/snapshot", data)
        t2 = time.perf_counter()
        if reply.get("verified_seq") != record.seq:
            raise SystemExit(f"snapshot {record.seq} not verified by the node: {reply}")
        totals.append(t2 - t0)
        snaps.append(t1 - t0)
        ships.append(t2 - t1)
        sizes.append(len(data))
        log(
            f"snapshot run {run + 1}/{runs}: {len(data):,} bytes; take {t1 - t0:.2f} s, "
            f"ship + restore + verify {t2 - t1:.2f} s — node: {reply.get('verify_detail')}"
        )
    return {
        "snapshot_verify_30k_s": statistics.median(totals),
        "snapshot_take_30k_s": statistics.median(snaps),
        "snapshot_ship_verify_30k_s": statistics.median(ships),
        "snapshot_bytes_30k": statistics.median(sizes),
    }


def bench_restic(db: Path, work: Path, runs: int, log: Progress) -> tuple[dict[str, float], Path]:
    """restic backup + check --read-data of a consistent copy; returns the last repository
    (which holds the before-the-day backup) for the daily delta."""
    src_dir = work / "restic-src"
    src_dir.mkdir()
    copy = src_dir / f"{TOWN}.sqlite"
    t0 = time.perf_counter()
    sqlite_copy(db, copy)
    copy_s = time.perf_counter() - t0
    log(f"consistent copy for restic: {copy.stat().st_size:,} bytes in {copy_s:.2f} s")
    secs, backup_secs, repo_sizes = [], [], []
    repo = work / "restic-repo-0"
    for run in range(runs):
        repo = work / f"restic-repo-{run}"
        if run:
            shutil.rmtree(work / f"restic-repo-{run - 1}")
        env = restic_env(repo, work / f"restic-cache-{run}")
        restic(env, "init")
        # a relative name from its directory: both backups of the file have the same path,
        # so the one after the day finds its parent
        t0 = time.perf_counter()
        restic(env, "backup", "--host", "bench", copy.name, cwd=src_dir)
        t1 = time.perf_counter()
        restic(env, "check", "--read-data")
        t2 = time.perf_counter()
        secs.append(t2 - t0)
        backup_secs.append(t1 - t0)
        repo_sizes.append(tree_bytes(repo))
        log(
            f"restic run {run + 1}/{runs}: backup {t1 - t0:.2f} s + check --read-data "
            f"{t2 - t1:.2f} s; repository {repo_sizes[-1]:,} bytes"
        )
    return {
        "restic_30k_s": statistics.median(secs),
        "restic_backup_30k_s": statistics.median(backup_secs),
        "restic_repo_bytes_30k": statistics.median(repo_sizes),
        "sqlite_copy_30k_s": copy_s,
    }, repo


def journal_counts(platform: Platform, after_seq: int) -> Counter[tuple[str, str]]:
    """Rows per (table, op) in the journal entries after ``after_seq`` (what is shipped)."""
    counts: Counter[tuple[str, str]] = Counter()
    with platform.town(TOWN) as town:
        for changes in town.session.scalars(
            select(JournalEntry.changes).where(JournalEntry.seq > after_seq)
        ):
            for c in changes:
                if c["op"] == "insert_many":
                    counts[(c["table"], "insert")] += len(c["rows"])
                else:
                    counts[(c["table"], c["op"])] += 1
    return counts


def inserted(counts: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, op), n in counts.items() if op == "insert")


def make_day(platform: Platform, ctx: RequestContext, log: Progress) -> dict[str, Any]:
    """1 % of the residents change (one resident per event), then tax payments until the day
    has ~DAY_ROWS new rows. Returns the counts and the journal position before the day."""
    rng = random.Random(20261124)
    before, _ = centre_journal_seq(platform, TOWN)
    with platform.town(TOWN) as town:
        s = town.session
        current = PersonVersion.is_current.is_(True) & (PersonVersion.status == "resident")
        singles = set(
            s.scalars(
                select(PersonVersion.household_number)
                .where(current)
                .group_by(PersonVersion.household_number)
                .having(func.count() == 1)
            )
        )
        people = list(
            s.execute(
                select(
                    PersonVersion.addressee_number,
                    PersonVersion.household_number,
                    PersonVersion.name,
                    PersonVersion.nationality,
                ).where(current)
            )
        )
        addresses = list(
            s.execute(
                select(PersonVersion.address, PersonVersion.postal_code, PersonVersion.district)
                .where(current)
                .distinct()
            )
        )
    movers = [p for p in people if p.household_number in singles]
    # 本籍 is recorded for Japanese nationals only
    correctable = [p for p in people if p.household_number not in singles and p.nationality is None]
    n_moves = DAY_CHANGED // 2
    chosen_movers = rng.sample(movers, n_moves)
    chosen_corrections = rng.sample(correctable, DAY_CHANGED - n_moves)
    events: list[Any] = []
    for p in chosen_movers:  # 転居: a one-person household moves to another address in town
        address, postal, district = rng.choice(addresses)
        events.append(
            MoveWithin(
                effective_date=TODAY,
                members=[p.addressee_number],
                address=AddressIn(
                    address=address,
                    address_detail=f"{rng.randrange(101, 410)}号室",
                    postal_code=postal,
                    district=district,
                ),
            )
        )
    for p in chosen_corrections:  # 職権修正: 本籍・筆頭者 (one person, the household unchanged)
        events.append(
            Correction(
                effective_date=TODAY,
                member=p.addressee_number,
                fields=CorrectionFields(
                    honseki=f"新潟県北蒲原郡聖籠町大字諏訪山{rng.randrange(1, 3000)}番地",
                    hittousha=p.name,
                ),
                reason="本籍・筆頭者の記載漏れを戸籍の附票により修正",
            )
        )
    rng.shuffle(events)
    t0 = time.perf_counter()
    for event in events:
        with platform.town(TOWN) as town:
            record_event(town, ctx, event, today=TODAY)
    events_s = time.perf_counter() - t0
    counts = journal_counts(platform, before)
    log(
        f"{len(events)} life events ({n_moves} 転居, {len(events) - n_moves} 職権修正) in "
        f"{events_s:.1f} s: {inserted(counts):,} new rows so far"
    )
    # tax payments (収納): each is 1 payment + 1 audit row; pay whole installments
    with platform.town(TOWN) as town:
        s = town.session
        paid = (
            select(TaxPayment.installment_id, func.sum(TaxPayment.amount).label("paid"))
            .group_by(TaxPayment.installment_id)
            .subquery()
        )
        open_installments = list(
            s.execute(
                select(TaxInstallment.id, TaxInstallment.amount - func.coalesce(paid.c.paid, 0))
                .outerjoin(paid, paid.c.installment_id == TaxInstallment.id)
                .where(TaxInstallment.amount - func.coalesce(paid.c.paid, 0) > 0)
            )
        )
    rng.shuffle(open_installments)
    payments = 0
    t0 = time.perf_counter()
    while inserted(counts) < DAY_ROWS:
        need = math.ceil((DAY_ROWS - inserted(counts)) / 2)
        for inst_id, outstanding in open_installments[payments : payments + need]:
            with platform.town(TOWN) as town:
                record_payment(town, ctx, inst_id, paid_on=TODAY, amount=int(outstanding))
            payments += 1
        counts = journal_counts(platform, before)
    payments_s = time.perf_counter() - t0
    after, _ = centre_journal_seq(platform, TOWN)
    log(f"{payments:,} tax payments in {payments_s:.1f} s: {inserted(counts):,} new rows")
    return {
        "before": before,
        "after": after,
        "counts": counts,
        "events": len(events),
        "moves": n_moves,
        "corrections": len(events) - n_moves,
        "payments": payments,
    }


def day_batches(platform: Platform, after_seq: int) -> tuple[list[int], float]:
    """The journal batches from ``after_seq`` to the end, as the shipper makes them."""
    engine = platform.town_engine(TOWN)
    recipients = keys.recipients_of([str(platform.hosted(TOWN).recovery_recipient)])
    signer = signing_key(platform)
    sizes: list[int] = []
    position = after_seq
    t0 = time.perf_counter()
    while True:
        batch = make_batch(
            engine,
            town=TOWN,
            after_seq=position,
            recipients=recipients,
            signer=signer,
            max_entries=MAX_ENTRIES,
        )
        if batch is None:
            break
        sizes.append(len(batch))
        header = open_envelope(
            batch, kind="journal", centre_public_b64=signer.public_b64, town=TOWN
        ).header
        position = int(header["last_seq"])
    return sizes, time.perf_counter() - t0


def bench_drills(
    work: Path, residents: int, log: Progress, console: Console
) -> dict[str, float | int | bool]:
    out: dict[str, float | int | bool] = {"drill_residents": residents}
    for case in (1, 3):
        root = work / f"drill{case}"
        root.mkdir()
        log(f"drill case {case}: three towns of {residents:,} residents (one run) …")
        t0 = time.perf_counter()
        report = run_drill(case, root, residents=residents, log=lambda m: log(f"  drill: {m}"))
        log(
            f"drill case {case}: resume {report.resume_s:.2f} s, "
            f"lost {report.lost_acknowledged} acknowledged ({report.rpo_s:.2f} s), "
            f"checks {'all OK' if report.ok else 'FAILED'}, {time.perf_counter() - t0:.0f} s"
        )
        for c in report.checks:
            if not c.ok:
                console.print(f"  [red]NG[/red] {c.item}: {c.detail}")
        out[f"case{case}_resume_s"] = report.resume_s
        out[f"case{case}_checks_ok"] = report.ok
        if case == 1:
            out["rpo_s"] = report.rpo_s
            out["case1_lost_acknowledged"] = report.lost_acknowledged
        shutil.rmtree(root, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--drill-residents",
        type=int,
        default=3_000,
        help="residents per town in the drills (30000 adds ~4 minutes)",
    )
    ap.add_argument("--skip-drills", action="store_true")
    args = ap.parse_args()
    configure_logging("ERROR")
    console = Console()
    log = Progress(console)
    if not Path(RESTIC).exists():
        raise SystemExit("restic is not installed (apt-get install restic)")
    results: dict[str, Any] = {}
    day: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lgcloud-bench-continuity-") as tmp:
        work = Path(tmp)
        root = work / "federation"
        centre = Platform(root / "centre")
        nodes: list[NodeProcess] = []
        try:
            log(f"generating town {TOWN} with {RESIDENTS:,} residents …")
            summary = generate_town(centre, TOWN, residents=RESIDENTS, seed=1, today=TODAY)
            log(summary.describe())
            setup = RequestContext(TOWN, Actor(None, "bench-setup", ""), node=centre.node)
            with centre.town(TOWN) as town:
                clerk = create_clerk(
                    town,
                    setup,
                    staff_number="2001",
                    name="業務\u3000三恵",
                    roles={Role.BUSINESS_STAFF},
                    password="bench-password-1",
                )
            ctx = RequestContext(TOWN, clerk.actor(), node=centre.node)
            write_federation(
                root,
                centre,
                towns=[TOWN, PARTNER],
                centre_port=free_port(),
                node_ports=[free_port(), free_port()],
            )
            sites = load_sites(root / "sites.toml")
            own_name, partner_name = node_name(TOWN), node_name(PARTNER)
            log(f"starting nodes {own_name} (serves {TOWN}) and {partner_name} (stores it) …")
            own = NodeProcess(root, sites, own_name)
            nodes.append(own)
            partner = NodeProcess(root, sites, partner_name)
            nodes.append(partner)

            # Steady state, as the running centre leaves it: the initial load has been shipped
            # (as a snapshot) to every site, and the journal entries every site holds are
            # pruned (centre.prune_journal). Daily snapshots are taken of such a town.
            take_town_snapshot(centre, TOWN)
            setup_shipper = Shipper(centre, sites, max_entries=MAX_ENTRIES)
            try:
                for name, role in ((own_name, "serves"), (partner_name, "stores")):
                    pushed = setup_shipper.push(TOWN, name, role)
                    if pushed.error:
                        raise SystemExit(f"initial push to {name}: {pushed.error}")
            finally:
                setup_shipper.close()
            results["steady_state_pruned_entries"] = prune_journal(centre, TOWN, sites)
            log(f"steady state: {results['steady_state_pruned_entries']} journal entries pruned")

            db = Path(str(centre.town_engine(TOWN).url.database))
            results["db_bytes_30k"] = db.stat().st_size
            results |= bench_snapshot(centre, own, args.runs, log)
            results |= (restic_results := bench_restic(db, work, args.runs, log))[0]
            repo = restic_results[1]

            # the partner receives the latest snapshot before the day, as the shipper sends it
            shipper = Shipper(centre, sites, max_entries=MAX_ENTRIES)
            try:
                first = shipper.push(TOWN, partner_name, "stores")
                if first.error:
                    raise SystemExit(f"push to {partner_name}: {first.error}")
                log(f"partner {partner_name} stores snapshot {first.snapshot_sent}")
                log(f"the day: {DAY_CHANGED} residents change, topped up to ~{DAY_ROWS:,} rows …")
                day = make_day(centre, ctx, log)
                sizes, make_s = day_batches(centre, day["before"])
                results["daily_delta_bytes"] = sum(sizes)
                results["daily_batches"] = len(sizes)
                results["daily_batch_make_s"] = make_s
                log(f"journal batches for the day: {len(sizes)} ({sum(sizes):,} bytes)")
                received_before = partner_store_bytes(root, partner_name)
                t0 = time.perf_counter()
                to_partner = shipper.push(TOWN, partner_name, "stores")
                t1 = time.perf_counter()
                to_own = shipper.push(TOWN, own_name, "serves")
                t2 = time.perf_counter()
            finally:
                shipper.close()
            for r in (to_partner, to_own):
                if r.error or r.position != day["after"]:
                    raise SystemExit(f"push of the day to {r.node} failed: {r}")
            results["daily_partner_received_bytes"] = (
                partner_store_bytes(root, partner_name) - received_before
            )
            results["daily_ship_to_partner_s"] = t1 - t0
            results["daily_ship_apply_own_node_s"] = t2 - t1
            log(
                f"shipped: partner stored {results['daily_partner_received_bytes']:,} bytes "
                f"({to_partner.batches_sent} batches, {t1 - t0:.2f} s); own node applied "
                f"{to_own.batches_sent} batches in {t2 - t1:.2f} s, at position {to_own.position}"
            )
            results |= restic_delta(db, work, repo, log)
        finally:
            for n in nodes:
                n.stop()
            centre.dispose()
        results["snapshot_vs_restic"] = results["snapshot_verify_30k_s"] / results["restic_30k_s"]
        results["delta_vs_restic"] = (
            results["daily_delta_bytes"] / results["restic_daily_delta_bytes"]
        )
        shutil.rmtree(root, ignore_errors=True)
        for p in work.glob("restic-*"):
            shutil.rmtree(p, ignore_errors=True)
        if not args.skip_drills:
            results |= bench_drills(work, args.drill_residents, log, console)
    counts: Counter[tuple[str, str]] = day["counts"]
    results["day_life_events"] = day["events"]
    results["day_tax_payments"] = day["payments"]
    results["day_journal_entries"] = day["after"] - day["before"]
    results["day_register_updates"] = counts[("person_versions", "update")]
    results["day_updated_rows"] = sum(n for (_, op), n in counts.items() if op == "update")
    results["day_new_rows"] = inserted(counts)
    print_day(console, day)
    print_results(console, results)
    log("done")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def partner_store_bytes(root: Path, partner: str) -> int:
    state = root / "nodes" / partner / "store" / TOWN / "state.json"
    return int(json.loads(state.read_text(encoding="utf-8"))["bytes_received"])


def restic_delta(db: Path, work: Path, repo: Path, log: Progress) -> dict[str, float]:
    src_dir = work / "restic-src"
    copy = src_dir / f"{TOWN}.sqlite"
    sqlite_copy(db, copy)
    env = restic_env(repo, work / "restic-cache-delta")
    size_before = tree_bytes(repo)
    raw_before = json.loads(restic(env, "stats", "--json", "--mode", "raw-data"))["total_size"]
    t0 = time.perf_counter()
    out = restic(env, "backup", "--host", "bench", "--json", copy.name, cwd=src_dir)
    secs = time.perf_counter() - t0
    summary = [json.loads(line) for line in out.splitlines() if '"summary"' in line][-1]
    size_after = tree_bytes(repo)
    raw_after = json.loads(restic(env, "stats", "--json", "--mode", "raw-data"))["total_size"]
    log(
        f"restic after the day: repository +{size_after - size_before:,} bytes "
        f"(raw data +{raw_after - raw_before:,}; {summary.get('data_blobs')} new data blobs, "
        f"parent {'found' if summary.get('files_changed') else 'not found'}), {secs:.2f} s"
    )
    return {
        "restic_daily_delta_bytes": size_after - size_before,
        "restic_daily_raw_data_bytes": raw_after - raw_before,
        "restic_daily_backup_s": secs,
    }


def print_day(console: Console, day: dict[str, Any]) -> None:
    counts: Counter[tuple[str, str]] = day["counts"]
    table = Table(
        "table",
        "new rows",
        "updated rows",
        "deleted rows",
        title=(
            f"the day: {day['events']} life events ({day['moves']} 転居, {day['corrections']} "
            f"職権修正) + {day['payments']:,} tax payments = "
            f"{day['after'] - day['before']:,} journal entries"
        ),
    )
    for name in sorted({t for t, _ in counts}):
        table.add_row(
            name,
            f"{counts[(name, 'insert')]:,}",
            f"{counts[(name, 'update')]:,}",
            f"{counts[(name, 'delete')]:,}",
        )
    table.add_row(
        "total",
        f"{inserted(counts):,}",
        f"{sum(n for (_, op), n in counts.items() if op == 'update'):,}",
        f"{sum(n for (_, op), n in counts.items() if op == 'delete'):,}",
        style="bold",
    )
    console.print(table)


NOTES = {
    "snapshot_verify_30k_s": "median: take + ship (HTTP) + restore + verify",
    "snapshot_ship_verify_30k_s": "read file, POST, node restores and verifies",
    "restic_30k_s": "median: backup + check --read-data",
    "db_bytes_30k": "the live town database file",
    "daily_delta_bytes": "make_batch envelopes, max 500 entries",
    "daily_partner_received_bytes": "pushed by the Shipper (age header grease varies)",
    "restic_daily_delta_bytes": "repository growth, backup after the day",
    "case1_resume_s": "one run",
    "case3_resume_s": "one run",
    "rpo_s": "case 1, one run",
}


def print_results(console: Console, results: dict[str, Any]) -> None:
    drill_note = f"drill towns of {results.get('drill_residents', 0):,} residents"
    table = Table("metric", "lgcloud", "target", "ok", "note")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for k, v in results.items():
        target = TARGETS.get(k)
        limit = target[1](results) if target else None
        ok = "" if limit is None else ("ok" if v <= limit else "[red]NO[/red]")
        note = NOTES.get(k, "")
        if k in ("case1_resume_s", "case3_resume_s", "rpo_s"):
            note = f"{note}; {drill_note}"
        if isinstance(v, bool):
            shown = "yes" if v else "[red]no[/red]"
        elif isinstance(v, int) or (isinstance(v, float) and v.is_integer() and v > 1000):
            shown = f"{int(v):,}"
        else:
            shown = f"{v:.3f}"
        table.add_row(k, shown, target[0] if target else "", ok, note)
    console.print(table)


if __name__ == "__main__":
    main()
