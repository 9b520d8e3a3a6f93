"""Appending to the hash chain: entry bodies and hashes, the head lock, deferred appends
written by a request's commit, and refusals kept past a rollback."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Uuid, bindparam, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from riskassess.core.audit.models import (
    _AT_FORMAT,
    _OBJECT_ID,
    _OBJECT_TYPE,
    _PG_AUDIT_LOCK,
    _TAG,
    BODY_VERSION,
    CASES_SHOWN,
    GENESIS_HASH,
    OUTCOMES,
    Actor,
    AuditEntry,
    AuditError,
    AuditPrune,
    Outcome,
)
from riskassess.core.db import UTCDateTime, utcnow

# -----------------------------------------------------------------------------------


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
    start, end = _prefix_around_seq(at, actor_id, action, object_type, object_id, outcome)
    return f"{start}{seq}{end}"


def _prefix_around_seq(
    at: str,
    actor_id: uuid.UUID | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    outcome: str,
) -> tuple[str, str]:
    """`indexed_prefix` in two parts, before and after the sequence number, so that the
    database can put in the number it assigns (`_INSERT_SQL`)."""
    actor = "" if actor_id is None else actor_id.hex
    columns = "|".join((at, actor, action, object_type or "", object_id or "", outcome))
    return f'{{"v":{BODY_VERSION},"columns":"', f'|{columns}"'


def _body_around_seq(
    at: datetime,
    actor: Actor,
    action: str,
    object_type: str | None,
    object_id: str | None,
    outcome: str,
    details: Mapping[str, Any] | None,
) -> tuple[str, str]:
    """The body of an entry in two parts, before and after its sequence number."""
    start, end = _prefix_around_seq(
        format_at(at), actor.user_id, action, object_type, object_id, outcome
    )
    rest = canonical(
        {
            "actor_name": actor.username,
            "role": actor.role,
            "unit": None if actor.unit_id is None else str(actor.unit_id),
            "details": dict(details or {}),
        }
    )
    return start, end + "," + rest[1:]


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
    start, end = _body_around_seq(now, actor, action, object_type, oid, outcome, details)
    body = f"{start}{seq}{end}"
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


_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s), current_setting('transaction_isolation')"
_PG_HEAD_SQL = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"


def _check_isolation(isolation: str) -> None:
    if isolation != "read committed":
        # Under a snapshot isolation the head read after the lock would predate the lock.
        raise AuditError(
            f"audit entries must be appended in READ COMMITTED, not {isolation.upper()}"
        )


def _lock_and_head(session: Session) -> tuple[int, str]:
    """Take the chain's append lock, then read its head: (seq, hash) of the newest entry.

    SQLite: BEGIN IMMEDIATE already holds the database's write lock. PostgreSQL: a
    transaction-scoped advisory lock, in READ COMMITTED, then the head. With psycopg the two
    statements go in one pipeline, one round trip: the server still runs them one after the
    other, and in READ COMMITTED the head's statement takes its snapshot only when it starts,
    after the lock is held, so it sees every entry committed before the lock was granted."""
    if session.get_bind().dialect.name != "postgresql":
        return _head(session)
    driver: Any = session.connection().connection.driver_connection
    if hasattr(driver, "pipeline"):
        with driver.cursor() as lock, driver.cursor() as head:
            with driver.pipeline():  # both sent at once; the results arrive at the block end
                lock.execute(_PG_LOCK_SQL, (_PG_AUDIT_LOCK,))
                head.execute(_PG_HEAD_SQL)
            isolation = lock.fetchone()
            newest = head.fetchone()
        _check_isolation(isolation[1])
        if newest is not None:
            return int(newest[0]), str(newest[1])
        return _head(session)  # every entry pruned: the last pruned one is the head
    isolation = session.execute(
        text("SELECT pg_advisory_xact_lock(:key), current_setting('transaction_isolation')"),
        {"key": _PG_AUDIT_LOCK},
    ).one()[1]
    _check_isolation(isolation)
    return _head(session)


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
_WRITTEN = "riskassess.audit.written"


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
    pending = _Pending(
        utcnow(), actor, action, object_type, object_id, outcome, details, keep_on_rollback
    )
    if session.info.get(_DEFERRED):
        if not session.in_transaction():
            session.begin()  # so that a rollback, even before any SQL, drops the entry too
        session.info.setdefault(_PENDING, []).append(pending)
        return None
    row = _prepare(pending)
    return _entry(row, *_write_entries(session, [row])[0])


def defer_appends(session: Session) -> None:
    """Let this session's entries wait for its commit (see `append`)."""
    session.info[_DEFERRED] = True


