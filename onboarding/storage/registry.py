"""One call writer per database per process: made on first use, drained at exit, forgotten in a forked child."""

from __future__ import annotations

import atexit
import os
import threading
import time

from onboarding.db import normalize_url
from onboarding.settings import get_settings
from onboarding.storage.writer import Writer

_WRITERS: dict[str, Writer] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(db_url: str) -> Writer:
    """The writer of this database in this process; SPOOL_DIR and CALL_HEARTBEAT_SECONDS are read when it is made."""
    url = normalize_url(db_url)
    with _WRITERS_LOCK:
        writer = _WRITERS.get(url)
        if writer is None:
            settings = get_settings()
            writer = _WRITERS[url] = Writer(url, settings.spool_dir, settings.call_heartbeat_seconds)
        return writer


def all_writers() -> list[Writer]:
    with _WRITERS_LOCK:
        return list(_WRITERS.values())


def drain(timeout: float) -> bool:
    """Before a process exits: every write on disk at once, then into the database if it takes them in time."""
    writers = all_writers()
    durable = all([writer.make_durable() for writer in writers])
    deadline = time.monotonic() + timeout
    applied = all(writer.wait_all(max(0.0, deadline - time.monotonic()), give_up_if_failing=True)
                  for writer in writers)
    return durable and applied


def _forget_in_child() -> None:
    """A forked child starts with no writers (threads do not survive fork), and without its parent's files."""
    global _WRITERS_LOCK
    _WRITERS_LOCK = threading.Lock()  # another thread may have held it at the fork
    for writer in _WRITERS.values():
        writer.forget_in_child()
    _WRITERS.clear()


def _at_exit() -> None:
    drain(2.0)
    for writer in all_writers():
        writer.close_spool()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(_at_exit)
