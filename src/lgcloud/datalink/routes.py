"""The pull API (``/api/linkage/v1``): another system reads a dataset's changes in commit
order with its own token (not a clerk's session)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from lgcloud.core.errors import AuthenticationError
from lgcloud.datalink.datasets import DATASETS
from lgcloud.datalink.service import MAX_LIMIT, REFUSED, pull
from lgcloud.interface.deps import platform_of, request_id_of

router = APIRouter(prefix="/api/linkage/v1", tags=["庁内データ連携"])

EXAMPLE = {
    "dataset": "residents",
    "changes": [
        {
            "cursor": "412:0",
            "seq": 412,
            "committed_at": "2026-12-07T01:23:45.678901+00:00",
            "op": "update",
            "row": {
                "addressee_number": "0001234567",
                "valid_to": "2026-12-07",
                "is_current": False,
            },
        },
        {
            "cursor": "412:1",
            "seq": 412,
            "committed_at": "2026-12-07T01:23:45.678901+00:00",
            "op": "insert",
            "row": {
                "addressee_number": "0001234567",
                "valid_from": "2026-12-07",
                "is_current": True,
                "address": "聖籠町大字蓮野3番地",
            },
        },
    ],
    "next_after": "412:1",
    "more": False,
}


class ChangesOut(BaseModel):
    dataset: str
    changes: list[dict[str, Any]]
    next_after: str
    more: bool


@router.get(
    "/{dataset}/changes",
    response_model=ChangesOut,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        401: {"description": "トークンがない・正しくない・取り消された"},
        403: {"description": "このトークンにはそのデータセットが許可されていない"},
    },
)
def changes(
    request: Request,
    dataset: Annotated[str, Path(description=f"one of: {', '.join(DATASETS)}")],
    after: Annotated[str, Query(description="the last cursor stored (0 at first)")] = "0",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
) -> ChangesOut:
    """The dataset's changes after ``after``, in commit order, with the granted items only.

    Worked example (a 福祉 system kept on another vendor's server follows 住民記録):

        TOKEN=lk.153079.…      # from `lgcloud datalink add-client`, shown once
        AFTER=$(cat last_cursor 2>/dev/null || echo 0)
        while :; do
          curl -s -H "Authorization: Bearer $TOKEN" \\
            "https://lgcloud.example.jp/api/linkage/v1/residents/changes?after=$AFTER" > page.json
          # store page.json's changes (op insert/update/delete of each row), then:
          AFTER=$(jq -r .next_after page.json); echo "$AFTER" > last_cursor
          [ "$(jq .more page.json)" = true ] || break
        done

    Each change is one row image of the town's journal: an ``update`` of a resident's
    current version (closing it) and an ``insert`` of the new one make one 異動. Store
    ``next_after`` only after storing the changes: a repeated call from the same cursor
    returns the same changes. Every call is audited (``export_linkage``, the people given
    out as subjects)."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise AuthenticationError(REFUSED)
    page = pull(
        platform_of(request),
        auth[7:].strip(),
        dataset,
        after=after,
        limit=limit,
        request_id=request_id_of(request),
    )
    return ChangesOut(
        dataset=page.dataset, changes=page.changes, next_after=page.next_after, more=page.more
    )
