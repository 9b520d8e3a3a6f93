"""Keyring changes for rotation (pure, on files): new keys, atomic replacement, and a running
server's view of a keyring file that changes under it."""

from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path

import pytest

from riskassess.core import crypto
from riskassess.core.crypto import Keyring, KeyringError
from riskassess.core.keys import DataKey, KeyringFile, Vault


def test_new_kek_keeps_the_old_ones_and_the_blind_index_key() -> None:
    ring = Keyring.generate()
    rotated, kek_id = ring.with_new_kek(activate=True)
    assert rotated.active_kek_id == kek_id != ring.active_kek_id
    assert rotated.keks[ring.active_kek_id] == ring.keks[ring.active_kek_id]
    assert rotated.blind_index_key == ring.blind_index_key
    staged, staged_id = ring.with_new_kek(activate=False)
    assert staged.active_kek_id == ring.active_kek_id and staged_id in staged.keks
    assert staged.with_active(staged_id).active_kek_id == staged_id
    with pytest.raises(KeyringError):
        ring.with_active("kek-nonexistent")


def test_retiring_removes_only_an_inactive_key() -> None:
    ring, new_id = Keyring.generate().with_new_kek(activate=True)
    old_id = next(k for k in ring.keks if k != new_id)
    assert set(ring.without_kek(old_id).keks) == {new_id}
    with pytest.raises(KeyringError, match="active"):
        ring.without_kek(new_id)


def test_replace_file_is_atomic_private_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)
    rotated, _ = ring.with_new_kek(activate=True)
    rotated.replace_file(path)
    assert Keyring.load(path) == rotated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_replace_file_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)

    def broken_replace(_src: object, _dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyringError, match="could not be replaced"):
        ring.with_new_kek(activate=True)[0].replace_file(path)
    monkeypatch.undo()
    assert Keyring.load(path) == ring
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_keyring_file_follows_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)
    served = KeyringFile(path)
    assert served.current() == ring
    rotated, kek_id = ring.with_new_kek(activate=True)
    rotated.replace_file(path)
    assert served.current().active_kek_id == kek_id  # noticed by one stat, no restart


def test_unknown_kek_makes_the_vault_reread_the_keyring(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)
    served = KeyringFile(path)
    rotated, _ = ring.with_new_kek(activate=True)
    key_id, key = uuid.uuid4(), crypto.new_data_key()
    kek_id, wrapped = crypto.wrap_data_key(rotated, key_id, key)
    rotated.replace_file(path)
    vault = Vault(ring, reload=served.refresh)  # a vault made before the file changed
    stored = DataKey(id=key_id, kek_id=kek_id, wrapped_key=wrapped)
    assert vault._unwrap(stored) == key
    assert vault.ring.active_kek_id == rotated.active_kek_id


def test_a_changed_file_with_another_blind_index_key_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    ring.save_new(path)
    served = KeyringFile(path)
    Keyring.generate().replace_file(path)  # someone copied another installation's keyring
    with caplog.at_level(logging.ERROR):
        assert served.current() == ring
    assert "blind-index key" in caplog.text
    path.write_text("not json")
    with caplog.at_level(logging.ERROR):
        assert served.current() == ring
    assert "not loaded" in caplog.text
