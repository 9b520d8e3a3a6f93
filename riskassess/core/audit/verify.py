"""Verifying the chain: every hash, link and indexed column, every signed checkpoint and
every pruned year's signed record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from riskassess.core.audit.chain import entry_fields
from riskassess.core.audit.checkpoints import (
    Checkpoint,
    _prune_message,
    _signature_ok,
    key_id,
)
from riskassess.core.audit.models import (
    CASES_SHOWN,
    GENESIS_HASH,
    AuditCaseRef,
    AuditEntry,
    AuditError,
    AuditPrune,
)


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
    """Walk the whole chain in order; report the first entry whose hash, link, columns,
    checkpoint or case index fail. `checkpoints` must already have had their signatures
    checked (`read_checkpoints`); `public_key` checks the records of pruned segments."""
    index = _CaseIndex(session, batch)
    try:
        return _verify(session, checkpoints, public_key, batch, index)
    finally:
        index.close()


def _verify(
    session: Session,
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey | None,
    batch: int,
    index: _CaseIndex,
) -> VerifyResult:
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
        if (index_problem := index.problem(seq, body)) is not None:
            return result(*index_problem)
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
    if (index_problem := index.leftover()) is not None:
        return result(*index_problem)
    return result()


def _indexed_cases(session: Session, batch: int) -> Generator[tuple[int, set[str]]]:
    """(seq, case ids) as the audit_case_ref index holds them, in seq order."""
    query = (
        select(AuditCaseRef.seq, AuditCaseRef.case_id)
        .order_by(AuditCaseRef.seq)
        .execution_options(yield_per=batch)
    )
    with session.execute(query) as result:  # closed (its server-side cursor too) on early stop
        for seq, rows in groupby(result, key=lambda row: row[0]):
            yield seq, {case_id for _seq, case_id in rows}


class _CaseIndex:
    """Checks the case index against the verified bodies, entry by entry.

    The index is not hashed, but a case's access log (loggutdrag) is read through it: a deleted
    row would hide an access from the supervisor. Its rows are streamed in seq order beside the
    main pass over the bodies, so the log is read once and memory stays flat; only a body that
    names cases is parsed."""

    _MARK = f'"{CASES_SHOWN}"'

    def __init__(self, session: Session, batch: int) -> None:
        self._rows = _indexed_cases(session, batch)
        self._next = next(self._rows, None)

    def close(self) -> None:
        self._rows.close()

    def _take(self, seq: int) -> set[str]:
        found: set[str] = set()
        if self._next is not None and self._next[0] == seq:
            found, self._next = self._next[1], next(self._rows, None)
        return found

    def problem(self, seq: int, body: str) -> tuple[int, str] | None:
        """The first difference at or before this entry (index rows of an entry that names no
        cases are found here too, at the next entry that does or at the end)."""
        if self._next is not None and self._next[0] < seq:
            return self._difference(self._next[0], set(), self._next[1])
        expected: set[str] = set()
        if self._MARK in body:
            shown = (entry_fields(body).get("details") or {}).get(CASES_SHOWN)
            if isinstance(shown, list):
                expected = {str(case) for case in shown}
        actual = self._take(seq)
        return self._difference(seq, expected, actual) if expected != actual else None

    def leftover(self) -> tuple[int, str] | None:
        if self._next is None:
            return None
        return self._difference(self._next[0], set(), self._next[1])

    @staticmethod
    def _difference(seq: int, expected: set[str], actual: set[str]) -> tuple[int, str]:
        return seq, (
            f"its case index (audit_case_ref) lacks {len(expected - actual)} and has "
            f"{len(actual - expected)} extra case id(s): a case's access log would be wrong"
        )
