"""``lgcloud drill --case 1|2|3``: seed 003's three failures, end to end, on this machine.

The centre and three town nodes run as separate processes on loopback ports (the
federation of :mod:`lgcloud.continuity.federation`). A clerk keeps working at the centre
(each issued certificate is one acknowledged, journalled write) while the drill kills what
the case kills with SIGKILL, then checks the applicable items of seed 003's test table
(docs/drills.md), issues the four outputs from the surviving copy and reports the times
beside seed 003's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from lgcloud.continuity.federation import NodeSpec, node_name, write_federation
from lgcloud.continuity.models import PendingApplication
from lgcloud.continuity.recovery import recovery_sheet_path
from lgcloud.continuity.replica import replica_position
from lgcloud.continuity.sites import load_sites
from lgcloud.continuity.status import centre_journal_seq, town_status
from lgcloud.core.ports import free_port
from lgcloud.db.engine import make_engine, sqlite_url
from lgcloud.generate.demo import DEMO_TOWNS, build_demo
from lgcloud.tenancy.platform import Platform

#: seed 003: time to resume work after the project (minutes) and per output (seconds)
SEED_RESUME = {1: "約5分", 2: "2〜3.5時間", 3: "3〜4.5時間"}
SEED_OUTPUT = {
    1: {"住民票": "12–14 s", "税証明": "17–23 s", "保険証": "20–30 s", "全住民一覧": "6–10 s"},
    2: {"住民票": "12–14 s", "税証明": "16–20 s", "保険証": "20–28 s", "全住民一覧": "6–10 s"},
    3: {"住民票": "13–15 s", "税証明": "17–21 s", "保険証": "20–28 s", "全住民一覧": "6–10 s"},
}
TOWN = "153079"  # the town whose failure is drilled (聖籠町)
PARTNER = "154059"  # the partner it goes to (出雲崎町)


@dataclass
class Check:
    item: str
    ok: bool
    detail: str = ""


@dataclass
class DrillReport:
    case: int
    resume_s: float = 0.0
    lost_acknowledged: int = 0
    rpo_s: float = 0.0
    outputs_s: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, item: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(item, ok, detail))
        return ok


class Federation:
    """The processes of one drill."""

    def __init__(
        self,
        root: Path,
        *,
        residents: int | None,
        seed: int = 2026,
        log: Callable[[str], None],
        centre_port: int | None = None,
        node_ports: list[int] | None = None,
        console: Any = None,
    ):
        self.root = root
        self.log = log
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.towns = [code for code, _, _ in DEMO_TOWNS]
        centre_dir = root / "centre"
        log(f"generating {len(self.towns)} towns ({residents or 'seed 003'} residents) …")
        self.centre, self.passwords, self.pins = build_demo(
            centre_dir, seed=seed, residents=residents, console=console
        )
        self.centre_port = centre_port or free_port()
        ports = node_ports or [free_port() for _ in self.towns]
        self.specs: list[NodeSpec] = write_federation(
            root, self.centre, towns=self.towns, centre_port=self.centre_port, node_ports=ports
        )
        self.sites = load_sites(root / "sites.toml")
        # the town's safe: a copy of its recovery sheet, kept away from the centre
        (root / "safe").mkdir(mode=0o700, exist_ok=True)
        for t in self.towns:
            key = root / "safe" / f"{t}.key"  # a recovery key: its owner's only
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(recovery_sheet_path(self.centre, t).read_bytes())
        from lgcloud.continuity.centre import take_town_snapshot  # noqa: PLC0415

        for t in self.towns:
            take_town_snapshot(self.centre, t)

    def url(self, name: str) -> str:
        return self.sites.centre.url if name == "centre" else self.sites.node(name).url

    def start(self, name: str) -> None:
        base = [sys.executable, "-m", "lgcloud"]
        if name == "centre":
            args = [
                *base,
                "serve",
                "--data-dir",
                str(self.root / "centre"),
                "--sites",
                str(self.root / "sites.toml"),
                "--port",
                str(self.centre_port),
            ]
        else:
            args = [
                *base,
                "node",
                "serve",
                "--data-dir",
                str(self.root / "nodes" / name),
                "--sites",
                str(self.root / "sites.toml"),
                "--node",
                name,
            ]
        env = {**os.environ, "LGCLOUD_NODE": name}
        with (self.root / f"{name}.log").open("ab") as logf:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(args, stdout=logf, stderr=logf, env=env)  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url(name) + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start; see {self.root / (name + '.log')}")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.centre.dispose()

    def node_token(self, name: str) -> str:
        return self.sites.token(name)

    def node_call(self, name: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.node_token(name)}", "x-lgcloud-actor": "drill"}
        return httpx.request(method, self.url(name) + path, headers=headers, timeout=120, **kw)

    def wait_replicated(self, timeout: float = 120) -> None:
        """Until every site of every town holds a verified-or-stored snapshot and the journal."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [r for t in self.towns for r in town_status(self.centre, self.sites, t)]
            if rows and all(r.alert is None and r.journal_lag_entries == 0 for r in rows):
                return
            time.sleep(0.3)
        raise RuntimeError(
            "replication did not catch up: "
            + "; ".join(f"{r.town}@{r.site}: {r.alert} lag={r.journal_lag_entries}" for r in rows)
        )


