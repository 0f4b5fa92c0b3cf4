"""A whole federation on one machine: the centre and one node per town, on loopback ports.

Used by the drills and the demo. Each town's node *serves* its own town (down-recovery,
holding the town's recovery key) and *stores* for every other town (partner). The layout::

    <root>/sites.toml             the sites file every process reads
    <root>/tokens/<node>.token    node bearer tokens (shared with the centre)
    <root>/centre/                the centre's data directory (all towns)
    <root>/nodes/<node>/          each town node's data directory
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from lgcloud.continuity.centre import signing_key
from lgcloud.continuity.recovery import recovery_sheet_path
from lgcloud.tenancy.platform import Platform


@dataclass(frozen=True)
class NodeSpec:
    name: str
    town: str
    port: int


def node_name(town: str) -> str:
    return f"node-{town}"


def write_federation(
    root: Path,
    centre: Platform,
    *,
    towns: list[str],
    centre_port: int,
    node_ports: list[int],
    host: str = "127.0.0.1",
    push_seconds: float = 1.0,
    snapshot_minutes: float = 720,
) -> list[NodeSpec]:
    """Write the sites file and tokens; give each town node its own town's recovery key."""
    specs = [NodeSpec(node_name(t), t, p) for t, p in zip(towns, node_ports, strict=True)]
    (root / "tokens").mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = [
        "# written by lgcloud (federation on one machine)",
        "policy_hours = 24",
        f"snapshot_minutes = {snapshot_minutes}",
        f"push_seconds = {push_seconds}",
        "",
        "[centre]",
        f'url = "http://{host}:{centre_port}"',
        f'public_key = "{signing_key(centre).public_b64}"',
    ]
    for spec in specs:
        token = root / "tokens" / f"{spec.name}.token"
        if not token.exists():
            fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        others = [t for t in towns if t != spec.town]
        lines += [
            "",
            f"[nodes.{spec.name}]",
            f'url = "http://{host}:{spec.port}"',
            f'token_file = "tokens/{spec.name}.token"',
            f'serves = ["{spec.town}"]',
            "stores = [" + ", ".join(f'"{t}"' for t in others) + "]",
        ]
        node_dir = root / "nodes" / spec.name
        (node_dir / "recovery").mkdir(mode=0o700, parents=True, exist_ok=True)
        key = node_dir / "recovery" / f"{spec.town}.key"
        sheet = recovery_sheet_path(centre, spec.town)
        if sheet.exists() and not key.exists():
            key.write_bytes(sheet.read_bytes())
            key.chmod(0o600)
    (root / "sites.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return specs
