"""Per-case data keys: creating them, unwrapping them once per unit of work, and sealing
values. Views never see this module; services use a Vault handed to them."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from riskassess.core import crypto
from riskassess.core.db import Base, UTCDateTime, new_id, utcnow


class DataKey(Base):
    """One case's data key, stored only wrapped by a key-encryption key from the keyring.
    Deleting the row makes everything sealed under it unreadable (crypto-shredding)."""

    __tablename__ = "data_key"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kek_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Vault:
    """The keyring plus the data keys unwrapped during one request or command."""

    def __init__(self, ring: crypto.Keyring) -> None:
        self.ring = ring
        self._open: dict[uuid.UUID, bytes] = {}

    def create_data_key(self, session: Session) -> DataKey:
        key_id = new_id()
        plain = crypto.new_data_key()
        kek_id, wrapped = crypto.wrap_data_key(self.ring, key_id, plain)
        row = DataKey(id=key_id, kek_id=kek_id, wrapped_key=wrapped, created_dt=utcnow())
        session.add(row)
        session.flush()  # the case row that refers to it is inserted in a later flush
        self._open[key_id] = plain
        return row

    def _key(self, session: Session, key_id: uuid.UUID) -> bytes:
        plain = self._open.get(key_id)
        if plain is None:
            row = session.get(DataKey, key_id)
            if row is None:
                raise crypto.DecryptionError(f"data key {key_id} no longer exists")
            plain = crypto.unwrap_data_key(self.ring, row.id, row.kek_id, row.wrapped_key)
            self._open[key_id] = plain
        return plain

    def seal_json(
        self, session: Session, key_id: uuid.UUID, value: Any, table: str, column: str, row: object
    ) -> bytes:
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return crypto.seal(key_id, self._key(session, key_id), plaintext, f"{table}/{column}/{row}")

    def open_json(
        self, session: Session, key_id: uuid.UUID, blob: bytes, table: str, column: str, row: object
    ) -> Any:
        plaintext = crypto.unseal(
            key_id, self._key(session, key_id), blob, f"{table}/{column}/{row}"
        )
        return json.loads(plaintext)

    def blind_index(self, normalized: str) -> str:
        return crypto.blind_index(self.ring, normalized)
