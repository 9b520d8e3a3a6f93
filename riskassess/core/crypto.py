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
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
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


class UnknownKeyError(DecryptionError):
    """A data key is wrapped by a key-encryption key this keyring does not hold (yet): after a
    rotation a running server re-reads the keyring file and tries once more."""


@dataclass(frozen=True)
class Keyring:
    active_kek_id: str
    keks: dict[str, bytes]
    blind_index_key: bytes
    # Ed25519 private key (32 raw bytes) that signs audit checkpoints and prune records.
    # Optional so that keyrings written before signed checkpoints still load.
    audit_signing_key: bytes | None = None

    @classmethod
    def generate(cls) -> Keyring:
        kek_id = "kek-" + secrets.token_hex(4)
        return cls(
            active_kek_id=kek_id,
            keks={kek_id: AESGCM.generate_key(bit_length=256)},
            blind_index_key=secrets.token_bytes(_KEY_BYTES),
            audit_signing_key=secrets.token_bytes(_KEY_BYTES),
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
            signing = raw.get("audit_signing_key")
            ring = cls(
                active_kek_id=str(raw["active_kek_id"]),
                keks=keks,
                blind_index_key=base64.b64decode(raw["blind_index_key"], validate=True),
                audit_signing_key=(
                    None if signing is None else base64.b64decode(signing, validate=True)
                ),
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
            or (ring.audit_signing_key is not None and len(ring.audit_signing_key) != _KEY_BYTES)
        ):
            raise KeyringError(f"The keyring at {path} holds a key of the wrong length.")
        return ring

    def _payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "format": KEYRING_FORMAT,
            "active_kek_id": self.active_kek_id,
            "keks": {k: base64.b64encode(v).decode() for k, v in self.keks.items()},
            "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
        }
        if self.audit_signing_key is not None:
            payload["audit_signing_key"] = base64.b64encode(self.audit_signing_key).decode()
        return payload

    def audit_signer(self) -> Ed25519PrivateKey:
        """The key that signs audit checkpoints and prune records."""
        if self.audit_signing_key is None:
            raise KeyringError(
                "The keyring has no audit signing key (it was made before signed audit "
                "checkpoints). Add one with `riskassess audit add-signing-key`."
            )
        return Ed25519PrivateKey.from_private_bytes(self.audit_signing_key)

    def with_audit_signing_key(self) -> Keyring:
        """A copy holding a new audit signing key, for a keyring made before there was one."""
        if self.audit_signing_key is not None:
            raise KeyringError("The keyring already holds an audit signing key; it was kept.")
        return replace(self, audit_signing_key=secrets.token_bytes(_KEY_BYTES))

    def save_new(self, path: Path) -> None:
        """Write the keyring to a new file readable by its owner only; never overwrite."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(
                f"A keyring already exists at {path}; it was not overwritten."
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self._payload(), handle, indent=2)
            handle.write("\n")

    def replace_file(self, path: Path) -> None:
        """Replace an existing keyring file atomically: a private temporary file beside it,
        flushed to disk, then renamed over it. A reader sees the old or the new file, never
        half of one; a crash leaves the old file (and perhaps a stray temporary file)."""
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self._payload(), handle, indent=2)
                    handle.write("\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # make the rename itself durable
            finally:
                os.close(directory)
        except OSError as exc:
            raise KeyringError(
                f"The keyring at {path} could not be replaced: {exc.strerror}."
            ) from None

    def with_new_kek(self, *, activate: bool) -> tuple[Keyring, str]:
        """A copy holding one more key-encryption key (active or only staged); old keys stay,
        because data keys wrapped by them must still unwrap until they are re-wrapped."""
        kek_id = "kek-" + secrets.token_hex(4)
        while kek_id in self.keks:
            kek_id = "kek-" + secrets.token_hex(4)
        keks = {**self.keks, kek_id: AESGCM.generate_key(bit_length=256)}
        ring = replace(self, keks=keks, active_kek_id=kek_id if activate else self.active_kek_id)
        return ring, kek_id

    def with_active(self, kek_id: str) -> Keyring:
        if kek_id not in self.keks:
            raise KeyringError(f"The keyring holds no key {kek_id!r}.")
        return replace(self, active_kek_id=kek_id)

    def without_kek(self, kek_id: str) -> Keyring:
        """A copy without one key (retired after a rotation); never the active one."""
        if kek_id == self.active_kek_id:
            raise KeyringError(f"Key {kek_id} is the active key and cannot be removed.")
        return replace(self, keks={k: v for k, v in self.keks.items() if k != kek_id})


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
        raise UnknownKeyError(f"data key {data_key_id} is wrapped by key {kek_id}, not in keyring")
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


class Unsealer:
    """Opens values sealed under one data key, with one AES-GCM object for all of them: for
    bulk reads (the follow-up statistics open every fact of a period). Same checks as
    `unseal`: format, key id and the value's context."""

    def __init__(self, data_key_id: uuid.UUID, data_key: bytes) -> None:
        self._header = bytes([FORMAT_VERSION]) + data_key_id.bytes
        self._aead = AESGCM(data_key)

    def open(self, blob: bytes, context: str) -> bytes:
        if blob[:_HEADER_BYTES] != self._header or len(blob) < _HEADER_BYTES + _NONCE_BYTES:
            sealed_key_id(blob)  # an unknown format or a short value is refused here
            raise DecryptionError(f"value for {context} was sealed under another data key")
        nonce = blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
        try:
            return self._aead.decrypt(
                nonce, blob[_HEADER_BYTES + _NONCE_BYTES :], _value_aad(self._header, context)
            )
        except InvalidTag:
            raise DecryptionError(
                f"value for {context} does not decrypt (tampered or moved)"
            ) from None


def unseal(data_key_id: uuid.UUID, data_key: bytes, blob: bytes, context: str) -> bytes:
    return Unsealer(data_key_id, data_key).open(blob, context)


def blind_index(ring: Keyring, normalized: str) -> str:
    """Keyed HMAC of a normalized identifier, so equal numbers can be found without storing them."""
    return hmac.new(ring.blind_index_key, normalized.encode(), hashlib.sha256).hexdigest()
