"""印鑑登録 rules, pure: who may register a seal, what an impression must be, when a
registration may be abolished. No I/O; the service loads what a rule needs.

Who may register follows 印鑑登録証明事務処理要領 (昭和49年 自治振第10号) 第2 登録資格, which
each town's 印鑑条例 adopts: a person in the town's resident register, not under the age of
the dated parameter ``seals.min_age`` (15, ``seals/parameters.py``) and not lacking
capacity."""

from __future__ import annotations

from datetime import date

from lgcloud.core.dates import age_on
from lgcloud.core.errors import RuleViolationError
from lgcloud.register.domain import PersonState

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: an impression is a small scan (a 25 mm seal at 600 dpi is far below this)
MAX_IMAGE_BYTES = 1024 * 1024
MAX_REASON = 40  # the column's width
#: what the counter records as the reason of a 廃止 (free text is accepted too)
ABOLITION_REASONS = ("廃止申請", "亡失", "転出", "死亡", "職権")


def check_registration(
    person: PersonState,
    registered_on: date,
    image_png: bytes,
    *,
    already_registered: bool,
    min_age: int,
) -> None:
    """Refuse a registration that the rules do not allow (the field says where);
    ``min_age`` is ``seals.min_age`` on the registration date."""
    if not person.is_resident:
        raise RuleViolationError("住民でない人は印鑑登録できません", field="addressee_number")
    if age_on(person.birth_date, registered_on) < min_age:
        raise RuleViolationError(
            f"{min_age}歳未満の人は印鑑登録できません", field="addressee_number"
        )
    if not image_png.startswith(PNG_MAGIC):
        raise RuleViolationError("印影の画像はPNGで登録してください", field="image_png")
    if len(image_png) > MAX_IMAGE_BYTES:
        raise RuleViolationError("印影の画像は1MB以下にしてください", field="image_png")
    if already_registered:
        raise RuleViolationError(
            "既に登録されている印鑑があります (先に廃止してください)", field="addressee_number"
        )


def check_abolition(registered_on: date, abolished_on: date, reason: str) -> None:
    if abolished_on < registered_on:
        raise RuleViolationError("廃止日が登録日より前です", field="abolished_on")
    if not reason.strip():
        raise RuleViolationError("廃止の理由を入力してください", field="reason")
    if len(reason) > MAX_REASON:
        raise RuleViolationError(f"廃止の理由は{MAX_REASON}文字以内です", field="reason")
