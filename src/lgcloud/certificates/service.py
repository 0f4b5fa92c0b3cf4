"""Issuing certificates: gather the data, refuse what cannot be printed, render, sign,
record the issuance (交付履歴) and audit it — the slow steps outside any write lock
(:func:`issue_certificate`).

Every certificate shows the data's as-of time (データ時点) on every page, its issue number,
a verification code and QR code; the 認証文 is on the last page only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select, true

from lgcloud.certificates import signing
from lgcloud.certificates.models import Issuance, SigningKey
from lgcloud.certificates.render import pdf_engine, qr_svg, require_printable
from lgcloud.core.areas import load_areas
from lgcloud.core.clock import JST, utcnow
from lgcloud.core.context import RequestContext
from lgcloud.core.dates import age_on, fiscal_year_of
from lgcloud.core.errors import NotFoundError, RuleViolationError
from lgcloud.core.spreadsheet import spreadsheet_cell
from lgcloud.core.wareki import format_datetime_jst, to_wareki
from lgcloud.insurance.service import nhi_status
from lgcloud.register import queries
from lgcloud.register.domain import EVENT_LABELS, HEAD, PersonState, Sex, Status
from lgcloud.register.glyphs import glyphs_of
from lgcloud.register.models import PersonVersion, TownInfo
from lgcloud.register.service import locked_sequence, state_of
from lgcloud.seals.queries import active_seal
from lgcloud.taxation.labels import TAX_LABELS
from lgcloud.taxation.service import installments_of, resident_tax_of
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import check_writable, finish_write, journal_only
from lgcloud.trail.models import JournalEntry


class CertificateKind(StrEnum):
    RESIDENT = "resident"  # 住民票の写し
    INCOME_TAX = "income_tax"  # 所得・課税証明書
    TAX_PAYMENT = "tax_payment"  # 納税証明書
    NHI_CARD = "nhi_card"  # 国民健康保険 資格確認書
    NHI_NOTICE = "nhi_notice"  # 資格情報のお知らせ
    SEAL = "seal"  # 印鑑登録証明書
    ALL_RESIDENTS = "all_residents"  # 全住民一覧
    DISASTER = "disaster"  # り災証明書


KIND_LABELS = {
    CertificateKind.RESIDENT: "住民票の写し",
    CertificateKind.INCOME_TAX: "所得・課税証明書",
    CertificateKind.TAX_PAYMENT: "納税証明書",
    CertificateKind.NHI_CARD: "国民健康保険資格確認書",
    CertificateKind.NHI_NOTICE: "資格情報のお知らせ",
    CertificateKind.SEAL: "印鑑登録証明書",
    CertificateKind.ALL_RESIDENTS: "全住民一覧",
    CertificateKind.DISASTER: "り災証明書",
}


class ResidentOptions(BaseModel):
    """Choices for 住民票の写し; what is not asked for is not printed."""

    model_config = ConfigDict(extra="forbid")
    form: Literal["household", "individual"] = "household"
    members: list[str] | None = Field(
        default=None, description="世帯連記式で載せる人 (既定: 世帯全員)"
    )
    include_head_and_relationship: bool = True
    include_honseki: bool = False
    #: 国籍・地域 and the other items of 第30条の45, for foreign residents (omitted unless
    #: asked for, like 本籍: 住民基本台帳法 第12条第5項)
    include_foreign_items: bool = False
    include_resident_code: bool = False
    include_individual_number: bool = False
    include_removed: bool = False


class TaxOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fiscal_year: int = Field(ge=2000, le=2100)


class NhiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = None


#: what a certificate of an area above this one prints, by kind: the area registers its
#: builder (town, 宛名番号, options) → (body, the people it names) when ``lgcloud.areas``
#: loads it (り災証明書: ``safety.victims``)
DocumentBody = Callable[[Town, str, dict[str, Any]], tuple[dict[str, Any], list[str]]]
DOCUMENT_BODIES: dict[CertificateKind, DocumentBody] = {}


class DisasterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disaster: str = Field(min_length=1, max_length=20)  # the disaster's code


_O = TypeVar("_O", bound=BaseModel)


def _options(model: type[_O], options: dict[str, Any]) -> _O:
    """Validate certificate options; a bad one is a clear refusal naming the option."""
    try:
        return model.model_validate(options)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "options"
        raise RuleViolationError(
            f"証明書の指定「{where}」が正しくありません: {first['msg']}", field=f"options.{where}"
        ) from e


@dataclass(frozen=True)
class IssuedCertificate:
    pdf: bytes
    issue_number: str
    verification_code: str
    kind: CertificateKind
    pages: int
    data_as_of: datetime


def data_as_of(town: Town) -> datetime:
    """The time of the last committed change: what a page's データ時点 says. On a copy served
    read-only it is the copy's as-of time (views at the node must not move it)."""
    if town.as_of is not None:
        return town.as_of
    last = town.session.scalar(select(func.max(JournalEntry.committed_at)))
    return last or utcnow()


