"""Onboarding a town: everything a new town needs before its first clerk logs in.

Above the business areas (it fills what several of them own), below the web and the CLI.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from lgcloud.certificates.signing import install_signing_key
from lgcloud.continuity.recovery import create_recovery_key
from lgcloud.register.service import init_town_register
from lgcloud.tenancy.models import HostedTown
from lgcloud.tenancy.platform import Platform


def onboard_town(
    platform: Platform,
    code: str,
    name: str,
    *,
    kana: str = "",
    prefecture: str = "",
    url: str | None = None,
    recovery_key: bool = True,
) -> HostedTown:
    """Onboard a town: validate its code, create and migrate its database with its town
    record and number series and its signing key's public half (one transaction), then its
    recovery key (with the printable recovery sheet)."""

    def prepare(session: Session) -> None:
        init_town_register(session, code=code, name=name, kana=kana, prefecture=prefecture)
        install_signing_key(session, platform.keys_dir, code)

    hosted = platform.create_town(
        code, name, kana=kana, prefecture=prefecture, url=url, prepare=prepare
    )
    if recovery_key:
        create_recovery_key(platform, code)
    return hosted