class Clerk:
    """A clerk session over HTTP at one site."""

    def __init__(self, base: str, town: str, staff: str, password: str) -> None:
        self.base = base
        self.town = town
        self.password = password
        self.client = httpx.Client(base_url=base, timeout=120)
        r = self.client.post(
            "/api/login", json={"town_code": town, "staff_number": staff, "password": password}
        )
        if r.status_code != 200:
            raise PermissionError(r.json().get("detail", r.text))
        self.client.headers["authorization"] = f"Bearer {r.headers['X-Session-Token']}"

    def issue(
        self, kind: str, person: str | None, *, purpose: str | None = None, **options: Any
    ) -> httpx.Response:
        return self.client.post(
            "/api/certificates",
            params={"purpose": purpose} if purpose else None,
            json={"kind": kind, "addressee_number": person, "options": options},
        )

    def close(self) -> None:
        self.client.close()


def try_login(base: str, town: str, staff: str, password: str) -> tuple[bool, str]:
    try:
        Clerk(base, town, staff, password).close()
    except PermissionError as exc:
        return False, str(exc)
    except httpx.HTTPError as exc:
        return False, f"接続できません: {exc}"
    return True, ""


def sample_people(platform: Platform, town: str) -> dict[str, str]:
    from lgcloud.insurance.models import NhiMember  # noqa: PLC0415
    from lgcloud.register.models import PersonVersion  # noqa: PLC0415
    from lgcloud.taxation.models import ResidentTaxAssessment  # noqa: PLC0415

    with platform.town(town) as t:
        s = t.session
        resident = s.scalar(
            select(PersonVersion.addressee_number)
            .where(PersonVersion.is_current.is_(True), PersonVersion.status == "resident")
            .limit(1)
        )
        taxed = s.execute(
            select(ResidentTaxAssessment.addressee_number, ResidentTaxAssessment.fiscal_year)
            .order_by(ResidentTaxAssessment.fiscal_year.desc())
            .limit(1)
        ).one()
        insured = s.scalar(select(NhiMember.addressee_number).limit(1))
    return {
        "resident": str(resident),
        "taxed": str(taxed[0]),
        "fiscal_year": str(taxed[1]),
        "insured": str(insured),
    }


def issue_four(report: DrillReport, clerk: Clerk, people: dict[str, str], *, as_of: bool) -> None:
    """The four outputs a town must never stop issuing, timed; checks each succeeded."""
    outputs: list[tuple[str, str, str | None, dict[str, Any]]] = [
        ("住民票", "resident", people["resident"], {}),
        ("税証明", "income_tax", people["taxed"], {"fiscal_year": int(people["fiscal_year"])}),
        ("保険証", "nhi_card", people["insured"], {}),
        ("全住民一覧", "all_residents", None, {}),
    ]
    # the whole register is the business staff's (export_register), with its purpose
    staff = Clerk(clerk.base, clerk.town, "2001", clerk.password)
    for label, kind, person, options in outputs:
        t0 = time.perf_counter()
        if kind == "all_residents":
            r = staff.issue(kind, person, purpose="安否確認 (訓練)", **options)
        else:
            r = clerk.issue(kind, person, **options)
        report.outputs_s[label] = time.perf_counter() - t0
        ok = r.status_code == 200 and r.content.startswith(b"%PDF")
        detail = f"HTTP {r.status_code}" + ("" if ok else f" {r.text[:200]}")
        if ok and as_of:
            detail += f", データ時点 {r.headers.get('x-data-as-of')}"
        report.check(f"{label}の発行", ok, detail)
    staff.close()


class Worker:
    """A clerk at the centre issuing resident certificates continuously: each response is
    one acknowledged write; the drill compares what was acknowledged with what survived."""

    def __init__(self, clerk: Clerk, person: str, centre: Platform, town: str) -> None:
        self.clerk = clerk
        self.person = person
        self.centre = centre
        self.town = town
        self.acks: list[tuple[float, int]] = []  # (time acknowledged, journal seq covered)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                r = self.clerk.issue("resident", self.person)
            except httpx.HTTPError:
                return
            if r.status_code == 200:
                seq, _at = centre_journal_seq(self.centre, self.town)
                self.acks.append((time.monotonic(), seq))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=30)