def _town_info(town: Town) -> TownInfo:
    info = town.session.get(TownInfo, town.code)
    if info is None:
        raise NotFoundError("町村の情報がありません")
    return info


#: suffix of the issue-number sequence a node uses on a copy it serves (its own series; the
#: node carries the next number over from one outage to the next)
NODE_SERIES = "-n"


def _issue_number(town: Town, today: date, node: str) -> str:
    """``令和8年度 第000123号``, taken from the town's series (in the caller's short write).
    On a copy served read-only the numbers are the node's own series, marked with the node
    (``…号（node-153079）``), so they never collide with the numbers the centre goes on
    issuing."""
    fy = fiscal_year_of(today)
    own = town.mode != "normal"
    name = f"issue-{fy}{NODE_SERIES}" if own else f"issue-{fy}"
    row = locked_sequence(town, name)
    n = row.next_value
    row.next_value = n + 1
    number = f"{to_wareki(date(fy, 4, 1)).split('年')[0]}年度 第{n:06d}号"
    return f"{number}（{node}）" if own else number


def _sex(s: Sex) -> str:
    return "男" if s is Sex.MALE else "女"


def _who(p: PersonState) -> str:
    return f"宛名番号 {p.addressee_number}"


def _check(town: Town, p: PersonState, *, honseki: bool = False, foreign: bool = False) -> None:
    fields = {"氏名": p.name, "住所": f"{p.address}{p.address_detail}"}
    if p.kana:
        fields["カナ氏名"] = p.kana
    if honseki and p.honseki:
        fields["本籍"] = p.honseki
    if honseki and p.hittousha:
        fields["筆頭者"] = p.hittousha
    if foreign and p.nationality:
        fields["国籍・地域"] = p.nationality
    require_printable(fields, _who(p), glyphs=glyphs_of(town))


def _yen(n: int) -> str:
    return f"{n:,}"


# -------------------------------------------------------------------- document builders


def _resident_doc(
    town: Town, person: PersonState, opts: ResidentOptions
) -> tuple[dict[str, Any], list[str]]:
    if opts.form == "individual":
        people = [person]
    else:
        members = queries.current_household(town, person.household_number)
        if opts.include_removed:
            removed = town.session.scalars(
                select(PersonVersion).where(
                    PersonVersion.household_number == person.household_number,
                    PersonVersion.is_current == true(),
                    PersonVersion.status == Status.REMOVED.value,
                )
            )
            members += [state_of(r) for r in removed]
        if not person.is_resident and person not in members:
            members.append(person)
        if opts.members is not None:
            wanted = set(opts.members)
            unknown = wanted - {m.addressee_number for m in members}
            if unknown:
                raise RuleViolationError(
                    f"この世帯にいない人が指定されています: {', '.join(sorted(unknown))}",
                    field="members",
                )
            members = [m for m in members if m.addressee_number in wanted]
        people = sorted(members, key=lambda m: (m.relationship != HEAD, m.birth_date))
    if not person.is_resident and not opts.include_removed:
        raise RuleViolationError(
            "除票の写しを交付するには「除票を含む」を指定してください", field="include_removed"
        )
    for p in people:
        _check(town, p, honseki=opts.include_honseki, foreign=opts.include_foreign_items)
    head = next((p for p in people if p.relationship == HEAD), None)
    rows = []
    for p in people:
        row: dict[str, Any] = {
            "name": p.name,
            "kana": p.kana,
            "birth": to_wareki(p.birth_date),
            "sex": _sex(p.sex),
            "resident_since": to_wareki(p.resident_since),
            "settled_on": to_wareki(p.settled_on),
            "event": f"{to_wareki(p.valid_from)} {EVENT_LABELS[p.last_event]}",
            "notified": to_wareki(p.notified_on) if p.notified_on else "",
            "previous_address": p.previous_address or "",
            "removed": f"{to_wareki(p.removed_on)} {p.removal_reason}" if p.removed_on else "",
        }
        if opts.include_head_and_relationship:
            row["relationship"] = p.relationship
        if opts.include_honseki:
            row["honseki"] = p.honseki or ""
            row["hittousha"] = p.hittousha or ""
        if opts.include_foreign_items and p.is_foreign:
            row["foreign"] = {
                "nationality": p.nationality or "",
                "category": p.foreign_category or "",
                "status": p.residence_status or "",
                "expires": to_wareki(p.stay_expires_on) if p.stay_expires_on else "",
                "card": p.residence_card_number or "",
            }
        if opts.include_resident_code:
            row["resident_code"] = p.resident_code or ""
        if opts.include_individual_number:
            row["individual_number"] = p.individual_number or ""
        rows.append(row)
    doc = {
        "form": opts.form,
        "address": f"{person.address} {person.address_detail}".strip(),
        "head": head.name if (head and opts.include_head_and_relationship) else "",
        "show_head": opts.include_head_and_relationship,
        "show_honseki": opts.include_honseki,
        "show_resident_code": opts.include_resident_code,
        "show_individual_number": opts.include_individual_number,
        "people": rows,
        "attestation": "この写しは、住民票の原本と相違ないことを証明する。",
    }
    return doc, [p.addressee_number for p in people]


