"""Exports as batch jobs: the whole register or the eight layouts written to one file for
download, from one consistent snapshot, with progress — in a child process at low
priority (``core.jobs``), so the counter of the town keeps its core while it runs.

The export functions audit themselves (``export_residents``, ``export_layout``: one entry
per file naming the people in it), through the town's audit writer: the file is handed
out only after those entries are committed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lgcloud.core.context import RequestContext
from lgcloud.core.errors import LgcloudError
from lgcloud.core.jobs import Progress
from lgcloud.interchange.codec import export_table
from lgcloud.interchange.layouts import GAIJI_CSV, ORDER, write_layout
from lgcloud.interchange.residents import export_residents
from lgcloud.register.glyphs import glyph_names
from lgcloud.tenancy.platform import Platform

WHAT = {"residents": "住民記録（residents.csv）", "layouts": "標準レイアウト（7ファイル）"}
ENCODINGS = ("utf-8", "cp932")


@dataclass(frozen=True)
class ExportFile:
    """The file to hand out: its path, the name it is downloaded as, its media type."""

    path: Path
    filename: str
    media_type: str


def check_request(what: str, encoding: str) -> None:
    if what not in WHAT:
        raise LgcloudError("出力する内容は residents か layouts です")
    if encoding not in ENCODINGS:
        raise LgcloudError("文字コードは UTF-8 か cp932 です")


def write_export(
    platform: Platform,
    ctx: RequestContext,
    what: str,
    encoding: str,
    out_dir: Path,
    progress: Progress | None = None,
) -> ExportFile:
    """Write the export into ``out_dir`` and return it: residents.csv (UTF-8), or a zip
    (residents.csv with gaiji.csv for cp932; the eight layouts, with one gaiji.csv for
    cp932). ``progress`` gets ``{"label", "done", "total"}`` as the work goes on."""
    check_request(what, encoding)

    def report(label: str, done: int, total: int) -> None:
        if progress is not None:
            progress({"label": label, "done": done, "total": total})

    with platform.read_town(ctx.town_code) as town:
        if what == "residents" and encoding == "utf-8":
            path = out_dir / "residents.csv"
            with path.open("wb") as f:
                export_residents(town, ctx, f, on_progress=lambda n: report("residents.csv", n, 0))
            return ExportFile(path, "residents.csv", "text/csv; charset=utf-8")
        path = out_dir / f"{what}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            if what == "residents":
                gaiji = io.StringIO()
                with zf.open("residents.csv", "w") as member:
                    export_residents(
                        town,
                        ctx,
                        member,
                        encoding="cp932",
                        gaiji_out=gaiji,
                        on_progress=lambda n: report("residents.csv", n, 0),
                    )
                zf.writestr(GAIJI_CSV, gaiji.getvalue().encode("utf-8"))
                return ExportFile(path, "residents-cp932.zip", "application/zip")
            table = export_table(known=glyph_names(town)) if encoding == "cp932" else None
            for i, name in enumerate(ORDER):
                report(f"{name}.csv", i, len(ORDER))
                with zf.open(f"{name}.csv", "w") as member:
                    write_layout(town, ctx, name, member, encoding=encoding, gaiji=table)
            report("", len(ORDER), len(ORDER))
            if table is not None:
                text = io.StringIO()
                table.write(text)
                zf.writestr(GAIJI_CSV, text.getvalue().encode("utf-8"))
        return ExportFile(path, "layouts.zip", "application/zip")


def export_job(
    *,
    progress: Progress,
    data_dir: str,
    node: str,
    database_url: str | None,
    ctx: RequestContext,
    what: str,
    encoding: str,
    out_dir: str,
) -> ExportFile:
    """The child process's entry (``core.jobs.run_in_child``): its own platform handle on
    the same data directory."""
    platform = Platform(Path(data_dir), node=node, database_url=database_url)
    try:
        return write_export(platform, ctx, what, encoding, Path(out_dir), progress)
    finally:
        platform.dispose()