def _write_pending(session: Session) -> None:
    # SQLAlchemy fires this for a savepoint's release too: the entries wait for the real commit,
    # so the chain's lock is still taken only there.
    if session.in_nested_transaction():
        return
    # Left in place until the commit succeeds: a commit that fails is rolled back, and the
    # rollback must still find the refusals and failures to keep.
    _write_entries(session, [_prepare(item) for item in session.info.get(_PENDING, [])])


def _committed(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


# One entry in one statement: the database reads the chain's head (the newest entry, else the
# last pruned one, else the genesis), puts the next sequence number into the body that Python
# built around it, and hashes previous hash, newline and body itself. Nothing runs in Python
# between reading the head and writing after it, and on PostgreSQL the lock and every insert
# of a commit travel in one round trip (`_write_pipelined`). The hash function is SHA-256 as
# hex on both databases (`_SHA256_HEX`); the result is the same bytes `chain_hash` computes,
# which `verify_chain` checks.
_INSERT_SQL = """\
INSERT INTO audit_entry
  (seq, created_dt, actor_id, action, object_type, object_id, outcome, body, prev_hash, hash)
SELECT head.seq + 1, :created_dt, :actor_id, :action, :object_type, :object_id, :outcome,
  :body_start || CAST(head.seq + 1 AS TEXT) || :body_end,
  head.hash,
  {hashed}
FROM (
  SELECT candidate.seq, candidate.hash FROM (
    SELECT seq, hash FROM audit_entry WHERE seq = (SELECT max(seq) FROM audit_entry)
    UNION ALL
    SELECT last_seq, last_hash FROM audit_prune
      WHERE last_seq = (SELECT max(last_seq) FROM audit_prune)
    UNION ALL
    SELECT 0, '{genesis}'
  ) AS candidate ORDER BY candidate.seq DESC LIMIT 1
) AS head
RETURNING seq, prev_hash, hash"""
# The case index rows of the entry just inserted: under the append lock, the newest entry of
# the transaction is the newest of all.
_CASE_REF_SQL = (
    "INSERT INTO audit_case_ref (seq, case_id) SELECT max(seq), :case_id FROM audit_entry"
)
_SHA256_HEX = {
    "postgresql": "encode(sha256(convert_to({}, 'UTF8')), 'hex')",
    "sqlite": "riskassess_sha256_hex({})",
}
_SQLITE_SHA256 = "riskassess_sha256_hex"


def _insert_sql(dialect: str) -> str:
    hashed = "head.hash || :newline_body_start || CAST(head.seq + 1 AS TEXT) || :body_end"
    return _INSERT_SQL.format(hashed=_SHA256_HEX[dialect].format(hashed), genesis=GENESIS_HASH)


_INSERT = {
    dialect: text(_insert_sql(dialect)).bindparams(
        bindparam("created_dt", type_=UTCDateTime()), bindparam("actor_id", type_=Uuid())
    )
    for dialect in _SHA256_HEX
}


@dataclass(frozen=True)
class _Row:
    """An entry ready to insert, all but its place in the chain."""

    params: dict[str, Any]
    body_start: str
    body_end: str
    cases: list[str]


def _prepare(item: _Pending) -> _Row:
    oid = None if item.object_id is None else str(item.object_id)
    at = item.at.astimezone(UTC)
    start, end = _body_around_seq(
        at, item.actor, item.action, item.object_type, oid, item.outcome, item.details
    )
    shown = (item.details or {}).get(CASES_SHOWN)
    cases = list(dict.fromkeys(str(c) for c in shown)) if isinstance(shown, list) else []
    params = {
        "created_dt": at,
        "actor_id": item.actor.user_id,
        "action": item.action,
        "object_type": item.object_type,
        "object_id": oid,
        "outcome": item.outcome,
        "body_start": start,
        "newline_body_start": "\n" + start,
        "body_end": end,
    }
    return _Row(params, start, end, cases)


def _entry(row: _Row, seq: int, prev_hash: str, entry_hash: str) -> AuditEntry:
    """The written entry as an object (not in the session: its row is already written)."""
    p = row.params
    return AuditEntry(
        seq=seq,
        created_dt=p["created_dt"],
        actor_id=p["actor_id"],
        action=p["action"],
        object_type=p["object_type"],
        object_id=p["object_id"],
        outcome=p["outcome"],
        body=f"{row.body_start}{seq}{row.body_end}",
        prev_hash=prev_hash,
        hash=entry_hash,
    )


def _write_entries(session: Session, rows: Sequence[_Row]) -> list[tuple[int, str, str]]:
    """Write the entries after the chain's head, in order, under the append lock. Returns
    each one's sequence number, previous hash and hash. (A commit needs no entry objects:
    building them took a fiftieth of a page's time.)"""
    if not rows:
        return []
    # The request's own changes first: the lock is then held only for the entries and the
    # COMMIT.
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    if dialect == "postgresql" and hasattr(driver, "pipeline"):
        written = _write_pipelined(driver, rows)
    else:
        written = _write_one_by_one(session, dialect, driver, rows)
    session.info[_WRITTEN] = (written[0][0], written[-1][0], written[-1][2])
    return written


# The same statements in psycopg's parameter style, for the driver's own cursors.
_PG_INSERT_SQL = re.sub(r":(\w+)", r"%(\1)s", _insert_sql("postgresql"))
# On PostgreSQL all of an entry's case index rows in one statement: a case list names 25
# cases, and 25 INSERTs each finding max(seq) again cost the server more than the page's
# queries (benchmarks/README.md).
_PG_CASE_REFS_SQL = (
    "INSERT INTO audit_case_ref (seq, case_id) "
    "SELECT (SELECT max(seq) FROM audit_entry), unnest(%(case_ids)s::text[])"
)


def _write_pipelined(driver: Any, rows: Sequence[_Row]) -> list[tuple[int, str, str]]:
    """PostgreSQL with psycopg: the advisory lock, then each entry's INSERT and its case index
    rows, in one pipeline (one round trip). The server runs them in order, and in READ
    COMMITTED each INSERT takes its snapshot when it starts, after the lock is granted, so it
    sees every entry committed before."""
    with ExitStack() as cursors:
        lock = cursors.enter_context(driver.cursor())
        inserts = []
        with driver.pipeline():  # everything sent at once; the results arrive at the block end
            lock.execute(_PG_LOCK_SQL, (_PG_AUDIT_LOCK,))
            for row in rows:
                insert = cursors.enter_context(driver.cursor())
                insert.execute(_PG_INSERT_SQL, row.params)
                inserts.append(insert)
                if row.cases:
                    cursors.enter_context(driver.cursor()).execute(
                        _PG_CASE_REFS_SQL, {"case_ids": list(row.cases)}
                    )
        # Before anything is committed: a wrong isolation level fails the commit, entries and
        # all.
        _check_isolation(lock.fetchone()[1])
        return [
            (int(seq), str(prev_hash), str(entry_hash))
            for seq, prev_hash, entry_hash in (insert.fetchone() for insert in inserts)
        ]


def _write_one_by_one(
    session: Session, dialect: str, driver: Any, rows: Sequence[_Row]
) -> list[tuple[int, str, str]]:
    """SQLite (the write lock is the transaction's BEGIN IMMEDIATE), or PostgreSQL through a
    driver without pipelines (the lock first, in a statement of its own)."""
    if dialect == "postgresql":
        isolation = session.execute(
            text("SELECT pg_advisory_xact_lock(:key), current_setting('transaction_isolation')"),
            {"key": _PG_AUDIT_LOCK},
        ).one()[1]
        _check_isolation(isolation)
    elif dialect == "sqlite":
        # SQLite has no SHA-256 of its own: the connection gets Python's, once.
        info = session.connection().connection.info
        if not info.get(_SQLITE_SHA256):
            driver.create_function(_SQLITE_SHA256, 1, _sha256_hex, deterministic=True)
            info[_SQLITE_SHA256] = True
    else:
        raise AuditError(f"audit entries cannot be appended on {dialect}")
    written = []
    for row in rows:
        seq, prev_hash, entry_hash = session.execute(_INSERT[dialect], row.params).one()
        if row.cases:
            session.execute(text(_CASE_REF_SQL), [{"case_id": c} for c in row.cases])
        written.append((int(seq), str(prev_hash), str(entry_hash)))
    return written


def _sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
    _write_entries(session, [_prepare(item) for item in kept])


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


def take_written(session: Session) -> tuple[int, int, str] | None:
    """(first seq, last seq, last hash) of the entries the session's last commit wrote."""
    written: tuple[int, int, str] | None = session.info.pop(_WRITTEN, None)
    return written
