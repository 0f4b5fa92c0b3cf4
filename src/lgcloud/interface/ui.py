"""Helpers of the counter screen (pages.py): the PDF preview store and form error mapping.

Nothing here does I/O on a town's database; pages.py calls the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lgcloud.core.clock import JST
from lgcloud.core.errors import RuleViolationError
from lgcloud.core.wareki import parse_wareki
from lgcloud.interface.stores import BlobStore

_UNSAFE_IN_NAME = re.compile(r"[^\w.\-]")


def safe_upload_name(name: str | None, default: str) -> str:
    """An uploaded file's name, safe as a file name in a scratch folder: the last path
    part, word characters, dots and dashes only, no leading dot, at most 100 characters."""
    base = Path((name or "").replace("\\", "/")).name
    base = _UNSAFE_IN_NAME.sub("_", base).lstrip(".")[:100]
    return base or default


#: How long an issued PDF stays available to the session that issued it (for the preview,
#: a reload of the preview or printing). The certificate itself stays verifiable forever.
PREVIEW_TTL_S = 15 * 60
PREVIEW_MAX = 64


@dataclass(frozen=True)
class Preview:
    pdf: bytes
    town_code: str
    clerk_id: int
    addressee_number: str
    issue_number: str
    verification_code: str
    kind_label: str
    data_as_of: str  # ISO text, also sent as X-Data-As-Of
    stored_at: float  # time.time()


class PreviewStore:
    """The PDFs just issued, kept for the issuing session and clerk only, in files every
    worker process reads (``interface/stores.py``).

    Issuing is the audited act; the preview shows the very same bytes back to the same
    session (token hash) and clerk, for a short time, and to nobody else. A quick switch
    changes the clerk, so the next clerk does not see the previous clerk's previews.
    """

    def __init__(
        self, root: Path, ttl_s: float = PREVIEW_TTL_S, max_items: int = PREVIEW_MAX
    ) -> None:
        self._blobs = BlobStore(root, ttl_s=ttl_s, max_items=max_items)

    @staticmethod
    def _key(token: str, code: str) -> str:
        return f"{token}/{code}"  # hashed into a file name by BlobStore: never stored

    def put(self, token: str, preview: Preview) -> None:
        meta = {f.name: getattr(preview, f.name) for f in fields(preview) if f.name != "pdf"}
        self._blobs.put(
            self._key(token, preview.verification_code),
            meta,
            preview.pdf,
            stored_at=preview.stored_at,
        )

    def get(
        self, token: str, code: str, *, town_code: str, clerk_id: int, addressee_number: str
    ) -> Preview | None:
        found = self._blobs.get(self._key(token, code))
        if found is None:
            return None
        meta, pdf = found
        p = Preview(pdf=pdf, **meta)
        if (p.town_code, p.clerk_id, p.addressee_number) != (
            town_code,
            clerk_id,
            addressee_number,
        ):
            return None
        return p


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors as {form field: Japanese message} (first error per field)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)]
        # tagged unions put the tag first: ("move_within", "address", "address")
        while loc and loc[0] in _EVENT_TAGS:
            loc = loc[1:]
        name = _field_name(".".join(loc))
        out.setdefault(name, error_message(err))
    return out


_EVENT_TAGS = frozenset(
    {
        "birth",
        "domestic_move_in",
        "foreign_move_in",
        "move_within",
        "domestic_move_out",
        "foreign_move_out",
        "death",
        "household_split",
        "household_merge",
        "head_change",
        "ex_officio_entry",
        "ex_officio_removal",
        "correction",
    }
)


def _field_name(loc: str) -> str:
    """The form field an error location belongs to (the forms flatten address.*)."""
    if loc.startswith("address."):
        return loc.split(".", 1)[1]
    return loc or "form"


def error_message(err: Any) -> str:
    """The Japanese message shown next to a field for one Pydantic error."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "入力してください"
    if kind in ("string_too_short",) and ctx.get("min_length") == 1:
        return "入力してください"
    if kind == "string_too_long":
        return f"{ctx.get('max_length')}文字以内で入力してください"
    if kind.startswith("date"):
        return "日付を YYYY-MM-DD の形で入力してください"
    if kind == "string_pattern_mismatch":
        return "形式が正しくありません（郵便番号は数字7桁）"
    if kind in ("too_short", "list_type") and "members" in str(err.get("loc", "")):
        return "対象者を選んでください"
    if kind in ("literal_error", "enum"):
        return "一覧から選んでください"
    return "入力内容が正しくありません"


def form_date(text: str, field: str) -> date | None:
    """A date field of a form: what ``<input type=date>`` sends (YYYY-MM-DD) or a 和暦 date
    as a clerk types it (令和8年12月1日, R8.12.1); empty → None, anything else → a refusal
    naming the field (a 和暦 date that does not exist says why)."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parse_wareki(text)
    except ValueError as e:
        if any(ch.isdigit() for ch in text) and "年" in text:
            raise RuleViolationError(str(e), field=field) from e
        raise RuleViolationError(
            "日付は 令和8年12月1日 か 2026-12-01 の形で入力してください", field=field
        ) from e


def required_form_date(text: str, field: str, label: str) -> date:
    """:func:`form_date` for a field that must be filled: empty → a refusal naming it."""
    day = form_date(text, field)
    if day is None:
        raise RuleViolationError(f"{label}を入力してください", field=field)
    return day


def form_time(text: str, field: str) -> datetime | None:
    """A local time as ``<input type=datetime-local>`` or a command sends it
    (YYYY-MM-DDTHH:MM, JST unless it says otherwise); empty → None, else a refusal."""
    if not text.strip():
        return None
    try:
        written = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RuleViolationError(
            "日時は 2026-12-01T09:30（YYYY-MM-DDTHH:MM）の形で入力してください", field=field
        ) from None
    return written.replace(tzinfo=JST) if written.tzinfo is None else written
