"""Hash chain over audit entries (pure: no I/O).

Each entry's hash is SHA-256 over a canonical JSON of all its fields and the previous
entry's hash, so an edited, deleted, inserted or reordered entry breaks the chain at a
position that verification reports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq",
    "at",
    "town_code",
    "clerk_id",
    "clerk_name",
    "staff_number",
    "action",
    "subjects",
    "purpose",
    "request_id",
    "node",
    "mode",
    "detail",
    "prev_hash",
)


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``fields`` (exactly HASHED_FIELDS)."""
    doc = []
    for name in HASHED_FIELDS:
        value = fields[name]
        doc.append([name, value.isoformat() if isinstance(value, datetime) else value])
    raw = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the chain does not hold."""

    kind: str  # edited | deleted | inserted | reordered | truncated | head_mismatch
    position: int  # 1-based position in chain order where the problem shows
    seq: int | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _moved_from(rows: Sequence[Mapping[str, Any]], position: int, dangling: str) -> bool:
    """Whether a neighbour of ``position`` re-hashed at an adjacent seq gives ``dangling``.

    Entries that swapped places (seq is hashed, so a careful forger re-hashes them) leave
    a link to the hash one of them had at its original seq. Only computed on a break.
    """
    for neighbour in rows[max(0, position - 3) : position + 2]:
        for delta in (-1, 1):
            if entry_hash({**neighbour, "seq": int(neighbour["seq"]) + delta}) == dangling:
                return True
    return False


def verify_chain(rows: Sequence[Mapping[str, Any]], *, head: tuple[int, str] | None) -> ChainReport:
    """Verify rows given in chain order (by ``seq``, then storage id).

    ``head`` is the recorded (seq, hash) of the last entry, which catches deletion at the
    end of the chain. A break is classified by where the entry's ``prev_hash`` points:
    to the entry two back (one was inserted between), to no entry (one was deleted), or
    to another place in the chain (entries were reordered). Collection stops after a few
    problems: the first one is what an investigator needs, the rest usually follow from it.
    """
    problems: list[ChainProblem] = []
    position_of_hash = {str(row["entry_hash"]): i for i, row in enumerate(rows, start=1)}
    prev_hash = GENESIS_HASH
    last_seq = 0
    for position, row in enumerate(rows, start=1):
        seq = int(row["seq"])
        if entry_hash(row) != row["entry_hash"]:
            problems.append(
                ChainProblem("edited", position, seq, f"監査記録 {seq} 番の内容が改変されています")
            )
        elif seq == last_seq:
            problems.append(
                ChainProblem(
                    "inserted", position, seq, f"監査記録 {seq} 番が重複して挿入されています"
                )
            )
        elif seq > last_seq + 1:
            problems.append(
                ChainProblem(
                    "deleted",
                    position,
                    seq,
                    f"監査記録 {last_seq + 1}〜{seq - 1} 番が削除されています",
                )
            )
        elif row["prev_hash"] != prev_hash:
            points_to = position_of_hash.get(str(row["prev_hash"]))
            if points_to is None and position == 1 and row["prev_hash"] != GENESIS_HASH:
                kind, what = "deleted", "先頭の記録が削除されています"
            elif points_to is None and _moved_from(rows, position, str(row["prev_hash"])):
                kind, what = "reordered", "前後の記録と順序が入れ替えられています"
            elif points_to is None:
                kind, what = "deleted", "直前の記録が削除されています"
            elif points_to == position - 2:
                kind, what = "inserted", "直前に記録が挿入されています"
            else:
                kind, what = "reordered", f"本来は位置 {points_to} の記録の次です (順序の入替え)"
            problems.append(
                ChainProblem(kind, position, seq, f"監査記録 {seq} 番で連鎖が切れています: {what}")
            )
        prev_hash = str(row["entry_hash"])
        last_seq = seq
        if len(problems) >= 10:
            break
    count = len(rows)
    if not problems and head is not None:
        head_seq, head_hash = head
        if head_seq > last_seq:
            problems.append(
                ChainProblem(
                    "deleted",
                    count + 1,
                    last_seq + 1,
                    f"末尾の監査記録 {last_seq + 1}〜{head_seq} 番が削除されています",
                )
            )
        elif (head_seq, head_hash) != (last_seq, prev_hash):
            problems.append(
                ChainProblem(
                    "head_mismatch",
                    count,
                    last_seq,
                    f"監査記録の末尾 ({last_seq} 番) が記録された先頭情報と一致しません",
                )
            )
    return ChainReport(count, last_seq, prev_hash, tuple(problems))
