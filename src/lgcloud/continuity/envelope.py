"""Signed, encrypted envelopes: the one container for everything the centre ships.

A snapshot and a journal batch are both an *envelope*::

    b"LGCLOUD1 " + kind + b"\\n"          kind: b"snapshot" or b"journal"
    4 bytes, big-endian: header length
    header: canonical JSON (sorted keys, UTF-8) — town, sequence numbers, times, digests,
            and ``ciphertext_sha256`` / ``ciphertext_bytes`` of what follows
    64 bytes: Ed25519 signature by the centre over b"LGCLOUD1 " + kind + b"\\n" + header
    ciphertext: age (X25519, to the town's recovery recipients) of zstandard(payload)

Anyone holding the centre's public key can check an envelope *without* the town's key
(signature, town, order, length, ciphertext digest): that is how a partner node refuses a
corrupted, truncated, tampered, replayed or misaddressed copy on arrival. Only a holder of
the town's recovery key can open the payload.

Written by hand because no library frames "signed header + age ciphertext"; age itself
authenticates the ciphertext but not who produced it or which town and position it claims.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

import zstandard
from pyrage import x25519

from lgcloud.continuity import keys
from lgcloud.core.errors import LgcloudError

MAGIC = b"LGCLOUD1 "
KINDS = (b"snapshot", b"journal")
SIGNATURE_BYTES = 64
MAX_HEADER = 1 << 20
ZSTD_LEVEL = 3


class EnvelopeRefused(LgcloudError):  # noqa: N818 - a refusal, not a failure
    """An envelope that must not be used; ``reason`` is a stable code for logs and tests."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    kind: str
    header: dict[str, Any]
    ciphertext: bytes

    @property
    def town(self) -> str:
        return str(self.header["town"])


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def seal(
    kind: str,
    header: dict[str, Any],
    payload: bytes,
    recipients: list[x25519.Recipient],
    signer: keys.SigningKey,
) -> bytes:
    """Compress, encrypt and sign ``payload`` under ``header`` (which must name the town)."""
    return seal_encrypted(kind, header, encrypt_payload(payload, recipients), signer)


@dataclass(frozen=True)
class Encrypted:
    """A payload compressed and encrypted, not yet signed under a header."""

    ciphertext: bytes
    plaintext_bytes: int


def encrypt_payload(payload: bytes, recipients: list[x25519.Recipient]) -> Encrypted:
    """The first half of :func:`seal` (it needs no header, so it can run while the header is
    being computed; zstd and age release the GIL)."""
    if not recipients:
        raise EnvelopeRefused("no_recipient", "復旧鍵の公開鍵が登録されていません")
    compressed = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1).compress(payload)
    return Encrypted(keys.encrypt(compressed, recipients), len(payload))


def seal_encrypted(
    kind: str, header: dict[str, Any], encrypted: Encrypted, signer: keys.SigningKey
) -> bytes:
    """The second half of :func:`seal`: the signed header around the ciphertext."""
    if kind.encode() not in KINDS:
        raise ValueError(f"unknown envelope kind {kind!r}")
    if "town" not in header:
        raise ValueError("an envelope header names its town")
    ciphertext = encrypted.ciphertext
    full = {
        **header,
        "signer": signer.key_id,
        "plaintext_bytes": encrypted.plaintext_bytes,
        "ciphertext_bytes": len(ciphertext),
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
    }
    prefix = MAGIC + kind.encode() + b"\n"
    head = canonical(full)
    signature = signer.sign(prefix + head)
    return prefix + struct.pack(">I", len(head)) + head + signature + ciphertext


def open_envelope(
    data: bytes,
    *,
    kind: str,
    centre_public_b64: str,
    town: str | None = None,
) -> Envelope:
    """Check an envelope without decrypting it. Raises :class:`EnvelopeRefused` with a clear
    reason for anything wrong; never returns a doubtful envelope."""
    prefix = MAGIC + kind.encode() + b"\n"
    if not data.startswith(MAGIC):
        raise EnvelopeRefused("not_an_envelope", "lgcloud のバックアップ形式ではありません")
    if not data.startswith(prefix):
        raise EnvelopeRefused(
            "wrong_kind", f"種類が違います（{kind} を期待しましたが別の種類のデータです）"
        )
    at = len(prefix)
    if len(data) < at + 4:
        raise EnvelopeRefused("truncated", "データが途中で切れています（ヘッダ長なし）")
    (head_len,) = struct.unpack(">I", data[at : at + 4])
    at += 4
    if head_len > MAX_HEADER or len(data) < at + head_len + SIGNATURE_BYTES:
        raise EnvelopeRefused("truncated", "データが途中で切れています（ヘッダまたは署名）")
    head = data[at : at + head_len]
    at += head_len
    signature = data[at : at + SIGNATURE_BYTES]
    at += SIGNATURE_BYTES
    if not keys.verify_signature(centre_public_b64, prefix + head, signature):
        raise EnvelopeRefused(
            "bad_signature",
            "クラウドセンターの署名が一致しません（改ざん、破損、または別のセンターのデータ）",
        )
    header: dict[str, Any] = json.loads(head)
    ciphertext = data[at:]
    if len(ciphertext) != header["ciphertext_bytes"]:
        raise EnvelopeRefused(
            "truncated",
            f"データの長さが違います（{len(ciphertext)} バイト、署名された長さは "
            f"{header['ciphertext_bytes']} バイト）",
        )
    if hashlib.sha256(ciphertext).hexdigest() != header["ciphertext_sha256"]:
        raise EnvelopeRefused(
            "digest_mismatch", "暗号文のダイジェストが一致しません（破損または改ざん）"
        )
    if town is not None and header.get("town") != town:
        raise EnvelopeRefused(
            "wrong_town", f"別の町村のデータです（{header.get('town')}、期待した町村は {town}）"
        )
    return Envelope(kind, header, ciphertext)


def open_payload(envelope: Envelope, identities: list[x25519.Identity]) -> bytes:
    """Decrypt and decompress a checked envelope's payload (needs the town's recovery key)."""
    compressed = keys.decrypt(envelope.ciphertext, identities)
    payload = zstandard.ZstdDecompressor().decompress(
        compressed, max_output_size=envelope.header["plaintext_bytes"]
    )
    if len(payload) != envelope.header["plaintext_bytes"]:
        raise EnvelopeRefused("size_mismatch", "復号したデータの大きさが署名された値と違います")
    return payload
