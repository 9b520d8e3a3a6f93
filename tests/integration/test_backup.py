"""A backup and restore drill on each database, as an operator runs it: cases with encrypted
content and an approved assessment, a signed checkpoint, `riskassess backup`, `riskassess
restore` into a fresh database, then the audit chain verified against the checkpoint and every
case decrypted with the keyring. And what backup and restore refuse."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.cases import services as cases
from riskassess.cases.models import Case
from riskassess.cli import main
from riskassess.core.audit import AuditEntry, read_checkpoints, verify_chain
from riskassess.core.crypto import Keyring
from riskassess.core.db import make_engine
from riskassess.core.keys import Vault
from tests.conftest import PASSWORD, World
from tests.integration.casework import with_record

NAMES = ("Backa Fiktivdotter", "Återställ Fiktivsson")  # fictional


def _cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _env(database_url: str, keyring: Path, checkpoints: Path) -> dict[str, str]:
    return {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring),
        "RISKASSESS_MODE": "production",
        "RISKASSESS_SECRET_KEY": secrets.token_urlsafe(48),
        "RISKASSESS_AUDIT_CHECKPOINTS": str(checkpoints),
    }


@pytest.fixture
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as `database_url` to restore into: a new SQLite
    file, or a new PostgreSQL database whose search_path names the same schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    source = make_url(database_url)
    name = "ra_restore_" + secrets.token_hex(4)
    admin = source.set(drivername="postgresql", database="postgres", query={})
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _arrange(world: World) -> tuple[list[Case], Assessment]:
    """Two cases, one with an approved (signed, hashed) assessment."""
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    supervisor = world.user("sup.north", "supervisor", unit)
    made = [world.case(owner, name=name) for name in NAMES]
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    session, vault = world.session, world.vault
    draft = assessments.start_assessment(session, vault, owner, made[0], instrument)
    content = with_record(
        Content(
            {
                i.code: ItemRating(i.scale.levels[0].code, f"Fiktiv {i.code}")
                for i in instrument.items
            },
            "low",
            "Fiktiv sammanfattning",
        )
    )
    assessments.save_assessment(session, vault, owner, made[0], draft, content, draft.lock_version)
    assessments.submit_assessment(session, vault, owner, made[0], draft, instrument)
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, made[0], draft, instrument, "", PASSWORD
    )
    session.commit()
    assert draft.state == "approved" and draft.content_hash
    return made, draft


def test_a_backup_restores_into_a_fresh_database_that_verifies_and_decrypts(
    world: World,
    database_url: str,
    keyring_path: Path,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    made, approved = _arrange(world)
    checkpoints = tmp_path / "checkpoints.jsonl"  # kept apart from the database
    source_env = _env(database_url, keyring_path, checkpoints)
    signed = _cli(source_env, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output

    archive = tmp_path / "nightly #1 ?.backup"  # a name a URI would misread
    backed_up = _cli(source_env, "backup", str(archive))
    assert backed_up.exit_code == 0, backed_up.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert "The keyring is not in the backup" in backed_up.output
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    for name in NAMES:  # ciphertext only
        assert name.encode() not in archive.read_bytes()

    restored_env = _env(fresh_database, keyring_path, checkpoints)
    restored = _cli(restored_env, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "Next: `riskassess check`" in restored.output

    # The chain, checked entry by entry and against the signed checkpoint kept apart.
    verified = _cli(restored_env, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "1 checkpoint(s)" in verified.output and "match the log" in verified.output
    public_key = Keyring.load(keyring_path).audit_signer().public_key()
    engine = make_engine(fresh_database)
    try:
        with Session(engine) as session:
            signed_heads = read_checkpoints(checkpoints, public_key)
            result = verify_chain(session, checkpoints=signed_heads, public_key=public_key)
            assert result.ok and result.checkpoints == 1, result.problem
            last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
            assert last is not None and last.action == "admin:database:restore"
            # Every case decrypts with the keyring; the approved content still has its hash.
            vault = Vault(Keyring.load(keyring_path))
            names = {
                cases.open_identity(session, vault, case).name
                for case in session.scalars(select(Case))
            }
            assert names == set(NAMES)
            again = session.get(Assessment, approved.id)
            assert again is not None and again.state == "approved"
            case = session.get(Case, made[0].id)
            assert case is not None
            content = assessments.open_content(session, vault, case, again)
            assert assessments.content_hash(content) == approved.content_hash
    finally:
        engine.dispose()
    # The restored database starts a server (the keyring matches its data keys).
    checked = _cli(restored_env, "check")
    assert checked.exit_code == 0, checked.output

    # Now it is not empty: a second restore needs --force, and then replaces it.
    refused = _cli(restored_env, "restore", str(archive))
    assert refused.exit_code == 1 and "already holds" in refused.output
    assert "--force" in refused.output and "Traceback" not in refused.output
    replaced = _cli(restored_env, "restore", "--force", str(archive))
    assert replaced.exit_code == 0, replaced.output
    assert _cli(restored_env, "audit", "verify").exit_code == 0


def test_a_restore_older_than_the_newest_checkpoint_says_what_was_lost(
    world: World,
    database_url: str,
    keyring_path: Path,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    _arrange(world)
    checkpoints = tmp_path / "checkpoints.jsonl"
    env = _env(database_url, keyring_path, checkpoints)
    archive = tmp_path / "older.backup"
    assert _cli(env, "backup", str(archive)).exit_code == 0
    assert _cli(env, "audit", "checkpoint").exit_code == 0  # signed after the backup
    restored_env = _env(fresh_database, keyring_path, checkpoints)
    restored = _cli(restored_env, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "were lost with this restore" in restored.output
    verified = _cli(restored_env, "audit", "verify")
    assert verified.exit_code == 1  # the lost entries are named, as they should be


def test_backup_and_restore_refuse_what_they_must(
    world: World, database_url: str, keyring_path: Path, fresh_database: str, tmp_path: Path
) -> None:
    world.unit("nord")
    env = _env(database_url, keyring_path, tmp_path / "checkpoints.jsonl")
    existing = tmp_path / "taken.backup"
    existing.write_text("someone else's file")
    taken = _cli(env, "backup", str(existing))
    assert taken.exit_code == 1 and "never overwrites" in taken.output
    assert existing.read_text() == "someone else's file"
    nowhere = _cli(env, "backup", str(tmp_path / "no-such-folder" / "x.backup"))
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output

    restored_env = _env(fresh_database, keyring_path, tmp_path / "checkpoints.jsonl")
    not_a_backup = _cli(restored_env, "restore", str(existing))
    assert not_a_backup.exit_code == 1 and "Traceback" not in not_a_backup.output
    missing = _cli(restored_env, "restore", str(tmp_path / "missing.backup"))
    assert missing.exit_code == 1 and "No backup file" in missing.output

    archive = tmp_path / "production.backup"
    assert _cli(env, "backup", str(archive)).exit_code == 0
    demo = _cli({**restored_env, "RISKASSESS_MODE": "demo"}, "restore", str(archive))
    assert demo.exit_code == 1 and "backup of a production database" in demo.output
    if os.environ.get("RISKASSESS_TEST_POSTGRES_URL") and not database_url.startswith("sqlite"):
        # A PostgreSQL URL whose search_path names another schema than the backup's.
        other = make_url(fresh_database).update_query_dict({"options": "-csearch_path=elsewhere"})
        wrong = _cli(
            {**restored_env, "RISKASSESS_DATABASE_URL": other.render_as_string(False)},
            "restore",
            str(archive),
        )
        assert wrong.exit_code == 1 and "search_path" in wrong.output
