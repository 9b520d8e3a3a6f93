"""Log retention in yearly segments: `riskassess audit segments` lists them, `audit prune`
removes the oldest years leaving a signed record, and `audit verify` accepts a log that starts
at a pruned boundary only when that record is present and intact."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from riskassess.cli import main
from riskassess.core import audit
from riskassess.core.audit import Actor, AuditEntry, AuditPrune, verify_chain
from riskassess.core.crypto import Keyring

ACTOR = Actor.system("test")
pytestmark = pytest.mark.usefixtures("app")
# Entries 1-2 in 2015, 3 in 2016, 4-5 in 2017; then entries of today.
OLD_DATES = (
    datetime(2015, 6, 1, 12, 0, tzinfo=UTC),
    datetime(2015, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2016, 3, 1, 8, 30, tzinfo=UTC),
    datetime(2017, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2017, 7, 1, 0, 0, tzinfo=UTC),
)


@pytest.fixture
def run(database_url: str, keyring_path: Path, tmp_path: Path) -> Callable[..., Result]:
    def invoke(*args: str) -> Result:
        env = {
            "RISKASSESS_DATABASE_URL": database_url,
            "RISKASSESS_KEYRING": str(keyring_path),
            "RISKASSESS_INSTANCE_PATH": str(tmp_path),
        }
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def old_log(db: Session) -> None:
    """Five entries from past years, built as `append` would have, then three of today."""
    prev_hash = audit.GENESIS_HASH
    for seq, at in enumerate(OLD_DATES, start=1):
        entry = audit.make_entry(
            seq, prev_hash, at, ACTOR, "test:entry:create", object_type="test", object_id=seq
        )
        db.add(entry)
        prev_hash = entry.hash
    db.commit()
    for i in range(3):
        audit.append(db, ACTOR, "test:entry:create", object_type="test", object_id=f"new{i}")
    db.commit()


def _count(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(AuditEntry)) or 0


@pytest.mark.usefixtures("old_log")
def test_segments_lists_each_year_with_its_boundaries(
    db: Session, run: Callable[..., Result]
) -> None:
    out = ok(run("audit", "segments"))
    first = db.get(AuditEntry, 1)
    second = db.get(AuditEntry, 2)
    assert first is not None and second is not None
    assert f"2015: entries 1..2 (2), first prev_hash {audit.GENESIS_HASH}, " in out
    assert f"last hash {second.hash}" in out
    assert "2016: entries 3..3 (1)" in out
    assert "2017: entries 4..5 (2)" in out
    assert f"{date.today().year}: entries 6..8 (3)" in out


@pytest.mark.usefixtures("old_log")
def test_prune_keeps_five_full_years_and_needs_yes(db: Session, run: Callable[..., Result]) -> None:
    too_recent = date.today().year - 4
    out = refused(run("audit", "prune", "--before-year", str(too_recent), "--yes"))
    assert "at least 5 full years" in out
    assert "Add --yes" in refused(run("audit", "prune", "--before-year", "2017"))
    assert _count(db) == 8


@pytest.mark.usefixtures("old_log")
def test_prune_leaves_a_signed_record_and_the_rest_verifies(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    ok(run("audit", "checkpoint"))  # entry 9, vouching for entries 1..9
    out = ok(run("audit", "prune", "--before-year", "2017", "--yes"))
    assert "Removed entries 1..3" in out
    db.rollback()
    record = db.scalars(select(AuditPrune)).one()
    assert (record.first_seq, record.last_seq, record.entry_count) == (1, 3, 3)
    assert record.first_prev_hash == audit.GENESIS_HASH
    lines = [json.loads(x) for x in (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["checkpoint", "prune"]
    assert lines[1]["last_hash"] == record.last_hash
    remaining = db.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert remaining[0] == 4
    prune_entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "audit:log:prune")).one()
    assert prune_entry.object_id == "1-3"

    out = ok(run("audit", "verify"))
    assert "Entries 1..3 were pruned; their signed records verify." in out
    assert "1 checkpoint(s)" in out
    out = ok(run("audit", "segments"))
    assert "pruned before 2017: entries 1..3 (3)" in out


@pytest.mark.usefixtures("old_log")
def test_pruning_again_continues_the_records(db: Session, run: Callable[..., Result]) -> None:
    ok(run("audit", "prune", "--before-year", "2016", "--yes"))
    ok(run("audit", "prune", "--before-year", "2018", "--yes"))
    db.rollback()
    records = db.scalars(select(AuditPrune).order_by(AuditPrune.first_seq)).all()
    assert [(r.first_seq, r.last_seq) for r in records] == [(1, 2), (3, 5)]
    assert records[1].first_prev_hash == records[0].last_hash
    assert "Entries 1..5 were pruned" in ok(run("audit", "verify"))


@pytest.mark.usefixtures("old_log")
def test_verify_refuses_a_pruned_start_without_its_record(
    db: Session, run: Callable[..., Result]
) -> None:
    ok(run("audit", "prune", "--before-year", "2017", "--yes"))
    db.rollback()
    db.execute(delete(AuditPrune))
    db.commit()
    out = refused(run("audit", "verify"))
    assert "BROKEN at entry 4: entry 1 is missing before 4" in out


@pytest.mark.parametrize(
    "change",
    [{"entry_count": 2}, {"last_seq": 2}, {"last_hash": "f" * 64}, {"before_year": 2099}],
    ids=["count", "range", "hash", "year"],
)
@pytest.mark.usefixtures("old_log")
def test_verify_refuses_an_altered_prune_record(
    db: Session, run: Callable[..., Result], change: dict[str, object]
) -> None:
    ok(run("audit", "prune", "--before-year", "2017", "--yes"))
    db.rollback()
    db.execute(update(AuditPrune).values(**change))
    db.commit()
    out = refused(run("audit", "verify"))
    assert "prune record" in out


@pytest.mark.usefixtures("old_log")
def test_prune_refuses_a_log_that_does_not_verify(db: Session, run: Callable[..., Result]) -> None:
    db.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(outcome="denied"))
    db.commit()
    out = refused(run("audit", "prune", "--before-year", "2017", "--yes"))
    assert "does not verify" in out and "nothing was pruned" in out
    assert _count(db) == 8


@pytest.mark.usefixtures("old_log")
def test_prune_without_old_entries_is_refused(db: Session, run: Callable[..., Result]) -> None:
    ok(run("audit", "prune", "--before-year", "2017", "--yes"))
    out = refused(run("audit", "prune", "--before-year", "2017", "--yes"))
    assert "no audit entries before 2017" in out


@pytest.mark.usefixtures("old_log")
def test_appending_after_a_prune_continues_the_chain(
    db: Session, run: Callable[..., Result], keyring_path: Path
) -> None:
    ok(run("audit", "prune", "--before-year", "2017", "--yes"))
    db.rollback()
    entry = audit.append(db, ACTOR, "test:entry:create")
    db.commit()
    assert entry.seq == 10  # 1..8, the prune entry 9, then this one
    public_key = Keyring.load(keyring_path).audit_signer().public_key()
    result = verify_chain(db, public_key=public_key)
    assert result.ok, result.problem
    assert (result.first_seq, result.pruned, result.checked) == (4, 3, 7)
    assert not verify_chain(db).ok, "pruned segments cannot be checked without the key"
