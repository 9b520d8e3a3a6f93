"""Signed checkpoints of the head and signed records of pruned years, kept in a file
outside the database."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from riskassess.core.audit.chain import _lock_and_head
from riskassess.core.audit.models import AuditError, AuditPrune
from riskassess.core.db import utcnow


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
    seq, entry_hash = _lock_and_head(session)
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


def append_line(path: Path, line: str) -> None:
    """Append one line to the checkpoint file (readable by its owner only) and force it to
    disk. Raises CheckpointFileError when the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise CheckpointFileError(f"{path} could not be written: {exc.strerror}") from None


def checkpoint_due(first_seq: int, last_seq: int, every: int) -> bool:
    """Whether entries first_seq..last_seq pass a multiple of `every` (0: never)."""
    return every > 0 and (first_seq - 1) // every != last_seq // every


def sign_written(key: Ed25519PrivateKey, seq: int, entry_hash: str) -> str:
    """The checkpoint line for an entry just committed (no lock needed: it is in the chain)."""
    return checkpoint_line(key, Checkpoint(seq, entry_hash, _stamp(utcnow())))
