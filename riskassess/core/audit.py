"""The append-only, hash-chained audit log: append, verify, signed checkpoints, yearly segments.

Each entry stores the exact bytes that were hashed (`body`): hash = SHA-256 over the previous
hash, a newline and the body. Verification therefore never rebuilds canonical JSON; it
recomputes SHA-256 and lets the database compare the indexed columns with the body, because
every body starts with those columns written in a fixed order and a fixed format
(`indexed_prefix`), so the database can build the expected prefix from the columns.

Appends are serialized: SQLite transactions start with BEGIN IMMEDIATE (core/db.py); on
PostgreSQL a transaction-scoped advisory lock is taken before the head is read, in READ
COMMITTED, where each statement sees what was committed before it started. Under REPEATABLE
READ the head would come from a snapshot older than the lock, so `append` refuses to run there.

Outside the database, `checkpoint_line` signs the head (Ed25519, key in the keyring); a file of
such lines reveals a truncated, rolled-back or rebuilt log. An old year can be pruned leaving a
signed `AuditPrune` record (seq range, first previous hash, last hash, count), so the rest still
verifies and the record proves exactly what was removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    delete,
    event,
    extract,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from riskassess.core.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
BODY_VERSION = 2
# Entries are kept at least this many full calendar years before a year may be pruned.
RETENTION_YEARS = 5
# Any constant works; it only has to be the same for every writer of this database.
_PG_AUDIT_LOCK = 0x72_69_73_6B

# What may appear in the indexed columns. Restricting them keeps the body prefix free of JSON
# escapes and of the "|" separator, so the database can rebuild it from the columns.
_TAG = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*\Z")
_OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_]*\Z")
_OBJECT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}\Z")
_AT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class Outcome:
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


OUTCOMES = frozenset({Outcome.SUCCESS, Outcome.DENIED, Outcome.FAILURE})


@dataclass(frozen=True)
class Actor:
    """Who acts: enough to answer "who, in which role and unit" without touching a feature."""

    user_id: uuid.UUID | None
    username: str
    role: str
    unit_id: uuid.UUID | None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system", unit_id=None)


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCaseRef(Base):
    """Which cases an entry that showed several of them (a case list, a search) names in its
    details. An index derived from the hashed body, so that "who has seen this case" needs no
    scan of every list entry's text; verification does not depend on it."""

    __tablename__ = "audit_case_ref"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_entry.seq", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


# The details key under which an entry names the cases it showed.
CASES_SHOWN = "cases"


def _index_cases(session: Session, entry: AuditEntry, details: Mapping[str, Any] | None) -> None:
    shown = (details or {}).get(CASES_SHOWN)
    if isinstance(shown, list) and shown:
        session.add_all(AuditCaseRef(seq=entry.seq, case_id=str(c)) for c in dict.fromkeys(shown))
        session.flush()


class AuditPrune(Base):
    """The signed record left behind when the oldest entries are deleted (log retention).

    The removed entries were exactly `first_seq`..`last_seq`; the first of them linked to
    `first_prev_hash` and the last had `last_hash`, which commits to all of them through the
    chain. Anyone holding a copy of the removed entries can check them against this record.
    """

    __tablename__ = "audit_prune"

    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    first_prev_hash: Mapped[str] = mapped_column(String(64))
    last_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(BigInteger)
    before_year: Mapped[int] = mapped_column(Integer)
    first_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    last_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    pruned_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(100))


class AuditError(Exception):
    """An audit operation is refused; the message is for the operator."""


# --- writing ---------------------------------------------------------------------------------


def canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest()


def format_at(moment: datetime) -> str:
    """The time as written in a body: UTC, always six fractional digits (SQLite's own form)."""
    return moment.astimezone(UTC).strftime(_AT_FORMAT)


