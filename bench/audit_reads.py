"""The cost of an audited read: its entry group-committed by the town's audit writer.

Run from the repository root:

    .venv/bin/python bench/audit_reads.py [--reads 300] [--runs 3] [--json out.json]

A town of 300 generated residents in a temporary folder (SQLite, as the demo); then
``Platform.record_read`` of a search entry naming 20 people, ``--reads`` times from one
thread and from four threads at once (the writer then commits several entries per
transaction), each ``--runs`` times. Prints the median CPU time (this process, all
threads: the readers and the writer) and wall time per read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from lgcloud.core.context import Actor, RequestContext
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.platform import Platform

TOWN = "153079"


def measure(platform: Platform, ctx: RequestContext, subjects: list[str], reads: int,
            threads: int) -> tuple[float, float]:  # fmt: skip
    """(CPU ms, wall ms) per read."""

    def some(n: int) -> None:
        for _ in range(n):
            platform.record_read(ctx, "search", subjects=subjects, detail={"query": "タ"})

    cpu, wall = time.process_time(), time.perf_counter()
    workers = [threading.Thread(target=some, args=(reads // threads,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done = reads // threads * threads
    return (time.process_time() - cpu) / done * 1000, (time.perf_counter() - wall) / done * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lgcloud-audit-") as tmp:
        platform = Platform(Path(tmp))
        onboard_town(platform, TOWN, "聖籠町", prefecture="新潟県", recovery_key=False)
        generate_town(platform, TOWN, residents=300, seed=1)
        with platform.read_town(TOWN) as town:
            subjects = list(town.session.scalars(select(PersonVersion.addressee_number).limit(20)))
        ctx = RequestContext(TOWN, Actor(1, "試験", "1001"), "bench-audit-reads", platform.node)
        measure(platform, ctx, subjects, 20, 1)  # warm up: pools, statement caches
        res: dict[str, Any] = {"reads": args.reads, "runs": args.runs}
        for threads in (1, 4):
            runs = [measure(platform, ctx, subjects, args.reads, threads) for _ in range(args.runs)]
            res[f"cpu_ms_per_read_{threads}_threads"] = statistics.median(r[0] for r in runs)
            res[f"wall_ms_per_read_{threads}_threads"] = statistics.median(r[1] for r in runs)
        platform.dispose()
    table = Table(title="audited reads (median of runs)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in res.items():
        table.add_row(k, f"{v:.3f}" if isinstance(v, float) else str(v))
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
