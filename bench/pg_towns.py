"""Towns per PostgreSQL server: what one hosted town costs the centre's server.

Run from the repository root:

    .venv/bin/python bench/pg_towns.py [--towns 40] [--residents 500] [--json out.json]

Starts a throwaway PostgreSQL server (``lgcloud.db.pgserver``: Debian's postgresql,
private socket), makes a centre on it with a database per town (as ``LGCLOUD_DATABASE_URL``
does), onboards ``--towns`` towns from a migrated template and generates
``--residents`` residents into each, then measures:

* disk: an empty town's database, a populated one, and so the bytes per resident;
* onboarding: seconds to create one town (database copied from the template, keys);
* connections: what one server process holds after a search in every town (its pools are
  per town database), and the memory (PSS) of one idle backend;
* latency: the median and p95 of a folded-name search in one town, then round-robin over
  every town (each town's pages and pool cold or warm), in this process.

The figures feed the extrapolation in docs/scaling.md (towns per server, 1,741
municipalities). The server runs with ``fsync=off`` (this measures sizes and CPU, not
disks).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from lgcloud.core.ids import town_code_check_digit
from lgcloud.db import migrate
from lgcloud.db.engine import make_engine
from lgcloud.db.pgserver import PgServer, throwaway_server
from lgcloud.generate.town import generate_town
from lgcloud.onboarding import onboard_town
from lgcloud.register import queries
from lgcloud.tenancy.platform import Platform

QUERIES = ["タ", "サ", "ヤ", "スズキ", "高", "佐藤", "イ", "カ"]


def _pss_kib(pid: int) -> int | None:
    """Proportional set size of a process: shared buffers counted once across backends
    (None when it cannot be read: the backend ended, or no permission)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def _searches(platform: Platform, codes: list[str], n: int) -> list[float]:
    out = []
    for i in range(n):
        code = codes[i % len(codes)]
        t = time.perf_counter()
        with platform.read_town(code) as town:
            queries.search(town, QUERIES[i % len(QUERIES)])
        out.append(time.perf_counter() - t)
    return out


def run(server: PgServer, towns: int, residents: int, console: Console) -> dict[str, Any]:
    template = server.create_database("tpl_town")
    engine = make_engine(template)
    migrate.upgrade(engine, "town")
    engine.dispose()
    admin = make_engine(server.admin_url)
    with admin.connect() as c:
        empty_bytes = int(c.scalar(text("SELECT pg_database_size('tpl_town')")) or 0)
    data_dir = Path(tempfile.mkdtemp(prefix="lgcloud-pg-towns-"))
    platform = Platform(
        data_dir, database_url=server.create_database("centre"), town_template="tpl_town"
    )
    codes = [f"{15000 + i}{town_code_check_digit(str(15000 + i))}" for i in range(towns)]
    onboard, generate = [], []
    for i, code in enumerate(codes):
        t = time.perf_counter()
        onboard_town(platform, code, f"試験町{i}", prefecture="新潟県", recovery_key=False)
        onboard.append(time.perf_counter() - t)
        t = time.perf_counter()
        generate_town(platform, code, residents=residents, seed=i)
        generate.append(time.perf_counter() - t)
        if (i + 1) % 10 == 0:
            console.print(f"{i + 1} towns onboarded and generated")
    with admin.connect() as c:
        sizes = [
            int(c.scalar(text("SELECT pg_database_size(:d)"), {"d": f"centre_{code}"}) or 0)
            for code in codes
        ]
    # a fresh process's view: dispose the pools, then search one town, then every town
    platform.dispose()
    platform = Platform(data_dir, database_url=platform.database_url)
    one = _searches(platform, codes[:1], 400)
    cold = _searches(platform, codes, len(codes))  # first touch of each town's pool
    warm = _searches(platform, codes, 400)
    with admin.connect() as c:
        rows = c.execute(
            text(
                "SELECT pid, datname, state FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND datname LIKE 'centre%'"
            )
        ).all()
    idle_pss = [
        kib for pid, _, state in rows if state == "idle" and (kib := _pss_kib(int(pid))) is not None
    ]
    platform.dispose()
    admin.dispose()
    populated = statistics.median(sizes)
    res: dict[str, Any] = {
        "towns": towns,
        "residents_per_town": residents,
        "empty_town_db_mib": empty_bytes / 2**20,
        "town_db_mib": populated / 2**20,
        "bytes_per_resident": (populated - empty_bytes) / residents,
        "onboard_town_s": statistics.median(onboard),
        "generate_town_s": statistics.median(generate),
        "connections_after_searching_every_town": len(rows),
        "connections_per_town_per_process": sum(d != "centre" for _, d, _ in rows) / towns,
        "idle_backend_pss_mib": statistics.median(idle_pss) / 1024 if idle_pss else None,
    }
    for name, samples in (("one_town", one), ("every_town_cold", cold), ("every_town", warm)):
        p50, p95 = _ms(samples)
        res[f"search_{name}_p50_ms"], res[f"search_{name}_p95_ms"] = p50, p95
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--towns", type=int, default=40)
    ap.add_argument("--residents", type=int, default=500)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    console = Console(markup=False)
    t = time.perf_counter()
    with throwaway_server("max_connections=400") as server:
        res = run(server, args.towns, args.residents, console)
    res["wall_s"] = time.perf_counter() - t
    table = Table(title="pg_towns: what a town costs a PostgreSQL server")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in res.items():
        table.add_row(k, f"{v:.3f}" if isinstance(v, float) else str(v))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
