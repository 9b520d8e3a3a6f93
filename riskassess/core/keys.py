"""Per-case data keys: creating them, unwrapping them once per unit of work, sealing values,
re-wrapping them under a new key-encryption key, and destroying them at gallring.

Views never see this module; services use a Vault handed to them. A value that does not
decrypt raises `UnreadableData`, which names what failed (table, column, row, data key) but
never the content, so the web layer can audit it and show an error page.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, String, and_, bindparam, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.orm.util import identity_key

from riskassess.core import audit, crypto
from riskassess.core.db import Base, UTCDateTime, new_id, transaction, utcnow

log = logging.getLogger(__name__)


class DataKey(Base):
    """One case's data key, stored only wrapped by a key-encryption key from the keyring.
    Destroying it (gallring) empties `wrapped_key` and sets `destroyed_dt`: from then on
    everything sealed under it is unreadable, even before its rows are deleted."""

    __tablename__ = "data_key"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kek_id: Mapped[str] = mapped_column(String(40), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    destroyed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())


_LOADED_KEYS = "riskassess.keys.loaded"


def keep_loaded(session: Session, row: DataKey | None) -> None:
    """Keep a data key row that came with another query (the case it belongs to) for the
    session's life, so that `Vault` finds it in the identity map instead of querying for it:
    the identity map itself holds its objects only weakly."""
    if row is not None:
        session.info.setdefault(_LOADED_KEYS, []).append(row)


class UnreadableData(crypto.DecryptionError):
    """Stored data that must not be shown: a data key that does not unwrap, or a value that
    does not decrypt. Carries what the audit entry needs, and nothing personal."""

    def __init__(
        self,
        message: str,
        *,
        action: str,
        object_type: str,
        object_id: object,
        details: Mapping[str, str],
    ) -> None:
        super().__init__(message)
        self.action = action
        self.object_type = object_type
        self.object_id = str(object_id)
        self.details = dict(details)


class Vault:
    """The keyring plus the data keys unwrapped during one request or command.

    `reload`, when given, returns the keyring as the file holds it now: a data key wrapped by a
    key this vault does not know (a rotation started after the server read its keyring) makes
    the vault ask once for the newer keyring before it gives up.
    """

    def __init__(
        self, ring: crypto.Keyring, reload: Callable[[], crypto.Keyring] | None = None
    ) -> None:
        self.ring = ring
        self._reload = reload
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

    def _unwrap(self, row: DataKey) -> bytes:
        try:
            return crypto.unwrap_data_key(self.ring, row.id, row.kek_id, row.wrapped_key)
        except crypto.UnknownKeyError:
            if self._reload is None:
                raise
            newer = self._reload()
            if newer is self.ring:
                raise
            self.ring = newer
            return crypto.unwrap_data_key(self.ring, row.id, row.kek_id, row.wrapped_key)

    def _key(
        self, session: Session, key_id: uuid.UUID, table: str, column: str, row: object
    ) -> bytes:
        plain = self._open.get(key_id)
        if plain is not None:
            return plain

        def unreadable(reason: str, message: str) -> UnreadableData:
            return UnreadableData(
                message,
                action="crypto:data_key:unwrap",
                object_type="data_key",
                object_id=key_id,
                details={"table": table, "column": column, "row": str(row), "reason": reason},
            )

        stored = session.get(DataKey, key_id)
        if stored is None:
            raise unreadable("missing", f"data key {key_id} no longer exists")
        if stored.destroyed_dt is not None:
            raise unreadable("destroyed", f"data key {key_id} was destroyed at gallring")
        try:
            plain = self._unwrap(stored)
        except crypto.UnknownKeyError as exc:
            raise unreadable("unknown_kek", str(exc)) from None
        except crypto.DecryptionError as exc:
            raise unreadable("does_not_unwrap", str(exc)) from None
        self._open[key_id] = plain
        return plain

    def seal_json(
        self, session: Session, key_id: uuid.UUID, value: Any, table: str, column: str, row: object
    ) -> bytes:
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        key = self._key(session, key_id, table, column, row)
        return crypto.seal(key_id, key, plaintext, f"{table}/{column}/{row}")

    def open_json(
        self, session: Session, key_id: uuid.UUID, blob: bytes, table: str, column: str, row: object
    ) -> Any:
        return self.json_opener(session, key_id, table, column, row)(blob, row)

    def json_opener(
        self, session: Session, key_id: uuid.UUID, table: str, column: str, first_row: object
    ) -> Callable[[bytes, object], Any]:
        """A function that opens the JSON values of one column sealed under one key, row by
        row, with the key unwrapped and its cipher made once (`first_row` names the row in
        the audit entry should the key itself fail)."""
        opener = crypto.Unsealer(key_id, self._key(session, key_id, table, column, first_row))

        def open_value(blob: bytes, row: object) -> Any:
            try:
                plaintext = opener.open(blob, f"{table}/{column}/{row}")
            except crypto.DecryptionError as exc:
                raise UnreadableData(
                    str(exc),
                    action="crypto:value:decrypt",
                    object_type=table,
                    object_id=row,
                    details={"column": column, "reason": _value_failure(blob, key_id)},
                ) from None
            return json.loads(plaintext)

        return open_value

    def preload(self, session: Session, key_ids: list[uuid.UUID]) -> None:
        """Fetch many data keys in one query (a page of cases), so a list costs a fixed number
        of queries whatever its length. Keys that fail are left for `_key` to report."""
        wanted = [k for k in set(key_ids) if k not in self._open]
        if not wanted:
            return
        # Rows already loaded with their cases (`keep_loaded`) need no query.
        loaded = [session.identity_map.get(identity_key(DataKey, k)) for k in wanted]
        rows: list[DataKey] = [row for row in loaded if isinstance(row, DataKey)]
        missing = [k for k, row in zip(wanted, loaded, strict=True) if row is None]
        if missing:
            rows.extend(session.scalars(select(DataKey).where(DataKey.id.in_(missing))))
        for stored in rows:
            if stored.destroyed_dt is None:
                try:
                    self._open[stored.id] = self._unwrap(stored)
                except crypto.DecryptionError:
                    continue

    def blind_index(self, normalized: str) -> str:
        return crypto.blind_index(self.ring, normalized)


def _value_failure(blob: bytes, key_id: uuid.UUID) -> str:
    """Why a value did not decrypt, as far as can be told without the right key."""
    try:
        sealed_under = crypto.sealed_key_id(blob)
    except crypto.DecryptionError:
        return "unknown_format"
    if sealed_under != key_id:
        return "sealed_under_another_data_key"  # copied from another case
    return "does_not_decrypt"  # changed bytes, or moved to another row, column or table


class KeyringFile:
    """The keyring file as a long-running server sees it.

    A server loads the keyring at start-up. `riskassess keys rotate` replaces the file
    atomically while servers keep running, so every request looks at the file's identity
    (inode, modification time, size: one stat) and re-reads it when it changed; and a data key
    wrapped by an unknown key forces a re-read (`refresh`). A changed file that cannot be read,
    or that holds another blind-index key (which would silently break every search), is
    refused: the server keeps the keys it had and logs why.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._read_stamp()
        self._ring = crypto.Keyring.load(path)

    def _read_stamp(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def current(self) -> crypto.Keyring:
        stamp = self._read_stamp()
        if stamp is not None and stamp != self._stamp:
            self._reload(force=False)
        return self._ring

    def refresh(self) -> crypto.Keyring:
        """Re-read the file now (a data key named a key-encryption key this ring lacks)."""
        self._reload(force=True)
        return self._ring

    def _reload(self, *, force: bool) -> None:
        with self._lock:
            stamp = self._read_stamp()
            if stamp is None or (stamp == self._stamp and not force):
                return
            self._stamp = stamp  # a refused file is reported once, not on every request
            try:
                ring = crypto.Keyring.load(self.path)
            except crypto.KeyringError as exc:
                log.error("Keyring file changed but was not loaded, keeping the old keys: %s", exc)
                return
            if ring.blind_index_key != self._ring.blind_index_key:
                log.error(
                    "Keyring file %s holds another blind-index key; not loaded, keeping the old "
                    "keys. Restore the right keyring file.",
                    self.path,
                )
                return
            if ring != self._ring:
                log.info(
                    "Keyring re-read from %s: active key %s, %d key(s).",
                    self.path,
                    ring.active_kek_id,
                    len(ring.keks),
                )
            self._ring = ring


def check_keyring(session: Session, ring: crypto.Keyring, where: Path) -> None:
    """Refuse a keyring that does not belong to this database: every key-encryption key that
    wraps a data key must be in the ring, and must unwrap one of its data keys."""
    live = DataKey.destroyed_dt.is_(None)
    kek_ids = sorted(session.scalars(select(DataKey.kek_id).where(live).distinct()))
    missing = [k for k in kek_ids if k not in ring.keks]
    if missing:
        raise crypto.KeyringError(
            f"The keyring at {where} lacks key(s) {', '.join(missing)}, which wrap data keys in "
            "this database: it is the wrong keyring, or a copy older than the last key rotation."
        )
    for kek_id in kek_ids:
        # A few samples: one damaged data key is reported when it is used (and audited); only
        # a key that unwraps none of them means the keyring is not this database's.
        samples = session.scalars(
            select(DataKey).where(live, DataKey.kek_id == kek_id).limit(_KEYRING_SAMPLES)
        ).all()
        if not any(_unwraps(ring, sample) for sample in samples):
            raise crypto.KeyringError(
                f"Key {kek_id} in the keyring at {where} does not unwrap this database's data "
                "keys: the keyring does not belong to this database."
            )


_KEYRING_SAMPLES = 5


def _unwraps(ring: crypto.Keyring, stored: DataKey) -> bool:
    try:
        crypto.unwrap_data_key(ring, stored.id, stored.kek_id, stored.wrapped_key)
    except crypto.DecryptionError:
        return False
    return True


def data_keys_per_kek(session: Session) -> dict[str, int]:
    """How many live (not destroyed) data keys each key-encryption key wraps."""
    rows = session.execute(
        select(DataKey.kek_id, func.count())
        .where(DataKey.destroyed_dt.is_(None))
        .group_by(DataKey.kek_id)
    ).all()
    return {kek_id: count for kek_id, count in rows}


def destroyed_data_keys(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.destroyed_dt.is_not(None))
        )
        or 0
    )