def indexed_prefix(
    seq: int,
    at: str,
    actor_id: uuid.UUID | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    outcome: str,
) -> str:
    """The start of every body: the indexed columns as one string, in a fixed order and in the
    form SQLite stores them (`None` as nothing, a UUID as 32 hex digits). The database rebuilds
    it from the columns with one printf/format call (`_VERIFY_SQL`): keep the two in step."""
    actor = "" if actor_id is None else actor_id.hex
    columns = "|".join((str(seq), at, actor, action, object_type or "", object_id or "", outcome))
    return f'{{"v":{BODY_VERSION},"columns":"{columns}"'


def _check_columns(
    action: str, object_type: str | None, object_id: str | None, outcome: str
) -> None:
    if not _TAG.match(action):
        raise ValueError(f"audit action {action!r} is not a scope:object:verb tag")
    if object_type is not None and not _OBJECT_TYPE.match(object_type):
        raise ValueError(f"audit object type {object_type!r} is not a lower-case word")
    if object_id is not None and not _OBJECT_ID.match(object_id):
        raise ValueError("audit object id must be an id (letters, digits, . _ : @ -)")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} is not one of {sorted(OUTCOMES)}")


def make_entry(
    seq: int,
    prev_hash: str,
    now: datetime,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    outcome: str = Outcome.SUCCESS,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Build (not add) the entry that follows `prev_hash`. `append` is the way to write one;
    this is public for tools that build whole chains (benchmarks, tests)."""
    oid = None if object_id is None else str(object_id)
    _check_columns(action, object_type, oid, outcome)
    now = now.astimezone(UTC)
    prefix = indexed_prefix(seq, format_at(now), actor.user_id, action, object_type, oid, outcome)
    rest = canonical(
        {
            "actor_name": actor.username,
            "role": actor.role,
            "unit": None if actor.unit_id is None else str(actor.unit_id),
            "details": dict(details or {}),
        }
    )
    body = prefix + "," + rest[1:]
    return AuditEntry(
        seq=seq,
        created_dt=now,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=oid,
        outcome=outcome,
        body=body,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, body),
    )


def _lock_head(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
    isolation = session.execute(
        text("SELECT pg_advisory_xact_lock(:key), current_setting('transaction_isolation')"),
        {"key": _PG_AUDIT_LOCK},
    ).one()[1]
    if isolation != "read committed":
        # Under a snapshot isolation the head read below would predate the lock.
        raise AuditError(
            f"audit entries must be appended in READ COMMITTED, not {isolation.upper()}"
        )


def _head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest entry, or of the last pruned one if every entry was pruned."""
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if head is not None:
        return head[0], head[1]
    pruned = session.execute(
        select(AuditPrune.last_seq, AuditPrune.last_hash)
        .order_by(AuditPrune.last_seq.desc())
        .limit(1)
    ).first()
    return (pruned[0], pruned[1]) if pruned is not None else (0, GENESIS_HASH)


_DEFERRED = "riskassess.audit.deferred"
_PENDING = "riskassess.audit.pending"
_KEPT = "riskassess.audit.kept"


@dataclass(frozen=True)
class _Pending:
    at: datetime
    actor: Actor
    action: str
    object_type: str | None
    object_id: object | None
    outcome: str
    details: Mapping[str, Any] | None
    keep_on_rollback: bool = False


def append(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    outcome: str = Outcome.SUCCESS,
    details: Mapping[str, Any] | None = None,
    keep_on_rollback: bool = False,
) -> AuditEntry | None:
    """Append one entry in the caller's transaction. `details` must hold no personal plaintext.

    In a session made by `defer_appends` (a web request) the entry is only recorded here and
    written by the commit itself, so the chain's lock is held for the few statements of the
    commit instead of the whole request, page rendering included. It is still written in the
    same transaction as the change: if it cannot be written, nothing is committed. Returns the
    entry when it was written at once, None when it waits for the commit.

    `keep_on_rollback` is for refusals and failures: in a deferred session such an entry
    outlives a rollback of the request, and the request's end writes it in a transaction of its
    own (`take_kept`, `write_kept`)."""
    _check_columns(action, object_type, None if object_id is None else str(object_id), outcome)
    if session.info.get(_DEFERRED):
        if not session.in_transaction():
            session.begin()  # so that a rollback, even before any SQL, drops the entry too
        pending = _Pending(
            utcnow(), actor, action, object_type, object_id, outcome, details, keep_on_rollback
        )
        session.info.setdefault(_PENDING, []).append(pending)
        return None
    _lock_head(session)
    seq, prev_hash = _head(session)
    entry = make_entry(
        seq + 1,
        prev_hash,
        utcnow(),
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        details=details,
    )
    session.add(entry)
    session.flush()  # the entry's row first: the index rows refer to it
    _index_cases(session, entry, details)
    return entry


def defer_appends(session: Session) -> None:
    """Let this session's entries wait for its commit (see `append`)."""
    session.info[_DEFERRED] = True


def _write_pending(session: Session) -> None:
    # Left in place until the commit succeeds: a commit that fails is rolled back, and the
    # rollback must still find the refusals and failures to keep.
    _write_entries(session, session.info.get(_PENDING, []))


def _committed(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _write_entries(session: Session, pending: Sequence[_Pending]) -> None:
    if not pending:
        return
    _lock_head(session)
    seq, prev_hash = _head(session)
    written: list[tuple[AuditEntry, Mapping[str, Any] | None]] = []
    for item in pending:
        seq += 1
        entry = make_entry(
            seq,
            prev_hash,
            item.at,
            item.actor,
            item.action,
            object_type=item.object_type,
            object_id=item.object_id,
            outcome=item.outcome,
            details=item.details,
        )
        session.add(entry)
        written.append((entry, item.details))
        prev_hash = entry.hash
    session.flush()  # the entries' rows first: the index rows refer to them
    for entry, details in written:
        _index_cases(session, entry, details)


def _forget_pending(session: Session, previous_transaction: Any) -> None:
    """A rollback drops the request's entries, except refusals and failures, which wait in the
    session for `take_kept`. Only the outermost transaction's rollback counts: a savepoint or a
    failed flush rolls back an inner one, and entries are appended after the change they record
    has flushed, so none waits inside a savepoint that fails."""
    if previous_transaction.parent is not None:
        return
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    kept = [item for item in pending if item.keep_on_rollback]
    if kept:
        session.info.setdefault(_KEPT, []).extend(kept)


def take_kept(session: Session) -> list[_Pending]:
    """The kept entries of a rolled-back session, handed over once."""
    kept: list[_Pending] = session.info.pop(_KEPT, [])
    return kept


def write_kept(session: Session, kept: Sequence[_Pending]) -> None:
    """Write kept entries, with the times they were made at, in the caller's transaction (a
    fresh one: the failed request's own is gone)."""
    _write_entries(session, kept)


def install_deferred_appends(factory: sessionmaker[Session]) -> None:
    """Write deferred entries as the first step of every commit of the factory's sessions,
    and drop them when the transaction is rolled back."""
    event.listen(factory, "before_commit", _write_pending)
    event.listen(factory, "after_commit", _committed)
    event.listen(factory, "after_soft_rollback", _forget_pending)


def append_denial(
    session: Session, actor: Actor, action: str, object_type: str, object_id: object | None
) -> None:
    """Record a refused attempt; the caller then answers 403 (or its CLI equivalent)."""
    append(
        session,
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        outcome=Outcome.DENIED,
        keep_on_rollback=True,
    )


_PREFIX_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "outcome")


def entry_fields(body: str) -> dict[str, Any]:
    """The hashed fields of an entry, by name, for display (verification never parses).
    Reads version-2 bodies and the sorted-key bodies written before them."""
    fields: dict[str, Any] = json.loads(body)
    packed = fields.pop("columns", None)
    if isinstance(packed, str):
        values = packed.split("|")
        named: dict[str, Any] = {
            k: (v or None) for k, v in zip(_PREFIX_FIELDS, values, strict=True)
        }
        named["seq"] = int(values[0])
        if named["actor"] is not None:
            named["actor"] = str(uuid.UUID(hex=named["actor"]))
        fields.update(named)
    return fields


# --- signatures ------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a signing key: the start of SHA-256 over its raw bytes."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def _signature_ok(public_key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _stamp(moment: datetime) -> str:
    """A time in checkpoint files and signed messages: ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _checkpoint_message(seq: int, entry_hash: str, at: str) -> bytes:
    return f"riskassess audit checkpoint v1\nseq={seq}\nhash={entry_hash}\nat={at}\n".encode()


def _prune_message(record: AuditPrune) -> bytes:
    return (
        "riskassess audit prune v1\n"
        f"first_seq={record.first_seq}\nlast_seq={record.last_seq}\n"
        f"first_prev_hash={record.first_prev_hash}\nlast_hash={record.last_hash}\n"
        f"count={record.entry_count}\nbefore_year={record.before_year}\n"
        f"first_at={_stamp(record.first_dt)}\nlast_at={_stamp(record.last_dt)}\n"
        f"pruned_at={_stamp(record.pruned_dt)}\n"
    ).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "entry `seq` had hash `hash` at `at`", from line `line` of a file."""

    seq: int
    hash: str
    at: str
    line: int = 0


def head_checkpoint(session: Session) -> Checkpoint:
    """The current head, read after the append lock so no writer is half-way."""
    _lock_head(session)
    seq, entry_hash = _head(session)
    if seq == 0:
        raise AuditError("The audit log is empty; there is nothing to sign.")
    return Checkpoint(seq, entry_hash, _stamp(utcnow()))


def checkpoint_line(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    """One line (JSON) for the checkpoint file: the head, signed."""
    message = _checkpoint_message(checkpoint.seq, checkpoint.hash, checkpoint.at)
    return json.dumps(
        {
            "kind": "checkpoint",
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "at": checkpoint.at,
            "key": key_id(key.public_key()),
            "signature": _sign(key, message),
        },
        separators=(",", ":"),
    )


def prune_line(record: AuditPrune) -> str:
    """One line (JSON) for the checkpoint file: a copy of a prune record, kept outside the DB."""
    return json.dumps(
        {
            "kind": "prune",
            "first_seq": record.first_seq,
            "last_seq": record.last_seq,
            "first_prev_hash": record.first_prev_hash,
            "last_hash": record.last_hash,
            "count": record.entry_count,
            "before_year": record.before_year,
            "first_at": _stamp(record.first_dt),
            "last_at": _stamp(record.last_dt),
            "pruned_at": _stamp(record.pruned_dt),
            "key": record.key_id,
            "signature": record.signature,
        },
        separators=(",", ":"),
    )


class CheckpointFileError(Exception):
    """The checkpoint file cannot be read, or one of its lines is malformed or forged."""


def read_checkpoints(path: Path, public_key: Ed25519PublicKey) -> list[Checkpoint]:
    """Every checkpoint in the file, each with its signature checked. Prune lines are copies
    of records kept in the database; their signatures are checked too."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CheckpointFileError(f"No checkpoint file at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointFileError(f"The checkpoint file {path} cannot be read: {exc}") from None
    expected_key = key_id(public_key)
    found: list[Checkpoint] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            raw = json.loads(line)
            kind, signer, signature = raw["kind"], raw["key"], raw["signature"]
            if kind == "checkpoint":
                seq, entry_hash, at = int(raw["seq"]), str(raw["hash"]), str(raw["at"])
                message = _checkpoint_message(seq, entry_hash, at)
            elif kind == "prune":
                message = _prune_message(_prune_from_line(raw))
            else:
                raise CheckpointFileError(f"{where}: unknown kind {kind!r}.")
        except CheckpointFileError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointFileError(f"{where}: not a checkpoint line.") from None
        if signer != expected_key:
            raise CheckpointFileError(
                f"{where}: signed by key {signer}, not by this keyring's key {expected_key}."
            )
        if not _signature_ok(public_key, str(signature), message):
            raise CheckpointFileError(f"{where}: the signature does not match the line.")
        if kind == "checkpoint":
            found.append(Checkpoint(seq, entry_hash, at, number))
    return found


def _prune_from_line(raw: Mapping[str, Any]) -> AuditPrune:
    return AuditPrune(
        first_seq=int(raw["first_seq"]),
        last_seq=int(raw["last_seq"]),
        first_prev_hash=str(raw["first_prev_hash"]),
        last_hash=str(raw["last_hash"]),
        entry_count=int(raw["count"]),
        before_year=int(raw["before_year"]),
        first_dt=datetime.fromisoformat(raw["first_at"]),
        last_dt=datetime.fromisoformat(raw["last_at"]),
        pruned_dt=datetime.fromisoformat(raw["pruned_at"]),
    )


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    first_seq: int = 1  # the oldest entry still present (after pruned segments)
    pruned: int = 0  # entries removed under signed prune records
    checkpoints: int = 0  # checkpoints compared with the log

    @property
    def ok(self) -> bool:
        return self.problem is None


# The indexed columns rebuilt by the database in the form of `indexed_prefix`, compared with the
# start of the stored body. Done in SQL (one printf/format call per row) because any per-row
# Python beyond hashing roughly doubles the time of a full verification.
_VERIFY_SQL = {
    "sqlite": (
        "SELECT seq, body, prev_hash, hash, instr(body, printf("
        '\'{"v":%d,"columns":"%d|%s|%s|%s|%s|%s|%s"\', '
        "2, seq, created_dt, actor_id, action, object_type, object_id, outcome)) = 1 "
        "FROM audit_entry ORDER BY seq"
    ),
    "postgresql": (
        "SELECT seq, body, prev_hash, hash, starts_with(body, format("
        '\'{"v":%s,"columns":"%s|%s|%s|%s|%s|%s|%s"\', '
        "2, seq, to_char(created_dt AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
        "replace(actor_id::text, '-', ''), action, object_type, object_id, outcome)) "
        "FROM audit_entry ORDER BY seq"
    ),
}


def _legacy_columns_match(session: Session, seq: int, body: str) -> bool:
    """Entries written before bodies started with their indexed columns: parse the JSON.
    A version-2 body whose prefix does not match its columns never passes here."""
    try:
        fields = json.loads(body)
    except ValueError:
        return False
    if not isinstance(fields, dict) or "v" in fields:
        return False  # a current body whose columns were changed
    row = session.execute(select(AuditEntry).where(AuditEntry.seq == seq)).scalar_one()
    return (
        fields.get("seq") == row.seq
        and fields.get("action") == row.action
        and fields.get("object_type") == row.object_type
        and fields.get("object_id") == row.object_id
        and fields.get("outcome") == row.outcome
        and fields.get("actor") == (None if row.actor_id is None else str(row.actor_id))
    )


@dataclass(frozen=True)
class _Start:
    seq: int
    prev_hash: str
    pruned: int
    records: dict[int, AuditPrune]  # by last_seq


def _pruned_start(
    session: Session, public_key: Ed25519PublicKey | None
) -> tuple[_Start | None, str | None]:
    """Where the present log must begin, given the signed prune records (or a problem)."""
    records = list(session.scalars(select(AuditPrune).order_by(AuditPrune.first_seq)))
    seq, prev_hash, pruned = 1, GENESIS_HASH, 0
    if records and public_key is None:
        return None, (
            "the log has pruned segments; checking their signed records needs the keyring's "
            "audit signing key"
        )
    for record in records:
        assert public_key is not None
        name = f"prune record for entries {record.first_seq}..{record.last_seq}"
        if record.key_id != key_id(public_key) or not _signature_ok(
            public_key, record.signature, _prune_message(record)
        ):
            return None, f"the {name} does not carry a valid signature"
        if record.first_seq != seq or record.first_prev_hash != prev_hash:
            return None, f"the {name} does not follow the record before it"
        if record.entry_count != record.last_seq - record.first_seq + 1:
            return None, f"the {name} gives a count that does not fit its range"
        seq, prev_hash = record.last_seq + 1, record.last_hash
        pruned += record.entry_count
    return _Start(seq, prev_hash, pruned, {r.last_seq: r for r in records}), None


def _rows(session: Session, batch: int) -> Iterator[tuple[int, str, str, str, bool]]:
    """Every entry, oldest first, through the driver's own cursor: the ORM and even Core rows
    cost more per row than the hashing itself. On PostgreSQL a server-side cursor, in the
    session's transaction."""
    dialect = session.get_bind().dialect.name
    sql = _VERIFY_SQL.get(dialect)
    if sql is None:
        raise AuditError(f"verification does not support the {dialect} database")
    driver = session.connection().connection.driver_connection
    assert driver is not None
    cursor = driver.cursor(name="audit_verify") if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()  # also after an early stop


def verify_chain(
    session: Session,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    public_key: Ed25519PublicKey | None = None,
    batch: int = 10_000,
) -> VerifyResult:
    """Walk the whole chain in order; report the first entry whose hash, link, columns or
    checkpoint fail. `checkpoints` must already have had their signatures checked
    (`read_checkpoints`); `public_key` checks the records of pruned segments."""
    start, problem = _pruned_start(session, public_key)
    if start is None:
        return VerifyResult(0, None, problem)
    pending = sorted(checkpoints, key=lambda c: c.seq)
    matched: Checkpoint | None = None
    compared = 0
    for cp in [c for c in pending if c.seq < start.seq]:
        record = start.records.get(cp.seq)
        if record is not None and record.last_hash != cp.hash:
            return VerifyResult(
                0, cp.seq, f"the prune record disagrees with checkpoint line {cp.line}"
            )
        compared += 1
    pending = [c for c in pending if c.seq >= start.seq]
    at_checkpoint = iter(pending)
    next_cp = next(at_checkpoint, None)
    next_seq = -1 if next_cp is None else next_cp.seq

    def result(bad: int | None = None, why: str | None = None) -> VerifyResult:
        return VerifyResult(expected - start.seq, bad, why, start.seq, start.pruned, compared)

    expected, prev_hash = start.seq, start.prev_hash
    sha256 = hashlib.sha256
    for seq, body, prev, digest, columns_ok in _rows(session, batch):
        if seq != expected:
            if seq < expected:
                return result(seq, "is inside a segment its prune record says was removed")
            return result(seq, f"entry {expected} is missing before {seq}")
        if prev != prev_hash:
            return result(seq, "does not link to the entry before it")
        if sha256(prev.encode() + b"\n" + body.encode()).hexdigest() != digest:
            return result(seq, "content does not match its hash")
        if not columns_ok and not _legacy_columns_match(session, seq, body):
            return result(seq, "indexed columns differ from the hashed body")
        if seq == next_seq:
            assert next_cp is not None
            if digest != next_cp.hash:
                since = "" if matched is None else f", after entry {matched.seq} which matched"
                return result(
                    seq,
                    f"differs from the checkpoint of {next_cp.at} (line {next_cp.line}): "
                    f"the log was rewritten at or before this entry{since}",
                )
            matched, compared = next_cp, compared + 1
            next_cp = next(at_checkpoint, None)
            while next_cp is not None and next_cp.seq == seq:  # the same head signed twice
                if next_cp.hash != digest:
                    return result(seq, f"differs from the checkpoint on line {next_cp.line}")
                compared += 1
                next_cp = next(at_checkpoint, None)
            next_seq = -1 if next_cp is None else next_cp.seq
        prev_hash, expected = digest, expected + 1
    if next_cp is not None:
        return result(
            expected,
            f"is missing: the log ends at entry {expected - 1}, but the checkpoint of "
            f"{next_cp.at} (line {next_cp.line}) vouches for entries up to {pending[-1].seq} "
            "(truncated or rolled back)",
        )
    return result()


# --- yearly segments and retention -----------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    year: int
    count: int
    first_seq: int
    last_seq: int
    first_prev_hash: str
    last_hash: str


def segments(session: Session) -> list[Segment]:
    """The entries still present, by calendar year (UTC), with their boundary hashes."""
    year = extract("year", AuditEntry.created_dt)
    rows = session.execute(
        select(year, func.count(), func.min(AuditEntry.seq), func.max(AuditEntry.seq))
        .group_by(year)
        .order_by(year)
    ).all()
    found = []
    for y, count, first, last in rows:
        first_prev = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == first))
        last_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last))
        assert first_prev is not None and last_hash is not None
        found.append(Segment(int(y), count, first, last, first_prev, last_hash))
    return found