def _file_position(path: Path) -> int:
    engine = make_engine(sqlite_url(str(path)))
    try:
        return replica_position(engine)[0]
    finally:
        engine.dispose()


def _loss(report: DrillReport, worker: Worker, killed_at: float, position: int) -> None:
    lost = [a for a in worker.acks if a[1] > position]
    report.lost_acknowledged = len(lost)
    report.rpo_s = (killed_at - min(t for t, _ in lost)) if lost else 0.0
    report.check(
        "確定済みの処理の喪失が60秒以内（RPO）",
        report.rpo_s <= 60,
        f"喪失 {len(lost)} 件 / 確定 {len(worker.acks)} 件, {report.rpo_s:.1f} 秒分",
    )


def run_drill(case: int, root: Path, *, residents: int, log: Callable[[str], None]) -> DrillReport:
    if case not in (1, 2, 3):
        raise ValueError("case must be 1, 2 or 3")
    report = DrillReport(case)
    fed = Federation(root, residents=residents, log=log)
    try:
        {1: _case1, 2: _case2, 3: _case3}[case](fed, report, log)
    finally:
        fed.stop_all()
    return report


def _start_and_replicate(fed: Federation, report: DrillReport, log: Callable[[str], None]) -> bool:
    """Start every process and wait until each site holds a verified copy; checked."""
    log("starting the centre and the town nodes …")
    fed.start("centre")
    for spec in fed.specs:
        fed.start(spec.name)
    try:
        fed.wait_replicated()
    except RuntimeError as exc:
        return report.check("バックアップが各拠点へ転送・検証されている", False, str(exc)[:200])
    log("every town's snapshot is at every site, verified by the town's own node")
    return report.check("バックアップが各拠点へ転送・検証されている", True, "警告なし、遅れ 0 件")


def _login(report: DrillReport, item: str, base: str, town: str, password: str) -> Clerk | None:
    """Log clerk 1001 in at ``base`` as a checked item; None (and the check failed) if not."""
    try:
        clerk = Clerk(base, town, "1001", password)
    except (PermissionError, httpx.HTTPError) as exc:
        report.check(item, False, str(exc)[:120])
        return None
    report.check(item, True)
    return clerk


def _case1(fed: Federation, report: DrillReport, log: Callable[[str], None]) -> None:
    node = node_name(TOWN)
    pw = fed.passwords[TOWN]
    people = sample_people(fed.centre, TOWN)
    if not _start_and_replicate(fed, report, log):
        return
    worker = Worker(
        Clerk(fed.url("centre"), TOWN, "1001", pw), people["resident"], fed.centre, TOWN
    )
    worker.thread.start()
    time.sleep(3)
    log("cutting the line: SIGKILL to the centre …")
    killed = time.monotonic()
    fed.kill("centre")
    worker.stop()
    # the node notices (LineWatcher) and serves its replica read-only
    deadline = killed + 60
    mode = ""
    while time.monotonic() < deadline:
        state = fed.node_call(node, "GET", f"/continuity/{TOWN}/state").json()
        mode = state.get("mode", "")
        if mode == "down_recovery":
            break
        time.sleep(0.2)
    clerk: Clerk | None = None
    while time.monotonic() < deadline and mode == "down_recovery":
        try:
            clerk = Clerk(fed.url(node), TOWN, "1001", pw)
            break
        except (PermissionError, httpx.HTTPError):
            time.sleep(0.2)
    report.resume_s = time.monotonic() - killed
    if not report.check(
        "庁内のダウンリカバリサーバへ通常のID/PWでログインできる", clerk is not None, mode
    ):
        return
    assert clerk is not None
    _loss(
        report,
        worker,
        killed,
        _file_position(fed.root / "nodes" / node / "replicas" / f"{TOWN}.sqlite"),
    )
    issue_four(report, clerk, people, as_of=True)
    page = clerk.client.get("/").text
    report.check(
        "画面にダウンリカバリ運用とデータ時点が表示される", "ダウンリカバリ運用（データ時点" in page
    )
    staff = Clerk(fed.url(node), TOWN, "2001", pw)  # business staff: may record events
    r = staff.client.post(
        "/api/events",
        json={"kind": "death", "effective_date": "2026-11-28", "members": [people["resident"]]},
    )
    report.check(
        "異動処理は理由を示して拒否される",
        r.status_code == 422 and "読み取り専用" in r.text,
        r.json().get("detail", "")[:80],
    )
    r = clerk.client.post(
        "/api/applications",
        json={"kind": "death", "addressee_number": people["resident"], "detail": {"note": "drill"}},
    )
    report.check("申請を受け付けられる（センター復旧後に処理）", r.status_code == 201, r.text[:80])
    clerk.close()
    staff.close()
    log("the line returns: restarting the centre and handing back …")
    fed.start("centre")
    r = fed.node_call(node, "POST", f"/continuity/{TOWN}/normal")
    with fed.centre.platform_session() as s:
        pending = s.scalars(select(PendingApplication).where(PendingApplication.town == TOWN)).all()
    report.check(
        "復旧後、受付内容がセンターへ引き渡される（失われない）",
        r.status_code == 200 and len(pending) == 1,
        f"HTTP {r.status_code}, {len(pending)} 件",
    )


