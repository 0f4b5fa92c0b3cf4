"""Interchange benchmarks (issues 6 and 14): residents.csv import, re-import and export.

Run from the repository root:  .venv/bin/python bench/interchange.py [--json out.json]

A 100,000-resident residents.csv (UTF-8) is made from the synthetic-town generator, then
imported into an empty town in a child process (so its peak memory can be read), imported
again unchanged (a migration is import, fix, re-import, many times: the second import must
cost no more than the first, ``reimport_100k_s`` ≤ ``import_100k_s``) and exported again.
The same is done with a 20,000-resident file (memory must not grow with the file) and,
once, with a 200,000-resident file (the re-import must grow linearly:
``reimport_ratio_200k_vs_100k`` ≤ 2.2). Medians over --runs runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

TODAY = date(2026, 11, 23)

CHILD = """
import json, resource, sys, time
from pathlib import Path
from lgcloud.onboarding import onboard_town
from lgcloud.core.context import Actor, RequestContext
from lgcloud.interchange.residents import export_residents, import_residents
from lgcloud.tenancy.platform import Platform

data_dir, csv_path, out_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
platform = Platform(data_dir)
onboard_town(platform, "154059", "出雲崎町")
ctx = RequestContext("154059", Actor(None, "bench", ""))


def hwm_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Reset the peak-RSS mark (Linux clear_refs 5), so start-up allocations (argon2's 64 MiB
# dummy hash at import) do not hide what the import itself uses.
try:
    Path("/proc/self/clear_refs").write_text("5")
except OSError:
    pass
t = time.perf_counter()
result = import_residents(platform, ctx, csv_path)
imported = time.perf_counter() - t
peak = hwm_mb()
t = time.perf_counter()
again = import_residents(platform, ctx, csv_path)
reimported = time.perf_counter() - t
assert again.imported == 0 and again.unchanged == result.imported, "re-import changed data"
t = time.perf_counter()
with platform.read_town("154059") as town, out_path.open("wb") as f:
    export_residents(town, ctx, f)
exported = time.perf_counter() - t
print(json.dumps({"import_s": imported, "reimport_s": reimported, "export_s": exported,
                  "peak_rss_mb": peak, "rows": result.rows, "imported": result.imported}))
"""


def make_file(path: Path, residents: int) -> int:
    """residents.csv from the generator's pure part (no database needed)."""
    from lgcloud.generate.town import TownGenerator, build_histories  # noqa: PLC0415
    from lgcloud.interchange.residents import COLUMNS, row_of  # noqa: PLC0415

    gen = TownGenerator("153079", 1, TODAY)
    versions, _, _, _ = build_histories(gen, residents)
    current = sorted((v for v, to in versions if to is None), key=lambda s: s.addressee_number)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(COLUMNS)
        w.writerows(row_of(s) for s in current)
    return len(current)


def run_child(tmp: Path, csv_path: Path, tag: str) -> dict[str, float]:
    out = tmp / f"export-{tag}.csv"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp / f"data-{tag}"), str(csv_path), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    if out.read_bytes() != csv_path.read_bytes():
        raise SystemExit(f"export after import differs from the imported file ({tag})")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    console = Console()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        big, small = tmp / "residents-100k.csv", tmp / "residents-20k.csv"
        huge = tmp / "residents-200k.csv"
        rows_big = make_file(big, 100_000)
        rows_small = make_file(small, 20_000)
        rows_huge = make_file(huge, 200_000)
        console.print(
            f"files: {rows_big} rows ({big.stat().st_size / 1e6:.1f} MB), {rows_small} rows, "
            f"{rows_huge} rows"
        )
        runs = [run_child(tmp, big, f"big{i}") for i in range(args.runs)]
        small_runs = [run_child(tmp, small, f"small{i}") for i in range(args.runs)]
        huge_run = run_child(tmp, huge, "huge")  # once: it takes as long as the rest
    results["import_100k_s"] = statistics.median(r["import_s"] for r in runs)
    results["reimport_100k_s"] = statistics.median(r["reimport_s"] for r in runs)
    results["reimport_200k_s"] = huge_run["reimport_s"]
    results["reimport_ratio_200k_vs_100k"] = huge_run["reimport_s"] / results["reimport_100k_s"]
    results["rows_200k"] = float(rows_huge)
    results["export_100k_s"] = statistics.median(r["export_s"] for r in runs)
    results["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    results["peak_rss_mb_20k"] = statistics.median(r["peak_rss_mb"] for r in small_runs)
    results["import_20k_s"] = statistics.median(r["import_s"] for r in small_runs)
    results["rows_100k"] = float(rows_big)
    targets: dict[str, float] = {
        "import_100k_s": 30,
        "export_100k_s": 10,
        "reimport_100k_s": results["import_100k_s"],
        "reimport_ratio_200k_vs_100k": 2.2,
    }
    table = Table("metric", "median", "target", "ok")
    for k, v in results.items():
        target = targets.get(k)
        table.add_row(
            k,
            f"{v:.2f}",
            "" if target is None else f"{target:g}",
            "" if target is None else ("yes" if v <= target else "NO"),
        )
    console.print(table)
    console.print(
        f"memory: {results['peak_rss_mb_20k']:.0f} MB for 20,000 rows, "
        f"{results['peak_rss_mb']:.0f} MB for 100,000 rows"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