def pruned_segments(session: Session) -> list[AuditPrune]:
    return list(session.scalars(select(AuditPrune).order_by(AuditPrune.first_seq)))


def newest_prunable_year(today: date) -> int:
    """Years before this one may be pruned: the last RETENTION_YEARS full years are kept."""
    return today.year - RETENTION_YEARS


def prune_before_year(
    session: Session,
    key: Ed25519PrivateKey,
    actor: Actor,
    before_year: int,
    *,
    today: date,
    checkpoints: Sequence[Checkpoint] = (),
) -> AuditPrune:
    """Delete every entry older than 1 January of `before_year`, leaving a signed record.

    The removed range ends just before the first entry dated in `before_year` or later, so it
    is always a contiguous run from the start of the present log. The whole log must verify
    first: a prune must never certify entries that were already tampered with.
    """
    limit = newest_prunable_year(today)
    if before_year > limit:
        raise AuditError(
            f"Audit entries are kept at least {RETENTION_YEARS} full years: in {today.year} "
            f"entries before {limit} may be pruned, not entries before {before_year}."
        )
    check = verify_chain(session, checkpoints=checkpoints, public_key=key.public_key())
    if not check.ok:
        raise AuditError(
            f"The audit log does not verify (entry {check.first_bad_seq}: {check.problem}); "
            "nothing was pruned."
        )
    cutoff = datetime(before_year, 1, 1, tzinfo=UTC)
    boundary = session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.created_dt >= cutoff)
    )
    first = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).limit(1)).first()
    if first is None or (boundary is not None and boundary <= first.seq):
        raise AuditError(f"There are no audit entries before {before_year} to prune.")
    last_seq = (boundary - 1) if boundary is not None else _head(session)[0]
    last = session.get(AuditEntry, last_seq)
    assert last is not None  # the chain verified, so there are no gaps
    record = AuditPrune(
        first_seq=first.seq,
        last_seq=last.seq,
        first_prev_hash=first.prev_hash,
        last_hash=last.hash,
        entry_count=last.seq - first.seq + 1,
        before_year=before_year,
        first_dt=first.created_dt,
        last_dt=last.created_dt,
        pruned_dt=utcnow(),
        key_id=key_id(key.public_key()),
    )
    record.signature = _sign(key, _prune_message(record))
    session.add(record)
    # The entry goes in before the delete, so the head never disappears under it.
    append(
        session,
        actor,
        "audit:log:prune",
        object_type="audit_segment",
        object_id=f"{record.first_seq}-{record.last_seq}",
        details={
            "before_year": before_year,
            "first_seq": record.first_seq,
            "last_seq": record.last_seq,
            "count": record.entry_count,
            "last_hash": record.last_hash,
        },
    )
    session.execute(delete(AuditCaseRef).where(AuditCaseRef.seq <= record.last_seq))
    session.execute(delete(AuditEntry).where(AuditEntry.seq <= record.last_seq))
    session.flush()
    return record


def iter_entries(session: Session, seqs: Iterable[int]) -> list[AuditEntry]:
    """The entries with these sequence numbers that still exist, oldest first."""
    wanted = sorted(set(seqs))
    if not wanted:
        return []
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.seq.in_(wanted)).order_by(AuditEntry.seq)
        )
    )
