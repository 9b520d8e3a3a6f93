"""Signed checkpoints outside the database, and `riskassess audit verify` catching every kind of
tampering an operator with database access could try: an edited, deleted or reordered entry, a
truncated tail, and a whole log rebuilt with fresh hashes after a checkpoint. Each ends in exit
code 1, a message naming the entry, and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from riskassess.app import create_app
from riskassess.cli import main
from riskassess.core import audit
from riskassess.core.audit import Actor, AuditEntry, verify_chain
from riskassess.core.crypto import Keyring
from tests.conftest import PASSWORD, World, csrf, make_settings

ACTOR = Actor.system("test")
pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def run(database_url: str, keyring_path: Path, tmp_path: Path) -> Callable[..., Result]:
    def invoke(*args: str, keyring: Path = keyring_path) -> Result:
        env = {
            "RISKASSESS_DATABASE_URL": database_url,
            "RISKASSESS_KEYRING": str(keyring),
            "RISKASSESS_INSTANCE_PATH": str(tmp_path),
        }
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def _chain(db: Session, n: int) -> None:
    for i in range(n):
        audit.append(db, ACTOR, "test:entry:create", object_type="test", object_id=i)
    db.commit()


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    """Exit 1 through a clear message, never through an unexpected exception."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


def _checkpoints(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "audit-checkpoints.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoint_signs_the_head_and_verify_checks_it(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    _chain(db, 5)
    out = ok(run("audit", "checkpoint"))
    assert "Signed entry 6" in out  # the checkpoint's own entry is the head it signs
    (line,) = _checkpoints(tmp_path)
    assert line["kind"] == "checkpoint" and line["seq"] == 6
    db.rollback()
    head = db.get(AuditEntry, 6)
    assert head is not None and head.action == "audit:log:checkpoint"
    assert line["hash"] == head.hash
    out = ok(run("audit", "verify"))
    assert "6 entries verified" in out
    assert "1 checkpoint(s)" in out


def _edit(db: Session) -> None:
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.seq == 3)
        .values(body=AuditEntry.body.op("||")(" "))  # one byte more
    )


def _delete(db: Session) -> None:
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 4))


def _reorder(db: Session) -> None:
    for old, new in ((3, -3), (4, 3), (-3, 4)):
        db.execute(update(AuditEntry).where(AuditEntry.seq == old).values(seq=new))


def _truncate(db: Session) -> None:
    db.execute(delete(AuditEntry).where(AuditEntry.seq >= 5))


def _rebuild(db: Session) -> None:
    """Change entry 2 and give it and every later entry fresh, consistent hashes."""
    rehash_from(db, 2, lambda body: body.replace('"details":{}', '"details":{"x":1}'))


def rehash_from(db: Session, seq: int, change: Callable[[str], str]) -> None:
    before = db.get(AuditEntry, seq - 1)
    prev_hash = audit.GENESIS_HASH if before is None else before.hash
    for entry in db.scalars(
        select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
    ).all():
        body = change(entry.body) if entry.seq == seq else entry.body
        digest = audit.chain_hash(prev_hash, body)
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == entry.seq)
            .values(body=body, prev_hash=prev_hash, hash=digest)
        )
        prev_hash = digest


@pytest.mark.parametrize(
    ("tamper", "entry", "words"),
    [
        (_edit, 3, "content does not match its hash"),
        (_delete, 5, "entry 4 is missing"),
        (_reorder, 3, "does not link"),
        (_truncate, 5, "truncated or rolled back"),
        (_rebuild, 6, "rewritten"),
    ],
    ids=["edited", "deleted", "reordered", "truncated", "rebuilt"],
)
def test_verify_names_the_first_bad_entry(
    db: Session,
    run: Callable[..., Result],
    tamper: Callable[[Session], None],
    entry: int,
    words: str,
) -> None:
    _chain(db, 5)
    ok(run("audit", "checkpoint"))  # signs entry 6
    db.rollback()
    tamper(db)
    db.commit()
    out = refused(run("audit", "verify"))
    assert f"BROKEN at entry {entry}:" in out
    assert words in out


def test_only_the_checkpoint_reveals_a_rebuilt_log(db: Session, run: Callable[..., Result]) -> None:
    _chain(db, 3)
    ok(run("audit", "checkpoint"))  # entry 4
    _chain(db, 3)
    ok(run("audit", "checkpoint"))  # entry 8
    db.rollback()
    rehash_from(db, 6, lambda body: body.replace('"details":{}', '"details":{"x":1}'))
    db.commit()
    db.rollback()
    assert verify_chain(db).ok, "the rebuilt chain is consistent in itself"
    out = refused(run("audit", "verify"))
    assert "BROKEN at entry 8:" in out
    assert "after entry 4 which matched" in out


