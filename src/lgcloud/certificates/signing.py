"""Town signing keys (Ed25519) and verification codes.

The private key lives in a key file under the platform's data directory (mode 0600), never
in the town database: a copy of the database (a backup, a partner's replica) cannot sign.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from lgcloud.certificates.models import SigningKey
from lgcloud.core.clock import utcnow
from lgcloud.core.errors import NotFoundError

# Crockford-style alphabet without look-alikes (0/O, 1/I/L): codes are read off paper.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 3
CODE_GROUP_LEN = 4


@dataclass(frozen=True)
class TownKey:
    key_id: str
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


def key_path(keys_dir: Path, town_code: str) -> Path:
    return keys_dir / f"{town_code}.signing.pem"


def create_key(keys_dir: Path, town_code: str) -> TownKey:
    """Create the town's signing key file (refuses to overwrite an existing one)."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_path(keys_dir, town_code)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return load_key(keys_dir, town_code)


def install_signing_key(session: Session, keys_dir: Path, town_code: str) -> TownKey:
    """Create a new town's Ed25519 signing key file and record its public key in the town's
    database (``session``: onboarding's transaction)."""
    key = create_key(keys_dir, town_code)
    session.add(
        SigningKey(
            key_id=key.key_id,
            public_key=base64.b64encode(key.public_raw).decode("ascii"),
            created_at=utcnow(),
            active=True,
        )
    )
    return key


def load_key(keys_dir: Path, town_code: str) -> TownKey:
    path = key_path(keys_dir, town_code)
    if not path.exists():
        raise NotFoundError(f"町村 {town_code} の署名鍵ファイルがありません: {path}")
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise NotFoundError(f"署名鍵ファイルが Ed25519 ではありません: {path}")
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return TownKey(key_id=hashlib.sha256(raw).hexdigest()[:16], private=private)


def sign_digest(key: TownKey, digest: bytes) -> str:
    return base64.b64encode(key.private.sign(digest)).decode("ascii")


def verify_digest(public_key_b64: str, digest: bytes, signature_b64: str) -> bool:
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        public.verify(base64.b64decode(signature_b64), digest)
    except (InvalidSignature, ValueError):
        return False
    return True


def new_verification_code(town_code: str) -> str:
    """``<town code>-XXXX-XXXX-XXXX``: 60 random bits, readable and typeable from paper."""
    groups = [
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LEN))
        for _ in range(CODE_GROUPS)
    ]
    return "-".join([town_code, *groups])


def normalise_code(code: str) -> str:
    """Accept what people type: lower case, spaces, O for 0 and I/L for 1."""
    return (
        code.strip().upper().replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    )
