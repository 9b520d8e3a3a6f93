"""Pure parts of the audit log: the body format, what may go into indexed columns, signed
checkpoint lines, the keyring's signing key, the burst rule and the CSV cells."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskassess.audit_log.services import (
    BURST_CASES,
    BURST_WINDOW,
    Flag,
    LogRow,
    find_bursts,
    log_csv,
)
from riskassess.core import audit
from riskassess.core.audit import Actor, CheckpointFileError, entry_fields, make_entry
from riskassess.core.crypto import Keyring, KeyringError

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
USER = Actor(uuid.uuid4(), "cw.north", "caseworker", uuid.uuid4())


def test_the_body_starts_with_the_indexed_columns_and_reads_back() -> None:
    case_id = uuid.uuid4()
    entry = make_entry(
        7,
        audit.GENESIS_HASH,
        NOW,
        USER,
        "case:case:read",
        object_type="case",
        object_id=case_id,
        details={"note": "x"},
    )
    assert entry.body.startswith(
        f'{{"v":2,"columns":"7|2026-03-01 12:00:00.123456|{USER.user_id.hex}|case:case:read'
        f'|case|{case_id}|success"'
    )
    fields = entry_fields(entry.body)
    assert fields["seq"] == 7 and fields["actor"] == str(USER.user_id)
    assert fields["object_id"] == str(case_id) and fields["outcome"] == "success"
    assert fields["unit"] == str(USER.unit_id) and fields["details"] == {"note": "x"}
    assert entry.hash == audit.chain_hash(audit.GENESIS_HASH, entry.body)


def test_a_system_entry_without_object_reads_back_as_nulls() -> None:
    entry = make_entry(1, audit.GENESIS_HASH, NOW, Actor.system("cli"), "audit:log:checkpoint")
    fields = entry_fields(entry.body)
    assert fields["actor"] is None and fields["object_type"] is None
    assert fields["object_id"] is None and fields["actor_name"] == "cli"


def test_old_bodies_still_read() -> None:
    legacy = audit.canonical({"seq": 1, "action": "case:case:read", "actor": None, "unit": None})
    assert entry_fields(legacy)["action"] == "case:case:read"


@pytest.mark.parametrize(
    ("action", "object_type", "object_id", "outcome"),
    [
        ("case-read", None, None, "success"),
        ("Case:case:read", None, None, "success"),
        ("case:case:read", "Case File", None, "success"),
        ("case:case:read", "case", "a|b", "success"),
        ("case:case:read", "case", 'a"b', "success"),
        ("case:case:read", "case", "x" * 65, "success"),
        ("case:case:read", "case", "1", "maybe"),
    ],
)
def test_indexed_columns_are_restricted(
    action: str, object_type: str | None, object_id: str | None, outcome: str
) -> None:
    with pytest.raises(ValueError):
        make_entry(
            1,
            audit.GENESIS_HASH,
            NOW,
            USER,
            action,
            object_type=object_type,
            object_id=object_id,
            outcome=outcome,
        )


def test_free_fields_are_escaped_json() -> None:
    odd = Actor(None, 'name "with" | pipes', "role", None)
    entry = make_entry(1, audit.GENESIS_HASH, NOW, odd, "test:entry:create", details={"k": 'ä|"'})
    fields = json.loads(entry.body)
    assert fields["actor_name"] == odd.username and fields["details"] == {"k": 'ä|"'}


def test_checkpoint_lines_round_trip_and_refuse_forgery(tmp_path: Path) -> None:
    key = Keyring.generate().audit_signer()
    path = tmp_path / "checkpoints.jsonl"
    good = audit.Checkpoint(12, "a" * 64, "2026-03-01T12:00:00.000000+00:00")
    path.write_text(audit.checkpoint_line(key, good) + "\n\n")
    (read,) = audit.read_checkpoints(path, key.public_key())
    assert (read.seq, read.hash, read.at, read.line) == (12, "a" * 64, good.at, 1)

    forged = json.loads(path.read_text().splitlines()[0]) | {"hash": "b" * 64}
    path.write_text(json.dumps(forged) + "\n")
    with pytest.raises(CheckpointFileError, match="line 1: the signature does not match"):
        audit.read_checkpoints(path, key.public_key())
    path.write_text("not json\n")
    with pytest.raises(CheckpointFileError, match="line 1: not a checkpoint line"):
        audit.read_checkpoints(path, key.public_key())
    path.write_text(json.dumps({"kind": "other", "key": "k", "signature": "s"}) + "\n")
    with pytest.raises(CheckpointFileError, match="unknown kind"):
        audit.read_checkpoints(path, key.public_key())


def test_keyring_signing_key_is_written_loaded_and_optional(tmp_path: Path) -> None:
    ring = Keyring.generate()
    assert ring.audit_signing_key is not None
    ring.save_new(tmp_path / "new.json")
    loaded = Keyring.load(tmp_path / "new.json")
    assert loaded.audit_signing_key == ring.audit_signing_key
    assert audit.key_id(loaded.audit_signer().public_key()) == audit.key_id(
        ring.audit_signer().public_key()
    )
    replace(ring, audit_signing_key=None).save_new(tmp_path / "old.json")
    old = Keyring.load(tmp_path / "old.json")  # keyrings from before checkpoints still load
    assert "audit_signing_key" not in json.loads((tmp_path / "old.json").read_text())
    with pytest.raises(KeyringError, match="no audit signing key"):
        old.audit_signer()
    assert old.with_audit_signing_key().audit_signing_key is not None
    with pytest.raises(KeyringError, match="already holds"):
        ring.with_audit_signing_key()
    raw = json.loads((tmp_path / "new.json").read_text())
    (tmp_path / "short.json").write_text(json.dumps(raw | {"audit_signing_key": "AAAA"}))
    with pytest.raises(KeyringError, match="wrong length"):
        Keyring.load(tmp_path / "short.json")


def _openings(
    actor: uuid.UUID, count: int, step: timedelta, start: datetime = NOW
) -> list[tuple[uuid.UUID | None, datetime, int, str]]:
    return [(actor, start + i * step, 100 + i, f"case-{i}") for i in range(count)]


def test_many_cases_in_a_short_time_is_a_burst() -> None:
    actor = uuid.uuid4()
    step = BURST_WINDOW / (BURST_CASES * 2)
    (burst,) = find_bursts(_openings(actor, BURST_CASES, step))
    assert burst.actor_id == actor and burst.cases == BURST_CASES
    assert burst.seqs == frozenset(range(100, 100 + BURST_CASES))


def test_the_same_case_again_or_a_slow_pace_is_no_burst() -> None:
    actor = uuid.uuid4()
    same = [(actor, NOW + timedelta(seconds=i), i, "case-1") for i in range(50)]
    assert find_bursts(same) == []
    slow = _openings(actor, 3 * BURST_CASES, BURST_WINDOW / (BURST_CASES - 2))
    assert find_bursts(slow) == []
    one_short = _openings(actor, BURST_CASES - 1, timedelta(seconds=1))
    assert find_bursts(one_short) == []


def test_overlapping_windows_merge_and_users_are_apart() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    step = timedelta(seconds=30)
    long_run = _openings(first, 3 * BURST_CASES, step)
    later = _openings(first, BURST_CASES, step, start=NOW + timedelta(days=1))
    mixed = _openings(first, BURST_CASES // 2, step)[: BURST_CASES // 2] + _openings(
        second, BURST_CASES // 2, step
    )
    bursts = find_bursts(long_run + later)
    assert len(bursts) == 2 and bursts[0].cases == 3 * BURST_CASES
    assert find_bursts(mixed) == []


def test_csv_cells_never_run_as_formulas() -> None:
    row = LogRow(
        seq=1,
        at=NOW,
        actor_id=None,
        username="=HYPERLINK(1)",
        display_name="+sum",
        role="caseworker",
        unit_name="@unit",
        action="case:case:read",
        object_type="case",
        object_id="-1",
        case_reference="RA-ABCDEFG",
        cases_shown=None,
        outcome="success",
        hash="h",
        flags=frozenset({Flag.BURST}),
    )
    text = log_csv([row], ["a"] * 14, str)
    assert text.startswith("\ufeff")
    line = text.splitlines()[1]
    assert "'=HYPERLINK(1)" in line and "'+sum" in line and "'@unit" in line and "'-1" in line
    assert ";burst;" in line
