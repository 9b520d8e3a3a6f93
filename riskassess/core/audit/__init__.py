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
Each entry is written by one INSERT ... SELECT that reads the head, numbers the entry and
hashes it in the database (chain.py: `_INSERT_SQL`); `make_entry` builds the same entry in
Python, for tools and tests.

Outside the database, `checkpoint_line` signs the head (Ed25519, key in the keyring); a file of
such lines reveals a truncated, rolled-back or rebuilt log. An old year can be pruned leaving a
signed `AuditPrune` record (seq range, first previous hash, last hash, count), so the rest still
verifies and the record proves exactly what was removed.

The package has one module per concern (models, chain, checkpoints, verify, segments); its
public names are re-exported here, so callers say `audit.append` or `audit.verify_chain`.
"""

from __future__ import annotations

from riskassess.core.audit.chain import (
    append,
    append_denial,
    canonical,
    chain_hash,
    defer_appends,
    entry_fields,
    format_at,
    indexed_prefix,
    install_deferred_appends,
    iter_entries,
    make_entry,
    take_kept,
    take_written,
    write_kept,
)
from riskassess.core.audit.checkpoints import (
    Checkpoint,
    CheckpointFileError,
    append_line,
    checkpoint_due,
    checkpoint_line,
    head_checkpoint,
    key_id,
    prune_line,
    read_checkpoints,
    sign_written,
)
from riskassess.core.audit.models import (
    BODY_VERSION,
    CASES_SHOWN,
    GENESIS_HASH,
    OUTCOMES,
    RETENTION_YEARS,
    Actor,
    AuditCaseRef,
    AuditEntry,
    AuditError,
    AuditPrune,
    Outcome,
)
from riskassess.core.audit.segments import (
    Segment,
    newest_prunable_year,
    prune_before_year,
    pruned_segments,
    segments,
)
from riskassess.core.audit.verify import VerifyResult, verify_chain

__all__ = [
    "BODY_VERSION",
    "CASES_SHOWN",
    "GENESIS_HASH",
    "OUTCOMES",
    "RETENTION_YEARS",
    "Actor",
    "AuditCaseRef",
    "AuditEntry",
    "AuditError",
    "AuditPrune",
    "Checkpoint",
    "CheckpointFileError",
    "Outcome",
    "Segment",
    "VerifyResult",
    "append",
    "append_denial",
    "append_line",
    "canonical",
    "chain_hash",
    "checkpoint_due",
    "checkpoint_line",
    "defer_appends",
    "entry_fields",
    "format_at",
    "head_checkpoint",
    "indexed_prefix",
    "install_deferred_appends",
    "iter_entries",
    "key_id",
    "make_entry",
    "newest_prunable_year",
    "prune_before_year",
    "prune_line",
    "pruned_segments",
    "read_checkpoints",
    "segments",
    "sign_written",
    "take_kept",
    "take_written",
    "verify_chain",
    "write_kept",
]
