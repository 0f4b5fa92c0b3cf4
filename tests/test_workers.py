"""``lgcloud serve --workers N``: several server processes behind one port share what the
pages keep between requests (``interface/stores.py``), so a request may land in any of them.

The stores are tested on their own (expiry, bounds, a job whose process was killed) and
through a real two-process server: a certificate's preview fetched again and again over
new connections, an export job started, polled and downloaded the same way, and
``/metrics`` adding up both processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from conftest import TOWN_A, add_clerks, make_platform, run_export, start_lgcloud
from lgcloud.auth.roles import Role
from lgcloud.core.admission import OverloadedError
from lgcloud.core.clock import utcnow
from lgcloud.core.ports import free_port
from lgcloud.generate.town import generate_town
from lgcloud.interface.stores import INTERRUPTED, BlobStore, BusyError, JobStore
from lgcloud.onboarding import onboard_town
from lgcloud.register.models import PersonVersion

PASSWORD = "workers-password-1"


# ------------------------------------------------------------------------------ stores


def test_blobs_expire_by_age_and_by_number(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs", ttl_s=60, max_items=3)
    now = time.time()
    store.put("old", {"n": 0}, b"zero", stored_at=now - 61)
    assert store.get("old") is None  # past its age, even before anything is cleaned
    for i in range(1, 5):
        store.put(f"k{i}", {"n": i}, f"blob{i}".encode(), stored_at=now + i)
    assert store.get("k1") is None  # the oldest went to make room for the fourth
    assert store.get("k4") == ({"n": 4}, b"blob4")  # the description as given
    files = sorted(p.name for p in (tmp_path / "blobs").iterdir())
    assert len(files) == 6  # three items, each a description and its bytes
    assert (tmp_path / "blobs").stat().st_mode & 0o777 == 0o700
    assert all((tmp_path / "blobs" / f).stat().st_mode & 0o777 == 0o600 for f in files)


@dataclass
class _Job:
    id: str
    town_code: str
    started_at: datetime
    phase: str = "running"
    message: str = ""
    finished_at: float | None = None

    @property
    def running(self) -> bool:
        return self.phase in ("queued", "running")

    def discard(self) -> None:
        pass


_HOLDER = """
import sys, time
sys.path.insert(0, {tests!r})
from test_workers import _Job
from lgcloud.core.clock import utcnow
from lgcloud.interface.stores import JobStore
store = JobStore("出力", __import__("pathlib").Path(sys.argv[1]), _Job, ttl_s=600)
store.add(_Job("job-1", "153079", utcnow()))
print("added", flush=True)
time.sleep(600)
"""


def test_a_job_whose_process_died_is_shown_failed_and_frees_its_town(tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "added"
        store: JobStore[_Job] = JobStore("出力", root, _Job, ttl_s=600)
        assert store.get("job-1", "153079").running  # another process holds it: running
        with pytest.raises(BusyError):  # one job per town, across processes
            store.add(_Job("job-2", "153079", utcnow()))
        with pytest.raises(OverloadedError):  # and a bound on all towns', across processes
            store.add(_Job("job-2", "154059", utcnow()), max_running=1)
        other_town = _Job("job-3", "154059", utcnow())
        store.add(other_town)  # another town's is not held back
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    job = store.get("job-1", "153079")
    assert (job.phase, job.message) == ("failed", INTERRUPTED)
    assert job.finished_at is not None
    again = _Job("job-4", "153079", utcnow())
    store.add(again)  # the town may start again
    assert [j.id for j in store.of_town("153079") if j.running] == ["job-4"]
    for job in (other_town, again):  # finished: their locks are let go
        job.phase, job.finished_at = "done", time.time()
        store.save(job)
    assert store.running("153079") is None and store.running("154059") is None
    with pytest.raises(Exception, match="見つかりません"):
        store.get("job-1", "154059")  # another town's clerk does not see it


def test_a_job_ending_while_another_process_reads_it_is_seen_ended_not_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the suite once hit: a reader reads a job as running, then its process
    saves it done and lets go of its lock, then the reader finds the lock free. The
    reader must see the job done (read again under the lock), not save it interrupted."""
    from lgcloud.interface import stores as shared  # noqa: PLC0415

    root = tmp_path / "jobs"
    owner: JobStore[_Job] = JobStore("出力", root, _Job, ttl_s=600)
    reader: JobStore[_Job] = JobStore("出力", root, _Job, ttl_s=600)  # another process's
    job = _Job("job-1", "153079", utcnow())
    owner.add(job)
    real_read = shared._read
    ended = []

    def read_then_job_ends(path: Path) -> bytes | None:
        raw = real_read(path)
        if path.suffix == ".json" and not ended:  # the reader has read "running"
            ended.append(True)
            job.phase, job.finished_at = "done", time.time()
            owner.save(job)  # saved done, lock let go
        return raw

    monkeypatch.setattr(shared, "_read", read_then_job_ends)
    seen = reader.get("job-1", "153079")
    assert ended and (seen.phase, seen.message) == ("done", "")
    monkeypatch.setattr(shared, "_read", real_read)
    assert reader.get("job-1", "153079").phase == "done"  # and so it stays on disk


