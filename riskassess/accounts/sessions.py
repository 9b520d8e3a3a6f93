"""Server-side login sessions: the cookie holds a random id, the session lives in the database
(default) or in Redis (when configured, so that several app servers share it).

Logging out deletes the session, so a copied cookie is worthless afterwards. A session ends
after an idle time and, however busy, after a maximum lifetime; logging in starts a new one
under a new id. All of a user's sessions can be ended at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

from flask import Flask, Request, session
from flask.sessions import SessionInterface, SessionMixin, session_json_serializer
from sqlalchemy import Connection, Select, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from riskassess.accounts.models import LoginSession, Unit, User
from riskassess.config import Settings
from riskassess.core.db import utcnow

# How often a busy session's last-seen time is written: the idle timeout is this precise.
TOUCH_EVERY = timedelta(minutes=1)
USER_KEY = "_user_id"  # where flask-login keeps the logged-in user's id
# Requests that need no session: a stylesheet, a load balancer's health checks. They never
# read or write the store, and never create a session.
SESSIONLESS_ENDPOINTS = frozenset({"static", "health.healthz", "health.readyz"})
# Messages waiting for the next page ("Saved."): only the newest are kept. A client that never
# follows the redirect to that page (a script, a load test) would otherwise grow its session
# by one message a request, and every request reads and writes the whole session.
MAX_FLASHES = 10
FLASHES_KEY = "_flashes"  # where Flask keeps them


def key_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class StoredSession:
    data: str  # the session's contents, serialized
    user_id: str | None
    created_dt: datetime
    last_seen_dt: datetime
    # The logged-in user's row and unit row as read with the session (the database store),
    # for `accounts.services.load_user`; None when not read with it.
    user_row: UserRow | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class UserRow:
    """A user_account row and its unit's row (None for a user without a unit), by column."""

    user: dict[str, Any]
    unit: dict[str, Any] | None


@cache
def _joined_columns() -> list[Any]:
    """The user's and the unit's columns, labelled apart from the session's own. Built on first
    use: a column typed by its foreign key (`mfa_key_id`) has its type only once the table it
    refers to is known."""
    return [c.label(f"account__{c.key}") for c in User.__table__.c] + [
        c.label(f"unit__{c.key}") for c in Unit.__table__.c
    ]


