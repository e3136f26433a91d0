"""Cloud first, local for the rest of the call: sticky fallback adapters and a record of why they switched.

livekit-agents' FallbackAdapters switch to the next provider when one fails, then keep probing the failed one
in the background and switch back once it answers. For a phone-like call we switch once and stay: a provider
that just returned 5xx/429 or dropped its socket is not asked again mid-interview (no flapping voices, no
probes billed or rate-limited), and the next call starts with the cloud provider again. What switched, when
and why is reported as it happens to whoever the call attached (its recorder writes it to the call's row):
providers never touch storage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livekit.agents import llm, stt, tts
from livekit.agents.stt.fallback_adapter import DEFAULT_FALLBACK_API_CONNECT_OPTIONS as STT_CONN
from livekit.agents.stt.fallback_adapter import FallbackRecognizeStream
from livekit.agents.tts.fallback_adapter import DEFAULT_FALLBACK_API_CONNECT_OPTIONS as TTS_CONN
from livekit.agents.tts.fallback_adapter import FallbackChunkedStream, FallbackSynthesizeStream
from livekit.agents.types import NOT_GIVEN, APIConnectOptions, NotGivenOr

from onboarding import metrics

log = logging.getLogger("onboarding.providers")

# One retry after half a second, each attempt bounded: the caller hears at most a few seconds of silence
# before the local provider takes over.
STT_ATTEMPT_TIMEOUT = 5.0
STT_MAX_RETRY = 1
STT_RETRY_INTERVAL = 0.5
TTS_MAX_RETRY = 1


class _NoRecoveryRecognizeStream(FallbackRecognizeStream):
    def _try_recovery(self, stt: stt.STT) -> None:  # stay on the fallback for the rest of the call
        return


class StickySTTFallback(stt.FallbackAdapter):
    def _try_recovery(self, **_kwargs: Any) -> None:
        return

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = STT_CONN) -> stt.RecognizeStream:
        return _NoRecoveryRecognizeStream(stt=self, language=language, conn_options=conn_options)


class _NoRecoveryChunkedStream(FallbackChunkedStream):
    def _try_recovery(self, tts: tts.TTS) -> None:
        return


class _NoRecoverySynthesizeStream(FallbackSynthesizeStream):
    def _try_recovery(self, tts: tts.TTS) -> None:
        return


class StickyTTSFallback(tts.FallbackAdapter):
    def synthesize(self, text: str, *, conn_options: APIConnectOptions = TTS_CONN) -> tts.ChunkedStream:
        return _NoRecoveryChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(self, *, conn_options: APIConnectOptions = TTS_CONN) -> tts.SynthesizeStream:
        return _NoRecoverySynthesizeStream(tts=self, conn_options=conn_options)


def describe_error(error: BaseException | None) -> str:
    """A reason staff can act on: the status code and what the service said, never the request (it holds keys)."""
    if error is None:
        return "unavailable"
    status = getattr(error, "status_code", None)
    text = str(getattr(error, "message", "") or error).split("\n")[0][:200]
    cause = error.__cause__
    if cause is not None and not text:
        text = str(cause)[:200]
    body = getattr(error, "body", None)
    if isinstance(body, str) and body.strip() and body.strip() not in text:  # e.g. Gemini's "API key not valid"
        text = f"{text} ({body.strip()[:160]})"
    return f"{type(error).__name__}" + (f" {status}" if status not in (None, -1) else "") + f": {text}"


FallbackReport = Callable[[list[dict[str, Any]], float | None], None]  # (fallbacks so far, billed STT seconds)


@dataclass
class ProviderMonitor:
    """Per call: fallbacks with their reasons, and the cloud STT's billed connection time."""

    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    _last_error: dict[str, BaseException] = field(default_factory=dict)
    _report: FallbackReport | None = None
    _stt_meter: Any = None  # a ConnectionMeter (cloud.py) when a streaming cloud STT is in use

    def watch(self, role: str, adapter: stt.FallbackAdapter | tts.FallbackAdapter | llm.LLM,
              primary: stt.STT | tts.TTS | llm.LLM, primary_label: str, fallback_label: str) -> None:
        def on_error(ev: Any) -> None:
            self._last_error[role] = ev.error
            metrics.provider_error(role, primary_label)

        def on_availability(ev: Any) -> None:
            instance = getattr(ev, "stt", None) or getattr(ev, "tts", None) or getattr(ev, "llm", None)
            if instance is primary and not ev.available:
                self._record(role, primary_label, fallback_label, describe_error(self._last_error.get(role)))

        primary.on("error", on_error)
        adapter.on(f"{role}_availability_changed", on_availability)

    def attach(self, report: FallbackReport) -> None:
        """From now on every fallback is reported at once (the call's recorder stores it: a crash keeps it)."""
        self._report = report
        if self.fallbacks:
            self._send()

    @property
    def stt_billed_seconds(self) -> float | None:
        return None if self._stt_meter is None else round(self._stt_meter.seconds(), 3)

    def finish(self) -> None:
        """At the end of the call: the billed STT connection time next to the metered usage."""
        if self._report is not None and self._stt_meter is not None:
            self._send()

    def _record(self, role: str, primary: str, fallback: str, reason: str) -> None:
        event = {"role": role, "from": primary, "to": fallback, "reason": reason, "at": datetime.now(UTC).isoformat(),
                 "monotonic": round(time.monotonic(), 3)}
        self.fallbacks.append(event)
        metrics.provider_fallback(role)
        log.warning("%s provider %s failed, %s serves the rest of the call: %s", role, primary, fallback, reason)
        if self._report is not None:
            self._send()

    def _send(self) -> None:
        assert self._report is not None
        self._report([dict(f) for f in self.fallbacks], self.stt_billed_seconds)
