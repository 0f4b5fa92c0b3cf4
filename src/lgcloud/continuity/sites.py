"""The sites file: which node is the centre, which towns each town node serves and stores.

One TOML file describes the whole federation; every process reads it and is told which node
it is. Example (``lgcloud continuity init-sites`` writes one for a machine)::

    policy_hours = 24            # a verified copy younger than this at every site
    snapshot_minutes = 720       # a full snapshot this often (the journal ships continuously)
    partner_snapshot_days = 7    # partners get a new full snapshot this often; journal between
    push_seconds = 5             # journal shipping interval

    [centre]
    url = "http://127.0.0.1:8700"
    public_key = "…"             # the centre's Ed25519 public key (base64)

    [nodes.seiro]
    url = "http://127.0.0.1:8701"
    token_file = "tokens/seiro.token"   # shared secret for this node's replication endpoint
    serves = ["153079"]                  # the town's own down-recovery node
    stores = ["154059", "155047"]        # partner node: encrypted copies of these towns

Relative paths are relative to the sites file.
"""

from __future__ import annotations

import hmac
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lgcloud.core.errors import LgcloudError, NotFoundError
from lgcloud.core.ids import validate_town_code


class SitesError(LgcloudError):
    """The sites file is missing, unreadable or inconsistent."""


class CentreSite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    public_key: str = ""


class NodeSite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    token_file: str
    serves: list[str] = Field(default_factory=list)
    stores: list[str] = Field(default_factory=list)


class Sites(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy_hours: float = 24
    snapshot_minutes: float = 720
    partner_snapshot_days: float = 7
    push_seconds: float = 5
    centre: CentreSite
    nodes: dict[str, NodeSite] = Field(default_factory=dict)
    base_dir: Path = Path()

    def node(self, name: str) -> NodeSite:
        try:
            return self.nodes[name]
        except KeyError:
            raise NotFoundError(f"ノード {name} は拠点ファイルにありません") from None

    def token(self, name: str) -> str:
        path = self.base_dir / self.node(name).token_file
        try:
            return path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise SitesError(f"ノード {name} の認証トークンが読めません: {path}") from exc

    def check_token(self, name: str, presented: str) -> bool:
        return hmac.compare_digest(self.token(name).encode(), presented.encode())

    def sites_of(self, town: str) -> list[tuple[str, str]]:
        """``[(node, "serves" | "stores")]`` for a town: where copies of it must exist."""
        out: list[tuple[str, str]] = []
        for name, node in sorted(self.nodes.items()):
            if town in node.serves:
                out.append((name, "serves"))
            if town in node.stores:
                out.append((name, "stores"))
        return out


def load_sites(path: Path) -> Sites:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SitesError(f"拠点ファイルが読めません: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SitesError(f"拠点ファイルの書式が正しくありません: {path}: {exc}") from exc
    try:
        sites = Sites.model_validate({**raw, "base_dir": path.parent.resolve()})
    except ValidationError as exc:
        raise SitesError(f"拠点ファイルの内容が正しくありません: {path}: {exc}") from exc
    for name, node in sites.nodes.items():
        for code in [*node.serves, *node.stores]:
            validate_town_code(code)
        both = set(node.serves) & set(node.stores)
        if both:
            raise SitesError(f"ノード {name} が同じ町村を serves と stores の両方に持っています")
    return sites
