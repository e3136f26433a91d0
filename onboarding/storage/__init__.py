"""Durable call writes: the recorder's ops (`ops`), the per-process spool (`spool`), the ordered writer thread
(`writer`) and the housekeeping every long-running process runs (`reaper`).

`start(settings)` in a worker's or dashboard's main process starts the housekeeping thread; `stop(reaper,
timeout)` at shutdown stops it and gives the writers until the timeout to put what they hold into the database
(what they cannot stays in the spool, replayed at the next start).
"""

from __future__ import annotations

from onboarding.settings import Settings
from onboarding.storage.reaper import Reaper
from onboarding.storage.registry import drain


def start(settings: Settings) -> Reaper:
    return Reaper(settings).start()


def stop(reaper: Reaper | None, timeout: float = 5.0) -> bool:
    """True when every write of this process is in the database."""
    if reaper is not None:
        reaper.stop()
    return drain(timeout)
