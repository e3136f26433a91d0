"""The spool: one process's append-only file of call writes the database has not taken yet.

Every op goes into the spool (one line of JSON, fsync'd) before the writer tries the database, and the file is
emptied once the database has everything, so what a caller said survives a locked SQLite, a PostgreSQL restart,
a full disk or the process being killed. The owner holds an exclusive `flock` on its file for as long as it
runs: a file whose lock can be taken belongs to a process that is gone, and any process on the same database
adopts it (replays it in order — replays are idempotent — then deletes it). File names start with a tag of the
database URL, so a process only ever adopts writes meant for its own database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

from onboarding.db import normalize_url
from onboarding.storage.ops import Op

log = logging.getLogger("onboarding.storage")
SUFFIX = ".spool"


def url_tag(db_url: str) -> str:
    """A short name for a database: spool files carry it instead of the URL (which may hold a password)."""
    return hashlib.sha256(normalize_url(db_url).encode()).hexdigest()[:12]


def encode(ops: list[Op]) -> bytes:
    return "".join(json.dumps(op, separators=(",", ":"), default=str) + "\n" for op in ops).encode()


def decode(data: bytes) -> list[Op]:
    """The ops in a spool file's bytes; a torn last line (the process died mid-write) is left out."""
    ops = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1], 1):  # the part after the last newline is incomplete
        try:
            ops.append(json.loads(line))
        except ValueError:
            log.error("unreadable spool line skipped", extra={"line": number})
    return ops


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Spool:
    """This process's spool file for one database (created on first use, locked while it lives)."""

    def __init__(self, directory: Path, db_url: str) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{url_tag(db_url)}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(3)}{SUFFIX}"
        self.path = directory / name
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._size = 0

    @property
    def empty(self) -> bool:
        return self._size == 0

    def append(self, ops: list[Op]) -> None:
        """Durably: the ops are on disk when this returns; on an error (disk full) the file is as before."""
        data = encode(ops)
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)

    def reset(self) -> None:
        """Everything in it is in the database now."""
        if self._size:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self._size = 0

    def close(self) -> None:
        """Close it; an empty file is removed, one with writes left stays for adoption."""
        if self._size == 0:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)

    def forget_in_child(self) -> None:
        """After fork: the child must not keep its parent's file (and lock) open."""
        with contextlib.suppress(OSError):
            os.close(self._fd)


@contextlib.contextmanager
def adopted(path: Path) -> Iterator[list[Op] | None]:
    """The ops of a spool file whose owner is gone, held under its lock; None if its owner still runs (or it
    went away). Delete it with `discard` inside the block once every op is in the database."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        if not path.exists():  # another process replayed and removed it while we waited for the lock
            yield None
            return
        with os.fdopen(os.dup(fd), "rb") as file:
            yield decode(file.read())
    finally:
        os.close(fd)


def orphan_candidates(directory: Path, db_url: str, own: set[Path]) -> list[Path]:
    """Spool files of this database that are not this process's, oldest first."""
    if not directory.is_dir():
        return []
    files = [p for p in directory.glob(f"{url_tag(db_url)}.*{SUFFIX}") if p not in own]
    return sorted(files, key=lambda p: p.stat().st_mtime if p.exists() else 0)
