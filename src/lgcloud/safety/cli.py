"""``lgcloud safety …``: matching shelter evacuee lists against the register (安否確認)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lgcloud.core.errors import LgcloudError
from lgcloud.interface.commands import (
    DataDir,
    TownOpt,
    console,
    err,
    fail,
    open_platform,
    operator_ctx,
    parse_date,
    parse_required_date,
    refused_as_exit,
)

app = typer.Typer(help="安否確認: match shelter evacuee lists against the resident register")


@app.callback()
def safety() -> None:
    """安否確認 (safety confirmation) after a disaster."""
    # a callback keeps ``match`` a sub-command even while it is the only command


@app.command("match")
def match_command(
    town: TownOpt,
    evacuees: Annotated[Path, typer.Argument(help="evacuees.csv (UTF-8 or Shift_JIS)")],
    out: Annotated[Path, typer.Option("--out", help="matches.csv to write")],
    encoding: Annotated[str | None, typer.Option(help="utf-8 or cp932 (default: detect)")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="reference date YYYY-MM-DD (the disaster's; default today)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Match evacuees.csv against everyone the town's register knows (residents and
    former residents); write matches.csv."""
    from lgcloud.core.jobs import as_batch  # noqa: PLC0415
    from lgcloud.interchange.residents import ImportRefusedError  # noqa: PLC0415
    from lgcloud.safety.service import match_evacuees_in  # noqa: PLC0415

    as_batch()

    if not evacuees.is_file():
        err.print(f"[red]エラー:[/red] ファイルがありません: {evacuees}")
        raise typer.Exit(2)
    reference = parse_date(as_of, "as_of")
    platform = open_platform(data_dir)
    try:
        # matched in a read-only transaction: the town's clerks keep working meanwhile
        report = match_evacuees_in(
            platform,
            town,
            operator_ctx(town, platform),
            evacuees,
            out,
            encoding=encoding,
            today=reference,
        )
    except ImportRefusedError as e:
        err.print(f"[red]受け付けられません:[/red] {e.message}")
        raise typer.Exit(2) from e
    except LgcloudError as e:
        fail(e)
        return
    table = Table("判定", "件数")
    for verdict, n in report.counts.items():
        table.add_row(verdict, str(n))
    table.add_row("計", str(report.rows))
    console.print(table)
    if report.standings:
        console.print("住民でない人との一致 (転出済・死亡など):", markup=False)
        for receipt, number, standing in report.standings:
            console.print(f"  受付番号 {receipt}: 宛名番号 {number} {standing}", markup=False)
    for receipt, note in report.notes:
        console.print(f"受付番号 {receipt}: {note}")
    console.print(f"wrote {report.rows} rows to {out}")


