"""Signing in to the console: API key in, server-side session out; CSRF tokens for every form.

A person signs in once with an API key of role ``finance`` or ``admin``; the browser then
holds a random session token in an HttpOnly, SameSite=Strict cookie (Secure over https), and
the store keeps only the token's SHA-256 (:class:`~api.console.tables.ConsoleSession`). Every
request looks the session up together with its API key, so a session ends when it expires
(:data:`SESSION_LIFETIME` after sign-in), when its holder signs out, or when the key is
revoked or no longer has a console role.

Forms carry a CSRF token in a hidden field. A signed-in form's token is an HMAC of the
session token (:func:`csrf_token`): nothing more to store, different for every session, so a
form from an earlier session is refused. The sign-in form, which has no session yet, uses a
double-submit token: a random value in its own SameSite=Strict cookie and in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from api.console.tables import ConsoleSession
from api.kit.auth import KEY_PREFIX, Caller, hash_key
from api.kit.tables import ApiKey

CONSOLE_ROLES: tuple[str, ...] = ("finance", "admin")
"""Roles whose API keys open the console."""

SESSION_LIFETIME = timedelta(hours=8)
"""A session ends by itself this long after sign-in: a working day."""

SESSION_COOKIE = "console_session"
SIGN_IN_COOKIE = "console_sign_in"
COOKIE_PATH = "/console"

_TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 100  # a cookie longer than any token we issue is not looked up
_KEY_LENGTH = len(KEY_PREFIX) + 43

_SESSIONS = ConsoleSession.__table__
_KEYS = ApiKey.__table__
_LOOKUP = (  # built once: runs on every console request
    select(_SESSIONS.c.session_id, _SESSIONS.c.key_id, _SESSIONS.c.expires_at, _SESSIONS.c.ended_at,
           _KEYS.c.name, _KEYS.c.client, _KEYS.c.role, _KEYS.c.revoked_at)
    .join(_KEYS, _KEYS.c.key_id == _SESSIONS.c.key_id)
    .where(_SESSIONS.c.token_hash == bindparam("token_hash"))
)


class SignInRefused(Exception):
    """A key that cannot open the console; ``message`` says why, for the sign-in page.

    Parameters
    ----------
    message
        Shown next to the key field.
    status_code
        401 for a key that is not valid or revoked, 403 for a valid key of another role.
    """

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in: the API key's holder, with the session's CSRF token for its forms."""

    session_id: int
    key_id: int
    name: str
    role: str
    expires_at: datetime
    csrf_token: str
    client: str = ""

    @property
    def caller(self) -> Caller:
        """The same caller the HTTP API would see for this key: decisions record ``key:<id>`` as actor."""
        return Caller(key_id=self.key_id, name=self.name, role=self.role, client=self.client)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a session token, as stored in ``console_sessions.token_hash``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session's forms: HMAC-SHA256 of a fixed label keyed by the session token."""
    return hmac.new(session_token.encode("utf-8"), b"finance-console-form", hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a form's token is the expected one (constant-time)."""
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def new_form_token() -> str:
    """A random token for the sign-in form's double-submit cookie."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def sign_in(session: Session, api_key: str, now: datetime) -> tuple[str, ConsoleUser]:
    """Open a console session for an API key of a console role.

    Parameters
    ----------
    session
        The unit of work; the session row is flushed, not committed. Begin it with
        :func:`api.kit.db.take_write_lock` (this reads the key, then writes).
    api_key
        The key as typed (surrounding blanks are ignored).
    now
        Sign-in time (UTC, naive).

    Returns
    -------
    tuple[str, ConsoleUser]
        The session token for the cookie (never stored) and the signed-in user.

    Raises
    ------
    SignInRefused
        A missing, malformed, unknown or revoked key (401), or a key whose role is not
        finance or admin (403).
    """
    api_key = (api_key or "").strip()
    if not api_key:
        raise SignInRefused("Enter an API key of the finance team (it starts with mck_).", 401)
    if len(api_key) != _KEY_LENGTH or not api_key.startswith(KEY_PREFIX):
        raise SignInRefused("This is not a valid API key: a key is mck_ followed by 43 characters.", 401)
    digest = hash_key(api_key)
    key = session.execute(select(ApiKey).where(ApiKey.key_hash == digest)).scalar_one_or_none()
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        raise SignInRefused("This API key is not valid.", 401)
    if key.revoked_at is not None:
        raise SignInRefused(f"This API key ({key.prefix}...) was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC.", 401)
    if key.role not in CONSOLE_ROLES:
        raise SignInRefused(f"The console is for the finance team: this key's role is {key.role}. "
                            "Sign in with a finance or admin key.", 403)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = ConsoleSession(key_id=key.key_id, token_hash=token_hash(token), created_at=now,
                         expires_at=now + SESSION_LIFETIME)
    session.add(row)
    session.flush()
    return token, ConsoleUser(session_id=row.session_id, key_id=key.key_id, name=key.name, role=key.role,
                              expires_at=row.expires_at, csrf_token=csrf_token(token), client=key.client)


def signed_in(connection: Connection | Session, token: str | None, now: datetime) -> ConsoleUser | None:
    """The user of a session token, or None when the session is unknown, over, or its key may not sign in.

    Parameters
    ----------
    connection
        Any connection or session; one indexed read.
    token
        The session cookie's value.
    now
        The time to judge expiry by (UTC, naive).
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    row = connection.execute(_LOOKUP, {"token_hash": token_hash(token)}).first()
    if row is None or row.ended_at is not None or row.expires_at <= now or row.revoked_at is not None \
            or row.role not in CONSOLE_ROLES:
        return None
    return ConsoleUser(session_id=row.session_id, key_id=row.key_id, name=row.name, role=row.role,
                       expires_at=row.expires_at, csrf_token=csrf_token(token), client=row.client)


def sign_out(session: Session, session_id: int, now: datetime) -> None:
    """End a session (idempotent: an ended session keeps its first end time)."""
    session.execute(update(ConsoleSession).where(ConsoleSession.session_id == session_id,
                                                 ConsoleSession.ended_at.is_(None)).values(ended_at=now))
