"""Staff accounts and their sessions, in the database: named people, argon2id password hashes, server-side sessions.

Passwords are hashed with argon2-cffi's PasswordHasher (argon2id, its RFC 9106 defaults); a login for a name that
does not exist still runs one verification, so timing does not tell which names exist. A session is a random token
in an HttpOnly cookie; the table keeps its SHA-256 and an expiry, so a leaked table opens nothing and logout,
`users disable` and `users passwd` end sessions at once. ADMIN_USERNAME / ADMIN_PASSWORD are the bootstrap account:
created at start-up, its password kept in step with ADMIN_PASSWORD.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import select

from models import StaffSession, StaffUser, utcnow
from onboarding.db import session_scope
from onboarding.secret_checks import MIN_ADMIN_PASSWORD, is_shipped_example

HASHER = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


class AccountError(ValueError):
    """A refused account change, with what to do instead."""


@dataclass(frozen=True)
class StaffAccount:
    username: str
    disabled: bool
    created_at: datetime


def normal_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError("a username is 1-64 of a-z, 0-9 and . _ @ -, starting with a letter or digit")
    return name


def password_problem(password: str) -> str | None:
    """Why a staff password is refused (the same rules as ADMIN_PASSWORD outside DEV_MODE), or None."""
    if len(password) < MIN_ADMIN_PASSWORD:
        return f"the password is shorter than {MIN_ADMIN_PASSWORD} characters"
    if is_shipped_example(password):
        return "the password is a value shipped in this repository's examples"
    return None


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts (the `users` command) ---------------------------------------------------------------
def add_user(db_url: str, username: str, password: str) -> str:
    name = normal_username(username)
    problem = password_problem(password)
    if problem:
        raise AccountError(f"{problem}: choose another")
    with session_scope(db_url) as db:
        if db.exec(select(StaffUser.id).where(StaffUser.username == name)).first() is not None:
            raise AccountError(f"user {name} exists: use `users passwd {name}` to change the password")
        db.add(StaffUser(username=name, password_hash=HASHER.hash(password)))
    return name


def _user(db, username: str) -> StaffUser:
    name = normal_username(username)
    user = db.exec(select(StaffUser).where(StaffUser.username == name)).first()
    if user is None:
        raise AccountError(f"no user {name}: `users list` shows who exists")
    return user


def set_password(db_url: str, username: str, password: str) -> None:
    """A new password; every session of the user ends."""
    problem = password_problem(password)
    if problem:
        raise AccountError(f"{problem}: choose another")
    with session_scope(db_url) as db:
        user = _user(db, username)
        user.password_hash = HASHER.hash(password)
        db.exec(delete(StaffSession).where(StaffSession.username == user.username))


def set_disabled(db_url: str, username: str, disabled: bool) -> None:
    """Disable (its sessions end at once) or enable a user."""
    with session_scope(db_url) as db:
        user = _user(db, username)
        user.disabled = disabled
        if disabled:
            db.exec(delete(StaffSession).where(StaffSession.username == user.username))


def list_users(db_url: str) -> list[StaffAccount]:
    with session_scope(db_url) as db:
        return [StaffAccount(u.username, u.disabled, u.created_at)
                for u in db.exec(select(StaffUser).order_by(StaffUser.username))]


def ensure_bootstrap(db_url: str, username: str, password: str) -> None:
    """The ADMIN_USERNAME account exists with ADMIN_PASSWORD (a changed password ends its old sessions)."""
    if not password:
        return
    name = normal_username(username)
    with session_scope(db_url) as db:
        user = db.exec(select(StaffUser).where(StaffUser.username == name)).first()
        if user is None:
            db.add(StaffUser(username=name, password_hash=HASHER.hash(password)))
        elif not _verify(user.password_hash, password):
            user.password_hash = HASHER.hash(password)
            db.exec(delete(StaffSession).where(StaffSession.username == name))
        elif HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)


def check_login(db_url: str, username: str, password: str) -> str | None:
    """The user's name if the password is theirs and the account is enabled, else None (slow by design)."""
    try:
        name = normal_username(username)
    except AccountError:
        name = None
    with session_scope(db_url) as db:
        user = db.exec(select(StaffUser).where(StaffUser.username == name)).first() if name else None
    if user is None:
        _verify(_decoy_hash(), password)  # as slow as a real check: timing does not tell which names exist
        return None
    return user.username if _verify(user.password_hash, password) and not user.disabled else None


# --- sessions -------------------------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db_url: str, username: str, hours: float, client: str | None) -> str:
    """A new session for a signed-in user: the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope(db_url) as db:
        db.exec(delete(StaffSession).where(StaffSession.expires_at <= now))  # expired ones: gone, not just refused
        db.add(StaffSession(token_hash=_digest(token), username=username, client_address=client, created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    return token


def session_user(db_url: str, token: str) -> str | None:
    """Who holds this session: unexpired, and the account still enabled; else None."""
    with session_scope(db_url) as db:
        row = db.exec(select(StaffSession.username)
                      .join(StaffUser, StaffUser.username == StaffSession.username)
                      .where(StaffSession.token_hash == _digest(token), StaffSession.expires_at > utcnow(),
                             StaffUser.disabled == False)).first()  # noqa: E712 (SQL comparison)
    return row


def close_session(db_url: str, token: str) -> None:
    with session_scope(db_url) as db:
        db.exec(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))
