"""Addressee rules, pure: what a 住登外者 record must hold, the 法人番号 check digit, and when
a 住登外者 may be linked (名寄せ) to a resident.

A 住登外者 (住民基本台帳に記録されていない者) is a party a business area must address although
the register does not hold them: a former resident who still owes tax, a non-resident owner
of land, a person registered elsewhere who receives a benefit here, a corporation. They get a
宛名番号 from the register's own series (one numbering for all addressees), are searchable
like residents, and when the same person becomes a resident the two numbers are linked
(名寄せ) so each business area finds everything under either number; a link is audited and
can be undone."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lgcloud.addressees.reasons import REASONS
from lgcloud.core.errors import RuleViolationError
from lgcloud.register.domain import PersonState, Sex

#: why a party is kept although not a resident (shown with the record)
#: the business areas that keep their own 送付先, 代理人 and 口座 for an addressee
AREAS = {
    "taxation": "税務",
    "insurance": "国民健康保険",
    "seals": "印鑑登録",
    "elections": "選挙",
    "welfare": "福祉",
}
ACCOUNT_TYPES = {"1": "普通", "2": "当座", "4": "貯蓄"}  # 全銀協の預金種目コード
ACCOUNT_PURPOSES = {"payment": "給付の振込", "debit": "口座振替（納付）"}
PROXY_ROLES = {"agent": "代理人", "payer": "代納人", "administrator": "納税管理人"}


class NonResidentIn(BaseModel):
    """A 住登外者 as a clerk registers them."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["person", "corporation"]
    name: str = Field(min_length=1, max_length=80, description="氏名（氏 U+3000 名）／法人名")
    kana: str = Field(default="", max_length=120)
    birth_date: date | None = None
    sex: Sex | None = None
    corporate_number: str | None = Field(default=None, description="法人番号（13桁）")
    address: str = Field(min_length=1, max_length=200, description="住所・所在地")
    address_detail: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", pattern=r"^([0-9]{7})?$")
    reason: str

    @field_validator("name", "kana", "address", "address_detail")
    @classmethod
    def _nfc(cls, v: str) -> str:
        return unicodedata.normalize("NFC", v.strip())

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if v not in REASONS:
            raise ValueError("住登外の理由を一覧から選んでください")
        return v


def corporate_check_digit(base12: str) -> int:
    """法人番号の検査用数字 (法人番号の指定等に関する省令 第2条): 9 − (Σ Pn × Qn mod 9), Pn the
    n-th digit of the 12-digit base from the right, Qn 1 for odd n and 2 for even n."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def check_corporate_number(number: str) -> None:
    if not re.fullmatch(r"[0-9]{13}", number):
        raise RuleViolationError("法人番号は数字13桁です", field="corporate_number")
    if int(number[0]) != corporate_check_digit(number[1:]):
        raise RuleViolationError("法人番号の検査用数字が合いません", field="corporate_number")


def check_non_resident(data: NonResidentIn, today: date) -> None:
    """What the shape alone cannot say."""
    if data.kind == "person":
        if data.corporate_number:
            raise RuleViolationError("個人に法人番号は登録できません", field="corporate_number")
        if data.birth_date is not None and data.birth_date > today:
            raise RuleViolationError("生年月日が未来の日付です", field="birth_date")
        if data.reason == "法人":
            raise RuleViolationError("個人の住登外の理由に「法人」は選べません", field="reason")
    else:
        if data.birth_date is not None or data.sex is not None:
            raise RuleViolationError("法人に生年月日・性別はありません", field="birth_date")
        if data.corporate_number:
            check_corporate_number(data.corporate_number)


def check_link(
    *,
    kind: str,
    birth_date: date | None,
    resident: PersonState,
    already_linked_to: str | None,
) -> None:
    """A 住登外者 may be linked to a resident (名寄せ) when it is a person, not already linked,
    and their birth dates agree where the 住登外者 record has one."""
    if kind != "person":
        raise RuleViolationError("法人は住民と名寄せできません", field="non_resident")
    if already_linked_to is not None:
        raise RuleViolationError(
            f"この住登外者は既に宛名番号 {already_linked_to} と名寄せされています",
            field="non_resident",
        )
    if birth_date is not None and birth_date != resident.birth_date:
        raise RuleViolationError(
            "生年月日が住民記録と違います（別人の可能性があります）", field="resident"
        )


def check_bank_account(bank_code: str, branch_code: str, account_type: str, number: str) -> None:
    if not re.fullmatch(r"[0-9]{4}", bank_code):
        raise RuleViolationError("金融機関コードは数字4桁です", field="bank_code")
    if not re.fullmatch(r"[0-9]{3}", branch_code):
        raise RuleViolationError("支店コードは数字3桁です", field="branch_code")
    if account_type not in ACCOUNT_TYPES:
        raise RuleViolationError("預金種目を選んでください", field="account_type")
    if not re.fullmatch(r"[0-9]{7}", number):
        raise RuleViolationError("口座番号は数字7桁です", field="account_number")
