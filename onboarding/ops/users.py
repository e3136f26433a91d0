"""`python -m onboarding users add|passwd|disable|enable|list`: the named staff accounts of the admin pages.

A password is read from the terminal (asked twice) or, when stdin is not a terminal, from its first line
(`printf '%s\\n' "$PASSWORD" | python -m onboarding users add alice`) — never from the command line, where
`ps` and the shell history would show it.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from onboarding import accounts
from onboarding.settings import Settings

ACTIONS = ("add", "passwd", "disable", "enable", "list")


def read_password(stdin: TextIO = sys.stdin) -> str:
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12+ characters): ")
    if getpass.getpass("Again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


def run(action: str, username: str | None, database_url: str | None = None, stdin: TextIO = sys.stdin) -> str:
    """Do it; what was done, as one line. Raises AccountError (with what to do) when refused."""
    db_url = database_url or Settings().database_url
    if action == "list":
        users = accounts.list_users(db_url)
        return "\n".join(f"{u.username}\t{'disabled' if u.disabled else 'enabled'}\tsince {u.created_at:%Y-%m-%d}"
                         for u in users) or "no staff users yet"
    if not username:
        raise accounts.AccountError(f"`users {action}` needs a username")
    if action == "add":
        name = accounts.add_user(db_url, username, read_password(stdin))
        return f"added {name}"
    if action == "passwd":
        accounts.set_password(db_url, username, read_password(stdin))
        return f"changed the password of {accounts.normal_username(username)} (its sessions ended)"
    accounts.set_disabled(db_url, username, action == "disable")
    return f"{action}d {accounts.normal_username(username)}" + (" (its sessions ended)" if action == "disable" else "")
