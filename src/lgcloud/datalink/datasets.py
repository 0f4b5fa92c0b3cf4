"""The datasets another system may pull, pure: which journal rows make each dataset, which
items a grant may name, and a change as the system sees it (only the granted items).

The journal holds every committed row image of the town in commit order (trail/journal.py),
so a dataset is a projection of it: ordered, gap-free (``seq``), and resumable. Items not
listed here are never given out (個人番号, 住民票コード, the seal impression, search keys)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lgcloud.core.errors import RuleViolationError


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    table: str
    key: str  # the addressee number column: the audit entry's subjects
    items: tuple[str, ...]  # what a grant may name


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "residents",
            "住民記録（異動）",
            "person_versions",
            "addressee_number",
            (
                "addressee_number",
                "version_no",
                "valid_from",
                "valid_to",
                "is_current",
                "status",
                "name",
                "kana",
                "birth_date",
                "sex",
                "household_number",
                "relationship",
                "address",
                "address_detail",
                "postal_code",
                "district",
                "resident_since",
                "settled_on",
                "notified_on",
                "last_event",
                "removed_on",
                "removal_reason",
                "previous_address",
                "destination_address",
                "nationality",
                "foreign_category",
                "residence_status",
                "stay_expires_on",
            ),
        ),
        Dataset(
            "non_residents",
            "住登外者",
            "non_residents",
            "addressee_number",
            (
                "addressee_number",
                "kind",
                "name",
                "kana",
                "birth_date",
                "sex",
                "corporate_number",
                "address",
                "address_detail",
                "postal_code",
                "reason",
            ),
        ),
        Dataset(
            "seals",
            "印鑑登録",
            "seal_registrations",
            "addressee_number",
            (
                "registration_number",
                "addressee_number",
                "registered_on",
                "abolished_on",
                "abolition_reason",
            ),
        ),
    )
}


def check_grant(grants: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A grant names datasets and, for each, items of it (the key is always included)."""
    if not grants:
        raise RuleViolationError("データセットを1つ以上指定してください", field="datasets")
    out: dict[str, list[str]] = {}
    for name, items in grants.items():
        d = DATASETS.get(name)
        if d is None:
            raise RuleViolationError(f"データセット {name} はありません", field="datasets")
        unknown = sorted(set(items) - set(d.items))
        if unknown:
            raise RuleViolationError(
                f"{d.label}で提供できない項目です: {', '.join(unknown)}", field="items"
            )
        if not items:
            raise RuleViolationError(f"{d.label}の項目を指定してください", field="items")
        out[name] = [i for i in d.items if i in set(items) | {d.key}]
    return out


def rows_of(change: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(op, row) of one journal change; a bulk insert gives one ("insert", row) per row."""
    if change.get("op") == "insert_many":
        columns = change["columns"]
        for values in change["rows"]:
            yield "insert", dict(zip(columns, values, strict=True))
    else:
        yield str(change["op"]), dict(change["row"])


def project(
    dataset: Dataset, items: Sequence[str], seq: int, committed_at: str, change: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The dataset's records in one journal change, with the granted items only."""
    if change.get("table") != dataset.table:
        return []
    return [
        {
            "seq": seq,
            "committed_at": committed_at,
            "op": op,
            "row": {k: row.get(k) for k in items},
        }
        for op, row in rows_of(change)
    ]