def _income_tax_doc(town: Town, person: PersonState, opts: TaxOptions) -> dict[str, Any]:
    a = resident_tax_of(town, person.addressee_number, opts.fiscal_year)
    if a is None:
        raise NotFoundError(f"{opts.fiscal_year}年度の課税の記録がありません")
    _check(town, person)
    items = [
        ("給与収入", a.salary_revenue),
        ("給与所得", a.salary_income),
        ("公的年金等収入", a.pension_revenue),
        ("公的年金等所得", a.pension_income),
        ("事業所得", a.business_income),
        ("農業所得", a.agriculture_income),
        ("その他の所得", a.other_income),
        ("総所得金額", a.total_income),
        ("社会保険料控除", a.social_insurance_deduction),
        ("配偶者控除", a.spouse_deduction),
        ("扶養控除", a.dependents_deduction),
        ("基礎控除", a.basic_deduction),
        ("所得控除合計", a.total_deductions),
        ("課税標準額", a.taxable_income),
        ("所得割額 (町村民税)", a.income_levy_municipal),
        ("所得割額 (県民税)", a.income_levy_prefectural),
        ("均等割額 (町村民税)", a.per_capita_municipal),
        ("均等割額 (県民税)", a.per_capita_prefectural),
        ("森林環境税", a.forest_environment_tax),
        ("年税額", a.total_tax),
    ]
    return {
        "fiscal_year": to_wareki(date(opts.fiscal_year, 4, 1)).split("年")[0] + "年度",
        "income_year": to_wareki(date(opts.fiscal_year - 1, 1, 1)).split("年")[0] + "年分",
        "name": person.name,
        "birth": to_wareki(person.birth_date),
        "address": f"{person.address}{person.address_detail}",
        "dependents": str(a.dependents),
        "items": [[label, _yen(v)] for label, v in items],
        "attestation": "上記のとおり相違ないことを証明する。",
    }


def _tax_payment_doc(town: Town, person: PersonState, opts: TaxOptions) -> dict[str, Any]:
    lines = installments_of(town, person.addressee_number, opts.fiscal_year)
    assessed = resident_tax_of(town, person.addressee_number, opts.fiscal_year)
    if not lines and assessed is None:
        raise NotFoundError(f"{opts.fiscal_year}年度の税の記録がありません")
    _check(town, person)
    rows = [
        [
            TAX_LABELS[x.tax_kind],
            f"第{x.period}期",
            to_wareki(x.due_date),
            _yen(x.levied),
            _yen(x.paid),
            _yen(x.outstanding),
        ]
        for x in lines
    ]
    totals: dict[str, list[int]] = {}
    if assessed is not None and assessed.total_tax == 0:
        totals[TAX_LABELS["resident"]] = [0, 0, 0]  # assessed, but not taxed (非課税)
    for x in lines:
        t = totals.setdefault(TAX_LABELS[x.tax_kind], [0, 0, 0])
        t[0] += x.levied
        t[1] += x.paid
        t[2] += x.outstanding
    return {
        "fiscal_year": to_wareki(date(opts.fiscal_year, 4, 1)).split("年")[0] + "年度",
        "name": person.name,
        "address": f"{person.address}{person.address_detail}",
        "rows": rows,
        "totals": [[k, _yen(v[0]), _yen(v[1]), _yen(v[2])] for k, v in totals.items()],
        "outstanding": _yen(sum(x.outstanding for x in lines)),
        "attestation": "上記のとおり相違ないことを証明する。",
    }