@app.command("import")
def import_command(
    town: TownOpt,
    evacuees: Annotated[Path, typer.Argument(help="a shelter's evacuees.csv")],
    reported_at: Annotated[
        str | None,
        typer.Option(
            "--reported-at", help="when the list was written, YYYY-MM-DDTHH:MM (JST; default now)"
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="reference date YYYY-MM-DD (the disaster's)")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="utf-8 or cp932 (default: detect)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Import a shelter's list into the town's safety ledger (安否台帳): one entry per
    person across every list, the latest report shown; 候補 rows wait for a clerk."""
    from rich.progress import Progress  # noqa: PLC0415

    from lgcloud.core.jobs import as_batch  # noqa: PLC0415
    from lgcloud.interchange.residents import ImportRefusedError  # noqa: PLC0415
    from lgcloud.interface.ui import form_time  # noqa: PLC0415
    from lgcloud.safety.ledger import import_list  # noqa: PLC0415

    as_batch()
    if not evacuees.is_file():
        err.print(f"[red]エラー:[/red] ファイルがありません: {evacuees}", markup=True)
        raise typer.Exit(2)
    with refused_as_exit():
        when = form_time(reported_at or "", "reported_at")
    reference = parse_date(as_of, "as_of")
    platform = open_platform(data_dir)
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("importing", total=None)
            result = import_list(
                platform,
                town,
                operator_ctx(town, platform),
                evacuees,
                reported_at=when,
                as_of=reference,
                encoding=encoding,
                on_progress=lambda done: bar.update(task, completed=done),
            )
    except ImportRefusedError as e:
        err.print(f"受け付けられません: {e.message}", markup=False)
        raise typer.Exit(2) from e
    except LgcloudError as e:
        fail(e)
        return
    table = Table("結果", "行数")
    for label, n in (
        ("一致（台帳に反映）", result.matched),
        ("候補（職員の判断待ち）", result.pending),
        ("住民記録にない人（来訪者）", result.visitors),
        ("氏名なし（記録のみ）", result.unreadable),
    ):
        table.add_row(label, str(n))
    table.add_row("計", str(result.rows))
    console.print(table)
    if result.resumed:
        console.print(f"中断していた取り込みを再開しました（今回 {result.written} 行）")


@app.command("decide")
def decide_command(
    town: TownOpt,
    report: Annotated[int, typer.Argument(help="the report's number (lgcloud safety pending)")],
    person: Annotated[
        str | None, typer.Option("--person", help="宛名番号 of the person it is")
    ] = None,
    visitor: Annotated[
        bool, typer.Option("--visitor", help="none of the candidates: a visitor")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Decide a 候補 row: it is --person 宛名番号, or --visitor (none of them)."""
    from lgcloud.safety.ledger import decide  # noqa: PLC0415

    if (person is None) == (not visitor):
        fail(LgcloudError("--person か --visitor のどちらか一つを指定してください"))
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        entry = decide(t, operator_ctx(town, platform), report, person)
        shown = entry.addressee_number or "来訪者"
    console.print(f"報告 {report}: {shown} として台帳に記録しました", markup=False)


@app.command("pending")
def pending_command(town: TownOpt, data_dir: DataDir = None) -> None:
    """The 候補 rows waiting for a clerk."""
    from lgcloud.safety.queries import pending_rows  # noqa: PLC0415

    platform = open_platform(data_dir)
    with platform.read_town(town) as t:
        rows = pending_rows(t)
    table = Table("報告", "名簿", "受付番号", "氏名", "生年月日・年齢", "候補")
    for r in rows:
        table.add_row(
            str(r.report_id),
            r.list_name,
            r.receipt,
            f"{r.name} {r.kana}".strip(),
            r.birth_text or (f"{r.age_text}歳" if r.age_text else ""),
            " ".join(r.candidates),
        )
    console.print(table)


@app.command("status")
def status_command(
    town: TownOpt,
    person: Annotated[str, typer.Argument(help="宛名番号")],
    status: Annotated[str, typer.Option(help="無事 負傷 要支援 行方不明 死亡 不明")],
    where: Annotated[str, typer.Option("--where", help="避難所 自宅 病院 町外 不明")],
    place: Annotated[str, typer.Option(help="the shelter, hospital or town")] = "",
    note: Annotated[str, typer.Option(help="how it was learnt")] = "",
    data_dir: DataDir = None,
) -> None:
    """Record where a person is and how (a phone call, a hospital's list, a visit)."""
    from lgcloud.safety.ledger import record_status  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        entry = record_status(t, operator_ctx(town, platform), person, status, where, place, note)
        shown = f"{entry.status} {entry.location_kind} {entry.location}".strip()
    console.print(f"{person}: {shown}", markup=False)


@app.command("list")
def list_command(
    town: TownOpt,
    out: Annotated[Path, typer.Option("--out", help="the PDF or CSV to write")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="reference date YYYY-MM-DD (the disaster's)")
    ] = None,
    unaccounted: Annotated[
        bool, typer.Option("--unaccounted", help="only those nobody has confirmed")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Every resident by 行政区 with their status (or --unaccounted: the 所在不明者一覧),
    as PDF or CSV by the --out file's extension."""
    from lgcloud.core.clock import today_jst  # noqa: PLC0415
    from lgcloud.core.files import write_atomically  # noqa: PLC0415
    from lgcloud.core.jobs import as_batch  # noqa: PLC0415
    from lgcloud.safety.ledger import export_ledger  # noqa: PLC0415

    as_batch()
    fmt = out.suffix.lower().lstrip(".")
    reference = parse_date(as_of, "as_of") or today_jst()
    platform = open_platform(data_dir)
    with refused_as_exit():
        data, listed, replaced = export_ledger(
            platform,
            town,
            operator_ctx(town, platform),
            as_of=reference,
            unaccounted=unaccounted,
            fmt=fmt,
        )
    write_atomically(out, data)
    console.print(f"wrote {out}: {listed} 人", markup=False)
    if replaced:
        console.print(f"印字できない文字 {replaced} 字を〓で印字しました", markup=False)


@app.command("disaster")
def disaster_command(
    town: TownOpt,
    code: Annotated[str, typer.Option(help="the town's own number for it, e.g. 2026-01")],
    name: Annotated[str, typer.Option(help="e.g. 令和8年12月豪雨")],
    occurred_on: Annotated[str, typer.Option("--occurred-on", help="発災日 YYYY-MM-DD")],
    data_dir: DataDir = None,
) -> None:
    """Open a disaster's 被災者台帳 (damage surveys, り災証明書)."""
    from lgcloud.safety.victims import open_disaster  # noqa: PLC0415

    day = parse_required_date(occurred_on, "occurred_on")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        d = open_disaster(t, operator_ctx(town, platform), code, name, day)
        shown = f"{d.code} {d.name}（発災日 {d.occurred_on.isoformat()}）"
    console.print(f"災害を登録しました: {shown}", markup=False)


@app.command("survey")
def survey_command(
    town: TownOpt,
    disaster: Annotated[str, typer.Option(help="the disaster's code")],
    household: Annotated[str, typer.Option(help="世帯番号")],
    damage: Annotated[str, typer.Option(help="損害割合 in percent, e.g. 42.5")],
    surveyed_on: Annotated[str, typer.Option("--surveyed-on", help="調査日 YYYY-MM-DD")],
    surveyor: Annotated[str, typer.Option(help="調査者")],
    survey_round: Annotated[
        str, typer.Option("--round", help="一次調査 二次調査 再調査")
    ] = "一次調査",
    note: Annotated[str, typer.Option(help="メモ")] = "",
    data_dir: DataDir = None,
) -> None:
    """Record the damage survey of a household's home (住家の被害認定); the category follows
    from the 損害割合 and the thresholds in force on the survey's day."""
    from lgcloud.safety.victims import record_survey  # noqa: PLC0415

    day = parse_required_date(surveyed_on, "surveyed_on")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        s = record_survey(
            t,
            operator_ctx(town, platform),
            disaster,
            household,
            damage,
            day,
            surveyor,
            survey_round=survey_round,
            note=note,
        )
        shown = f"世帯 {s.household_number}: {s.category}（損害割合 {damage}%、{s.survey_round}）"
    console.print(shown, markup=False)


@app.command("victims")
def victims_command(
    town: TownOpt,
    disaster: Annotated[str, typer.Option(help="the disaster's code")],
    data_dir: DataDir = None,
) -> None:
    """The 被災者台帳 of a disaster: every surveyed household and its current survey."""
    from lgcloud.safety.victims import victim_ledger  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.read_town(town) as t:
        lines = victim_ledger(t, disaster)
    table = Table("世帯番号", "世帯主", "人数", "住家", "被害の程度", "損害割合", "調査", "支援金")
    for x in lines:
        ratio = f"{float(x.damage_ratio) * 100:g}%"
        rounds = f"{x.surveyed_on.isoformat()} {x.survey_round}（{x.surveys} 回）"
        money = f"決定 {x.granted_yen:,} 円" + (
            f"／申請中 {x.applied_yen:,} 円" if x.applied_yen else ""
        )
        table.add_row(
            x.household_number, x.head, str(x.members), x.address, x.category, ratio, rounds, money
        )
    console.print(table)


@app.command("support")
def support_command(
    town: TownOpt,
    disaster: Annotated[str, typer.Option(help="the disaster's code")],
    household: Annotated[str, typer.Option(help="世帯番号")],
    kind: Annotated[str, typer.Option(help="基礎支援金 or 加算支援金")],
    applied_on: Annotated[str, typer.Option("--applied-on", help="申請日 YYYY-MM-DD")],
    method: Annotated[str | None, typer.Option(help="加算支援金: 建設・購入, 補修 or 賃借")] = None,
    data_dir: DataDir = None,
) -> None:
    """A household applies for 被災者生活再建支援金; the amount follows from its survey,
    its size and the law's amounts on the day applied."""
    from lgcloud.safety.victims import apply_support  # noqa: PLC0415

    day = parse_required_date(applied_on, "applied_on")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        g = apply_support(t, operator_ctx(town, platform), disaster, household, kind, method, day)
        shown = (
            f"申請 {g.id}: 世帯 {g.household_number} {g.kind} {g.method or ''} {g.amount_yen:,} 円"
        )
    console.print(shown, markup=False)


@app.command("grant")
def grant_command(
    town: TownOpt,
    application: Annotated[int, typer.Argument(help="the application's number")],
    decided_on: Annotated[str, typer.Option("--decided-on", help="決定日 YYYY-MM-DD")],
    refuse: Annotated[bool, typer.Option("--refuse", help="不支給 (give --note)")] = False,
    note: Annotated[str, typer.Option(help="the reason of a 不支給")] = "",
    data_dir: DataDir = None,
) -> None:
    """支給決定 (or, with --refuse, 不支給) of a 支援金 application."""
    from lgcloud.safety.victims import decide_support  # noqa: PLC0415

    day = parse_required_date(decided_on, "decided_on")
    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        g = decide_support(t, operator_ctx(town, platform), application, not refuse, day, note)
        shown = f"申請 {g.id}: {g.status}"
    console.print(shown, markup=False)


@app.command("identify")
def identify_command(
    town: TownOpt,
    name: Annotated[str, typer.Option(help="氏名 as the person states it")],
    birth: Annotated[str, typer.Option(help="生年月日 (ISO or 和暦)")],
    kana: Annotated[str, typer.Option(help="ふりがな")] = "",
    address: Annotated[str, typer.Option(help="住所 as stated")] = "",
    member: Annotated[
        list[str] | None, typer.Option(help="a person they live with (repeatable)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Confirm the identity of someone who lost their papers: what they state, checked
    against the register (audited)."""
    from lgcloud.safety.identity import check_identity  # noqa: PLC0415

    platform = open_platform(data_dir)
    with refused_as_exit(), platform.town(town) as t:
        result = check_identity(
            t,
            operator_ctx(town, platform),
            name=name,
            birth=birth,
            kana=kana,
            address=address,
            members=member or [],
        )
    head = (
        f"確認できました: 宛名番号 {result.number} {result.name}"
        if result.confirmed
        else "確認できません"
    )
    console.print(f"{head}（{result.reason}）", markup=False)
    for what, ok, detail in result.checks:
        console.print(f"  {'○' if ok else '×'} {what}: {detail}", markup=False)
    if not result.confirmed:
        raise typer.Exit(1)
