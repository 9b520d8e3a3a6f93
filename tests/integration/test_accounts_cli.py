"""`riskassess users create` refuses a password that is short, common, or built from the
account's own name, and creates nothing then."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.passwords import new_password_problem
from riskassess.cli import main

pytestmark = pytest.mark.usefixtures("app")


def _create(database_url: str, keyring_path: Path, password: str) -> Result:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }
    args = ["users", "create", "anna.andersson", "--name", "Anna Andersson", "--role", "auditor"]
    return CliRunner().invoke(main, args, env=env, input=password + "\n")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("kort-lösen", "at least 12 characters"),
        ("Password123!", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("anna.andersson1", "too easy to guess"),  # the username with a digit
    ],
)
def test_a_weak_password_creates_no_account(
    database_url: str, keyring_path: Path, db: Session, password: str, why: str
) -> None:
    result = _create(database_url, keyring_path, password)
    assert result.exit_code == 1 and why in result.output and "Nothing was created" in result.output
    db.rollback()
    assert db.scalar(select(User).where(User.username == "anna.andersson")) is None


def test_a_strong_password_creates_the_account(
    database_url: str, keyring_path: Path, db: Session
) -> None:
    result = _create(database_url, keyring_path, "kvittrande-blåbär-ladugård")
    assert result.exit_code == 0, result.output
    db.rollback()
    assert db.scalar(select(User).where(User.username == "anna.andersson")) is not None


def test_the_limits() -> None:
    assert new_password_problem("x" * 201) is not None
    assert new_password_problem("tyst-lingon-vandrar-norrut") is None
