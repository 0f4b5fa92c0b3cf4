"""選挙人名簿 benchmarks (issue 16): the quarterly registration on a 30,000-resident town,
the 入場券 for every voter, and election-day check-ins from 20 polling stations.

Run from the repository root:

    .venv/bin/python bench/election.py [--json out.json] [--runs 3] [--residents 30000]
                                       [--checkin-seconds 30] [--workers 2]

Set-up (timed, not measured): a generated town of ``--residents`` (``generate_town``, seed 1),
its districts mapped onto eight 投票区, an election whose 選挙期日 is today.

* ``teiji_toroku_30k_s`` — a 定時登録 as of 1 December 2026: preview (the whole register read
  outside any write) plus fix (the plan put on the roll in writes of 500 electors), from
  an empty roll; ``teiji_longest_write_ms`` is the longest of those writes (what a counter
  write of the town could wait behind).
  Median of ``--runs``; the roll is emptied between runs. Baseline: reading every current
  resident once (``baseline_scan_s``), the least a registration run can do.
* ``nyujoken_pdf_25k_s`` — the 入場券 of every voter, one card each, as bulk notices
  (``elections.service.issue_tickets``: QR codes, typst, files of 1,000, each file's
  notices recorded and audited). Median of ``--ticket-runs`` (default 1: it is the longest).
  Baseline: 1,000 plain 通知書 pages rendered by the same engine (``baseline_notice_1k_s``).
* ``checkin_p95_ms`` — ``lgcloud serve`` (``--workers``, default 2: one per core) on
  127.0.0.1; 20 polling stations, each a logged-in 投票所受付 clerk, each scanning a voter
  every 200 ms (open loop: 5 voters/s per station, 100/s in all) for ``--checkin-seconds``.
  Latency from send to the whole answer. One scan in 20 is a voter another station already
  took (must be refused), and every second a fresh voter is scanned by two stations at the
  same instant (exactly one may win): ``double_checkins_accepted`` counts the second
  acceptances, which must be 0. Baseline: ``GET /health`` p95 sent alongside
  (``baseline_health_p95_ms``).

These machines have 2 cores and are noisy, and the load generator shares them with the
server: compare the ratios to the baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, select

from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.core.clock import today_jst
from lgcloud.core.context import Actor, RequestContext
from lgcloud.db.engine import WRITE_LOCKS
from lgcloud.elections import service
from lgcloud.elections.models import Checkin, Elector, RegistrationRun
from lgcloud.generate.town import generate_town
from lgcloud.notices.domain import Notice
from lgcloud.notices.service import _engine as notice_engine
from lgcloud.register.models import NumberSequence, PersonVersion
from lgcloud.tenancy.platform import Platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOWN = "155811"
TODAY = date(2026, 11, 23)
REFERENCE = date(2026, 12, 1)
PASSWORD = "bench-election-pass-1"
STATIONS = 20
RATE_PER_STATION = 5.0
HOST = "127.0.0.1"

console = Console()


def ctx() -> RequestContext:
    return RequestContext(TOWN, Actor(None, "bench", ""))


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else (xs[0] if xs else 0.0)


# ---------------------------------------------------------------------------- set-up


def set_up(platform: Platform, residents: int) -> None:
    t = time.perf_counter()
    generate_town(platform, TOWN, residents=residents, seed=1, today=TODAY)
    console.print(f"generated {residents:,} residents in {time.perf_counter() - t:.1f} s")
    with platform.read_town(TOWN) as town:
        districts = sorted(
            set(
                town.session.scalars(
                    select(PersonVersion.district).where(PersonVersion.is_current.is_(True))
                )
            )
        )
    with platform.town(TOWN) as town:
        for i in range(8):
            service.set_polling_district(town, ctx(), f"{i + 1:02d}", f"第{i + 1}投票区", "")
        for i, d in enumerate(districts):
            if d:
                service.set_polling_area(town, ctx(), d, f"{i % 8 + 1:02d}")
        service.set_polling_area(town, ctx(), "大字", "01")  # addresses without a 行政区


def empty_roll(platform: Platform) -> None:
    with platform.town(TOWN) as town:
        town.session.execute(delete(Checkin))
        town.session.execute(delete(Elector))
        town.session.execute(delete(RegistrationRun))
        town.session.execute(delete(NumberSequence).where(NumberSequence.name == "elector"))


def baseline_scan(platform: Platform) -> float:
    t = time.perf_counter()
    with platform.read_town(TOWN) as town:
        rows = town.session.execute(
            select(PersonVersion).where(PersonVersion.is_current.is_(True))
        ).all()
    assert rows
    return time.perf_counter() - t


def registration(platform: Platform) -> tuple[float, float, int, float]:
    """(preview s, fix s, people registered, the longest write transaction of the fix in
    ms: how long a counter write of the town could have waited behind it)."""
    empty_roll(platform)
    t0 = time.perf_counter()
    run = service.preview_registration(platform, ctx(), reference_date=REFERENCE)
    t1 = time.perf_counter()
    WRITE_LOCKS.reset()
    fixed = service.fix_registration(platform, ctx(), run.code)
    t2 = time.perf_counter()
    assert not fixed.unassigned, fixed.unassigned[:5]
    return t1 - t0, t2 - t1, fixed.to_register, WRITE_LOCKS.max_ms


def create_election(platform: Platform) -> None:
    today = today_jst()
    with platform.town(TOWN) as town:
        service.create_election(
            town,
            ctx(),
            code="bench",
            name="ベンチ町長選挙",
            national=False,
            polling_day=today,
            reference_date=today - timedelta(days=7),
            registration_date=today - timedelta(days=6),
            early_from=today - timedelta(days=6),
        )
        for i in range(STATIONS):
            service.add_station(
                town,
                ctx(),
                "bench",
                code=f"S{i + 1:02d}",
                name=f"第{i + 1}投票所",
                polling_codes=[],
            )
    for i in range(STATIONS):
        with platform.town(TOWN) as town:
            create_clerk(
                town,
                ctx(),
                staff_number=f"P{i + 1:03d}",
                name=f"受付\u3000{i + 1}",
                roles={Role.POLL_CLERK},
                password=PASSWORD,
            )


def tickets(platform: Platform, out: Path) -> tuple[float, int, int]:
    t = time.perf_counter()
    result = service.issue_tickets(
        platform,
        ctx(),
        election_code="bench",
        per_household=False,
        out_dir=out,
        today=today_jst(),
        per_file=1000,
    )
    return time.perf_counter() - t, result.printed, len(result.files)


def baseline_notices() -> float:
    ns = [
        Notice(
            f"{i:010d}",
            "山田\u3000太郎",
            "新潟県北蒲原郡聖籠町大字諏訪山1番地",
            "9570100",
            "",
            False,
            "通知書",
            ("本文",),
        )
        for i in range(1000)
    ]
    data = {
        "run": "x",
        "town": {"name": "聖籠町", "prefecture": "新潟県"},
        "issued_on": "令和8年12月1日",
        "notices": [n.data() for n in ns],
    }
    t = time.perf_counter()
    notice_engine().render("notice", data, tagged=False)
    return time.perf_counter() - t


# ---------------------------------------------------------------------------- check-ins


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(data_dir: Path, workers: int, log_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LGCLOUD_DATA_DIR", "PYTHONPATH")}
    env["PYTHONUNBUFFERED"] = "1"
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "lgcloud",
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://{HOST}:{port}"
            deadline = time.perf_counter() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited: {log_path.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=2).status_code == 200:
                        break
                if time.perf_counter() > deadline:
                    raise SystemExit("no /health after 60 s")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def check_ins(base: str, voters: list[str], seconds: float) -> dict[str, Any]:
    rng = random.Random(7)
    fresh = iter(voters)
    taken: list[str] = []  # codes already checked in (for deliberate second scans)
    latencies: list[float] = []
    health: list[float] = []
    codes: dict[int, int] = {}
    tried = accepted_twice = races = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        sessions = []
        for i in range(STATIONS):
            r = await client.post(
                "/api/login",
                json={"town_code": TOWN, "staff_number": f"P{i + 1:03d}", "password": PASSWORD},
                timeout=60,
            )
            r.raise_for_status()
            sessions.append({"authorization": f"Bearer {r.headers['X-Session-Token']}"})
        started = time.perf_counter()

        async def scan(station: int, code: str, *, measured: bool) -> int:
            t = time.perf_counter()
            try:
                r = await client.post(
                    "/api/elections/bench/checkins",
                    json={"station": f"S{station + 1:02d}", "code": code},
                    headers=sessions[station],
                )
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            if measured:
                latencies.append((time.perf_counter() - t) * 1000)
            codes[status] = codes.get(status, 0) + 1
            return status

        async def station_loop(station: int) -> None:
            nonlocal tried, accepted_twice
            tick = 0
            pending: set[asyncio.Task[Any]] = set()
            while True:
                at = started + station / STATIONS / RATE_PER_STATION + tick / RATE_PER_STATION
                if at - started > seconds:
                    break
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                tick += 1
                if taken and rng.random() < 0.05:
                    code = rng.choice(taken)
                    tried += 1

                    async def second(code: str = code) -> None:
                        nonlocal accepted_twice
                        if await scan(station, code, measured=False) == 201:
                            accepted_twice += 1

                    task = asyncio.create_task(second())
                else:
                    code = next(fresh)

                    async def first(code: str = code) -> None:
                        if await scan(station, code, measured=True) == 201:
                            taken.append(code)

                    task = asyncio.create_task(first())
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)

        async def races_loop() -> None:
            nonlocal races, accepted_twice, tried
            while time.perf_counter() - started < seconds:
                await asyncio.sleep(1.0)
                code = next(fresh)
                a, b = rng.sample(range(STATIONS), 2)
                results = await asyncio.gather(
                    scan(a, code, measured=False), scan(b, code, measured=False)
                )
                races += 1
                tried += 1
                if results.count(201) > 1:
                    accepted_twice += 1

        async def health_loop() -> None:
            while time.perf_counter() - started < seconds:
                t = time.perf_counter()
                await client.get("/health")
                health.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.2)

        await asyncio.gather(
            *(station_loop(i) for i in range(STATIONS)), races_loop(), health_loop()
        )
        elapsed = time.perf_counter() - started
    return {
        "checkin_p50_ms": round(pct(latencies, 50), 1),
        "checkin_p95_ms": round(pct(latencies, 95), 1),
        "checkin_p99_ms": round(pct(latencies, 99), 1),
        "checkins_measured": len(latencies),
        "checkin_rps": round(sum(codes.values()) / elapsed, 1),
        "checkin_status": codes,
        "double_checkins_tried": tried,
        "double_checkins_accepted": accepted_twice,
        "simultaneous_pairs": races,
        "baseline_health_p95_ms": round(pct(health, 95), 1),
    }


# ---------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ticket-runs", type=int, default=1)
    ap.add_argument("--residents", type=int, default=30_000)
    ap.add_argument("--checkin-seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="lgcloud-bench-election-") as tmp:
        data_dir = Path(tmp) / "data"
        platform = Platform(data_dir)
        set_up(platform, args.residents)
        scans, previews, fixes, longest, voters = [], [], [], [], 0
        for _ in range(args.runs):
            scans.append(baseline_scan(platform))
            preview_s, fix_s, voters, longest_ms = registration(platform)
            previews.append(preview_s)
            fixes.append(fix_s)
            longest.append(longest_ms)
        totals = [p + f for p, f in zip(previews, fixes, strict=True)]
        create_election(platform)
        ticket_times, printed, files = [], 0, 0
        notice_base = []
        for i in range(args.ticket_runs):
            notice_base.append(baseline_notices())
            seconds, printed, files = tickets(platform, Path(tmp) / f"tickets-{i}")
            ticket_times.append(seconds)
        with platform.read_town(TOWN) as town:
            voter_codes = [
                f"E{n}"
                for n in town.session.scalars(
                    select(Elector.elector_number).where(Elector.struck_on.is_(None))
                )
            ]
        platform.dispose()
        random.Random(3).shuffle(voter_codes)
        with serving(data_dir, args.workers, Path(tmp) / "server.log") as base:
            load = asyncio.run(check_ins(base, voter_codes, args.checkin_seconds))

    out: dict[str, Any] = {
        "residents": args.residents,
        "voters": voters,
        "teiji_toroku_30k_s": round(statistics.median(totals), 2),
        "teiji_preview_s": round(statistics.median(previews), 2),
        "teiji_fix_s": round(statistics.median(fixes), 2),
        "teiji_longest_write_ms": round(statistics.median(longest), 1),
        "baseline_scan_s": round(statistics.median(scans), 2),
        "teiji_vs_scan": round(statistics.median(totals) / statistics.median(scans), 1),
        "nyujoken_pdf_25k_s": round(statistics.median(ticket_times), 1),
        "nyujoken_printed": printed,
        "nyujoken_files": files,
        "baseline_notice_1k_s": round(statistics.median(notice_base), 2),
        "nyujoken_per_1k_vs_baseline": round(
            statistics.median(ticket_times)
            / max(printed, 1)
            * 1000
            / statistics.median(notice_base),
            1,
        ),
        **{k: v for k, v in load.items() if k != "checkin_status"},
        "checkin_status": " ".join(f"{k}:{v}" for k, v in sorted(load["checkin_status"].items())),
    }
    table = Table("measure", "value", "target")
    targets = {
        "teiji_toroku_30k_s": "≤ 30",
        "nyujoken_pdf_25k_s": "≤ 60",
        "checkin_p95_ms": "≤ 50",
        "double_checkins_accepted": "= 0",
    }
    for k, v in out.items():
        table.add_row(k, str(v), targets.get(k, ""))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
