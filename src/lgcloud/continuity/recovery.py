"""Town recovery keys: created at onboarding, with the printable recovery sheet."""

from __future__ import annotations

import os
from pathlib import Path

from lgcloud.continuity import keys
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import RuleViolationError
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform


def recovery_sheet_path(platform: Platform, code: str) -> Path:
    return platform.data_dir / "recovery-sheets" / f"{code}.recovery.txt"


def create_recovery_key(platform: Platform, code: str) -> Path:
    """Create the town's recovery key: record its public half, write the printable sheet.

    The sheet holds the secret; it is written once (mode 0600) for the IT officer to print
    and move to the town (`lgcloud continuity recovery-sheet`), never kept by partners.
    """
    hosted = platform.hosted(code)
    if hosted.recovery_recipient:
        raise RuleViolationError(f"町村 {code} には既に復旧鍵があります")
    key = keys.new_recovery_key()
    path = recovery_sheet_path(platform, code)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    created = utcnow().isoformat(timespec="seconds")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(keys.recovery_sheet(code, hosted.name, key, created))
    with platform.platform_session() as s:
        town = s.get(HostedTown, code)
        assert town is not None
        town.recovery_recipient = key.recipient
    return path


def recovery_sheet_pdf(platform: Platform, code: str) -> bytes:
    """The printable recovery sheet of ``code`` (A4 PDF) from the sheet written at onboarding."""
    path = recovery_sheet_path(platform, code)
    if not path.exists():
        raise RuleViolationError(
            f"町村 {code} の復旧鍵シートはこのセンターにありません（印刷後に削除済みか未作成）"
        )
    text = path.read_text(encoding="utf-8")
    identity = keys.identity_from_text(text)
    created = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if "作成日時" in ln), ""
    )
    key = keys.RecoveryKey(str(identity), keys.public_of(identity))
    return render_recovery_sheet(code, platform.hosted(code).name, key, created)


def render_recovery_sheet(code: str, name: str, key: keys.RecoveryKey, created: str) -> bytes:
    """The printable recovery sheet (A4 PDF: the key in groups, and as a QR code)."""
    from lgcloud.certificates.render import pdf_engine, qr_svg  # noqa: PLC0415

    ident = key.identity
    prefix = "AGE-SECRET-KEY-1"
    rest = ident[len(prefix) :]
    groups = [rest[i : i + 6] for i in range(0, len(rest), 6)]
    lines = [prefix] + [" ".join(groups[i : i + 6]) for i in range(0, len(groups), 6)]
    pdf: bytes = pdf_engine().render(
        "_recovery_sheet",
        {
            "town_name": name,
            "town_code": code,
            "created": created,
            "recipient": key.recipient,
            "identity_lines": lines,
            "identity": ident,
            "qr": qr_svg(ident),
        },
    )
    return pdf
