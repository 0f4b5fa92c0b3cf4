"""The centre receives what a node did while it served a copy read-only (cases 1 and 3).

Applications received at the node are stored as pending applications for the centre's staff
to process (never applied automatically). The node's audit entries — logins, views,
issuances — are recorded in the town's own audit chain as one ``offline_activity_received``
entry whose subjects are every person viewed there, so "who viewed this person" at the
centre includes views made at the node, attributed to the clerk who made them.
Voters checked in at the node (election day must survive a line cut) are reconciled into
the town's check-ins in the same transaction (``elections.service.receive_node_checkins``):
a voter also checked in at the centre meanwhile becomes a 処理待ち item, never dropped.
The safety ledger the node kept (lists imported there, 候補 decided there, clerks' records)
is merged in the same transaction (``safety.ledger.receive_node_ledger``): nothing doubled,
a conflicting decision kept as a 処理待ち item.
Receiving the same hand-back twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from lgcloud.audit.models import AuditEntry
from lgcloud.certificates.models import SigningKey
from lgcloud.continuity.models import PendingApplication
from lgcloud.core.clock import today_jst, utcnow
from lgcloud.core.context import Actor, RequestContext
from lgcloud.elections.service import receive_node_checkins
from lgcloud.safety.ledger import receive_node_ledger
from lgcloud.tenancy.platform import Platform
from lgcloud.trail.journal import finish_write


def receive_handback(
    platform: Platform, town: str, node: str, body: dict[str, Any]
) -> dict[str, Any]:
    audit = list(body.get("audit") or [])
    applications = list(body.get("applications") or [])
    checkins = list(body.get("checkins") or [])
    safety = body.get("safety") or {}
    digest_key = f"{node}:" + ",".join(str(e.get("entry_hash", "")) for e in audit[-1:])
    if not audit and not applications and not checkins and not any(safety.values()):
        return {"status": "nothing_to_receive", "audit": 0, "applications": []}
    ctx = RequestContext(town, Actor(None, f"node:{node}", ""), node=node, mode="normal")
    with platform.town(town) as t:
        # idempotence: the same hand-back (same node, same last entry) is recorded once
        seen = t.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "offline_activity_received")
        ).all()
        if any(d.get("key") == digest_key for d in seen):
            return {"status": "already_received", "audit": len(audit)}
        subjects = sorted({s for e in audit for s in (e.get("subjects") or [])})
        key = body.get("signing_key")
        if key and t.session.get(SigningKey, key["key_id"]) is None:
            # certificates issued at the node verify at the centre too
            t.session.add(
                SigningKey(
                    key_id=key["key_id"],
                    public_key=key["public_key"],
                    created_at=utcnow(),
                    active=False,
                )
            )
        finish_write(
            t.session,
            ctx,
            "offline_activity_received",
            subjects=subjects,
            detail={
                "key": digest_key,
                "node": node,
                "entries": audit,
                "applications": len(applications),
            },
        )
        reconciled = (
            receive_node_checkins(t, ctx, node, checkins, today_jst()) if checkins else None
        )
        merged = (
            receive_node_ledger(t, ctx, node, safety, today_jst()).counts()
            if any(safety.values())
            else None
        )
    ids: list[int] = []
    with platform.platform_session() as s:
        for a in applications:
            p = PendingApplication(
                town=town,
                received_at=datetime.fromisoformat(a["received_at"]),
                received_by=f"{a['received_by']} @ {node}",
                kind=a["kind"],
                addressee_number=a.get("addressee_number"),
                detail={**(a.get("detail") or {}), "node_application_id": a.get("id")},
                handed_back_at=utcnow(),
            )
            s.add(p)
            s.flush()
            ids.append(p.id)
    return {
        "status": "received",
        "audit": len(audit),
        "applications": ids,
        "checkins": reconciled,
        "safety": merged,
    }
