"""The IT officer's pages in-process: 職員と役割 (/clerks), 申請受付 in a read-only mode
(/applications) and the node operator's page (/node) authorised by the node token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import TOWN_A, TOWN_B, add_clerks
from lgcloud.auth.roles import Role
from lgcloud.auth.service import MAX_FAILURES
from lgcloud.continuity.federation import node_name, write_federation
from lgcloud.continuity.models import PendingApplication
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.pages import NODE_COOKIE
from lgcloud.continuity.sites import load_sites
from lgcloud.core.clock import utcnow
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform
from lgcloud.web.app import create_app

PASSWORD = "admin-pages-pass-1"
CLERKS = {
    "I1": {Role.IT_OFFICER},
    "C1": {Role.COUNTER_CLERK},
    "C2": {Role.COUNTER_CLERK},
}


def _setup_clerks(platform: Platform, town_code: str) -> None:
    add_clerks(platform, town_code, CLERKS, PASSWORD, pins="1234", surname="管理")


@pytest.fixture
def app_platform(platform: Platform) -> tuple[object, Platform]:
    _setup_clerks(platform, TOWN_A)
    return create_app(platform), platform


def _login(app: object, staff: str, password: str = PASSWORD) -> TestClient:
    c = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    r = c.post("/login", data={"town_code": TOWN_A, "staff_number": staff, "password": password})
    assert r.status_code == 303, r.text
    return c


def _set_mode(platform: Platform, mode: str) -> None:
    with platform.platform_session() as s:
        hosted = s.get(HostedTown, TOWN_A)
        assert hosted is not None
        hosted.mode = mode
        hosted.as_of = None if mode == "normal" else utcnow()


# --------------------------------------------------------------------------- 職員と役割


def test_clerks_page_lists_creates_with_field_messages_and_unlocks(
    app_platform: tuple[object, Platform],
) -> None:
    app, _platform = app_platform
    it = _login(app, "I1")
    page = it.get("/clerks")
    assert page.status_code == 200
    assert 'href="/clerks"' in page.text  # in the menu
    rows = re.findall(r'<tr data-staff="([^"]+)"', page.text)
    assert rows == ["C1", "C2", "I1"]
    assert "窓口職員" in page.text and "情報システム担当" in page.text

    def create(**form: object) -> str:
        r = it.post("/clerks", data=form)
        assert r.status_code == 422, r.text
        return r.text

    good = {"staff_number": "N1", "name": "新任\u3000花子", "roles": ["counter_clerk"]}
    # the service's RuleViolationError.field puts each message next to its field
    text = create(**{**good, "staff_number": "n-1"}, password="long-enough-pass")
    assert 'data-testid="error-staff_number">職員番号は英数字です' in text
    assert re.search(r'id="staff_number"[^>]*aria-invalid="true"', text)
    assert 'value="n-1"' in text  # what was typed is kept
    text = create(**good, password="short")
    assert 'data-testid="error-password">パスワードは' in text
    text = create(**good, password="long-enough-pass", pin="12")
    assert 'data-testid="error-pin">PINは数字4〜8桁です' in text
    text = create(**{**good, "roles": []}, password="long-enough-pass")
    assert 'data-testid="error-roles"' in text
    text = create(**{**good, "staff_number": "C1"}, password="long-enough-pass")
    assert 'data-testid="error-staff_number">職員番号 C1 は既に使われています' in text
    assert "long-enough-pass" not in text  # a password is never echoed

    r = it.post(
        "/clerks",
        data={**good, "roles": ["counter_clerk", "auditor"], "password": "long-enough-pass"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/clerks?created=N1"
    page = it.get(r.headers["location"])
    assert 'data-testid="clerks-message">職員 N1 を登録しました' in page.text
    assert re.search(r'<tr data-staff="N1">.*?窓口職員・監査担当', page.text, re.S)
    _login(app, "N1", "long-enough-pass")  # the new clerk can log in

    # lock C2 by wrong passwords, then unlock from the page
    anon = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    for _ in range(MAX_FAILURES):
        anon.post("/login", data={"town_code": TOWN_A, "staff_number": "C2", "password": "x"})
    page = it.get("/clerks")
    assert re.search(r'<tr data-staff="C2" class="warn">.*?ロック中', page.text, re.S)
    assert 'data-testid="unlock-C2"' in page.text
    assert 'data-testid="unlock-C1"' not in page.text
    r = it.post("/clerks/C2/unlock")
    assert r.status_code == 303 and r.headers["location"] == "/clerks?unlocked=C2"
    page = it.get(r.headers["location"])
    assert "ロックを解除しました" in page.text
    assert 'data-testid="unlock-C2"' not in page.text
    _login(app, "C2")
    assert it.post("/clerks/NOSUCH/unlock").status_code == 404


def test_clerks_page_needs_the_it_officer(app_platform: tuple[object, Platform]) -> None:
    app, _platform = app_platform
    counter = _login(app, "C1")
    assert 'href="/clerks"' not in counter.get("/").text
    assert counter.get("/clerks").status_code == 403
    r = counter.post(
        "/clerks",
        data={"staff_number": "X1", "name": "x", "roles": "it_officer", "password": "p" * 12},
    )
    assert r.status_code == 403
    assert counter.post("/clerks/C2/unlock").status_code == 403


def test_clerk_creation_is_refused_on_a_read_only_copy(
    app_platform: tuple[object, Platform],
) -> None:
    app, platform = app_platform
    it = _login(app, "I1")
    _set_mode(platform, "down_recovery")
    page = it.get("/clerks")
    assert 'data-testid="refusal"' in page.text and "読み取り専用" in page.text
    assert 'data-testid="clerk-form"' not in page.text
    r = it.post(
        "/clerks",
        data={"staff_number": "N2", "name": "新任", "roles": "auditor", "password": "p" * 12},
    )
    assert r.status_code == 422
    assert "読み取り専用" in r.text
    assert 'data-staff="N2"' not in r.text


# --------------------------------------------------------------------------- 申請受付


def test_applications_form_only_in_read_only_modes(app_platform: tuple[object, Platform]) -> None:
    app, platform = app_platform
    counter = _login(app, "C1")
    normal = counter.get("/applications")
    assert 'data-testid="applications-normal"' in normal.text
    assert 'data-testid="application-form"' not in normal.text
    assert 'href="/applications"' not in normal.text  # not in the menu either
    r = counter.post("/applications", data={"kind": "death", "details": "x"})
    assert r.status_code == 422 and "通常運用中です" in r.text

    _set_mode(platform, "partner")
    page = counter.get("/applications")
    assert 'data-testid="application-form"' in page.text
    assert 'href="/applications"' in page.text
    assert 'data-testid="no-pending"' in page.text
    bad = counter.post("/applications", data={"kind": "nope", "addressee_number": "12ab"})
    assert bad.status_code == 422
    assert 'data-testid="error-kind"' in bad.text
    assert 'data-testid="error-addressee_number"' in bad.text
    r = counter.post(
        "/applications",
        data={"kind": "move_within", "addressee_number": "0000000019", "details": "新住所 1-2"},
    )
    assert r.status_code == 303, r.text
    page = counter.get(r.headers["location"])
    assert 'data-testid="application-received"' in page.text
    assert re.search(r"転居届.*?0000000019.*?新住所 1-2.*?管理\u3000C1", page.text, re.S)
    with platform.platform_session() as s:
        rows = list(s.scalars(select(PendingApplication)))
    assert [(p.town, p.kind, p.addressee_number, p.handed_back_at) for p in rows] == [
        (TOWN_A, "move_within", "0000000019", None)
    ]
    assert rows[0].detail["text"] == "新住所 1-2"
    with platform.town(TOWN_A) as town:
        from lgcloud.audit.models import AuditEntry  # noqa: PLC0415

        actions = list(town.session.scalars(select(AuditEntry.action)))
    assert "application_received" in actions


# --------------------------------------------------------------------------- /node


@pytest.fixture
def node_app(tmp_path: Path, platform: Platform) -> Iterator[tuple[TestClient, NodeService]]:
    write_federation(tmp_path, platform, towns=[TOWN_A, TOWN_B], centre_port=1, node_ports=[2, 3])
    sites = load_sites(tmp_path / "sites.toml")
    name = node_name(TOWN_A)
    node = NodeService(Platform(tmp_path / "nodes" / name, node=name), sites, name)
    with TestClient(create_app(node.platform, node_service=node), follow_redirects=False) as c:
        yield c, node
    node.platform.dispose()


def test_node_page_needs_the_node_token(node_app: tuple[TestClient, NodeService]) -> None:
    c, node = node_app
    page = c.get("/node")
    assert page.status_code == 200
    assert 'data-testid="node-login"' in page.text and 'type="password"' in page.text
    assert 'data-testid="node-towns"' not in page.text
    # every action refuses without the token, and does nothing
    for path, form in (
        ("/node/activate", {"town": TOWN_B, "key_text": "AGE-SECRET-KEY-1XYZ"}),
        ("/node/down-recovery", {"town": TOWN_A}),
        ("/node/stop", {"town": TOWN_A}),
    ):
        r = c.post(path, data=form)
        assert r.status_code == 401, path
        assert 'data-testid="node-towns"' not in r.text
    c.cookies.set(NODE_COOKIE, "forged", path="/node")
    assert 'data-testid="node-towns"' not in c.get("/node").text
    c.cookies.clear()
    r = c.post("/node/login", data={"token": "wrong"})
    assert r.status_code == 401 and 'data-testid="token-error"' in r.text
    assert "トークンが正しくありません" in r.text
    assert "set-cookie" not in r.headers
    assert node.serving_mode(TOWN_A) is None

    token = node.sites.token(node.name)
    r = c.post("/node/login", data={"token": token})
    assert r.status_code == 303
    assert token not in r.headers["set-cookie"]  # the cookie is an HMAC, not the token
    page = c.get("/node")
    assert 'data-testid="node-towns"' in page.text
    assert f'<tr data-town="{TOWN_A}">' in page.text  # serves
    assert f'<tr data-town="{TOWN_B}">' in page.text  # stores
    assert f'data-testid="activate-{TOWN_B}"' in page.text
    assert f'data-testid="activate-{TOWN_A}"' not in page.text
    assert f'data-testid="down-recovery-{TOWN_A}"' in page.text
    # errors of the node service are shown, not raised
    r = c.post("/node/down-recovery", data={"town": TOWN_A})
    assert r.status_code == 422
    assert "複製がまだありません" in r.text
    r = c.post("/node/activate", data={"town": TOWN_B})
    assert r.status_code == 422 and "復旧鍵" in r.text
    r = c.post(
        "/node/activate",
        data={"town": TOWN_B},
        files={"key_file": ("154059.key", b"not a key", "application/octet-stream")},
    )
    assert r.status_code == 422
    assert 'data-testid="node-error"' in r.text and "起動できませんでした" in r.text
    r = c.post("/node/activate", data={"town": TOWN_A, "key_text": "x"})
    assert r.status_code == 422 and "この操作はできません" in r.text
    assert node.serving_mode(TOWN_B) is None
    r = c.post("/node/logout")
    assert r.status_code == 303
    assert 'data-testid="node-towns"' not in c.get("/node").text