def test_a_forged_checkpoint_line_is_refused(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    _chain(db, 2)
    ok(run("audit", "checkpoint"))
    path = tmp_path / "audit-checkpoints.jsonl"
    line = json.loads(path.read_text())
    line["seq"] = 2  # moving a genuine signature to another entry
    path.write_text(json.dumps(line) + "\n")
    out = refused(run("audit", "verify"))
    assert "line 1: the signature does not match" in out


def test_a_checkpoint_of_another_key_is_refused(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    _chain(db, 2)
    db.rollback()
    other = Keyring.generate().audit_signer()
    checkpoint = audit.Checkpoint(2, audit.GENESIS_HASH, "2026-01-01T00:00:00.000000+00:00")
    path = tmp_path / "audit-checkpoints.jsonl"
    path.write_text(audit.checkpoint_line(other, checkpoint) + "\n")
    out = refused(run("audit", "verify"))
    assert "not by this keyring's key" in out


def test_verify_without_checkpoints_warns_and_a_missing_file_is_refused(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    _chain(db, 2)
    result = run("audit", "verify")
    assert "2 entries verified" in ok(result)
    assert "cannot be detected" in result.stderr
    out = refused(run("audit", "verify", "--checkpoints", str(tmp_path / "elsewhere.jsonl")))
    assert "No checkpoint file" in out


def test_a_keyring_from_before_checkpoints_gets_a_signing_key(
    db: Session, run: Callable[..., Result], tmp_path: Path
) -> None:
    old = tmp_path / "old-keyring.json"
    replace(Keyring.generate(), audit_signing_key=None).save_new(old)
    _chain(db, 2)
    assert "2 entries verified" in ok(run("audit", "verify", keyring=old))
    out = refused(run("audit", "checkpoint", keyring=old))
    assert "no audit signing key" in out and "add-signing-key" in out
    assert "Added audit signing key" in ok(run("audit", "add-signing-key", keyring=old))
    assert Keyring.load(old).audit_signing_key is not None
    assert oct(old.stat().st_mode & 0o777) == "0o600"
    assert "already holds" in refused(run("audit", "add-signing-key", keyring=old))
    ok(run("audit", "checkpoint", keyring=old))
    db.rollback()
    actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-2:] == ["audit:signing_key:create", "audit:log:checkpoint"]


def test_the_real_command_exits_1_without_a_traceback(
    db: Session, database_url: str, keyring_path: Path, tmp_path: Path, run: Callable[..., Result]
) -> None:
    _chain(db, 4)
    ok(run("audit", "checkpoint"))
    db.rollback()
    _truncate(db)
    db.commit()
    env = dict(
        os.environ,
        RISKASSESS_DATABASE_URL=database_url,
        RISKASSESS_KEYRING=str(keyring_path),
        RISKASSESS_INSTANCE_PATH=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "BROKEN at entry 5" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_app_signs_checkpoints_by_itself_every_n_entries(
    database_url: str,
    keyring_path: Path,
    tmp_path: Path,
    db: Session,
    world: World,
    run: Callable[..., Result],
) -> None:
    """With RISKASSESS_AUDIT_CHECKPOINT_EVERY=3 the requests' own commits sign the log's head
    into the checkpoint file, so even a log nobody checkpoints by hand reveals a cut-off tail."""
    path = tmp_path / "audit-checkpoints.jsonl"
    settings = make_settings(database_url, keyring_path).with_overrides(
        audit_checkpoint_every=3, audit_checkpoints_path=path
    )
    world.user("cw.north", "caseworker", world.unit("nord"))
    served = create_app(settings)
    try:
        client = served.test_client()
        form = {"username": "cw.north", "password": PASSWORD, "csrf_token": csrf(client, "/login")}
        assert client.post("/login", data=form).status_code == 302
        for _ in range(8):
            assert client.get("/cases").status_code == 200  # each list is an audit entry
    finally:
        served.extensions["riskassess"].session_factory.kw["bind"].dispose()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) >= 2 and {line["kind"] for line in lines} == {"checkpoint"}
    multiples = [line["seq"] // 3 for line in lines]
    assert multiples == sorted(set(multiples)), "one line each time a multiple of 3 is passed"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "match the log" in ok(run("audit", "verify", "--checkpoints", str(path)))
    db.rollback()
    db.execute(delete(AuditEntry).where(AuditEntry.seq >= lines[-1]["seq"]))
    db.commit()
    assert "truncated or rolled back" in refused(run("audit", "verify", "--checkpoints", str(path)))
