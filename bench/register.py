"""Register benchmarks (issues 2, 14): generation, folded search, quick switch, audit
verify, and how long the ``lgcloud`` command takes to start (``cli_start_s``: the median
wall time of ``lgcloud --help`` and of ``lgcloud towns`` on a data directory with a town,
each run as a new process, as an operator runs them; target ≤ 0.5 s).

Run from the repository root:  .venv/bin/python bench/register.py [--json out.json] [--runs 3]

Prints a table and optionally writes a flat JSON object. Figures are medians over runs;
each has a baseline measured in the same run on the same database so that noise on these
2-core machines shows in both.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select

from lgcloud.audit import service as audit_service
from lgcloud.audit.chain import GENESIS_HASH, entry_hash
from lgcloud.audit.models import AuditEntry, AuditHead, AuditSubject
from lgcloud.auth import service as auth_service
from lgcloud.auth.roles import Role
from lgcloud.core.context import Actor, RequestContext
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import queries
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import finish_write

TODAY = date(2026, 11, 23)
TOWN = "155811"
AUDIT_TOWN = "154059"
HALFWIDTH = str.maketrans(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン",
    "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ",
)


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def hira(kata: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kata)


def queries_for(platform: Platform, n: int, rng: random.Random) -> list[str]:
    with platform.town(TOWN) as town:
        people = list(
            town.session.execute(
                select(PersonVersion.name, PersonVersion.kana).where(
                    PersonVersion.is_current.is_(True)
                )
            )
        )
    out = []
    for name, kana in rng.sample(people, n):
        family, _, given = name.partition("\u3000")
        kfamily = kana.partition("\u3000")[0]
        form = rng.randrange(5)
        out.append(
            [
                family,
                hira(kfamily),
                kfamily.translate(HALFWIDTH),
                name.replace("\u3000", ""),
                given,
            ][form]
        )
    return out


def bench_search(platform: Platform, runs: int) -> dict[str, float]:
    rng = random.Random(7)
    ctx = RequestContext(TOWN, Actor(1, "bench", "B001"))
    p95s, base95s, hits = [], [], []
    for _ in range(runs):
        qs = queries_for(platform, 1000, rng)
        samples, base = [], []
        for q in qs:

            def one(q: str = q) -> None:
                with platform.town(TOWN) as town:
                    found = queries.search(town, q)
                    hits.append(len(found))
                    finish_write(
                        town.session,
                        ctx,
                        "search",
                        subjects=[p.addressee_number for p in found],
                        detail={"query": q},
                    )

            samples.append(timed(one))

            def baseline(q: str = q) -> None:  # same transaction + audit write, PK lookup only
                with platform.town(TOWN) as town:
                    town.session.get(AuditHead, 1)
                    finish_write(town.session, ctx, "search", detail={"query": q})

            base.append(timed(baseline))
        p95s.append(p95(samples))
        base95s.append(p95(base))
    return {
        "search_p95_ms": statistics.median(p95s),
        "search_baseline_p95_ms": statistics.median(base95s),
        "search_median_hits": statistics.median(hits),
    }


def bench_switch(platform: Platform, runs: int) -> dict[str, float]:
    pw = "bench-password-1"
    with platform.town(TOWN) as town:
        ctx0 = RequestContext(TOWN, Actor(None, "bench-setup", ""))
        for staff, pin in (("S1", "1111"), ("S2", "2222")):
            auth_service.create_clerk(
                town,
                ctx0,
                staff_number=staff,
                name=f"切替 {staff}",
                roles={Role.COUNTER_CLERK},
                password=pw,
                pin=pin,
            )
    token, clerk = auth_service.login(
        platform, RequestContext(TOWN, Actor(None, "-", "S1")), "S1", pw
    )
    p95s, login95s = [], []
    for _ in range(runs):
        samples, logins = [], []
        for i in range(60):
            staff, pin = (("S2", "2222"), ("S1", "1111"))[i % 2]
            ctx = RequestContext(TOWN, clerk.actor())
            t = time.perf_counter()
            clerk = auth_service.quick_switch(platform, ctx, token, staff, pin)
            samples.append((time.perf_counter() - t) * 1000)
        for _ in range(10):
            logins.append(
                timed(
                    lambda: auth_service.login(
                        platform, RequestContext(TOWN, Actor(None, "-", "S1")), "S1", pw
                    )
                )
            )
        p95s.append(p95(samples))
        login95s.append(p95(logins))
    return {
        "switch_p95_ms": statistics.median(p95s),
        "full_login_p95_ms": statistics.median(login95s),
    }


def fill_audit(platform: Platform, n: int) -> None:
    """Append n chained audit entries (bulk insert; the chain is computed as append_entry does)."""
    prev = GENESIS_HASH
    rows = []
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": t0 + timedelta(seconds=seq),
            "town_code": AUDIT_TOWN,
            "clerk_id": 1 + seq % 7,
            "clerk_name": "職員",
            "staff_number": f"{1000 + seq % 7}",
            "action": "view_person",
            "subjects": [f"{seq:010d}"],
            "purpose": "証明書交付",
            "request_id": f"{seq:032x}",
            "node": "centre",
            "mode": "normal",
            "detail": {},
            "prev_hash": prev,
        }
        prev = entry_hash(fields)
        rows.append({**fields, "entry_hash": prev})
    with platform.town(AUDIT_TOWN) as town:
        town.session.execute(insert(AuditEntry), rows)
        town.session.execute(
            insert(AuditSubject),
            [{"entry_seq": r["seq"], "addressee_number": r["subjects"][0]} for r in rows],
        )
        town.session.add(AuditHead(id=1, seq=n, entry_hash=prev))


def bench_audit(platform: Platform, runs: int) -> dict[str, float]:
    fill_audit(platform, 100_000)
    secs = []
    for _ in range(runs):
        with platform.town(AUDIT_TOWN) as town:
            t = time.perf_counter()
            report = audit_service.verify(town.session)
            secs.append(time.perf_counter() - t)
        if not report.ok or report.entries != 100_000:
            raise SystemExit(f"audit chain did not verify: {report}")
    return {"audit_verify_100k_s": statistics.median(secs)}


def bench_cli_start(data_dir: Path, runs: int) -> dict[str, float]:
    """Wall time of light commands in a new process each (imports included)."""
    lgcloud = Path(sys.executable).with_name("lgcloud")
    argv = [str(lgcloud)] if lgcloud.exists() else [sys.executable, "-m", "lgcloud"]
    times: dict[str, list[float]] = {"help": [], "towns": []}
    for _ in range(max(runs, 5)):
        for name, extra in (
            ("help", ["--help"]),
            ("towns", ["towns", "--data-dir", str(data_dir)]),
        ):
            t = time.perf_counter()
            subprocess.run([*argv, *extra], check=True, capture_output=True)
            times[name].append(time.perf_counter() - t)
    help_s, towns_s = statistics.median(times["help"]), statistics.median(times["towns"])
    return {"cli_help_s": help_s, "cli_towns_s": towns_s, "cli_start_s": max(help_s, towns_s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    console = Console()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gen_secs = []
        for run in range(args.runs):
            platform = Platform(Path(tmp) / f"gen{run}")
            t = time.perf_counter()
            generate_town(platform, TOWN, residents=30_000, seed=1, today=TODAY)
            gen_secs.append(time.perf_counter() - t)
            if run < args.runs - 1:
                platform.dispose()
        results["generate_30k_s"] = statistics.median(gen_secs)
        onboard_town(platform, AUDIT_TOWN, "出雲崎町")
        results |= bench_search(platform, args.runs)
        results |= bench_switch(platform, args.runs)
        results |= bench_audit(platform, args.runs)
        platform.dispose()
        results |= bench_cli_start(Path(tmp) / f"gen{args.runs - 1}", args.runs)
    targets = {
        "generate_30k_s": 60,
        "search_p95_ms": 20,
        "switch_p95_ms": 200,
        "audit_verify_100k_s": 5,
        "cli_start_s": 0.5,
    }
    table = Table("metric", "median", "target", "ok")
    for k, v in results.items():
        target = targets.get(k)
        table.add_row(
            k,
            f"{v:.3f}",
            str(target) if target else "",
            "" if target is None else ("yes" if v <= target else "NO"),
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
