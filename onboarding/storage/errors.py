"""Telling database failures apart, and naming them without the personal data SQLAlchemy's messages quote."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


def is_transient(error: BaseException) -> bool:
    """A failure that passes: the same write can succeed later."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError
                      | sa_exc.TimeoutError | OSError)


def describe(error: BaseException) -> str:
    """The error without the statement and its parameters (SQLAlchemy's message quotes both: personal data)."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}"
