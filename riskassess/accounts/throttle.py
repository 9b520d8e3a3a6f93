"""Throttling of password guesses with Flask-Limiter: failed logins per account and per
address, and wrong signing passwords per supervisor. Only failures count, so a user who types
the right password is never slowed down. The counts live in memory (one server, the demo) or in
Redis when several servers share them (RISKASSESS_REDIS_URL).

Keys never hold typed text: the account key is a hash of the username as typed, so a
personnummer typed into the wrong field does not reach the storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, g, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from riskassess.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

# Failed attempts allowed in the window; the next attempt is refused until the window has moved.
ACCOUNT_LIMIT = "5 per 15 minutes"
# Higher: a classroom or an office shares one address.
ADDRESS_LIMIT = "50 per 15 minutes"
SIGNING_LIMIT = "5 per 15 minutes"
LOGIN_ENDPOINT = "accounts.login"
# What a throttled request was trying to do, for its audit entry.
THROTTLED_ACTIONS = {
    LOGIN_ENDPOINT: "account:session:login",
    "accounts.reset_password": "account:password:reset",  # an audit tag  # nosec B105
    "assessments.review": "case:assessment:sign",
    "mfa.login_code": "account:session:login",
    "mfa.login_setup": "account:mfa:enrol",
    "mfa.account_setup": "account:mfa:enrol",
    "mfa.renew_codes": "account:mfa:recovery",
    "mfa.turn_off": "account:mfa:remove",
    "training.join": "training:participant:join",
}

# The views where a second-factor code is tried, each with its own count.
CODE_ENDPOINTS = ("mfa.login_code", "mfa.login_setup", "mfa.account_setup", "mfa.renew_codes")

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def init_throttle(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = f"{settings.redis_prefix}limits"
    if settings.redis_url:
        # The storage's own prefix too: without it every key starts "LIMITS:", and a reset
        # would clear the counts of every installation (and test run) sharing the Redis.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": f"{settings.redis_prefix}limits"}
    limiter.init_app(app)


def account_key_for(username: str) -> str:
    return "account-" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def login_account_key() -> str:
    return account_key_for(request.form.get("username") or "")


def signer_key() -> str:
    return f"signer-{current_user.get_id()}"


def failed(_response: object) -> bool:
    """Count this request: the view marked its password check as failed."""
    return bool(g.get("password_failed"))


def mark_failed() -> None:
    g.password_failed = True


def _per_account_and_address(view: F, account_key: Callable[[], str]) -> F:
    """POSTs only, failures only."""
    for limit, key in ((ACCOUNT_LIMIT, account_key), (ADDRESS_LIMIT, get_remote_address)):
        view = cast(
            F, limiter.limit(limit, key_func=key, methods=["POST"], deduct_when=failed)(view)
        )
    return view


def throttle_login(view: F) -> F:
    """Wrong passwords, per account and per address."""
    return _per_account_and_address(view, login_account_key)


def code_key() -> str:
    """The account whose second factor is being tried: the one half-way through its login,
    or the logged-in user."""
    pending = session.get("mfa_pending")
    owner = pending.get("user") if isinstance(pending, dict) else current_user.get_id()
    return f"code-{owner}"


def throttle_codes(view: F) -> F:
    """Wrong second-factor codes, per account and per address, like wrong passwords."""
    return _per_account_and_address(view, code_key)


def throttle_signing(view: F) -> F:
    """Per supervisor: wrong passwords when approving (the signature) count like failed logins."""
    limit = limiter.limit(SIGNING_LIMIT, key_func=signer_key, methods=["POST"], deduct_when=failed)
    return cast(F, limit(view))


def unlock_account(username: str, user_id: object) -> None:
    """Forget an account's failed logins and wrong codes (an administrator's unlock)."""
    prefix = [limiter._key_prefix] if limiter._key_prefix else []
    # Flask-Limiter keys a route's limit as (prefix, key, endpoint); clearing that bucket is
    # what its own reset does for all buckets at once.
    buckets = [(account_key_for(username), LOGIN_ENDPOINT)]
    buckets += [(f"code-{user_id}", endpoint) for endpoint in CODE_ENDPOINTS]
    for key, endpoint in buckets:
        limiter.limiter.clear(parse(ACCOUNT_LIMIT), *prefix, key, endpoint)
