"""Continuity status on the centre: per town and per site, the last snapshot, the last
verified restore and the journal lag, with an alert wherever a town lacks a verified copy
younger than the policy. A missing or unproven backup is never silent (seed 000)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from lgcloud.continuity.models import SiteState, SnapshotRecord
from lgcloud.continuity.replica import replica_position
from lgcloud.continuity.sites import Sites
from lgcloud.core.clock import utcnow
from lgcloud.core.logging import get_logger
from lgcloud.tenancy.platform import Platform

log = get_logger("lgcloud.continuity.status")


def latest_snapshot(platform: Platform, code: str) -> SnapshotRecord | None:
    with platform.platform_session() as s:
        return s.scalar(
            select(SnapshotRecord)
            .where(SnapshotRecord.town == code)
            .order_by(SnapshotRecord.seq.desc())
            .limit(1)
        )


def centre_journal_seq(platform: Platform, code: str) -> tuple[int, datetime | None]:
    """The centre's journal position of ``code`` (as a replica's: the same question)."""
    return replica_position(platform.town_engine(code))


@dataclass(frozen=True)
class SiteStatus:
    town: str
    site: str
    role: str
    snapshot_seq: int
    snapshot_at: datetime | None
    verified_seq: int
    verified_at: datetime | None
    journal_lag_entries: int
    journal_lag_seconds: float | None
    last_contact_at: datetime | None
    last_error: str | None
    alert: str | None


def town_status(
    platform: Platform, sites: Sites, town: str, *, log_alerts: bool = False
) -> list[SiteStatus]:
    """The status rows of ``town``; with ``log_alerts``, each alert is also logged as a
    warning (the status command, and the centre's shipper every few minutes)."""
    now = utcnow()
    policy = timedelta(hours=sites.policy_hours)
    centre_seq, centre_at = centre_journal_seq(platform, town)
    snap = latest_snapshot(platform, town)
    with platform.platform_session() as s:
        states = {st.node: st for st in s.scalars(select(SiteState).where(SiteState.town == town))}
        proven_rows = s.execute(
            select(SnapshotRecord.seq, SnapshotRecord.verified_at).where(
                SnapshotRecord.town == town, SnapshotRecord.verified_at.is_not(None)
            )
        ).all()
    proven: dict[int, datetime | None] = {row[0]: row[1] for row in proven_rows}
    out: list[SiteStatus] = []
    if snap is None:
        out.append(
            SiteStatus(
                town,
                "centre",
                "primary",
                0,
                None,
                0,
                None,
                0,
                None,
                None,
                None,
                "スナップショットがありません",
            )
        )
    if not sites.sites_of(town):
        out.append(
            SiteStatus(town, "—", "none", 0, None, 0, None, 0, None, None, None,
                       "拠点ファイルにこの町村のコピーを持つ拠点がありません")
        )  # fmt: skip
    for node, role in sites.sites_of(town):
        st = states.get(node)
        snapshot_seq = st.snapshot_seq if st else 0
        # The own node proves each snapshot by restoring it. A partner cannot (no key): its
        # copy counts as verified when the snapshot it holds was proven by the town's own
        # node (same signed bytes) and its journal, each batch checked on arrival, is current.
        verified_at = (
            (st.verified_at if role == "serves" else proven.get(snapshot_seq)) if st else None
        )
        verified_seq = snapshot_seq if verified_at is not None else 0
        lag_entries = max(0, centre_seq - (st.journal_seq if st else 0))
        lag_seconds = (
            max(0.0, (centre_at - st.journal_at).total_seconds())
            if st and st.journal_at and centre_at and lag_entries
            else (0.0 if lag_entries == 0 else None)
        )
        fresh = (
            verified_at is not None and now - verified_at <= policy
            if role == "serves"
            else verified_at is not None
            and (
                lag_entries == 0
                or (lag_seconds is not None and lag_seconds <= policy.total_seconds())
            )
        )
        alert = None
        if st is None or st.snapshot_seq == 0:
            alert = "この拠点に町村のコピーがありません"
        elif verified_at is None:
            alert = "復元検証済みのコピーがありません"
        elif not fresh:
            alert = f"検証済みコピーが{sites.policy_hours:g}時間より古くなっています"
        elif st.last_error:
            alert = f"転送エラー: {st.last_error}"
        out.append(
            SiteStatus(
                town,
                node,
                role,
                snapshot_seq,
                st.snapshot_at if st else None,
                verified_seq,
                verified_at,
                lag_entries,
                lag_seconds,
                st.last_contact_at if st else None,
                st.last_error if st else None,
                alert,
            )
        )
    for row in out if log_alerts else []:
        if row.alert:
            log.warning("continuity_alert", town=town, site=row.site, alert=row.alert)
    return out


def federation_status(
    platform: Platform, sites: Sites, *, log_alerts: bool = False
) -> list[SiteStatus]:
    return [
        row
        for t in platform.towns()
        for row in town_status(platform, sites, t.code, log_alerts=log_alerts)
    ]
