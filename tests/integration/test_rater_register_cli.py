"""`riskassess users training-add/-list/-remove`: the register of trained raters from the
command line, through the same services as the pages. Mistakes get one line and exit code 1,
never a traceback, and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import RaterTraining
from riskassess.cli import main
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("app")
COURSE = "Fiktiv EARL-kurs, två dagar"


@pytest.fixture
def users(database_url: str, keyring_path: Path) -> Callable[..., Result]:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["users", *args], env=env)

    return run


def _stored(db: Session) -> list[tuple[str, str, date, str]]:
    db.rollback()
    rows = db.scalars(select(RaterTraining).order_by(RaterTraining.trained_on))
    return [(str(t.user_id), t.instrument_id, t.trained_on, t.course) for t in rows]


def _audited(db: Session) -> list[tuple[str, str | None, dict[str, str]]]:
    db.rollback()
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.like("account:training:%"))
        .order_by(AuditEntry.seq)
    )
    return [(e.action, e.object_id, entry_fields(e.body)["details"]) for e in entries]


def test_add_list_and_remove_a_training(
    world: World, db: Session, users: Callable[..., Result]
) -> None:
    worker = world.user("cw.north", "caseworker", world.unit("nord"))
    added = users(
        "training-add", "cw.north", "--instrument", "earl-20b-style", "--date", "2022-03-10",
        "--course", COURSE,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "cw.north is registered as trained in earl-20b-style (2022-03-10)" in added.output
    assert _stored(db) == [(str(worker.id), "earl-20b-style", date(2022, 3, 10), COURSE)]

    listed = users("training-list")
    assert listed.exit_code == 0
    assert "cw.north" in listed.output and "earl-20b-style" in listed.output
    assert COURSE in listed.output and "recorded by command line" in listed.output
    assert users("training-list", "cw.north").output == listed.output
    assert users("training-list", "--unit", "nord").output == listed.output

    removed = users(
        "training-remove", "cw.north", "--instrument", "earl-20b-style", "--date", "2022-03-10"
    )
    assert removed.exit_code == 0, removed.output
    assert _stored(db) == []
    assert "No training registered." in users("training-list").output

    training_id = _audited(db)[0][2]["training"]
    details = {"training": training_id, "instrument": "earl-20b-style", "trained_on": "2022-03-10"}
    assert _audited(db) == [
        ("account:training:record", str(worker.id), details),
        ("account:training:remove", str(worker.id), details),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody", "savry-style", "2022-03-10", COURSE), "No user 'nobody'"),
        (("cw.north", "made-up-style", "2022-03-10", COURSE), "choose one of: earl-20b-style"),
        (
            ("cw.north", "savry-style", (date.today() + timedelta(days=1)).isoformat(), COURSE),
            "cannot be in the future",
        ),
        (("cw.north", "savry-style", "1989-12-31", COURSE), "from 1990 on"),
        (("cw.north", "savry-style", "2022-02-30", COURSE), "'2022-02-30' does not match"),
        (("cw.north", "savry-style", "2022-03-10", " "), "Give the course's name"),
        (("cw.north", "savry-style", "2022-03-10", "x" * 201), "at most 200 characters"),
        (("cw.north", "savry-style", "2022-03-10", "kurs\x1b[2J"), "control characters"),
    ],
)
def test_a_mistake_is_one_line_and_changes_nothing(
    world: World,
    db: Session,
    users: Callable[..., Result],
    args: tuple[str, str, str, str],
    message: str,
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    username, instrument, day, course = args
    result = users(
        "training-add", username, "--instrument", instrument, "--date", day, "--course", course
    )
    assert result.exit_code in (1, 2), result.output  # 2: click's own usage error
    assert message in result.output and "Traceback" not in result.output
    assert _stored(db) == [] and _audited(db) == []


def test_a_duplicate_and_a_missing_training_are_refused(
    world: World, db: Session, users: Callable[..., Result]
) -> None:
    worker = world.user("cw.north", "caseworker", world.unit("nord"))
    add = ("training-add", "cw.north", "--instrument", "savry-style", "--date", "2021-01-20")
    assert users(*add, "--course", COURSE).exit_code == 0
    again = users(*add, "--course", "Samma kurs igen")
    assert again.exit_code == 1 and "already in the register" in again.output
    missing = users(
        "training-remove", "cw.north", "--instrument", "savry-style", "--date", "2021-01-21"
    )
    assert missing.exit_code == 1
    assert "cw.north has no training in savry-style on 2021-01-21" in missing.output
    assert _stored(db) == [(str(worker.id), "savry-style", date(2021, 1, 20), COURSE)]
    assert [action for action, _id, _details in _audited(db)] == ["account:training:record"]
