"""Issuing a batch of notices: plan (order, split), then per file render the PDF outside any
transaction, write it atomically, and record its notices against their addressees in one
short audited write (``notices_issued``). A notice with a character the font cannot draw is
set aside — listed in the run and raised as a 処理待ち item for the area — not printed wrong
and not silently dropped. Run it as batch work (``lgcloud notices …`` lowers its priority)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from lgcloud.core.clock import utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.files import write_atomically
from lgcloud.core.wareki import to_wareki
from lgcloud.documents.render import PdfEngine, font_coverage
from lgcloud.notices.domain import Notice, order, split, split_by_district
from lgcloud.notices.models import NoticeRun, NoticeSent
from lgcloud.register.models import TownInfo
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import finish_write
from lgcloud.worklist.service import raise_task

TEMPLATE_DIR = Path(__file__).resolve().with_name("templates")
#: how long a set-aside notice may wait (days) before the 処理待ち item is flagged
SET_ASIDE_DAYS = 7

Progress = Callable[[int, int], None]


@cache
def _engine() -> PdfEngine:
    return PdfEngine(template_dir=TEMPLATE_DIR)


@dataclass(frozen=True)
class RunResult:
    code: str
    files: list[Path]
    printed: int
    set_aside: dict[str, str]


def _unprintable(n: Notice) -> str | None:
    coverage = font_coverage()
    texts = [n.to_name, n.to_address, n.title, *n.lines, *(c for r in n.table_rows for c in r)]
    for text in texts:
        missing = coverage.missing(text)
        if missing:
            return "印字できない文字: " + "".join(missing)
    return None


def issue_notices(
    platform: Platform,
    ctx: RequestContext,
    *,
    area: str,
    kind: str,
    title: str,
    notices: Sequence[Notice],
    sort_by: str,
    per_file: int,
    out_dir: Path,
    today: date,
    progress: Progress | None = None,
    engine: PdfEngine | None = None,
    template: str = "notice",
) -> RunResult:
    """Print ``notices`` in files of ``per_file``. An area with a notice of its own shape
    (the 入場券) passes its ``engine`` and ``template``; the template reads the same data
    as ``notice.typ`` (``d.run``, ``d.town``, ``d.issued_on``, ``d.notices``)."""
    ordered = order(notices, sort_by)
    set_aside = {n.addressee_number: why for n in ordered if (why := _unprintable(n))}
    printable = [n for n in ordered if n.addressee_number not in set_aside]
    files = (split_by_district if sort_by == "district" else split)(printable, per_file)
    code = secrets.token_hex(6)
    with platform.town(ctx.town_code) as town:
        info = town.session.get(TownInfo, ctx.town_code)
        run = NoticeRun(
            code=code,
            area=area,
            kind=kind,
            title=title,
            sort_by=sort_by,
            per_file=per_file,
            planned=len(ordered),
            printed=0,
            set_aside=set_aside,
            files=[],
            started_at=utcnow(),
            finished_at=None,
        )
        town.session.add(run)
        town.session.flush()
        run_id = run.id
        for number, why in set_aside.items():
            raise_task(
                town,
                area=area,
                kind="notice_set_aside",
                addressee_number=number,
                summary=f"{title}: 印刷できませんでした（{why}）",
                proposal={"run": code},
                raised_on=today,
                days_allowed=SET_ASIDE_DAYS,
            )
        finish_write(
            town.session,
            ctx,
            "notice_run_started",
            subjects=sorted(set_aside),
            detail={
                "run": code,
                "kind": kind,
                "planned": len(ordered),
                "set_aside": len(set_aside),
            },
        )
    town_data = {
        "name": info.name if info else ctx.town_code,
        "prefecture": info.prefecture if info else "",
    }
    issued_on = to_wareki(today)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for file_no, chunk in enumerate(files, start=1):
        pdf = (engine or _engine()).render(
            template,
            {
                "run": f"{code}-{file_no:03d}",
                "town": town_data,
                "issued_on": issued_on,
                "notices": [n.data() for n in chunk],
            },
            tagged=False,
        )
        path = out_dir / f"{kind}-{code}-{file_no:03d}.pdf"
        write_atomically(path, pdf)
        written.append(path)
        with platform.town(ctx.town_code) as town:
            town.session.add_all(
                NoticeSent(
                    run_id=run_id,
                    addressee_number=n.addressee_number,
                    file_no=file_no,
                    position=i,
                    to_name=n.to_name,
                    to_address=n.to_address,
                    to_postal_code=n.to_postal_code,
                    to_send_address=n.to_is_send_address,
                )
                for i, n in enumerate(chunk, start=1)
            )
            r = town.session.get(NoticeRun, run_id)
            assert r is not None
            r.printed += len(chunk)
            r.files = [*r.files, path.name]
            if file_no == len(files):
                r.finished_at = utcnow()
            finish_write(
                town.session,
                ctx,
                "notices_issued",
                subjects=[n.addressee_number for n in chunk],
                detail={"run": code, "file": path.name, "count": len(chunk)},
            )
        if progress:
            progress(file_no, len(files))
    if not files:
        with platform.town(ctx.town_code) as town:
            r = town.session.get(NoticeRun, run_id)
            assert r is not None
            r.finished_at = utcnow()
            finish_write(town.session, ctx, "notices_issued", detail={"run": code, "count": 0})
    return RunResult(code, written, len(printable), set_aside)
