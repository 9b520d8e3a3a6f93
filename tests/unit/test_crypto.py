from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from riskassess.core import crypto
from riskassess.core.crypto import DecryptionError, Keyring, KeyringError


def test_seal_round_trip_and_format() -> None:
    key_id, key = uuid.uuid4(), crypto.new_data_key()
    blob = crypto.seal(key_id, key, b"Fiktiv text", "case_file/identity/1")
    assert blob[0] == crypto.FORMAT_VERSION
    assert crypto.sealed_key_id(blob) == key_id
    assert b"Fiktiv" not in blob
    assert crypto.unseal(key_id, key, blob, "case_file/identity/1") == b"Fiktiv text"


def test_value_moved_to_another_row_fails() -> None:
    key_id, key = uuid.uuid4(), crypto.new_data_key()
    blob = crypto.seal(key_id, key, b"x", "case_file/identity/1")
    with pytest.raises(DecryptionError):
        crypto.unseal(key_id, key, blob, "case_file/identity/2")
    with pytest.raises(DecryptionError):
        crypto.unseal(key_id, key, blob, "assessment/content/1")


def test_flipped_byte_and_wrong_key_fail() -> None:
    key_id, key = uuid.uuid4(), crypto.new_data_key()
    blob = bytearray(crypto.seal(key_id, key, b"x", "t/c/1"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        crypto.unseal(key_id, key, bytes(blob), "t/c/1")
    good = crypto.seal(key_id, key, b"x", "t/c/1")
    with pytest.raises(DecryptionError):
        crypto.unseal(key_id, crypto.new_data_key(), good, "t/c/1")
    with pytest.raises(DecryptionError):
        crypto.unseal(uuid.uuid4(), key, good, "t/c/1")


def test_data_key_wrap_round_trip_and_binding() -> None:
    ring = Keyring.generate()
    key_id, key = uuid.uuid4(), crypto.new_data_key()
    kek_id, wrapped = crypto.wrap_data_key(ring, key_id, key)
    assert kek_id == ring.active_kek_id
    assert crypto.unwrap_data_key(ring, key_id, kek_id, wrapped) == key
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(ring, uuid.uuid4(), kek_id, wrapped)
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(Keyring.generate(), key_id, kek_id, wrapped)


def test_keyring_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keyring.load(path) == ring
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.generate().save_new(path)
    assert Keyring.load(path) == ring


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "No keyring"),
        ("not json", "cannot be read"),
        (json.dumps({"format": 1}), "malformed"),
        (json.dumps({"format": 9}), "unknown format"),
        (
            json.dumps(
                {
                    "format": 1,
                    "active_kek_id": "a",
                    "keks": {"b": "AAAA"},
                    "blind_index_key": "AAAA",
                }
            ),
            "active key",
        ),
        (
            json.dumps(
                {
                    "format": 1,
                    "active_kek_id": "a",
                    "keks": {"a": "AAAA"},
                    "blind_index_key": "AAAA",
                }
            ),
            "wrong length",
        ),
    ],
)
def test_broken_keyrings_give_clear_messages(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "keyring.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeyringError, match=message):
        Keyring.load(path)


def test_blind_index_is_keyed_and_stable() -> None:
    ring = Keyring.generate()
    assert crypto.blind_index(ring, "201201019815") == crypto.blind_index(ring, "201201019815")
    assert crypto.blind_index(ring, "201201019815") != crypto.blind_index(
        Keyring.generate(), "201201019815"
    )
    assert "201201019815" not in crypto.blind_index(ring, "201201019815")
