"""取り込みと出力 (/interchange) in-process: exports as downloads (audited), an import as a
background job whose progress is polled to the end, partial imports with rejected.csv, a
refused file storing nothing, tenant isolation of jobs, permissions and read-only modes."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, TOWN_B, add_clerks, run_export
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.core.clock import utcnow
from lgcloud.generate.town import generate_town
from lgcloud.interchange import pages as interchange_page
from lgcloud.interchange.layouts import ORDER
from lgcloud.register.models import PersonVersion
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "interchange-pass-1"
CLERKS = {"I1": {Role.IT_OFFICER}, "C1": {Role.COUNTER_CLERK}}
HX = {"HX-Request": "true", "HX-Target": "import-job"}


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    generate_town(platform, TOWN_A, residents=40, seed=7, today=TODAY)
    for code in (TOWN_A, TOWN_B):
        add_clerks(platform, code, CLERKS, PASSWORD, surname="連携")
    return create_app(platform)


def _login(app: FastAPI, staff: str = "I1", town: str = TOWN_A) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    r = c.post("/login", data={"town_code": town, "staff_number": staff, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c


def _platform(app: FastAPI) -> Platform:
    p: Platform = app.state.platform
    return p


def _people(app: FastAPI, code: str) -> int:
    """People of the register (the 住登外者 have a 宛名番号 but no register record)."""
    with _platform(app).town(code) as town:
        return (
            town.session.scalar(select(func.count(func.distinct(PersonVersion.addressee_number))))
            or 0
        )


def _audit(app: FastAPI, code: str, action: str) -> int:
    with _platform(app).town(code) as town:
        return (
            town.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


def _export(app: FastAPI) -> bytes:
    r = run_export(_login(app), "residents")
    assert r.status_code == 200, r.text
    return r.content


def _start(
    c: TestClient, data: bytes, *, partial: bool = False, name: str = "residents.csv"
) -> str:
    form = {"encoding": "auto"} | ({"partial": "1"} if partial else {})
    r = c.post("/interchange/import", data=form, files={"residents": (name, data, "text/csv")})
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/interchange/jobs/([A-Za-z0-9_-]+)", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def _poll(c: TestClient, job: str, timeout: float = 60) -> str:
    """Poll the status fragment as htmx does until the job has ended; the final fragment."""
    deadline = time.monotonic() + timeout
    while True:
        r = c.get(f"/interchange/jobs/{job}", headers=HX)
        assert r.status_code == 200, r.text
        assert "<html" not in r.text  # the fragment only
        if 'data-phase="running"' not in r.text and 'data-phase="queued"' not in r.text:
            assert "hx-trigger" not in r.text  # polling stops at the end
            return r.text
        assert 'hx-trigger="every 500ms"' in r.text
        assert time.monotonic() < deadline, "the import did not end"
        time.sleep(0.05)


def _bad_birth(data: bytes, row: int = 3) -> tuple[bytes, str]:
    """The file with the 生年月日 of data row ``row`` made impossible; that row's 世帯番号."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header = rows[0]
    rows[row][header.index("生年月日")] = "2001-02-30"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8"), rows[row][header.index("世帯番号")]


def _gate(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event, list[Path]]:
    """Hold the next import after its first progress report, with a read transaction open
    on the town as its staging phase holds one (the pages must not wait for it). Returns
    (started, release, paths seen)."""
    real = interchange_page.import_residents
    started, release = threading.Event(), threading.Event()
    paths: list[Path] = []

    def gated(platform: Any, ctx: Any, path: Path, **kw: Any) -> Any:
        paths.append(path)
        with platform.read_town(ctx.town_code) as town:
            town.session.connection()  # BEGIN: the staging phase's read transaction
            on_progress: Callable[[int], None] = kw["on_progress"]
            on_progress(1)
            started.set()
            assert release.wait(30)
        return real(platform, ctx, path, **kw)

    monkeypatch.setattr(interchange_page, "import_residents", gated)
    return started, release, paths


# --------------------------------------------------------------------------- exports


