"""Argon2id password hashing (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext
from zxcvbn import zxcvbn

# A hash to verify against when the user does not exist, so that a wrong username takes as
# long as a wrong password and does not reveal which accounts exist.
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105 - never a valid login  # nosec B105


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False


MIN_LENGTH = 12
MAX_LENGTH = 200  # the login form's limit
MIN_STRENGTH = 3  # zxcvbn's score, 0-4: 3 is "safely unguessable" for an online attack


def new_password_problem(password: str, *known: str) -> str | None:
    """Why a password chosen by a person is refused, or None. At least 12 characters, and not
    a common password or a variation of one, nor built from the account's own name (`known`):
    zxcvbn matches its shipped lists of common passwords, names and words, with l33t and
    keyboard patterns. Its lists are mostly English: a Swedish word with a year may pass."""
    if len(password) < MIN_LENGTH:
        return str(gettext("A password needs at least %(count)s characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(gettext("A password can have at most %(count)s characters.", count=MAX_LENGTH))
    if zxcvbn(password[:100], user_inputs=[k for k in known if k])["score"] < MIN_STRENGTH:
        return str(
            gettext(
                "The password is too easy to guess: a common password, a variation of one, "
                "or built from the account's name."
            )
        )
    return None
