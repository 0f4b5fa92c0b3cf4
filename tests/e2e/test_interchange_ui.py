"""取り込みと出力 in the browser: the IT officer exports residents.csv (a job: its progress,
then the download), breaks one row and
imports it back with 部分取り込み; the job's status fragment is shown (polled by htmx) until
the result, and rejected.csv downloads."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .conftest import UI, Served


def test_export_then_partial_import_with_progress_and_rejected_csv(
    ui: UI, served: Served, tmp_path: Path
) -> None:
    town = sorted(served.passwords)[0]
    ui.login(served.url, town, "9001", served.passwords[town])
    page = ui.page
    page.click("nav a[href='/interchange']")
    page.wait_for_url(re.compile(r"/interchange$"))
    ui.shot("page")

    # the export is a job: its page shows the progress (polled), then the download link
    page.click("[data-testid=export-residents]")
    page.wait_for_url(re.compile(r"/interchange/exports/[A-Za-z0-9_-]+$"))
    page.locator("[data-testid=export-job][data-phase=done]").wait_for(timeout=60_000)
    ui.shot("export-done")
    with page.expect_download() as download:
        page.click("[data-testid=export-download]")
    exported = tmp_path / "exported.csv"
    download.value.save_as(exported)
    assert download.value.suggested_filename == "residents.csv"
    rows = list(csv.reader(io.StringIO(exported.read_bytes().decode("utf-8"))))
    assert rows[0][0] == "宛名番号"
    total = len(rows) - 1
    assert total >= 300

    # one impossible date: with 部分取り込み that row is listed, the others are already stored
    rows[5][rows[0].index("生年月日")] = "2001-02-30"
    upload = tmp_path / "residents.csv"
    with upload.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    page.set_input_files("#residents", str(upload))
    page.check("input[name=partial]")
    ui.shot("import-form")
    page.click("[data-testid=submit-import]")
    page.wait_for_url(re.compile(r"/interchange/jobs/[A-Za-z0-9_-]+$"))
    job = page.locator("[data-testid=import-job]")
    job.wait_for()
    assert "residents.csv" in job.inner_text()
    ui.shot("progress")

    result = page.locator("[data-testid=import-result]")
    result.wait_for(timeout=60_000)  # htmx polls the fragment until the job has ended
    ui.shot("result")
    text = result.inner_text()
    assert "新しく登録 0 件" in text
    assert f"登録済みで変更なし {total - 1} 件" in text
    assert "受け付けなかった行 1 件" in text
    assert page.locator("[data-testid=import-job]").get_attribute("data-phase") == "done"

    with page.expect_download() as rejected:
        page.click("[data-testid=rejected-download]")
    assert rejected.value.suggested_filename == "rejected.csv"
    listed = Path(rejected.value.path()).read_text(encoding="utf-8").splitlines()
    assert listed[0] == "行番号,列,理由"
    assert listed[1].startswith("6,生年月日,")  # data row 5 is line 6