def _nhi_doc(town: Town, person: PersonState, opts: NhiOptions, today: date) -> dict[str, Any]:
    on = opts.on or today
    status = nhi_status(town, person.addressee_number, on)
    if status is None:
        raise NotFoundError(f"{to_wareki(on)} に国民健康保険の資格がありません")
    householder = queries.get_person(town, status.householder)
    _check(town, person)
    _check(town, householder)
    insurer = f"{town.code[:5]}0"  # 保険者番号: the town's code (6 digits) stands in for it here
    return {
        "symbol": status.symbol,
        "number": status.insured_number,
        "branch": status.branch,
        "name": person.name,
        "kana": person.kana,
        "birth": to_wareki(person.birth_date),
        "sex": _sex(person.sex),
        "householder": householder.name,
        "address": f"{person.address}{person.address_detail}",
        "qualified_on": to_wareki(status.qualified_on),
        "copay": f"{status.copay_percent // 10}割",
        "insurer_number": insurer,
        "valid_until": to_wareki(date(on.year + (1 if on.month >= 8 else 0), 7, 31)),
    }


def _seal_doc(town: Town, person: PersonState) -> dict[str, Any]:
    reg = active_seal(town, person.addressee_number)
    if reg is None or not person.is_resident:
        raise NotFoundError("登録されている印鑑がありません")
    _check(town, person)
    import base64  # noqa: PLC0415

    b64 = base64.b64encode(reg.image_png).decode("ascii")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160">'
        f'<image width="160" height="160" href="data:image/png;base64,{b64}"/></svg>'
    )
    return {
        "name": person.name,
        "birth": to_wareki(person.birth_date),
        "sex": _sex(person.sex),
        "address": f"{person.address}{person.address_detail}",
        "registration_number": reg.registration_number,
        "seal_svg": svg,
        "attestation": "この写しは、登録されている印影と相違ないことを証明する。",
    }


def all_residents(town: Town) -> list[PersonState]:
    """Every current resident, by district, then household, head first."""
    rows = town.session.execute(
        select(*PersonVersion.__table__.columns)
        .where(PersonVersion.is_current == true(), PersonVersion.status == Status.RESIDENT.value)
        .order_by(
            PersonVersion.district,
            PersonVersion.household_number,
            PersonVersion.relationship != HEAD,
            PersonVersion.birth_date,
        )
    )
    return [state_of(r) for r in rows]


ALL_RESIDENTS_COLUMNS = [
    "行政区",
    "世帯番号",
    "宛名番号",
    "氏名",
    "カナ氏名",
    "生年月日",
    "年齢",
    "性別",
    "続柄",
    "住所",
    "安否",
    "避難先",
    "備考",
]


def _resident_rows(town: Town) -> list[Any]:
    """(district, household, 宛名番号, name, kana, birth, sex, relationship, address, 方書) of
    every current resident, by district, household, head first: plain rows, no objects."""
    pv = PersonVersion
    return list(
        town.session.execute(
            select(
                pv.district,
                pv.household_number,
                pv.addressee_number,
                pv.name,
                pv.kana,
                pv.birth_date,
                pv.sex,
                pv.relationship,
                pv.address,
                pv.address_detail,
            )
            .where(pv.is_current == true(), pv.status == Status.RESIDENT.value)
            .order_by(pv.district, pv.household_number, pv.relationship != HEAD, pv.birth_date)
        ).all()
    )


_SEXES = {int(Sex.MALE): "男", int(Sex.FEMALE): "女"}


def _all_residents_doc(
    rows: Sequence[Any], today: date, glyphs: Collection[str] = ()
) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for district, household, number, name, kana, birth, sex, rel, address, detail in rows:
        require_printable(
            {"氏名": name, "カナ氏名": kana, "住所": f"{address}{detail}"},
            f"宛名番号 {number}",
            glyphs=glyphs,
        )
        label = district or "(行政区なし)"
        if not groups or groups[-1]["district"] != label:
            groups.append({"district": label, "rows": []})
        groups[-1]["rows"].append(
            [
                household,
                number,
                name,
                kana,
                to_wareki(birth),
                str(age_on(birth, today)),
                _SEXES[sex],
                rel,
                f"{address}{detail}",
            ]
        )
    return {"groups": groups, "count": len(rows)}


