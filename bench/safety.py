"""安否確認 benchmark: match a 10,000-row noisy shelter list against a 30,000-resident town.

Run from the repository root:  .venv/bin/python bench/safety.py [--json out.json] [--runs 3]

A 30,000-resident town is generated in a temporary directory (with its 除票: people who
moved out or died), a 10,000-row evacuee list is written from it with the noise of
lgcloud.generate.evacuees (readings in hiragana or half-width kana, no spaces, standard
kanji for variant ones, 和暦 dates, ages instead of dates, a slipped digit, a date a day
off, given name first with no space next to an age, a misheard reading, blanks, ~3 %
former residents, ~10 % visitors: a third with a resident's name and another birth date,
a sixth "slip namesakes" (a resident's name and address, born one digit away in the year)
and a sixth "absent twins" (family name, birth date and address of a resident, given name
and reading one character off)), and the whole service (read the register, match, write
matches.csv, audit) runs --runs times. Timings are medians; accuracy is from the last run
(matching is deterministic).

Keys (issue 18): ``human_share`` (rows left to a clerk as 候補), ``recall_exact`` (people
of the register 一致 with the right person), ``missed_share`` (people neither 一致 nor
among the 候補), ``wrong_match_count``, ``baseline_recall_exact`` (the same share for an
exact-match baseline measured in the same run: folded name or reading equal, birth date
equal, one person only) and ``match_10k_vs_30k_s``; ``ledger_import_10k_vs_30k_s``, the
same list imported into the safety ledger (matched, then written in short transactions).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

TODAY = date(2026, 11, 23)
TOWN = "153079"


def exact_baseline(rows: Sequence[Any], records: Sequence[Any]) -> list[Any]:
    """What an exact-match rule finds: the written name (kanji or reading, folded as the
    register folds it, family and given name in either order) and the written birth date
    both equal to one person's, and to nobody else's, is 一致; everything else 不一致."""
    from lgcloud.safety.matching import Match, Verdict, read_evacuee  # noqa: PLC0415

    by_key: dict[tuple[str, date], set[str]] = defaultdict(set)
    for r in records:
        for key in (r.name_key, r.kana_key):
            if key:
                by_key[(key, r.birth)].add(r.number)
        for given, family in (
            (r.given_name_key, r.family_name_key),
            (r.given_kana_key, r.family_kana_key),
        ):
            if given and family:
                by_key[(given + family, r.birth)].add(r.number)
    out = []
    for n, row in enumerate(rows, start=2):
        e = read_evacuee(row.values["受付番号"], n, row.values)
        found: set[str] = set()
        if e.birth is not None:
            for key in (e.name_key, e.kana_key):
                if key:
                    found |= by_key.get((key, e.birth), set())
        if len(found) == 1:
            number = found.pop()
            out.append(Match(e.receipt, Verdict.MATCH, number, 100, (number,)))
        else:
            out.append(Match(e.receipt, Verdict.NONE, "", 0))
    return out


def main() -> None:
    from lgcloud.core.context import Actor, RequestContext  # noqa: PLC0415
    from lgcloud.db.engine import WRITE_LOCKS  # noqa: PLC0415
    from lgcloud.generate import evacuees as synthetic  # noqa: PLC0415
    from lgcloud.generate.town import generate_town  # noqa: PLC0415
    from lgcloud.safety.ledger import import_list  # noqa: PLC0415
    from lgcloud.safety.matching import Match, Verdict  # noqa: PLC0415
    from lgcloud.safety.service import load_residents, match_evacuees  # noqa: PLC0415
    from lgcloud.tenancy.platform import Platform  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--residents", type=int, default=30_000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1, help="noise seed of the list")
    args = ap.parse_args()
    console = Console()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        platform = Platform(tmp / "data")
        t = time.perf_counter()
        generate_town(platform, TOWN, residents=args.residents, seed=1, today=TODAY)
        console.print(f"town of {args.residents} residents in {time.perf_counter() - t:.1f} s")
        with platform.town(TOWN) as town:
            people = synthetic.source_people(town, former=True)
            records = load_residents(town)
        rows = synthetic.noisy_evacuees(people, rows=args.rows, today=TODAY, seed=args.seed)
        src, out = tmp / "evacuees.csv", tmp / "matches.csv"
        synthetic.write_evacuees(rows, src)
        ctx = RequestContext(TOWN, Actor(None, "bench", ""))
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            with platform.town(TOWN) as town:
                match_evacuees(town, ctx, src, out, today=TODAY)
            times.append(time.perf_counter() - t)
        with out.open(encoding="utf-8", newline="") as f:
            table_rows = list(csv.reader(f))[1:]
        # the same list into the safety ledger: matched read-only, written in chunks
        WRITE_LOCKS.reset()
        t = time.perf_counter()
        ledger = import_list(platform, TOWN, ctx, src, as_of=TODAY)
        results["ledger_import_10k_vs_30k_s"] = (time.perf_counter() - t) * 10_000 / len(rows)
        results["ledger_longest_write_ms"] = WRITE_LOCKS.max_ms
        results["ledger_writes_over_100ms"] = float(WRITE_LOCKS.over_100ms)
        results["ledger_pending_rows"] = float(ledger.pending)
        platform.dispose()
    matches = [
        Match(r[0], Verdict(r[1]), r[2], int(r[3]), tuple(c for c in r[4].split(";") if c))
        for r in table_rows
    ]
    acc = synthetic.accuracy(rows, matches)
    baseline = synthetic.accuracy(rows, exact_baseline(rows, records))
    people_rows = max(acc.residents, 1)
    median = statistics.median(times)
    results["match_10k_vs_30k_s"] = median * 10_000 / len(rows)
    results["match_rows_per_s"] = len(rows) / median
    results["human_share"] = acc.candidates / len(rows)
    results["recall_exact"] = acc.exact_recall
    results["missed_share"] = acc.missed / people_rows
    results["wrong_match_count"] = float(acc.wrong_match)
    results["baseline_recall_exact"] = baseline.exact_recall
    results["baseline_wrong_match_count"] = float(baseline.wrong_match)
    results["exact_share"] = acc.matched / len(rows)
    results["none_share"] = acc.none / len(rows)
    results["visitor_match_count"] = float(acc.visitor_match)
    results["recall"] = acc.recall
    for kind in ("former", "same_name_visitor", "slip_namesake", "absent_twin"):
        results[f"{kind}_rows"] = float(acc.rows_by_kind.get(kind, 0))
        results[f"{kind}_match_count"] = float(acc.match_by_kind.get(kind, 0))
    results["rows"] = float(len(rows))
    results["people"] = float(len(people))
    targets = {
        "match_10k_vs_30k_s": (10.0, "max"),
        "human_share": (0.10, "max"),
        "recall_exact": (0.90, "min"),
        "missed_share": (0.002, "max"),
        "wrong_match_count": (0.0, "max"),
        "ledger_longest_write_ms": (200.0, "max"),
    }
    for kind in ("same_name_visitor", "slip_namesake", "absent_twin"):
        targets[f"{kind}_match_count"] = (0.0, "max")
    table = Table("metric", "value", "target", "ok")
    for k, v in results.items():
        target = targets.get(k)
        ok = ""
        if target is not None:
            ok = "yes" if (v <= target[0] if target[1] == "max" else v >= target[0]) else "NO"
        table.add_row(
            k,
            f"{v:.3f}" if v < 100 else f"{v:.0f}",
            "" if target is None else f"{'≤' if target[1] == 'max' else '≥'} {target[0]:g}",
            ok,
        )
    console.print(table)
    console.print(f"runs: {', '.join(f'{s:.2f} s' for s in times)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