def _case2(fed: Federation, report: DrillReport, log: Callable[[str], None]) -> None:
    from lgcloud.auth.service import declare_emergency, restrict_login_networks  # noqa: PLC0415
    from lgcloud.core.context import Actor, RequestContext  # noqa: PLC0415

    node = node_name(TOWN)
    pw = fed.passwords[TOWN]
    people = sample_people(fed.centre, TOWN)
    it = RequestContext(TOWN, Actor(None, "情報\u3000四郎", "9001"), node="centre")
    restrict_login_networks(fed.centre, it, ["10.153.0.0/16"])  # the town hall's network
    if not _start_and_replicate(fed, report, log):
        return
    log("the town hall is unusable: SIGKILL to its node …")
    killed = time.monotonic()
    fed.kill(node)
    ok, why = try_login(fed.url("centre"), TOWN, "1001", pw)
    report.check("場所制限中は連携町村の端末からログインできない", not ok, why[:60])
    declare_emergency(fed.centre, it, hours=72, reason="訓練: 役場庁舎使用不能")
    clerk = _login(
        report,
        "緊急事態の宣言後、他町村からクラウドセンターへ通常のID/PWでログインできる",
        fed.url("centre"),
        TOWN,
        pw,
    )
    report.resume_s = time.monotonic() - killed
    if clerk is None:
        return
    issue_four(report, clerk, people, as_of=False)
    from lgcloud.audit.models import AuditEntry  # noqa: PLC0415

    with fed.centre.town(TOWN) as t:
        declared = t.session.scalars(
            select(AuditEntry.clerk_name).where(AuditEntry.action == "emergency_declared")
        ).all()
    report.check("緊急事態の宣言が監査記録に残る", list(declared) == [it.actor.name], str(declared))
    clerk.close()
    other_ok, _ = try_login(fed.url("centre"), TOWN, "1001", fed.passwords[PARTNER])
    report.check("他町村のパスワードでは自町村にログインできない", not other_ok)


def _case3(fed: Federation, report: DrillReport, log: Callable[[str], None]) -> None:
    node = node_name(TOWN)
    partner = node_name(PARTNER)
    pw = fed.passwords[TOWN]
    people = sample_people(fed.centre, TOWN)
    if not _start_and_replicate(fed, report, log):
        return
    store = fed.root / "nodes" / partner / "store" / TOWN
    names = [p.name for p in store.rglob("*") if p.is_file()]
    report.check(
        "他町村のバックアップが連携町村サーバへ暗号化されて転送・保存されている", bool(names)
    )
    log("the centre and the town hall are both lost: SIGKILL to both …")
    killed = time.monotonic()
    fed.kill("centre")
    fed.kill(node)
    ok, _ = try_login(fed.url(partner), TOWN, "1001", pw)
    report.check("起動前の連携町村サーバでは自町村にログインできない（鍵なしでは読めない）", not ok)
    key = (fed.root / "safe" / f"{TOWN}.key").read_bytes()
    r = fed.node_call(partner, "POST", f"/continuity/{TOWN}/activate", content=key)
    report.check(
        "暗号化されたバックアップを復号し前日（直近）の状態で構築できる",
        r.status_code == 200,
        r.text[:120],
    )
    if r.status_code != 200:
        return
    clerk = _login(
        report,
        "連携町村サーバの自町村システムへ通常のID/PWでログインできる",
        fed.url(partner),
        TOWN,
        pw,
    )
    report.resume_s = time.monotonic() - killed
    if clerk is None:
        return
    issue_four(report, clerk, people, as_of=True)
    page = clerk.client.get("/").text
    report.check(
        "画面に連携町村での運用とデータ時点が表示される", "連携町村での運用（データ時点" in page
    )
    clerk.close()
    ok, _ = try_login(fed.url(partner), TOWN, "1001", fed.passwords[PARTNER])
    report.check("連携町村の職員は起動した町村にログインできない", not ok)
    ok, _ = try_login(fed.url(partner), "155811", "1001", fed.passwords["155811"])
    report.check("自市町村以外の連携町村システムへはログインできない", not ok)