@cache
def _load_query() -> Select[Any]:
    """A session with its user and unit, by the session key's hash (`key`). Every request runs
    it; built once (see `core.db`), it takes half the time on PostgreSQL."""
    return (
        select(
            LoginSession.data,
            LoginSession.user_id,
            LoginSession.created_dt,
            LoginSession.last_seen_dt,
            *_joined_columns(),
        )
        .outerjoin(User, User.id == LoginSession.user_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(LoginSession.key_hash == bindparam("key"))
    )


def _user_row(row: Any) -> UserRow | None:
    values = row._mapping
    if values["account__id"] is None:  # no user, or one that no longer exists
        return None
    unit = None
    if values["unit__id"] is not None:
        unit = {c.key: values[f"unit__{c.key}"] for c in Unit.__table__.c}
    return UserRow({c.key: values[f"account__{c.key}"] for c in User.__table__.c}, unit)


class SessionStore(Protocol):
    def load(self, key: str) -> StoredSession | None: ...

    def save(self, key: str, record: StoredSession, ttl: timedelta) -> None: ...

    def touch(self, key: str, record: StoredSession, ttl: timedelta) -> None: ...

    def delete(self, key: str) -> None: ...

    def delete_for_user(self, user_id: str, within: Session) -> int:
        """End all of a user's sessions; a database store does it in the caller's transaction
        `within`, beside the audit entry that records it."""
        ...

    def purge(self, idle_since: datetime, created_since: datetime) -> None: ...


class DatabaseSessionStore:
    """Sessions in the `login_session` table, each operation in a short transaction of its own
    (outside the request's, which may roll back)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def load(self, key: str) -> StoredSession | None:
        # The session's user and unit come in the same statement: every logged-in request
        # loads them next (`accounts.services.load_user`), and would otherwise query again.
        engine = self.factory.kw["bind"]
        if engine.dialect.name == "postgresql":
            # Every request starts here: one statement in autocommit, one round trip, instead
            # of BEGIN, SELECT and COMMIT. (SQLite's transactions begin with BEGIN IMMEDIATE,
            # which autocommit would leave open, so it keeps the short transaction.)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                row = conn.execute(_load_query(), {"key": key}).first()
        else:
            with self.factory() as db, db.begin():
                row = db.execute(_load_query(), {"key": key}).first()
        if row is None:
            return None
        data, user_id, created_dt, last_seen_dt = row[:4]
        user = None if user_id is None else str(user_id)
        return StoredSession(data, user, created_dt, last_seen_dt, _user_row(row))

    def save(self, key: str, record: StoredSession, ttl: timedelta) -> None:
        values = {
            "user_id": _user_uuid(record.user_id),
            "data": record.data,
            "created_dt": record.created_dt,
            "last_seen_dt": record.last_seen_dt,
        }
        with self._writing() as conn:
            changed = conn.execute(
                update(LoginSession).where(LoginSession.key_hash == key).values(**values)
            )
            if not changed.rowcount:
                conn.execute(insert(LoginSession).values(key_hash=key, **values))

    def touch(self, key: str, record: StoredSession, ttl: timedelta) -> None:
        with self._writing() as conn:
            conn.execute(
                update(LoginSession)
                .where(LoginSession.key_hash == key)
                .values(last_seen_dt=record.last_seen_dt)
            )

    def delete(self, key: str) -> None:
        with self._writing() as conn:
            conn.execute(delete(LoginSession).where(LoginSession.key_hash == key))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A connection for one session write. PostgreSQL: each statement commits by itself,
        one round trip instead of BEGIN, the statement and COMMIT (a save is an UPDATE, and an
        INSERT only for a new session, which no other request can know yet). SQLite: a short
        transaction, as its transactions begin with BEGIN IMMEDIATE."""
        engine = self.factory.kw["bind"]
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                yield conn
        else:
            with engine.begin() as conn:
                yield conn

    def delete_for_user(self, user_id: str, within: Session) -> int:
        ended = within.execute(
            delete(LoginSession).where(LoginSession.user_id == _user_uuid(user_id))
        )
        return int(ended.rowcount)  # type: ignore[attr-defined]

    def purge(self, idle_since: datetime, created_since: datetime) -> None:
        with self.factory() as db, db.begin():
            db.execute(
                delete(LoginSession).where(
                    or_(
                        LoginSession.last_seen_dt < idle_since,
                        LoginSession.created_dt < created_since,
                    )
                )
            )


class RedisSessionStore:
    """Sessions in Redis, each key expiring by itself at the session's idle or maximum end,
    with a set per user of the user's session keys (for ending them all)."""

    def __init__(self, client: Any, prefix: str = "riskassess:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}session:{key}"

    def _user_set(self, user_id: str) -> str:
        return f"{self.prefix}user-sessions:{user_id}"

    def load(self, key: str) -> StoredSession | None:
        raw = self.client.get(self._key(key))
        if raw is None:
            return None
        fields = json.loads(raw)
        return StoredSession(
            fields["data"],
            fields["user_id"],
            datetime.fromisoformat(fields["created"]),
            datetime.fromisoformat(fields["last_seen"]),
        )

    def save(self, key: str, record: StoredSession, ttl: timedelta) -> None:
        value = json.dumps(
            {
                "data": record.data,
                "user_id": record.user_id,
                "created": record.created_dt.isoformat(),
                "last_seen": record.last_seen_dt.isoformat(),
            }
        )
        milliseconds = max(1, int(ttl.total_seconds() * 1000))
        pipe = self.client.pipeline()
        pipe.set(self._key(key), value, px=milliseconds)
        if record.user_id is not None:
            pipe.sadd(self._user_set(record.user_id), key)
        pipe.execute()

    def touch(self, key: str, record: StoredSession, ttl: timedelta) -> None:
        self.save(key, record, ttl)

    def delete(self, key: str) -> None:
        record = self.load(key)
        pipe = self.client.pipeline()
        pipe.delete(self._key(key))
        if record is not None and record.user_id is not None:
            pipe.srem(self._user_set(record.user_id), key)
        pipe.execute()

    def delete_for_user(self, user_id: str, within: Session) -> int:
        keys = [
            k.decode() if isinstance(k, bytes) else k
            for k in self.client.smembers(self._user_set(user_id))
        ]
        live = sum(1 for k in keys if self.client.exists(self._key(k)))
        pipe = self.client.pipeline()
        for key in keys:
            pipe.delete(self._key(key))
        pipe.delete(self._user_set(user_id))
        pipe.execute()
        return live

    def purge(self, idle_since: datetime, created_since: datetime) -> None:
        """Nothing to do: every key expires by itself."""


def _user_uuid(user_id: str | None) -> uuid.UUID | None:
    if user_id is None:
        return None
    try:
        return uuid.UUID(user_id)
    except ValueError:
        return None


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Flask's session for one request, with the id it was loaded under (None when new)."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        session_id: str | None = None,
        stored: StoredSession | None = None,
    ) -> None:
        def changed(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(initial, changed)
        self.session_id = session_id
        self.stored = stored
        self.modified = False
        self.rotate = False  # give it a new id when it is saved (at login)


def _endpoint(app: Flask, request: Request) -> str | None:
    """The endpoint the request will reach. Flask opens the session before it matches the
    URL (so `request.endpoint` is still None here); matching again costs microseconds."""
    adapter = app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        endpoint, _arguments = adapter.match()
    except HTTPException:  # no route, a redirect, a wrong method
        return None
    return str(endpoint)


class ServerSessionInterface(SessionInterface):
    serializer = session_json_serializer

    def __init__(self, store: SessionStore, idle: timedelta, lifetime: timedelta) -> None:
        self.store = store
        self.idle = idle
        self.lifetime = lifetime

    def _is_over(self, stored: StoredSession, now: datetime) -> bool:
        return now - stored.last_seen_dt > self.idle or now - stored.created_dt > self.lifetime

    def _ttl(self, stored: StoredSession) -> timedelta:
        return min(self.idle, stored.created_dt + self.lifetime - stored.last_seen_dt)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session_id = request.cookies.get(self.get_cookie_name(app))
        if _endpoint(app, request) in SESSIONLESS_ENDPOINTS:
            return ServerSession()  # no store round trip; an empty session is never saved
        if not session_id or len(session_id) > 128 or not session_id.isascii():
            return ServerSession()
        key = key_hash(session_id)
        stored = self.store.load(key)
        if stored is None:
            return ServerSession()
        if self._is_over(stored, utcnow()):
            self.store.delete(key)
            return ServerSession()
        return ServerSession(self.serializer.loads(stored.data), session_id, stored)

    def _dumps(self, session: ServerSession) -> str:
        data = dict(session)
        flashes = data.get(FLASHES_KEY)
        if isinstance(flashes, list) and len(flashes) > MAX_FLASHES:
            data[FLASHES_KEY] = flashes[-MAX_FLASHES:]
        return str(self.serializer.dumps(data))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        name, domain, path = (
            self.get_cookie_name(app),
            self.get_cookie_domain(app),
            self.get_cookie_path(app),
        )
        if session.accessed:
            response.vary.add("Cookie")
        old_key = None if session.session_id is None else key_hash(session.session_id)
        if not session:
            if old_key is not None:
                self.store.delete(old_key)
                response.delete_cookie(name, domain=domain, path=path)
            return
        now = utcnow()
        if old_key is not None and session.stored is not None and not session.rotate:
            stored = session.stored
            if session.modified:
                stored = StoredSession(
                    self._dumps(session),
                    session.get(USER_KEY),
                    stored.created_dt,
                    now,
                )
                self.store.save(old_key, stored, self._ttl(stored))
            elif now - stored.last_seen_dt >= TOUCH_EVERY:
                stored = StoredSession(stored.data, stored.user_id, stored.created_dt, now)
                self.store.touch(old_key, stored, self._ttl(stored))
            return
        # A new session, or one given a new id at login.
        if old_key is not None:
            self.store.delete(old_key)
        else:
            self.store.purge(now - self.idle, now - self.lifetime)
        session_id = secrets.token_urlsafe(32)
        stored = StoredSession(self._dumps(session), session.get(USER_KEY), now, now)
        self.store.save(key_hash(session_id), stored, self._ttl(stored))
        response.set_cookie(
            name,
            session_id,
            domain=domain,
            path=path,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


def rotate_session() -> None:
    """Give the current session a new id when the response is sent (call it at login)."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    if isinstance(current, ServerSession):
        current.rotate = True


def make_session_store(settings: Settings, factory: sessionmaker[Session]) -> SessionStore:
    """Redis when a URL is configured (several servers), else the database."""
    if settings.redis_url is None:
        return DatabaseSessionStore(factory)
    import redis

    return RedisSessionStore(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)


def session_interface(
    store: SessionStore, idle_minutes: int, max_hours: int
) -> ServerSessionInterface:
    return ServerSessionInterface(
        store, timedelta(minutes=idle_minutes), timedelta(hours=max_hours)
    )
