"""Grants to other systems and the pull itself.

A token is ``lk.<団体コード>.<secret>``: the town it belongs to is readable without a lookup
(so the request is bounded as that town's batch work, web/admission.py), and only the
SHA-256 of the whole token is stored. A pull reads the town's journal after a cursor
(``<journal seq>:<index>``), in commit order, at most ``limit`` records, and is audited as
``export_linkage`` with every person it gives out as a subject (allowed on a read-only copy,
like any export)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from lgcloud.core.clock import utcnow
from lgcloud.core.context import Actor, RequestContext
from lgcloud.core.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolationError,
)
from lgcloud.datalink.datasets import DATASETS, check_grant, project
from lgcloud.datalink.models import LinkageClient
from lgcloud.tenancy.platform import Platform, Town
from lgcloud.trail.journal import finish_write
from lgcloud.trail.models import JournalEntry

TOKEN_RE = re.compile(r"^lk\.([0-9]{6})\.[A-Za-z0-9_-]{20,100}$")
MAX_LIMIT = 1000
#: journal entries read per call at most (a call that finds nothing in them says where to go on)
SCAN = 2000
REFUSED = "連携用トークンが正しくありません"


def token_town(token: str) -> str | None:
    m = TOKEN_RE.match(token)
    return m.group(1) if m else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(
    town: Town, ctx: RequestContext, name: str, grants: Mapping[str, Sequence[str]]
) -> str:
    """Allow a system to pull ``grants`` ({dataset: [items]}); returns its token (shown once)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise RuleViolationError("システム名を80文字以内で入力してください", field="name")
    grant = check_grant(grants)
    if town.session.scalar(select(LinkageClient.id).where(LinkageClient.name == name)):
        raise RuleViolationError(f"システム {name} は既に登録されています", field="name")
    token = f"lk.{town.code}.{secrets.token_urlsafe(32)}"
    town.session.add(
        LinkageClient(
            name=name, token_hash=_hash(token), grants=grant, created_at=utcnow(), revoked_at=None
        )
    )
    finish_write(
        town.session, ctx, "linkage_client_created", detail={"name": name, "grants": grant}
    )
    return token


def revoke_client(town: Town, ctx: RequestContext, name: str) -> None:
    client = town.session.scalar(select(LinkageClient).where(LinkageClient.name == name))
    if client is None or client.revoked_at is not None:
        raise NotFoundError(f"有効なシステム {name} はありません")
    client.revoked_at = utcnow()
    finish_write(town.session, ctx, "linkage_client_revoked", detail={"name": name})


def clients(town: Town) -> list[LinkageClient]:
    return list(town.session.scalars(select(LinkageClient).order_by(LinkageClient.name)))


def parse_cursor(text: str) -> tuple[int, int]:
    """``<seq>`` or ``<seq>:<index>`` → (seq, index): records after it are returned."""
    m = re.fullmatch(r"([0-9]{1,12})(?::([0-9]{1,9}))?", text)
    if m is None:
        raise RuleViolationError("after は <番号> または <番号>:<位置> です", field="after")
    return int(m.group(1)), int(m.group(2)) if m.group(2) is not None else -1


@dataclass(frozen=True)
class Page:
    dataset: str
    changes: list[dict[str, Any]]
    next_after: str
    more: bool


def pull(
    platform: Platform,
    token: str,
    dataset: str,
    *,
    after: str,
    limit: int,
    request_id: str = "",
) -> Page:
    town_code = token_town(token)
    if town_code is None:
        raise AuthenticationError(REFUSED)
    try:
        platform.hosted(town_code)
    except NotFoundError:
        raise AuthenticationError(REFUSED) from None
    seq, index = parse_cursor(after)
    limit = max(1, min(limit, MAX_LIMIT))
    with platform.read_town(town_code) as town:
        client = town.session.scalar(
            select(LinkageClient).where(LinkageClient.token_hash == _hash(token))
        )
        if client is None or client.revoked_at is not None:
            raise AuthenticationError(REFUSED)
        if dataset not in client.grants:
            raise PermissionDeniedError(f"このシステムには {dataset} の提供が許可されていません")
        d, items = DATASETS[dataset], client.grants[dataset]
        entries = town.session.execute(
            select(JournalEntry.seq, JournalEntry.committed_at, JournalEntry.changes)
            .where(JournalEntry.seq >= seq)
            .order_by(JournalEntry.seq)
            .limit(SCAN + 1)
        ).all()
        name = client.name
    out: list[dict[str, Any]] = []
    cursor, more = f"{seq}:{index}" if index >= 0 else str(seq), False
    for n, (entry_seq, committed_at, changes) in enumerate(entries):
        if n == SCAN:
            more = True
            break
        records = [
            r
            for change in changes
            for r in project(d, items, entry_seq, committed_at.isoformat(), change)
        ]
        start = index + 1 if entry_seq == seq else 0
        if entry_seq == seq and index < 0:
            start = len(records)  # "after=<seq>": that entry is done
        for i in range(start, len(records)):
            if len(out) == limit:
                more = True
                break
            out.append({"cursor": f"{entry_seq}:{i}", **records[i]})
            cursor = f"{entry_seq}:{i}"
        if more:
            break
        cursor = str(entry_seq)  # the whole entry is read
    ctx = RequestContext(
        town_code,
        Actor(None, f"system:{name}", ""),
        request_id,
        platform.node,
        platform.mode_of(town_code)[0],
    )
    platform.record_read(
        ctx,
        "export_linkage",
        subjects=sorted({str(c["row"].get(d.key)) for c in out if c["row"].get(d.key)}),
        detail={
            "client": name,
            "dataset": dataset,
            "after": after,
            "next_after": cursor,
            "count": len(out),
        },
    )
    return Page(dataset, out, cursor, more)
