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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(keys.recovery_sheet(code, hosted.name, key, utcnow().isoformat(timespec="seconds")))
    with platform.platform_session() as s:
        town = s.get(HostedTown, code)
        assert town is not None
        town.recovery_recipient = key.recipient
    return path
