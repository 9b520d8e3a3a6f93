"""Envelope encryption: a keyring of key-encryption keys (KEK) outside the database, one data
key (DEK) per case stored wrapped by a KEK, and AES-256-GCM for every personal value.

Stored value format (version 1):
    0x01 | data-key id (16 bytes, a UUID) | nonce (12 bytes) | ciphertext + tag
The associated data is the header plus "table/column/row", so a ciphertext moved to another
row, column or table fails to decrypt instead of showing the wrong child's data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
KEYRING_FORMAT = 1
_NONCE_BYTES = 12
_KEY_BYTES = 32
_HEADER_BYTES = 1 + 16


class KeyringError(Exception):
    """The keyring is missing, unreadable or malformed; the message is for the operator."""


class DecryptionError(Exception):
    """A stored value does not decrypt: wrong key, tampered bytes, or moved between rows."""


@dataclass(frozen=True)
class Keyring:
    active_kek_id: str
    keks: dict[str, bytes]
    blind_index_key: bytes

    @classmethod
    def generate(cls) -> Keyring:
        kek_id = "kek-" + secrets.token_hex(4)
        return cls(
            active_kek_id=kek_id,
            keks={kek_id: AESGCM.generate_key(bit_length=256)},
            blind_index_key=secrets.token_bytes(_KEY_BYTES),
        )

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyringError(
                f"No keyring at {path}. Create one with `riskassess keys init`."
            ) from None
        except (OSError, ValueError) as exc:
            raise KeyringError(f"The keyring at {path} cannot be read: {exc}") from None
        try:
            if raw["format"] != KEYRING_FORMAT:
                raise KeyringError(f"The keyring at {path} has unknown format {raw['format']!r}.")
            keks = {str(k): base64.b64decode(v, validate=True) for k, v in raw["keks"].items()}
            ring = cls(
                active_kek_id=str(raw["active_kek_id"]),
                keks=keks,
                blind_index_key=base64.b64decode(raw["blind_index_key"], validate=True),
            )
        except KeyringError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise KeyringError(f"The keyring at {path} is malformed.") from None
        if ring.active_kek_id not in ring.keks:
            raise KeyringError(f"The keyring at {path} names an active key it does not hold.")
        if (
            any(len(k) != _KEY_BYTES for k in ring.keks.values())
            or len(ring.blind_index_key) != _KEY_BYTES
        ):
            raise KeyringError(f"The keyring at {path} holds a key of the wrong length.")
        return ring

    def save_new(self, path: Path) -> None:
        """Write the keyring to a new file readable by its owner only; never overwrite."""
        payload = {
            "format": KEYRING_FORMAT,
            "active_kek_id": self.active_kek_id,
            "keks": {k: base64.b64encode(v).decode() for k, v in self.keks.items()},
            "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(
                f"A keyring already exists at {path}; it was not overwritten."
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.write("\n")


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _wrap_aad(data_key_id: uuid.UUID, kek_id: str) -> bytes:
    return f"riskassess/data-key/{data_key_id}/{kek_id}".encode()


def wrap_data_key(ring: Keyring, data_key_id: uuid.UUID, data_key: bytes) -> tuple[str, bytes]:
    """Encrypt a data key under the active KEK; returns (kek id, nonce + ciphertext)."""
    kek_id = ring.active_kek_id
    nonce = os.urandom(_NONCE_BYTES)
    wrapped = AESGCM(ring.keks[kek_id]).encrypt(nonce, data_key, _wrap_aad(data_key_id, kek_id))
    return kek_id, nonce + wrapped


def unwrap_data_key(ring: Keyring, data_key_id: uuid.UUID, kek_id: str, wrapped: bytes) -> bytes:
    kek = ring.keks.get(kek_id)
    if kek is None:
        raise DecryptionError(f"data key {data_key_id} is wrapped by key {kek_id}, not in keyring")
    try:
        return AESGCM(kek).decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_aad(data_key_id, kek_id)
        )
    except InvalidTag:
        raise DecryptionError(f"data key {data_key_id} does not unwrap") from None


def _value_aad(header: bytes, context: str) -> bytes:
    return header + context.encode()


def seal(data_key_id: uuid.UUID, data_key: bytes, plaintext: bytes, context: str) -> bytes:
    """Encrypt one value; `context` is "table/column/row-id"."""
    header = bytes([FORMAT_VERSION]) + data_key_id.bytes
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, _value_aad(header, context))


def sealed_key_id(blob: bytes) -> uuid.UUID:
    if len(blob) < _HEADER_BYTES + _NONCE_BYTES or blob[0] != FORMAT_VERSION:
        raise DecryptionError("stored value has an unknown format")
    return uuid.UUID(bytes=blob[1:_HEADER_BYTES])


def unseal(data_key_id: uuid.UUID, data_key: bytes, blob: bytes, context: str) -> bytes:
    if sealed_key_id(blob) != data_key_id:
        raise DecryptionError(f"value for {context} was sealed under another data key")
    header = blob[:_HEADER_BYTES]
    nonce = blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(
            nonce, blob[_HEADER_BYTES + _NONCE_BYTES :], _value_aad(header, context)
        )
    except InvalidTag:
        raise DecryptionError(f"value for {context} does not decrypt (tampered or moved)") from None


def blind_index(ring: Keyring, normalized: str) -> str:
    """Keyed HMAC of a normalized identifier, so equal numbers can be found without storing them."""
    return hmac.new(ring.blind_index_key, normalized.encode(), hashlib.sha256).hexdigest()
