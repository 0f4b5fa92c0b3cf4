"""Keys of continuity: the centre's signing key and each town's recovery key.

* The **centre signing key** (Ed25519) signs every snapshot manifest and journal batch the
  centre ships, so a node accepts only what the centre produced. Nodes know its public key
  from the sites file.
* A town's **recovery key** is an age X25519 identity created when the town is onboarded.
  Snapshots and journal batches are encrypted to its public half (the *recipient*); the
  secret half is printed on the town's recovery sheet and kept by the town (on its own
  node, and on paper or a USB key in the town's safe). A partner node never stores it: the
  IT officer supplies it at activation, as the key text or as a passphrase-protected file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyrage
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyrage import passphrase as age_passphrase
from pyrage import x25519

from lgcloud.core.errors import LgcloudError, NotFoundError


class RecoveryKeyError(LgcloudError):
    """A recovery key could not be read or does not fit."""


# -- the centre's signing key -----------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def load_or_create_signing_key(path: Path) -> SigningKey:
    """The node signing key at ``path`` (PEM, mode 0600), created on first use."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise NotFoundError(f"署名鍵ファイルが Ed25519 ではありません: {path}")
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey(hashlib.sha256(raw).hexdigest()[:16], private)


def verify_signature(public_b64: str, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- town recovery keys -----------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryKey:
    """A town's recovery identity (secret) and recipient (public)."""

    identity: str  # AGE-SECRET-KEY-1...
    recipient: str  # age1...


def new_recovery_key() -> RecoveryKey:
    ident = x25519.Identity.generate()
    return RecoveryKey(str(ident), str(ident.to_public()))


def recipients_of(texts: list[str]) -> list[x25519.Recipient]:
    try:
        return [x25519.Recipient.from_str(t.strip()) for t in texts]
    except Exception as exc:  # pyrage raises its own error types
        raise RecoveryKeyError(f"復旧鍵の公開鍵が読めません: {exc}") from exc


def identity_from_text(text: str) -> x25519.Identity:
    """An identity from the key text (``AGE-SECRET-KEY-1…``), ignoring comment lines and
    the spaces and line breaks of the printed sheet's groups (so it can be typed back)."""
    body = "".join(
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    )
    compact = re.sub(r"\s+", "", body).upper()
    keys = re.findall(r"AGE-SECRET-KEY-1[0-9A-Z]+", compact)
    if len(keys) != 1:
        raise RecoveryKeyError("復旧鍵（AGE-SECRET-KEY-1 で始まる文字列）が見つかりません")
    try:
        return x25519.Identity.from_str(keys[0])
    except Exception as exc:
        raise RecoveryKeyError("復旧鍵の形式が正しくありません（読み違い・打ち間違い）") from exc


def protect_identity(key: RecoveryKey, phrase: str) -> bytes:
    """The identity encrypted with a passphrase (age scrypt): a key file safe to carry."""
    if len(phrase) < 12:
        raise RecoveryKeyError("復旧鍵のパスフレーズは12文字以上にしてください")
    return bytes(age_passphrase.encrypt(key.identity.encode("ascii"), phrase))


def load_identity(data: bytes, phrase: str | None = None) -> x25519.Identity:
    """Read a recovery key supplied at activation: the key text, or a protected key file
    with its passphrase."""
    if data.startswith(b"age-encryption.org/"):
        if not phrase:
            raise RecoveryKeyError("この鍵ファイルにはパスフレーズが必要です")
        try:
            data = age_passphrase.decrypt(data, phrase)
        except Exception as exc:
            raise RecoveryKeyError("パスフレーズが違うか、鍵ファイルが壊れています") from exc
    try:
        text = data.decode("utf-8")  # the recovery sheet has Japanese comment lines
    except UnicodeDecodeError as exc:
        raise RecoveryKeyError("復旧鍵ファイルが読めません") from exc
    return identity_from_text(text)


def public_of(identity: x25519.Identity) -> str:
    return str(identity.to_public())


def encrypt(plaintext: bytes, recipients: list[x25519.Recipient]) -> bytes:
    return bytes(pyrage.encrypt(plaintext, recipients))


def decrypt(ciphertext: bytes, identities: list[x25519.Identity]) -> bytes:
    try:
        return bytes(pyrage.decrypt(ciphertext, identities))
    except Exception as exc:
        raise RecoveryKeyError(
            "この復旧鍵では復号できません（別の町村の鍵か、データの破損）"
        ) from exc


def recovery_sheet(town_code: str, town_name: str, key: RecoveryKey, created: str) -> str:
    """The printable recovery sheet (plain text, printed and kept in the town's safe)."""
    return "\n".join(
        [
            f"# lgcloud 復旧鍵シート — {town_name}（団体コード {town_code}）",
            f"# 作成日時 (UTC): {created}",
            "#",
            "# クラウドセンターと役場が同時に使えないとき、",
            "# 連携町村のノードでこの鍵を入力すると、",
            "# 暗号化されたバックアップから自町村のシステムを読み取り専用で復旧できます。",
            "# 連携町村はこの鍵を保存しません。金庫等に保管し、コピーを作らないでください。",
            f"# 公開鍵（受信者）: {key.recipient}",
            key.identity,
            "",
        ]
    )
