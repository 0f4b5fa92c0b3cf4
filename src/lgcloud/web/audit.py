"""監査レポート: the page and the JSON API of the audit trail (who viewed a person, what a
clerk did, whether the chain verifies)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from lgcloud.audit import service as audit_service
from lgcloud.audit.service import AuditLine
from lgcloud.auth.roles import Permission
from lgcloud.continuity.centre import latest_anchor
from lgcloud.interface.deps import Acting, acting, platform_of
from lgcloud.interface.rendering import page_context, templates
from lgcloud.trail.journal import (
    MODE_LABELS,
)

router = APIRouter()
api_router = APIRouter(prefix="/api")
ActingDep = Annotated[Acting, Depends(acting)]


#: audit actions as the report shows them (others are shown as recorded)
ACTION_LABELS = {
    "login": "ログイン",
    "login_failed": "ログイン失敗",
    "logout": "ログアウト",
    "quick_switch": "職員切替",
    "quick_switch_failed": "職員切替失敗",
    "search": "検索",
    "view_person": "個人の閲覧",
    "view_history": "異動履歴の閲覧",
    "view_household": "世帯の閲覧",
    "view_issuances": "交付履歴の閲覧",
    "view_address": "住所の閲覧",
    "certificate_issued": "証明書交付",
    "life_event": "異動の登録",
    "audit_report": "監査レポート",
    "audit_verify": "監査証跡の検証",
    "application_received": "申請受付",
    "login_refused": "ログイン拒否（ロック中）",
    "quick_switch_refused": "職員切替拒否（ロック中）",
    "export_all_residents": "全住民一覧の出力",
    "offline_activity_received": "拠点での操作の受領",
    "view_seal": "印鑑登録の閲覧",
    "seal_registered": "印鑑登録",
    "seal_abolished": "印鑑登録の廃止",
    "parameter_set": "法令パラメータの設定",
    "task_settled": "処理待ちの処理",
    "identity_clash_reported": "住民票コード等の団体間重複の報告",
    "glyph_registered": "外字の登録",
    "non_resident_registered": "住登外者の登録",
    "addressee_linked": "名寄せ",
    "addressee_unlinked": "名寄せの解除",
    "contact_set": "送付先・代理人・口座の登録",
    "view_addressee": "宛名の閲覧",
    "export_linkage": "他システムへの連携（取得）",
    "notice_run_started": "通知書の一括作成（開始）",
    "notices_issued": "通知書の作成",
    "linkage_client_created": "連携システムの登録",
    "linkage_client_revoked": "連携システムの取消",
    "polling_district_set": "投票区の設定",
    "polling_area_set": "投票区の対応表の設定",
    "election_created": "選挙の登録",
    "polling_station_added": "投票所の登録",
    "electoral_registration_previewed": "選挙人名簿の登録（プレビュー）",
    "electoral_registration_fixing": "選挙人名簿の登録（確定開始・抹消）",
    "electors_registered": "選挙人名簿の登録",
    "electoral_registration_fixed": "選挙人名簿の登録（確定）",
    "electoral_registration_discarded": "選挙人名簿の登録（取消）",
    "voter_checked_in": "投票の受付",
    "node_checkins_received": "拠点での投票受付の受領",
    "view_roll_inspection": "選挙人名簿抄本の閲覧",
    "export_electoral_roll": "選挙人名簿の出力",
    "export_notice_file": "通知書ファイルの取得",
    "jurors_drawn": "裁判員候補者予定者の選定",
}


# ------------------------------------------------------------------ audit reports


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, a: ActingDep, person: str = "", clerk: str = "") -> Response:
    """監査レポート: who viewed a person (宛名番号), what a clerk did (職員番号)."""
    a.require(Permission.READ_AUDIT)
    person, clerk = person.strip()[:10], clerk.strip()[:20]
    lines = _report(request, a, person=person, clerk=clerk) if person or clerk else []
    return templates.TemplateResponse(
        request,
        "web/audit.html",
        {
            **page_context(request, a),
            "person": person,
            "clerk": clerk,
            "lines": lines,
            "asked": bool(person or clerk),
            "action_labels": ACTION_LABELS,
            "mode_labels": {"normal": "通常", **MODE_LABELS},
        },
    )


def _report(request: Request, a: Acting, *, person: str, clerk: str) -> list[AuditLine]:
    """Who viewed ``person`` or, without one, what ``clerk`` did; the report is audited."""
    a.require(Permission.READ_AUDIT)
    platform = platform_of(request)
    with platform.read_town(a.ctx.town_code) as town:
        if person:
            lines = audit_service.who_viewed(town.session, person)
        else:
            lines = audit_service.by_clerk(town.session, clerk)
    detail = {"person": person} if person else {"clerk": clerk}
    platform.record_read(a.ctx, "audit_report", detail=detail)
    return lines


def _lines(lines: list[AuditLine]) -> list[dict[str, Any]]:
    return [
        {
            "seq": x.seq,
            "at": x.at.isoformat(),
            "clerk_name": x.clerk_name,
            "staff_number": x.staff_number,
            "action": x.action,
            "subjects": x.subjects,
            "purpose": x.purpose,
            "node": x.node,
            "mode": x.mode,
            "request_id": x.request_id,
        }
        for x in lines
    ]


@api_router.get("/audit/verify")
def api_audit_verify(a: ActingDep, request: Request) -> dict[str, Any]:
    a.require(Permission.READ_AUDIT)
    platform = platform_of(request)
    anchor = latest_anchor(platform, a.ctx.town_code)  # the newest signed snapshot's head
    with platform.read_town(a.ctx.town_code) as town:
        report = audit_service.verify(town.session, anchor)
    platform.record_read(a.ctx, "audit_verify", detail={"ok": report.ok})
    return {
        "ok": report.ok,
        "entries": report.entries,
        "problems": [p.__dict__ for p in report.problems],
    }


@api_router.get("/audit/who-viewed/{addressee_number}")
def api_who_viewed(a: ActingDep, request: Request, addressee_number: str) -> list[dict[str, Any]]:
    return _lines(_report(request, a, person=addressee_number, clerk=""))


@api_router.get("/audit/by-clerk/{staff_number}")
def api_by_clerk(a: ActingDep, request: Request, staff_number: str) -> list[dict[str, Any]]:
    return _lines(_report(request, a, person="", clerk=staff_number))
