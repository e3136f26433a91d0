"""Where the clips live: a small interface (put, open, delete, days) with a local-folder store behind it.

Keys are `YYYY/MM/DD/<session id>/<turn id>-<role>.ogg` with the call's start day (UTC), so retention deletes whole
days without reading the database, and a call's clips are found from its turns' `audio_key`. An S3-compatible store
implements the same five methods on a bucket (keys as object names, `days` from the delimiter listing) and
`store_for` picks it from a setting; nothing else changes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from onboarding.settings import Settings, get_settings

log = logging.getLogger("onboarding.audio")
_KEY = re.compile(r"^\d{4}/\d{2}/\d{2}/[0-9a-f]+/\d+-(user|agent)\.ogg$")


class AudioStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The file to serve for `key` (None when it is gone); a remote store returns None and serves `read`."""

    def read(self, key: str) -> bytes | None: ...

    def delete(self, keys: Iterable[str]) -> int:
        """Remove these clips; returns how many existed."""

    def days(self) -> list[date]:
        """The call days that have clips, oldest first (retention drops whole days)."""

    def delete_day(self, day: date) -> int: ...


def clip_key(started_at: datetime, call: str | int, turn: int, role: str) -> str:
    """`call`: the recorder's call key (known before the database has the call); `turn`: its number in the call."""
    return f"{started_at:%Y/%m/%d}/{call}/{turn}-{role}.ogg"


def valid_key(key: str) -> bool:
    """Only keys we made: a stored value can never point the route outside the store."""
    return bool(_KEY.match(key))


class LocalAudioStore:
    """Clips as files under one folder; writes go to a temporary file first, so a reader never sees half a clip."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not valid_key(key):
            raise ValueError(f"not an audio key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False) as part:
            part.write(data)
        os.replace(part.name, path)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def read(self, key: str) -> bytes | None:
        path = self.local_path(key)
        return path.read_bytes() if path else None

    def delete(self, keys: Iterable[str]) -> int:
        removed = 0
        for key in keys:
            path = self._path(key)
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                continue
            _remove_empty(path.parent, stop=self.root)
        return removed

    def days(self) -> list[date]:
        found = []
        for folder in self.root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]"):
            try:
                found.append(date(*(int(part) for part in folder.relative_to(self.root).parts)))
            except ValueError:
                continue
        return sorted(found)

    def delete_day(self, day: date) -> int:
        folder = self.root / f"{day:%Y/%m/%d}"
        count = sum(1 for _ in folder.rglob("*.ogg")) if folder.is_dir() else 0
        shutil.rmtree(folder, ignore_errors=True)
        _remove_empty(folder.parent, stop=self.root)
        return count


def _remove_empty(folder: Path, *, stop: Path) -> None:
    """Tidy the day/session folders a deletion emptied, up to (not including) the store's root."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def store_for(settings: Settings) -> AudioStore:
    return LocalAudioStore(settings.audio_storage_path)


_configured: AudioStore | None = None


def use_store(store: AudioStore | None) -> None:
    """The store this process deletes from when a profile goes (the dashboard sets it from its own settings)."""
    global _configured
    _configured = store


def default_store() -> AudioStore:
    return _configured or store_for(get_settings())
