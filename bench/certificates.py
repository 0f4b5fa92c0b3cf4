"""Certificate benchmarks (issue 3) on a generated 30,000-resident town.

Run from the repository root:  .venv/bin/python bench/certificates.py [--json out.json]

Each certificate type is issued 200 times through the API in-process (request to PDF bytes:
session check, data, printability check, rendering, signing, issuance record, audit), for
randomly chosen people who have that kind of record. The all-residents list is produced
once per run as PDF and as CSV. Figures are medians/p95 over the runs, printed beside the
seconds seed 003's drill measured from search to on-screen preview.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk
from lgcloud.certificates.service import CertificateKind, all_residents_csv, issue_certificate
from lgcloud.core.context import Actor, RequestContext
from lgcloud.generate.town import generate_town
from lgcloud.insurance.models import NhiMember
from lgcloud.register.models import PersonVersion
from lgcloud.seals.models import SealRegistration
from lgcloud.taxation.models import ResidentTaxAssessment
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOWN = "153079"
TODAY = date(2026, 11, 23)
N = 200
SEED_003 = {  # seconds from search to preview in seed 003's drill (normal operation)
    "juminhyo_p95_ms": "12–13 s",
    "tax_p95_ms": "16–17 s",
    "nhi_p95_ms": "21–27 s",
    "seal_p95_ms": "—",
    "all_residents_pdf_30k_s": "6–9 s (全住民一覧)",
    "all_residents_csv_30k_s": "6–9 s (全住民一覧)",
}
TARGETS = {
    "juminhyo_p95_ms": 100,
    "tax_p95_ms": 100,
    "nhi_p95_ms": 100,
    "seal_p95_ms": 100,
    "all_residents_pdf_30k_s": 10,
    "all_residents_csv_30k_s": 1,
}


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", type=int, default=3, help="runs of the all-residents list")
    args = ap.parse_args()
    console = Console()
    rng = random.Random(3)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp) / "data")
        t = time.perf_counter()
        generate_town(platform, TOWN, residents=30_000, seed=1, today=TODAY)
        console.print(f"generated 30,000 residents in {time.perf_counter() - t:.1f} s")
        setup = RequestContext(TOWN, Actor(None, "bench", ""))
        with platform.town(TOWN) as town:
            create_clerk(
                town,
                setup,
                staff_number="B1",
                name="計測\u3000職員",
                roles={Role.COUNTER_CLERK},
                password="bench-password-1",
            )
            s = town.session
            residents = list(
                s.scalars(
                    select(PersonVersion.addressee_number).where(
                        PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
                    )
                )
            )
            taxed = list(
                s.scalars(
                    select(ResidentTaxAssessment.addressee_number).where(
                        ResidentTaxAssessment.fiscal_year == 2026
                    )
                )
            )
            insured = list(s.scalars(select(NhiMember.addressee_number)))
            sealed = list(s.scalars(select(SealRegistration.addressee_number)))
        app = create_app(platform)
        with TestClient(app) as client:
            r = client.post(
                "/api/login",
                json={"town_code": TOWN, "staff_number": "B1", "password": "bench-password-1"},
            )
            headers = {"Authorization": f"Bearer {r.headers['X-Session-Token']}"}

            def timed_issue(kind: str, person: str, options: dict[str, object]) -> float:
                t0 = time.perf_counter()
                resp = client.post(
                    "/api/certificates",
                    headers=headers,
                    json={"kind": kind, "addressee_number": person, "options": options},
                )
                ms = (time.perf_counter() - t0) * 1000
                if resp.status_code != 200 or not resp.content.startswith(b"%PDF"):
                    raise SystemExit(
                        f"{kind} for {person} failed: {resp.status_code} {resp.text[:300]}"
                    )
                return ms

            for _ in range(5):  # warm the engine and caches
                timed_issue("resident", residents[0], {})
            results["juminhyo_p95_ms"] = p95(
                [timed_issue("resident", rng.choice(residents), {}) for _ in range(N)]
            )
            results["tax_p95_ms"] = p95(
                [
                    timed_issue(
                        rng.choice(("income_tax", "tax_payment")),
                        rng.choice(taxed),
                        {"fiscal_year": 2026},
                    )
                    for _ in range(N)
                ]
            )
            results["nhi_p95_ms"] = p95(
                [
                    timed_issue(rng.choice(("nhi_card", "nhi_notice")), rng.choice(insured), {})
                    for _ in range(N)
                ]
            )
            results["seal_p95_ms"] = p95(
                [timed_issue("seal", rng.choice(sealed), {}) for _ in range(N)]
            )
        ctx = RequestContext(TOWN, Actor(None, "bench", ""))
        pdf_s, csv_s = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            cert = issue_certificate(platform, ctx, CertificateKind.ALL_RESIDENTS)
            pdf_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            all_residents_csv(platform, ctx)
            csv_s.append(time.perf_counter() - t0)
        results["all_residents_pdf_30k_s"] = statistics.median(pdf_s)
        results["all_residents_csv_30k_s"] = statistics.median(csv_s)
        results["all_residents_pages"] = cert.pages
        platform.dispose()
    table = Table("metric", "lgcloud", "target", "ok", "seed 003 drill")
    for k, v in results.items():
        target = TARGETS.get(k)
        ok = "" if target is None else ("yes" if v <= target else "NO")
        table.add_row(k, f"{v:.2f}", str(target or ""), ok, SEED_003.get(k, ""))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
