"""Town nodes in-process: read-only serving, login restrictions and emergencies, status
alerts, hand-back, and a partner node that cannot read what it stores until activated."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import TODAY, TOWN_A, TOWN_B, make_ctx, record_family
from lgcloud.audit.models import AuditEntry
from lgcloud.auth.roles import Role
from lgcloud.auth.service import create_clerk, declare_emergency, login, restrict_login_networks
from lgcloud.continuity.centre import Shipper, prune_journal, take_town_snapshot
from lgcloud.continuity.federation import node_name, write_federation
from lgcloud.continuity.handback import receive_handback
from lgcloud.continuity.keys import RecoveryKeyError
from lgcloud.continuity.node import NodeService
from lgcloud.continuity.recovery import recovery_sheet_path
from lgcloud.continuity.sites import load_sites
from lgcloud.continuity.status import town_status
from lgcloud.core.clock import today_jst
from lgcloud.core.errors import AuthenticationError, RuleViolationError
from lgcloud.elections import queries, service
from lgcloud.generate.elections import last_regular_reference
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import finish_write
from lgcloud.trail.models import JournalEntry
from lgcloud.web.app import create_app
from lgcloud.worklist.queries import tasks

# SQLite files themselves (copies, replicas, town nodes, migrations on files): the
# PostgreSQL pass of ./scripts/test leaves these out
pytestmark = pytest.mark.sqlite_only

PW_A = "town-a-password-1"
PW_B = "town-b-password-2"


def _clerks(platform: Platform) -> None:
    for town, pw in ((TOWN_A, PW_A), (TOWN_B, PW_B)):
        with platform.town(town) as t:
            create_clerk(
                t, make_ctx(town), staff_number="1001", name="窓口\u3000一子",
                roles={Role.COUNTER_CLERK}, password=pw,
            )  # fmt: skip


def test_read_only_modes_refuse_updates_but_record_views(platform: Platform) -> None:
    ro = dataclasses.replace(make_ctx(), mode="down_recovery")
    with platform.town(TOWN_A) as t:
        finish_write(t.session, ro, "view_person", subjects=["0000000019"])
    for action in ("life_event", "clerk_created", "import_residents", "tax_assessed"):
        with pytest.raises(RuleViolationError, match="読み取り専用"), platform.town(TOWN_A) as t:
            finish_write(t.session, ro, action)
    with platform.town(TOWN_A) as t:
        actions = t.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["view_person"]


def test_login_networks_and_emergency(platform: Platform) -> None:
    _clerks(platform)
    it = make_ctx(TOWN_A)
    restrict_login_networks(platform, it, ["10.153.0.0/16"])
    outside = dataclasses.replace(make_ctx(TOWN_A, None), client="192.0.2.7")
    inside = dataclasses.replace(outside, client="10.153.4.2")
    with pytest.raises(AuthenticationError, match="この端末からはログインできません"):
        login(platform, outside, "1001", PW_A)
    login(platform, inside, "1001", PW_A)
    with pytest.raises(RuleViolationError):
        declare_emergency(platform, it, hours=24, reason="")
    declare_emergency(platform, it, hours=24, reason="役場庁舎使用不能")
    login(platform, outside, "1001", PW_A)  # the emergency lifts the restriction
    with platform.town(TOWN_A) as t:
        assert (
            t.session.scalar(
                select(AuditEntry.detail).where(AuditEntry.action == "emergency_declared")
            )["reason"]
            == "役場庁舎使用不能"
        )
    # town B is not restricted by town A's setting
    login(platform, dataclasses.replace(outside, town_code=TOWN_B), "1001", PW_B)


@pytest.fixture
def federation(tmp_path: Path, platform: Platform) -> tuple[Platform, Path]:
    """The conftest platform as the centre, with one node per town, apps in-process."""
    _clerks(platform)
    write_federation(tmp_path, platform, towns=[TOWN_A, TOWN_B], centre_port=1, node_ports=[2, 3])
    return platform, tmp_path


def _node(root: Path, town: str) -> NodeService:
    sites = load_sites(root / "sites.toml")
    name = node_name(town)
    return NodeService(Platform(root / "nodes" / name, node=name), sites, name)


class _Transport:
    """Routes the shipper's HTTP calls to in-process node apps."""

    def __init__(self, nodes: dict[str, NodeService]) -> None:
        self.clients = {
            n.site.url: TestClient(create_app(n.platform, node_service=n)) for n in nodes.values()
        }

    def request(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> object:
        for base, client in self.clients.items():
            if url.startswith(base):
                return client.request(method, url[len(base) :], content=content, headers=headers)
        raise AssertionError(url)


def _ship(centre: Platform, root: Path, nodes: dict[str, NodeService]) -> None:
    shipper = Shipper(centre, load_sites(root / "sites.toml"))
    shipper.client = _Transport(nodes)  # type: ignore[assignment]
    results = shipper.push_all()
    assert [r.error for r in results] == [None] * len(results)


def test_status_alerts_until_verified_then_partner_activation(
    federation: tuple[Platform, Path],
) -> None:
    centre, root = federation
    sites = load_sites(root / "sites.toml")
    rows = town_status(centre, sites, TOWN_A)
    assert rows and all(r.alert for r in rows)  # nothing taken, nothing proven: alerts
    nodes = {t: _node(root, t) for t in (TOWN_A, TOWN_B)}
    for t in (TOWN_A, TOWN_B):
        take_town_snapshot(centre, t)
    _ship(centre, root, nodes)
    rows = town_status(centre, sites, TOWN_A)
    assert [(r.site, r.alert, r.journal_lag_entries) for r in rows] == [
        (node_name(TOWN_A), None, 0),
        (node_name(TOWN_B), None, 0),
    ]
    # more work at the centre reaches the replica through the journal
    with centre.town(TOWN_A) as t:
        finish_write(t.session, make_ctx(), "view_person", subjects=["0000000019"])
    _ship(centre, root, nodes)
    assert town_status(centre, sites, TOWN_A)[0].journal_lag_entries == 0
    # a new snapshot goes to the own node (proved by a restore) but not yet to the partner,
    # whose copy stays verified: the proven snapshot it holds plus a current journal
    take_town_snapshot(centre, TOWN_A)
    _ship(centre, root, nodes)
    rows = town_status(centre, sites, TOWN_A)
    assert [(r.site, r.snapshot_seq, r.verified_seq, r.alert) for r in rows] == [
        (node_name(TOWN_A), 2, 2, None),
        (node_name(TOWN_B), 1, 1, None),
    ]
    # the centre drops journal entries every site has and the newest snapshot covers
    with centre.town(TOWN_A) as t:
        before = t.session.scalar(select(func.count()).select_from(JournalEntry))
    pruned = prune_journal(centre, TOWN_A, sites)
    assert pruned > 0
    with centre.town(TOWN_A) as t:
        assert t.session.scalar(select(func.count()).select_from(JournalEntry)) == before - pruned
        finish_write(t.session, make_ctx(), "view_person", subjects=["0000000019"])
    _ship(centre, root, nodes)
    assert [r.journal_lag_entries for r in town_status(centre, sites, TOWN_A)] == [0, 0]

    partner = nodes[TOWN_B]  # stores town A, cannot read it
    stored = b"".join(p.read_bytes() for p in (partner.root / "store" / TOWN_A).rglob("*.l*"))
    assert "窓口".encode() not in stored and b"SQLite format 3" not in stored
    client = TestClient(create_app(partner.platform, node_service=partner))
    r = client.post(
        "/api/login", json={"town_code": TOWN_A, "staff_number": "1001", "password": PW_A}
    )
    assert r.status_code in (401, 404)  # not served before activation
    wrong = recovery_sheet_path(centre, TOWN_B).read_bytes()
    with pytest.raises(RecoveryKeyError):
        partner.activate(TOWN_A, wrong, None, "test")
    partner.activate(TOWN_A, recovery_sheet_path(centre, TOWN_A).read_bytes(), None, "test")
    assert not list((partner.root / "recovery").glob(f"{TOWN_A}*"))  # the key is not kept
    r = client.post(
        "/api/login", json={"town_code": TOWN_A, "staff_number": "1001", "password": PW_A}
    )
    assert r.status_code == 200
    # the partner's own clerk (same staff number, own password) cannot log in to town A
    r = client.post(
        "/api/login", json={"town_code": TOWN_A, "staff_number": "1001", "password": PW_B}
    )
    assert r.status_code == 401
    body = {"town_code": TOWN_A, "staff_number": "1001", "password": PW_A}
    token = client.post("/api/login", json=body).headers["X-Session-Token"]
    h = {"authorization": f"Bearer {token}"}
    page = client.get("/", headers=h)
    assert "連携町村での運用（データ時点" in page.text
    r = client.post("/api/applications", headers=h, json={"kind": "move_in", "detail": {"n": 1}})
    assert r.status_code == 201
    activity = partner.received_activity(TOWN_A)
    assert activity["applications"][0]["kind"] == "move_in"
    assert any(e["action"] == "login" for e in activity["audit"])


def test_it_officer_sees_alerts_on_every_page_for_own_town_only(
    federation: tuple[Platform, Path],
) -> None:
    centre, root = federation
    sites = load_sites(root / "sites.toml")
    for town, pw in ((TOWN_A, "it-officer-pass-A"), (TOWN_B, "it-officer-pass-B")):
        with centre.town(town) as t:
            create_clerk(
                t, make_ctx(town), staff_number="9001", name="情報\u3000四郎",
                roles={Role.IT_OFFICER}, password=pw,
            )  # fmt: skip
    client = TestClient(create_app(centre, centre_sites=sites))

    def session(town: str, staff: str, pw: str) -> dict[str, str]:
        body = {"town_code": town, "staff_number": staff, "password": pw}
        token = client.post("/api/login", json=body).headers["X-Session-Token"]
        return {"authorization": f"Bearer {token}"}

    it_a = session(TOWN_A, "9001", "it-officer-pass-A")
    page = client.get("/", headers=it_a).text
    assert "バックアップの警告" in page and node_name(TOWN_A) in page  # nothing verified yet
    status = client.get("/continuity", headers=it_a).text
    assert "復元検証済みのコピーがありません" in status or "コピーがありません" in status
    counter = session(TOWN_A, "1001", PW_A)
    assert "バックアップの警告" not in client.get("/", headers=counter).text
    assert client.get("/continuity", headers=counter).status_code == 403
    # once every site holds a verified copy, the warning goes away
    nodes = {t: _node(root, t) for t in (TOWN_A, TOWN_B)}
    for t in (TOWN_A, TOWN_B):
        take_town_snapshot(centre, t)
    _ship(centre, root, nodes)
    assert "バックアップの警告" not in client.get("/", headers=it_a).text
    status = client.get("/continuity", headers=it_a).text
    assert TOWN_B not in status.replace(node_name(TOWN_B), "")  # only the own town's rows


def test_printed_recovery_sheet_can_be_typed_back(platform: Platform) -> None:
    """The key as printed (grouped, on several lines) is accepted at activation."""
    import io  # noqa: PLC0415

    from pypdf import PdfReader  # noqa: PLC0415

    from lgcloud.continuity import keys  # noqa: PLC0415
    from lgcloud.continuity.recovery import recovery_sheet_pdf  # noqa: PLC0415

    pdf = recovery_sheet_pdf(platform, TOWN_A)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    start = text.index("AGE-SECRET-KEY-1")
    typed = text[start : text.index("上の復旧鍵", start)]
    identity = keys.identity_from_text(typed)
    recipient = platform.hosted(TOWN_A).recovery_recipient
    assert recipient is not None and keys.public_of(identity) == recipient
    assert "聖籠町" in text and "153079" in text


def test_hand_back_is_recorded_once_and_views_are_attributed(platform: Platform) -> None:
    from lgcloud.audit.service import who_viewed  # noqa: PLC0415
    from lgcloud.continuity.models import PendingApplication  # noqa: PLC0415

    body = {
        "audit": [
            {"seq": 7, "at": "2026-11-28T01:00:00+00:00", "clerk": "窓口\u3000一子",
             "staff_number": "1001", "action": "view_person", "subjects": ["0000000019"],
             "purpose": "証明書交付", "node": "node-153079", "mode": "down_recovery",
             "entry_hash": "ab" * 32},
        ],
        "applications": [
            {"id": 1, "received_at": "2026-11-28T01:05:00+00:00", "received_by": "窓口",
             "kind": "death", "addressee_number": "0000000019", "detail": {}},
        ],
        "signing_key": None,
    }  # fmt: skip
    first = receive_handback(platform, TOWN_A, "node-153079", body)
    second = receive_handback(platform, TOWN_A, "node-153079", body)
    assert first["status"] == "received" and second["status"] == "already_received"
    with platform.platform_session() as s:
        assert len(s.scalars(select(PendingApplication)).all()) == 1
    with platform.town(TOWN_A) as t:
        lines = who_viewed(t.session, "0000000019")
    assert [line.action for line in lines] == ["offline_activity_received"]
    nothing = receive_handback(platform, TOWN_A, "node-153079", {"audit": [], "applications": []})
    assert nothing["status"] == "nothing_to_receive"


def test_a_town_without_any_site_is_an_alert(platform: Platform, tmp_path: Path) -> None:
    write_federation(tmp_path, platform, towns=[TOWN_A], centre_port=1, node_ports=[2])
    sites = load_sites(tmp_path / "sites.toml")
    sites.nodes[node_name(TOWN_A)].stores = []  # town B is nowhere
    take_town_snapshot(platform, TOWN_B)
    rows = town_status(platform, sites, TOWN_B)
    assert [r.alert for r in rows] == ["拠点ファイルにこの町村のコピーを持つ拠点がありません"]


def test_read_only_refusal_comes_before_validation(platform: Platform) -> None:
    """An invalid event on a read-only copy gets the read-only explanation, not a rule."""
    from lgcloud.register.domain import EventKind, Removal  # noqa: PLC0415
    from lgcloud.register.service import record_event  # noqa: PLC0415

    ro = dataclasses.replace(make_ctx(), mode="partner")
    event = Removal(kind=EventKind.DEATH, effective_date=TODAY, members=["0000000019"])
    with pytest.raises(RuleViolationError, match="連携町村での運用"), platform.town(TOWN_A) as t:
        record_event(t, ro, event)


def test_issue_numbers_at_a_node_are_its_own_series_across_outages(
    federation: tuple[Platform, Path],
) -> None:
    from lgcloud.certificates.service import CertificateKind, issue_certificate  # noqa: PLC0415

    centre, root = federation
    nodes = {t: _node(root, t) for t in (TOWN_A, TOWN_B)}
    for t in (TOWN_A, TOWN_B):
        take_town_snapshot(centre, t)
    _ship(centre, root, nodes)
    own = nodes[TOWN_A]
    numbers = []
    for _outage in range(2):
        own.switch_to_down_recovery(TOWN_A, "test")
        ctx = dataclasses.replace(make_ctx(), mode="down_recovery", node=own.name)
        numbers.append(
            issue_certificate(own.platform, ctx, CertificateKind.ALL_RESIDENTS).issue_number
        )
        own.stop_serving(TOWN_A, "test", hand_back=False)
    centre_number = issue_certificate(
        centre, make_ctx(), CertificateKind.ALL_RESIDENTS
    ).issue_number
    assert numbers[0].endswith("第000001号（node-153079）")
    assert numbers[1].endswith("第000002号（node-153079）")
    assert centre_number.endswith("第000001号")


def test_protected_key_file_needs_its_passphrase(platform: Platform, tmp_path: Path) -> None:
    """The key file written by ``recovery-sheet --protected-key`` opens only with its
    passphrase, and gives the town's identity."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from lgcloud.cli import app  # noqa: PLC0415
    from lgcloud.continuity import keys  # noqa: PLC0415

    phrase = "correct horse battery staple"
    out = CliRunner().invoke(
        app,
        ["continuity", "recovery-sheet", "--town", TOWN_A, "--data-dir", str(platform.data_dir),
         "--out", str(tmp_path / "sheet.pdf"), "--protected-key", str(tmp_path / "key.age")],
        input=f"{phrase}\n{phrase}\n",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = (tmp_path / "key.age").read_bytes()
    assert b"AGE-SECRET-KEY" not in data
    with pytest.raises(RecoveryKeyError, match="パスフレーズが必要"):
        keys.load_identity(data)
    with pytest.raises(RecoveryKeyError, match="パスフレーズが違う"):
        keys.load_identity(data, "wrong passphrase here")
    identity = keys.load_identity(data, phrase)
    assert keys.public_of(identity) == platform.hosted(TOWN_A).recovery_recipient


def test_election_day_survives_a_line_cut_and_the_centre_reconciles(
    federation: tuple[Platform, Path],
) -> None:
    """The town node serves 受付 in down-recovery; its check-ins are handed back into the
    centre's, and a voter checked in on both sides of the cut is a 処理待ち item."""
    centre, root = federation
    family = record_family(centre, TOWN_A, "投票")
    ctx = make_ctx()
    with centre.town(TOWN_A) as t:
        service.set_polling_district(t, ctx, "01", "第1投票区", "公民館")
        service.set_polling_area(t, ctx, "亀塚", "01")
    run = service.preview_registration(
        centre, ctx, reference_date=last_regular_reference(today_jst())
    )
    service.fix_registration(centre, ctx, run.code)
    today = today_jst()
    with centre.town(TOWN_A) as t:
        service.create_election(
            t,
            ctx,
            code="cut",
            name="町長選挙",
            national=False,
            polling_day=today,
            reference_date=today - timedelta(days=7),
            registration_date=today - timedelta(days=6),
            early_from=today - timedelta(days=6),
        )
        service.add_station(t, ctx, "cut", code="S1", name="第1投票所", polling_codes=["01"])
    nodes = {t: _node(root, t) for t in (TOWN_A, TOWN_B)}
    for t in (TOWN_A, TOWN_B):
        take_town_snapshot(centre, t)
    _ship(centre, root, nodes)
    own = nodes[TOWN_A]
    own.switch_to_down_recovery(TOWN_A, "line-watcher")
    at_node = dataclasses.replace(make_ctx(), mode="down_recovery", node=own.name)
    for person in (family["head"], family["wife"]):
        service.check_in(
            own.platform, at_node, election_code="cut", station_code="S1", addressee_number=person
        )
    # the centre, cut off from the town, still took the wife at a station it serves
    service.check_in(
        centre, make_ctx(), election_code="cut", station_code="S1", addressee_number=family["wife"]
    )
    activity = own.received_activity(TOWN_A)
    assert {c["addressee_number"] for c in activity["checkins"]} == {
        family["head"],
        family["wife"],
    }
    got = receive_handback(centre, TOWN_A, own.name, activity)
    assert got["checkins"] == {"received": 1, "skipped": 0, "conflicts": 1}
    with centre.read_town(TOWN_A) as t:
        e = queries.election(t, "cut")
        head = queries.checkin_of(t, e.id, family["head"])
        conflicts = [x for x in tasks(t, "elections", today=today) if x.kind == "double_checkin"]
        turnout = queries.turnout(t, e)
    assert head is not None and head.node == own.name
    assert [c.addressee_number for c in conflicts] == [family["wife"]]
    assert [(x.polling_code, x.voted) for x in turnout] == [("01", 2)]
    assert receive_handback(centre, TOWN_A, own.name, activity)["status"] == "already_received"