@dataclass
class RewrapResult:
    rewrapped: int = 0
    batches: int = 0
    failed: list[uuid.UUID] = field(default_factory=list)


def rewrap_data_keys(
    factory: sessionmaker[Session],
    ring: crypto.Keyring,
    actor: audit.Actor,
    *,
    batch_size: int = 2000,
    progress: Callable[[RewrapResult], None] | None = None,
) -> RewrapResult:
    """Re-wrap every live data key not yet under the ring's active key, one committed batch at
    a time, so an interrupted run loses at most one batch and a new run continues where it
    stopped. The data itself is never re-encrypted.

    Each batch's rows are locked (PostgreSQL; SQLite serializes writers anyway) and each update
    names the key-encryption key it replaces, so a data key destroyed meanwhile at gallring is
    never brought back. A data key that does not unwrap is audited and left as it is.
    """
    result = RewrapResult()
    after: uuid.UUID | None = None
    target = ring.active_kek_id
    stmt = (
        update(DataKey.__table__)  # type: ignore[arg-type]
        .where(
            and_(
                DataKey.__table__.c.id == bindparam("key_id"),
                DataKey.__table__.c.kek_id == bindparam("old_kek_id"),
                DataKey.__table__.c.destroyed_dt.is_(None),
            )
        )
        .values(kek_id=bindparam("new_kek_id"), wrapped_key=bindparam("new_wrapped"))
    )
    while True:
        with transaction(factory) as session:
            query = (
                select(DataKey.id, DataKey.kek_id, DataKey.wrapped_key)
                .where(DataKey.kek_id != target, DataKey.destroyed_dt.is_(None))
                .order_by(DataKey.id)
                .limit(batch_size)
                .with_for_update()
            )
            if after is not None:
                query = query.where(DataKey.id > after)
            rows = session.execute(query).all()
            if not rows:
                break
            changes = []
            for key_id, kek_id, wrapped in rows:
                try:
                    plain = crypto.unwrap_data_key(ring, key_id, kek_id, wrapped)
                except crypto.DecryptionError:
                    result.failed.append(key_id)
                    audit.append(
                        session,
                        actor,
                        "crypto:data_key:unwrap",
                        object_type="data_key",
                        object_id=key_id,
                        outcome=audit.Outcome.FAILURE,
                        details={"during": "rewrap", "kek": kek_id},
                    )
                    continue
                new_kek_id, new_wrapped = crypto.wrap_data_key(ring, key_id, plain)
                changes.append(
                    {
                        "key_id": key_id,
                        "old_kek_id": kek_id,
                        "new_kek_id": new_kek_id,
                        "new_wrapped": new_wrapped,
                    }
                )
            if changes:
                session.connection().execute(stmt, changes)
                audit.append(
                    session,
                    actor,
                    "crypto:data_key:rewrap",
                    object_type="kek",
                    object_id=target,
                    details={"count": len(changes)},
                )
            after = rows[-1][0]
            result.rewrapped += len(changes)
            result.batches += 1
        if progress is not None:
            progress(result)
    return result
