"""Faults to inject into a running stack: another process holding SQLite's write lock, and (harness.pgserver)
a PostgreSQL restart. Used by the durability tests to make the database unwritable in the middle of a call."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

# Takes the database's write lock (BEGIN EXCLUSIVE: in WAL mode readers go on, every writer waits), says
# "locked", holds it until a line arrives on stdin (or the safety limit passes), then commits and says "released".
_HOLDER = """
import sqlite3, sys, select
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
db.execute("COMMIT")
db.close()
print("released", flush=True)
"""


class SqliteLock:
    """`with SqliteLock(path) as lock: ... lock.release()`: the database is unwritable between the two."""

    def __init__(self, path: Path, limit_seconds: float = 120.0) -> None:
        self.path, self.limit = path, limit_seconds
        self.proc: subprocess.Popen | None = None
        self.locked_at = self.released_at = 0.0

    def __enter__(self) -> SqliteLock:
        self.proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(self.path), str(self.limit)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._expect("locked")
        self.locked_at = time.monotonic()
        return self

    def release(self) -> float:
        """Commit and let go; how long the database was locked."""
        if self.proc is not None and not self.released_at:
            self.proc.stdin.write("release\n")
            self.proc.stdin.flush()
            self._expect("released")
            self.released_at = time.monotonic()
        return self.released_at - self.locked_at

    def __exit__(self, *_exc: object) -> None:
        try:
            self.release()
        finally:
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait()

    def _expect(self, word: str) -> None:
        line = self.proc.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"lock holder said {line!r}, not {word!r}: {self.proc.stderr.read()}")