def all_residents_csv(
    platform: Platform, ctx: RequestContext, *, today: date | None = None
) -> bytes:
    """全住民一覧 as UTF-8 CSV (BOM for spreadsheets; cells starting with = + - @ neutralised).
    Read in a read-only transaction; the export's audit entry is group-committed."""
    today = today or datetime.now(JST).date()
    check_writable(ctx, "export_all_residents")
    with platform.read_town(ctx.town_code) as town:
        rows = _resident_rows(town)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(ALL_RESIDENTS_COLUMNS)
    w.writerows(
        [
            spreadsheet_cell(district),
            household,
            number,
            spreadsheet_cell(name),
            spreadsheet_cell(kana),
            birth.isoformat(),
            age_on(birth, today),
            _SEXES[sex],
            spreadsheet_cell(rel),
            spreadsheet_cell(f"{address}{detail}"),
            "",
            "",
            "",
        ]
        for district, household, number, name, kana, birth, sex, rel, address, detail in rows
    )
    platform.record_read(
        ctx,
        "export_all_residents",
        subjects=[r[2] for r in rows],
        detail={"format": "csv", "count": len(rows)},
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ------------------------------------------------------------------------------ issuance

TEMPLATES = {
    CertificateKind.RESIDENT: "resident.typ",
    CertificateKind.INCOME_TAX: "income_tax.typ",
    CertificateKind.TAX_PAYMENT: "tax_payment.typ",
    CertificateKind.NHI_CARD: "nhi_card.typ",
    CertificateKind.NHI_NOTICE: "nhi_notice.typ",
    CertificateKind.SEAL: "seal.typ",
    CertificateKind.ALL_RESIDENTS: "all_residents.typ",
    CertificateKind.DISASTER: "disaster.typ",
}


@dataclass(frozen=True)
class _Draft:
    """What a certificate says, gathered and checked in one read-only transaction."""

    body: dict[str, Any]
    subjects: list[str]
    options: dict[str, Any]
    info: TownInfo
    as_of: datetime
    keys_dir: Path
    glyphs: dict[str, str]  # the town's 外字: text → SVG


def _draft(
    town: Town,
    kind: CertificateKind,
    addressee_number: str | None,
    options: dict[str, Any],
    today: date,
) -> _Draft:
    as_of = data_as_of(town)
    subjects: list[str]
    if kind is CertificateKind.ALL_RESIDENTS:
        rows = _resident_rows(town)
        body = _all_residents_doc(rows, today, glyphs_of(town))
        subjects = [r[2] for r in rows]
        opts_dump: dict[str, Any] = {}
    else:
        if addressee_number is None:
            raise RuleViolationError("宛名番号を指定してください", field="addressee_number")
        person = queries.get_person(town, addressee_number)
        subjects = [addressee_number]
        if kind is CertificateKind.RESIDENT:
            ro = _options(ResidentOptions, options)
            body, subjects = _resident_doc(town, person, ro)
            opts_dump = ro.model_dump()
        elif kind in (CertificateKind.INCOME_TAX, CertificateKind.TAX_PAYMENT):
            to = _options(TaxOptions, options)
            body = (_income_tax_doc if kind is CertificateKind.INCOME_TAX else _tax_payment_doc)(
                town, person, to
            )
            opts_dump = to.model_dump()
        elif kind in (CertificateKind.NHI_CARD, CertificateKind.NHI_NOTICE):
            no = _options(NhiOptions, options)
            body = _nhi_doc(town, person, no, today)
            opts_dump = no.model_dump(mode="json")
        elif kind is CertificateKind.DISASTER:
            do = _options(DisasterOptions, options)
            load_areas()  # the area that knows what it prints names itself (safety)
            body, subjects = DOCUMENT_BODIES[kind](town, addressee_number, do.model_dump())
            opts_dump = do.model_dump()
        else:
            body = _seal_doc(town, person)
            opts_dump = {}
    return _Draft(
        body, subjects, opts_dump, _town_info(town), as_of, _keys_dir(town), glyphs_of(town)
    )


def issue_certificate(
    platform: Platform,
    ctx: RequestContext,
    kind: CertificateKind,
    *,
    addressee_number: str | None = None,
    options: dict[str, Any] | None = None,
    base_url: str = "http://127.0.0.1:8000",
    now: datetime | None = None,
) -> IssuedCertificate:
    """Issue one certificate: build, check printability, render, sign, record, audit.

    Nothing slow runs inside the town's write lock: the data is gathered and checked for
    printability in a read-only transaction (one consistent state, whose as-of time the
    document prints); the issue number is taken in one short write; the PDF is rendered and
    signed outside any transaction; the issuance (交付履歴) and its audit entry are the last
    short write. A number taken for a document that then fails to render stays unused (the
    number series has a gap, never a duplicate).
    """
    now = now or utcnow()
    today = now.astimezone(JST).date()
    check_writable(ctx, "certificate_issued")
    with platform.read_town(ctx.town_code) as town:
        draft = _draft(town, kind, addressee_number, options or {}, today)
    key = signing.load_key(draft.keys_dir, ctx.town_code)
    code = signing.new_verification_code(ctx.town_code)
    with platform.town(ctx.town_code) as town:
        issue_number = _issue_number(town, today, ctx.node)
        journal_only(town.session, "certificate_number_taken", ctx.request_id)
    data = {
        "kind": KIND_LABELS[kind],
        "town": {
            "code": ctx.town_code,
            "name": draft.info.name,
            "prefecture": draft.info.prefecture,
            "mayor": f"{draft.info.name}長",
        },
        "issue_number": issue_number,
        "issued_on": to_wareki(today),
        "as_of": format_datetime_jst(draft.as_of),
        "verification_code": code,
        "verify_url": f"{base_url.rstrip('/')}/verify/{code}",
        "qr_svg": qr_svg(f"{base_url.rstrip('/')}/verify/{code}"),
        "mode": ctx.mode,
        "body": draft.body,
    }
    pdf = pdf_engine().render(
        TEMPLATES[kind],
        data,
        tagged=kind is not CertificateKind.ALL_RESIDENTS,
        glyphs=draft.glyphs,
    )
    digest = hashlib.sha256(pdf).digest()
    pages = _count_pages(pdf)
    signature = signing.sign_digest(key, digest)
    with platform.town(ctx.town_code) as town:
        town.session.add(
            Issuance(
                issue_number=issue_number,
                verification_code=code,
                kind=kind.value,
                addressee_number=addressee_number,
                subjects=draft.subjects,
                options=draft.options,
                issued_at=now,
                data_as_of=draft.as_of,
                clerk_id=ctx.actor.clerk_id,
                clerk_name=ctx.actor.name,
                node=ctx.node,
                mode=ctx.mode,
                pages=pages,
                content_sha256=digest.hex(),
                signature=signature,
                key_id=key.key_id,
            )
        )
        town.session.flush()
        finish_write(
            town.session,
            ctx,
            "certificate_issued",
            subjects=draft.subjects,
            detail={"kind": kind.value, "issue_number": issue_number, "verification_code": code},
        )
    return IssuedCertificate(pdf, issue_number, code, kind, pages, draft.as_of)


def _keys_dir(town: Town) -> Path:
    if town.keys_dir is None:
        raise NotFoundError("この環境には署名鍵がありません")
    return town.keys_dir


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _count_pages(pdf: bytes) -> int:
    # Every page object carries "/Type /Page" (the tree nodes say "/Pages"); counting them
    # is enough for the issuance record and avoids parsing the whole document.
    return len(_PAGE_OBJECT.findall(pdf))


# ---------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerificationInfo:
    kind: str
    town_name: str
    issued_at: datetime
    data_as_of: datetime


def lookup(town: Town, code: str) -> Issuance:
    row = town.session.scalar(select(Issuance).where(Issuance.verification_code == code))
    if row is None:
        raise NotFoundError("この照合番号の証明書はありません")
    return row


def verification_info(town: Town, code: str) -> VerificationInfo:
    row = lookup(town, code)
    return VerificationInfo(
        KIND_LABELS[CertificateKind(row.kind)], _town_info(town).name, row.issued_at, row.data_as_of
    )


def verify_pdf(town: Town, code: str, pdf: bytes) -> bool:
    """Whether ``pdf`` is exactly the document issued under ``code`` (hash and signature)."""
    row = lookup(town, code)
    digest = hashlib.sha256(pdf).digest()
    if digest.hex() != row.content_sha256:
        return False
    key = town.session.get(SigningKey, row.key_id)
    return key is not None and signing.verify_digest(key.public_key, digest, row.signature)


def issuance_history(town: Town, addressee_number: str) -> list[Issuance]:
    """交付履歴: every certificate issued concerning a person, newest first."""
    return list(
        town.session.scalars(
            select(Issuance)
            .where(Issuance.addressee_number == addressee_number)
            .order_by(Issuance.issued_at.desc())
        )
    )
