"""The second login factor: a TOTP code (RFC 6238) from an authenticator app, enrolled by
scanning a QR code, and one-time recovery codes for a lost phone.

The codes come from cryptography's TOTP; the QR code is drawn by segno as inline SVG, so the
secret never leaves the page that shows it (no image URL, no third-party service). The secret
is sealed under the account's own data key. A code is accepted one time step either side of
now (phone clocks drift), and never twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import RecoveryCode, User
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.core.keys import DataKey, Vault
from riskassess.errors import N_, DomainError

ISSUER = "riskassess"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to type from paper
_SEALED = ("user_account", "mfa_secret")


class SecondFactorRefused(DomainError):
    """A wrong, reused or expired code; one message for all, so nothing is revealed."""

    def __init__(self) -> None:
        super().__init__(N_("The code is wrong or has already been used. Try the next code."))


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the QR code and the same secret for typing in."""

    secret: str
    qr_svg: Markup


def _totp(secret: bytes) -> TOTP:
    # SHA-1 and six digits: the parameters every authenticator app supports; HMAC-SHA-1 is
    # not weakened by SHA-1's collisions.
    hmac_sha1 = SHA1()  # noqa: S303 - HMAC in RFC 6238, not a bare digest  # nosec B303
    return TOTP(secret, DIGITS, hmac_sha1, STEP_SECONDS, enforce_key_length=True)


def _secret_text(secret: bytes) -> str:
    return base64.b32encode(secret).decode()


def _open_secret(session: Session, vault: Vault, user: User) -> bytes:
    if user.mfa_key_id is None or user.mfa_secret is None:
        raise SecondFactorRefused()
    text = vault.open_json(session, user.mfa_key_id, user.mfa_secret, *_SEALED, user.id)
    return base64.b32decode(text)


def _enrolment(user: User, secret: bytes, label: str) -> Enrolment:
    uri = _totp(secret).get_provisioning_uri(user.username, ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")
    # An image with a name for screen readers; the secret is also shown as text beside it.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    qr_svg = Markup(svg)  # noqa: S704 - segno's SVG, no user text in it  # nosec B704
    text = _secret_text(secret)
    grouped = " ".join(text[i : i + 4] for i in range(0, len(text), 4))  # easier to type
    return Enrolment(secret=grouped, qr_svg=qr_svg)


def pending_enrolment(session: Session, vault: Vault, user: User, label: str) -> Enrolment:
    """The secret waiting to be confirmed, made now if there is none. Reloading the page shows
    the same QR code, so a phone that already scanned it keeps working."""
    if user.has_mfa:
        raise DomainError(N_("Two-step login is already set up for this account."))
    if user.mfa_secret is not None and user.mfa_key_id is not None:
        return _enrolment(user, _open_secret(session, vault, user), label)
    secret = os.urandom(SECRET_BYTES)
    if user.mfa_key_id is None:
        user.mfa_key_id = vault.create_data_key(session).id
    user.mfa_secret = vault.seal_json(
        session, user.mfa_key_id, _secret_text(secret), *_SEALED, user.id
    )
    user.mfa_last_step = None
    session.flush()
    audit.append(
        session, user.as_actor(), "account:mfa:begin", object_type="user", object_id=user.id
    )
    return _enrolment(user, secret, label)


def _matching_step(session: Session, vault: Vault, user: User, code: str, now: float) -> int:
    secret = _open_secret(session, vault, user)
    totp, current = _totp(secret), int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        fresh = user.mfa_last_step is None or step > user.mfa_last_step
        if fresh and hmac.compare_digest(totp.generate(step * STEP_SECONDS), code.encode()):
            return step
    raise SecondFactorRefused()


def confirm_enrolment(
    session: Session, vault: Vault, user: User, code: str, now: float | None = None
) -> list[str]:
    """Turn the pending secret on with a first code from the app; returns the recovery codes,
    which are shown once."""
    if user.has_mfa or user.mfa_secret is None:
        raise DomainError(N_("Start the set-up of two-step login again."))
    user.mfa_last_step = _matching_step(session, vault, user, _digits(code), _now(now))
    user.mfa_enrolled_dt = utcnow()
    codes = _replace_recovery_codes(session, user)
    audit.append(
        session, user.as_actor(), "account:mfa:enrol", object_type="user", object_id=user.id
    )
    return codes


def check_second_factor(
    session: Session, vault: Vault, user: User, code: str, now: float | None = None
) -> str:
    """Accept a TOTP code or an unused recovery code; returns which ("totp" or "recovery").
    The caller audits the login; a refusal raises SecondFactorRefused."""
    if not user.has_mfa:
        raise SecondFactorRefused()
    digits = _digits(code)
    if len(digits) == DIGITS and digits.isdigit():
        user.mfa_last_step = _matching_step(session, vault, user, digits, _now(now))
        session.flush()
        return "totp"
    wanted = _recovery_hash(code)
    for stored in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_dt.is_(None))
    ):
        if hmac.compare_digest(stored.code_hash, wanted):
            stored.used_dt = utcnow()
            session.flush()
            return "recovery"
    raise SecondFactorRefused()


def unused_recovery_codes(session: Session, user: User) -> int:
    unused = (RecoveryCode.user_id == user.id) & RecoveryCode.used_dt.is_(None)
    return session.scalar(select(func.count()).select_from(RecoveryCode).where(unused)) or 0


def renew_recovery_codes(session: Session, vault: Vault, user: User, code: str) -> list[str]:
    """New recovery codes for the user (the old ones stop working); needs a current code."""
    if check_second_factor(session, vault, user, code) != "totp":
        raise SecondFactorRefused()
    codes = _replace_recovery_codes(session, user)
    audit.append(
        session, user.as_actor(), "account:mfa:recovery", object_type="user", object_id=user.id
    )
    return codes


def turn_off(session: Session, vault: Vault, user: User, code: str) -> bool:
    """The user's own choice, where two-step login is optional (the demo); needs a code."""
    check_second_factor(session, vault, user, code)
    _forget(session, user)
    audit.append(
        session, user.as_actor(), "account:mfa:remove", object_type="user", object_id=user.id
    )
    return True


def reset(session: Session, actor: audit.Actor, user: User) -> None:
    """An administrator's reset for a lost phone: the user enrols again at the next login.
    The caller ends the user's sessions."""
    was = "enrolled" if user.has_mfa else ("pending" if user.mfa_secret else "none")
    _forget(session, user)
    audit.append(
        session,
        actor,
        "admin:user:mfa_reset",
        object_type="user",
        object_id=user.id,
        details={"before": was, "after": "none"},
    )


def _forget(session: Session, user: User) -> None:
    key_id = user.mfa_key_id
    user.mfa_key_id = user.mfa_secret = user.mfa_enrolled_dt = user.mfa_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    if key_id is not None:  # crypto-shred: the sealed secret can never be opened again
        session.execute(delete(DataKey).where(DataKey.id == key_id))


def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)))
        codes.append(code)
    session.flush()
    return codes


def _recovery_hash(code: str) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def _now(now: float | None) -> float:
    return time.time() if now is None else now
