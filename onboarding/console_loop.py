"""The dashboard's background loop: digest closed calls, send due webhooks, expire old audio, refresh the budget
gauge. One asyncio task per dashboard process; several processes share the work safely (see onboarding.postcall
and onboarding.webhooks.dispatch for why nothing is done twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import httpx

from onboarding import metrics as prom
from onboarding.audio.retention import expire_audio
from onboarding.audio.storage import store_for
from onboarding.interview import load_definition
from onboarding.postcall import DigestRules, digest_pending
from onboarding.settings import Settings
from onboarding.webhooks.dispatch import dispatch_due

log = logging.getLogger("onboarding.console")
SLOW_EVERY_SECONDS = 60.0  # retention and the budget gauge: once a minute is plenty


class ConsoleLoop:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = DigestRules(load_definition(settings.interview_path).names, settings.review_confidence_below)
        self.store = store_for(settings)
        self._failed: set[int] = set()
        self._last_slow = 0.0
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def tick(self) -> None:
        """One pass; each part fails on its own without stopping the others."""
        settings = self.settings
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        for name, step in (("digest", lambda: asyncio.to_thread(digest_pending, settings.database_url, self.rules,
                                                                 self._failed)),
                           ("webhooks", lambda: dispatch_due(settings, self._client))):
            try:
                await step()
            except Exception:
                log.exception("console loop step failed", extra={"step": name})
        if time.monotonic() - self._last_slow >= SLOW_EVERY_SECONDS:
            self._last_slow = time.monotonic()
            try:
                await asyncio.to_thread(expire_audio, settings.database_url, self.store,
                                        settings.audio_retention_days)
                await asyncio.to_thread(refresh_budget_gauge, settings)
            except Exception:
                log.exception("console loop step failed", extra={"step": "retention/budget"})

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.settings.console_poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="console-loop")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def refresh_budget_gauge(settings: Settings, now: datetime | None = None) -> None:
    """The month-end cost forecast and the budget, as /metrics shows them."""
    from onboarding.admin.usage import budget_status  # the usage page's own figures

    status = budget_status(settings, now or datetime.now(UTC))
    if status is not None:
        prom.budget(status.forecast, status.budget)