def test_exports_are_jobs_whose_downloads_are_audited_by_the_export_functions(
    app: FastAPI,
) -> None:
    it = _login(app)
    page = it.get("/interchange")
    assert page.status_code == 200
    assert 'data-testid="import-form"' in page.text
    assert 'href="/interchange"' in page.text  # the menu link

    started = it.post(
        "/interchange/exports",
        data={"what": "residents", "encoding": "utf-8"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    job_url = started.headers["location"]
    job_page = it.get(job_url)
    assert 'data-testid="export-job"' in job_page.text  # progress, then the download link
    assert run_export(it, "layouts").status_code == 409  # one export per town at a time
    for _ in range(600):
        fragment = it.get(job_url, headers=HX)
        if 'data-phase="done"' in fragment.text:
            break
        assert 'hx-trigger="every 500ms"' in fragment.text  # polled while it runs
        time.sleep(0.05)
    assert f'href="{job_url}/download"' in fragment.text
    first = it.get(f"{job_url}/download")
    r = run_export(it, "residents")
    assert r.content == first.content
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="residents.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert rows[0][:3] == ["宛名番号", "世帯番号", "住民票コード"]
    assert len(rows) - 1 == _people(app, TOWN_A)
    assert _audit(app, TOWN_A, "export_residents") == 2

    r = run_export(it, "residents", "cp932")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == ["gaiji.csv", "residents.csv"]
        text = zf.read("residents.csv").decode("cp932")
        assert text.startswith("宛名番号,")
        assert zf.read("gaiji.csv").decode("utf-8").startswith("外字コード,")
    assert _audit(app, TOWN_A, "export_residents") == 3

    r = run_export(it, "layouts")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == sorted(f"{n}.csv" for n in ORDER)
        assert zf.read("nhi.csv").decode("utf-8").startswith("世帯番号,")
    assert _audit(app, TOWN_A, "export_layout") == len(ORDER)

    assert run_export(it, "residents", "euc").status_code == 422
    assert run_export(it, "everything").status_code == 422


# --------------------------------------------------------------------------- the import job


def test_import_runs_in_the_background_with_progress_polled_to_the_result(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _export(app)
    total = data.count(b"\n") - 1
    started, release, paths = _gate(monkeypatch)
    it_b = _login(app, town=TOWN_B)
    job = _start(it_b, data)
    assert started.wait(30)

    # while it runs (holding the town's write lock): the page, the fragment, the progress
    page = it_b.get(f"/interchange/jobs/{job}")
    assert page.status_code == 200
    assert 'data-testid="import-job"' in page.text
    frag = it_b.get(f"/interchange/jobs/{job}", headers=HX)
    assert 'data-phase="running"' in frag.text
    assert 'hx-trigger="every 500ms"' in frag.text
    assert f"1 / 約 {total} 行" in frag.text
    assert "<progress" in frag.text
    # one job per town: a second import and an export wait for it
    again = it_b.post(
        "/interchange/import", files={"residents": ("residents.csv", data, "text/csv")}
    )
    assert again.status_code == 409
    assert "実行中" in again.text
    assert run_export(it_b, "layouts").status_code == 409
    assert paths[0].exists()  # the upload, on disk while the job runs

    release.set()
    final = _poll(it_b, job)
    assert 'data-testid="import-result"' in final
    assert f"新しく登録 {total} 件" in final
    assert "受け付けなかった行 0 件" in final
    assert "rejected.csv" not in final
    assert _people(app, TOWN_B) == total
    assert _audit(app, TOWN_B, "import_residents") >= 1
    assert not paths[0].exists()  # deleted after the job
    assert it_b.get(f"/interchange/jobs/{job}/rejected.csv").status_code == 404

    # the same file again: nothing changes
    monkeypatch.undo()
    final = _poll(it_b, _start(it_b, data))
    assert f"登録済みで変更なし {total} 件" in final
    assert _people(app, TOWN_B) == total
    listing = it_b.get("/interchange")
    assert listing.text.count("/interchange/jobs/") == 2


def test_partial_import_offers_rejected_csv(app: FastAPI) -> None:
    data, household = _bad_birth(_export(app))
    it_b = _login(app, town=TOWN_B)
    job = _start(it_b, data, partial=True)
    final = _poll(it_b, job)
    assert 'data-testid="import-result"' in final
    assert 'data-testid="rejected-download"' in final
    r = it_b.get(f"/interchange/jobs/{job}/rejected.csv")
    assert r.status_code == 200
    assert 'filename="rejected.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert rows[0] == ["行番号", "列", "理由"]
    assert next(r[:2] for r in rows if r[1] == "生年月日") == ["4", "生年月日"]  # line 4
    # the rest of that household is refused with it (half a household is never imported)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    members = {
        str(i + 1) for i, r in enumerate(lines) if i and r[lines[0].index("世帯番号")] == household
    }
    assert {r[0] for r in rows[1:]} == members
    total = data.count(b"\n") - 1
    rejected = len(rows) - 1
    assert f"受け付けなかった行 {rejected} 件" in final
    assert f"新しく登録 {total - rejected} 件" in final
    assert _people(app, TOWN_B) == total - rejected


def test_a_bad_file_is_refused_and_nothing_is_stored(app: FastAPI) -> None:
    data, _ = _bad_birth(_export(app))
    it_b = _login(app, town=TOWN_B)
    before = _audit(app, TOWN_B, "import_residents")
    final = _poll(it_b, _start(it_b, data))
    assert 'data-testid="import-refusal"' in final
    assert "何も取り込みませんでした" in final
    assert "生年月日" in final
    assert 'data-testid="rejected-download"' in final  # the errors, listed
    assert _people(app, TOWN_B) == 0
    assert _audit(app, TOWN_B, "import_residents") == before

    # not a CSV at all, and an empty file
    final = _poll(it_b, _start(it_b, b"\x00\x01\x02PK\x03\x04" * 50, name="photo.csv"))
    assert 'data-testid="import-refusal"' in final
    final = _poll(it_b, _start(it_b, b"", name="empty.csv"))
    assert "空のファイルです" in final
    assert _people(app, TOWN_B) == 0

    # no file chosen, an unknown encoding: the form with the message next to the field
    r = it_b.post("/interchange/import", data={"encoding": "auto"})
    assert r.status_code == 422
    assert 'data-testid="error-residents"' in r.text
    r = it_b.post(
        "/interchange/import",
        data={"encoding": "latin-1"},
        files={"residents": ("residents.csv", data, "text/csv")},
    )
    assert r.status_code == 422
    assert 'data-testid="error-encoding"' in r.text


def test_another_towns_it_officer_cannot_see_the_job(app: FastAPI) -> None:
    data, _ = _bad_birth(_export(app))
    it_b = _login(app, town=TOWN_B)
    job = _start(it_b, data, partial=True)
    _poll(it_b, job)
    it_a = _login(app)
    assert it_a.get(f"/interchange/jobs/{job}").status_code == 404
    assert it_a.get(f"/interchange/jobs/{job}", headers=HX).status_code == 404
    assert it_a.get(f"/interchange/jobs/{job}/rejected.csv").status_code == 404
    page = it_a.get("/interchange")
    assert job not in page.text
    assert "ありません" in page.text
    assert it_b.get(f"/interchange/jobs/{job}/rejected.csv").status_code == 200


def test_a_counter_clerk_is_refused(app: FastAPI) -> None:
    data = _export(app)
    c = _login(app, "C1")
    assert c.get("/interchange").status_code == 403
    assert run_export(c, "residents").status_code == 403
    assert c.get("/interchange/exports/whatever").status_code == 403
    assert c.get("/interchange/exports/whatever/download").status_code == 403
    assert c.get("/interchange/jobs/whatever").status_code == 403
    assert c.get("/interchange/jobs/whatever/rejected.csv").status_code == 403
    r = c.post("/interchange/import", files={"residents": ("residents.csv", data, "text/csv")})
    assert r.status_code == 403
    assert 'href="/interchange"' not in c.get("/").text  # no menu link
    assert _audit(app, TOWN_A, "export_residents") == 1  # _export's only


def test_read_only_mode_refuses_imports_and_allows_exports(app: FastAPI) -> None:
    data = _export(app)
    with _platform(app).platform_session() as s:
        hosted = s.get(HostedTown, TOWN_B)
        assert hosted is not None
        hosted.mode, hosted.as_of = "down_recovery", utcnow()
    it_b = _login(app, town=TOWN_B)
    page = it_b.get("/interchange")
    assert page.status_code == 200
    assert 'data-testid="refusal"' in page.text
    assert "ダウンリカバリ運用" in page.text
    assert 'data-testid="import-form"' not in page.text
    r = it_b.post("/interchange/import", files={"residents": ("residents.csv", data, "text/csv")})
    assert r.status_code == 422
    assert "読み取り専用" in r.text
    assert _people(app, TOWN_B) == 0
    assert "/interchange/jobs/" not in it_b.get("/interchange").text
    assert run_export(it_b, "residents").status_code == 200
    assert run_export(it_b, "layouts").status_code == 200


def test_too_large_upload_is_refused_and_not_kept(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The size limit is enforced while reading: nothing is stored, no job starts, and the
    scratch folder is removed."""
    import tempfile  # noqa: PLC0415

    monkeypatch.setattr(interchange_page, "MAX_IMPORT_BYTES", 2000)
    monkeypatch.setattr(interchange_page, "CHUNK", 512)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    it = _login(app, town=TOWN_B)
    data = _export(app)
    assert len(data) > 2000
    r = it.post("/interchange/import", files={"residents": ("residents.csv", data, "text/csv")})
    assert r.status_code == 413
    assert "大きすぎます" in r.text
    assert _people(app, TOWN_B) == 0
    assert "/interchange/jobs/" not in it.get("/interchange").text
    assert not list(tmp_path.glob("lgcloud-import-*"))