# ------------------------------------------------------------------ a two-process server


def _page_client(url: str, staff: str) -> httpx.Client:
    """A browser-like client whose every request opens a new connection (so the kernel
    may hand it to either process)."""
    c = httpx.Client(base_url=url, timeout=60, headers={"Connection": "close"})
    r = c.post(
        "/login",
        data={"town_code": TOWN_A, "staff_number": staff, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/", r.text[:500]
    return c


def _worker_figures(data_dir: Path) -> dict[int, dict[str, int]]:
    out = {}
    for path in (data_dir / "run" / "metrics").glob("*.json"):
        out[int(path.stem)] = json.loads(path.read_text())["admitted"]
    return out


@pytest.mark.slow
def test_two_worker_processes_answer_any_request(tmp_path: Path) -> None:
    platform = make_platform(tmp_path / "data")
    onboard_town(platform, TOWN_A, "聖籠町", prefecture="新潟県")
    generate_town(platform, TOWN_A, residents=60, seed=3)
    add_clerks(
        platform, TOWN_A, {"1001": [Role.COUNTER_CLERK], "9001": [Role.IT_OFFICER]}, PASSWORD
    )
    with platform.read_town(TOWN_A) as t:
        person = t.session.scalars(
            select(PersonVersion.addressee_number).where(
                PersonVersion.is_current.is_(True), PersonVersion.status == "resident"
            )
        ).first()
    assert person is not None
    data_dir, database_url = platform.data_dir, platform.database_url
    platform.dispose()
    env = dict(os.environ)
    if database_url is not None:
        env["LGCLOUD_DATABASE_URL"] = database_url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", "2"]
    server = start_lgcloud(args, tmp_path / "server.log", url, env=env, own_group=True)
    try:
        clerk = _page_client(url, "1001")
        r = clerk.post(f"/persons/{person}/certificates", data={"kind": "resident"})
        assert r.status_code == 200, r.text[:500]
        found = re.search(rf'/persons/{person}/certificates/([\w-]+)"', r.text)
        assert found is not None, r.text[:1000]
        preview = f"/persons/{person}/certificates/{found.group(1)}"
        # the preview, issued by one process, fetched from whichever answers, until each
        # process has served it: counted from after the issue (figures are published
        # every second), so the login and the issue do not count
        time.sleep(1.5)
        before = {pid: sum(f.values()) for pid, f in _worker_figures(data_dir).items()}

        def both_served() -> bool:
            now = _worker_figures(data_dir)
            return len(now) == 2 and all(sum(f.values()) > before.get(p, 0) for p, f in now.items())

        deadline = time.monotonic() + 30
        while not both_served() and time.monotonic() < deadline:
            got = clerk.get(preview)
            assert got.status_code == 200 and got.content.startswith(b"%PDF"), got.text[:300]
            time.sleep(0.02)
        assert both_served(), (before, _worker_figures(data_dir))

        officer = _page_client(url, "9001")
        exported = run_export(officer, "residents")  # started, polled, downloaded anew each
        assert exported.status_code == 200, exported.text[:500]
        assert exported.content.decode("utf-8-sig").count("\n") > 60

        metrics = httpx.get(url + "/metrics", timeout=10).text
        assert "lgcloud_worker_processes 2" in metrics
        admitted = sum(
            int(v) for v in re.findall(r"lgcloud_requests_admitted_total\{[^}]*\} (\d+)", metrics)
        )
        assert admitted >= 10, metrics
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
