"""The cloud providers of the original design through the official livekit plugins, and a start-up key check.

Deepgram streams (interim results on, the plugin's 25 ms endpointing, which is what LiveKit's end-of-turn
model expects: it decides the turn, Deepgram only delivers words fast). ElevenLabs streams raw PCM so the
worker decodes nothing. Base URLs are settings, so the same code talks to the service, a proxy or a test fake.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import aiohttp
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions, NotGivenOr
from livekit.plugins import deepgram, elevenlabs
from livekit.plugins.deepgram.stt import SpeechStream as DeepgramSpeechStream

from onboarding.settings import Settings

log = logging.getLogger("onboarding.providers")
ELEVENLABS_ENCODING = "pcm_22050"
CHECK_TIMEOUT = 5.0


class ProviderKeyError(RuntimeError):
    """A cloud key (or voice) the service refused: the worker must not start with it."""


@dataclass
class ConnectionMeter:
    """Wall time the cloud STT held a connection open, which is what Deepgram bills for streaming."""

    closed_seconds: float = 0.0
    _open: dict[int, float] = field(default_factory=dict)

    def opened(self, key: int) -> None:
        self._open.setdefault(key, time.monotonic())

    def closed(self, key: int) -> None:
        if (start := self._open.pop(key, None)) is not None:
            self.closed_seconds += time.monotonic() - start

    def seconds(self) -> float:
        now = time.monotonic()
        return self.closed_seconds + sum(now - start for start in self._open.values())


class _MeteredSpeechStream(DeepgramSpeechStream):
    def __init__(self, *, meter: ConnectionMeter, **kwargs) -> None:
        super().__init__(**kwargs)
        self._meter = meter

    async def _connect_ws(self) -> aiohttp.ClientWebSocketResponse:
        ws = await super()._connect_ws()
        self._meter.opened(id(self))
        return ws

    def _process_stream_event(self, data: dict) -> None:
        if data.get("type") == "Metadata":  # sent as Deepgram closes the stream: billing stops here, not
            self._meter.closed(id(self))  # when the plugin's keep-alive task notices up to 5 s later
        super()._process_stream_event(data)

    async def _run(self) -> None:
        try:
            await super()._run()
        finally:
            self._meter.closed(id(self))


class MeteredDeepgramSTT(deepgram.STT):
    """deepgram.STT whose streams report their connection time to a per-call meter."""

    def __init__(self, *, meter: ConnectionMeter, **kwargs) -> None:
        super().__init__(**kwargs)
        self.meter = meter

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> DeepgramSpeechStream:
        stream = _MeteredSpeechStream(
            meter=self.meter, stt=self, conn_options=conn_options, opts=self._sanitize_options(language=language),
            api_key=self._api_key, http_session=self._ensure_session(), base_url=self._opts.endpoint_url,
        )
        self._streams.add(stream)
        return stream


def deepgram_stt(settings: Settings, meter: ConnectionMeter,
                 http_session: aiohttp.ClientSession | None = None) -> MeteredDeepgramSTT:
    return MeteredDeepgramSTT(
        meter=meter, api_key=settings.deepgram_api_key, base_url=settings.deepgram_base_url,
        model=settings.deepgram_model, language="en-US", interim_results=True, punctuate=True,
        http_session=http_session,
    )


def elevenlabs_tts(settings: Settings, http_session: aiohttp.ClientSession | None = None) -> elevenlabs.TTS:
    return elevenlabs.TTS(
        api_key=settings.eleven_api_key, base_url=settings.elevenlabs_base_url, voice_id=settings.elevenlabs_voice_id,
        model=settings.elevenlabs_model, encoding=ELEVENLABS_ENCODING, language="en", http_session=http_session,
    )


def keyterms(prompt: str | None) -> list[str]:
    """Deepgram keyterms from a field's STT prompt ("Time zone: Pacific, Eastern, …" → ["Pacific", "Eastern", …])."""
    if not prompt:
        return []
    words = prompt.split(":", 1)[-1]
    return [term.strip(" .") for term in words.split(",") if term.strip(" .")][:50]


def stt_label(settings: Settings) -> str:
    return f"deepgram/{settings.deepgram_model}"


def tts_label(settings: Settings) -> str:
    return f"elevenlabs/{settings.elevenlabs_model}"


# --- start-up check ---------------------------------------------------------------------------
@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)  # must stop start-up
    warnings: list[str] = field(default_factory=list)  # calls will fall back to local providers


async def _check_deepgram(settings: Settings, http: aiohttp.ClientSession, report: CheckReport) -> None:
    """Open and close one live connection: the same URL, header and parameters a call uses."""
    base = settings.deepgram_base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    query = urlencode({"model": settings.deepgram_model, "encoding": "linear16", "sample_rate": 16000,
                       "channels": 1, "language": "en-US"})
    host = urlparse(settings.deepgram_base_url).netloc
    try:
        headers = {"Authorization": f"Token {settings.deepgram_api_key}"}
        ws = await asyncio.wait_for(http.ws_connect(f"{base}?{query}", headers=headers), CHECK_TIMEOUT)
        await ws.send_str('{"type": "CloseStream"}')
        await ws.close()
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status in (401, 403):
            report.problems.append(f"DEEPGRAM_API_KEY was refused by {host} ({exc.status}): set a valid key, "
                                   "or leave it empty to use local Whisper")
        elif exc.status == 400:
            report.problems.append(f"Deepgram at {host} refused the request (400): check DEEPGRAM_MODEL="
                                   f"{settings.deepgram_model!r} and DEEPGRAM_BASE_URL")
        else:
            report.warnings.append(f"Deepgram at {host} answered {exc.status}: calls use local Whisper until it works")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        report.warnings.append(f"Deepgram not reachable at {host} ({type(exc).__name__}): calls will use local "
                               "Whisper; check DEEPGRAM_BASE_URL and the network")


async def _check_elevenlabs(settings: Settings, http: aiohttp.ClientSession, report: CheckReport) -> None:
    """Fetch the configured voice: proves the key and the voice id in one request, without synthesis cost."""
    host = urlparse(settings.elevenlabs_base_url).netloc
    url = f"{settings.elevenlabs_base_url}/voices/{settings.elevenlabs_voice_id}"
    try:
        async with http.get(url, headers={"xi-api-key": settings.eleven_api_key},
                            timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        report.warnings.append(f"ElevenLabs not reachable at {host} ({type(exc).__name__}): calls will use the "
                               "local voice; check ELEVENLABS_BASE_URL and the network")
        return
    if status in (401, 403):
        report.problems.append(f"ELEVEN_API_KEY was refused by {host} ({status}): set a valid key, or leave it "
                               "empty to use the local voice")
    elif status in (400, 404):
        report.problems.append(f"ELEVENLABS_VOICE_ID={settings.elevenlabs_voice_id!r} is not a voice of this "
                               f"ElevenLabs account ({status})")
    elif status >= 300:
        report.warnings.append(f"ElevenLabs at {host} answered {status}: calls use the local voice until it works")


async def check_cloud_providers(settings: Settings) -> CheckReport:
    report = CheckReport()
    async with aiohttp.ClientSession() as http:
        checks = []
        if settings.deepgram_api_key:
            checks.append(_check_deepgram(settings, http, report))
        if settings.eleven_api_key:
            checks.append(_check_elevenlabs(settings, http, report))
        await asyncio.gather(*checks)
    return report


def check(settings: Settings) -> CheckReport:
    """Start-up check of every configured cloud key; raises ProviderKeyError naming the variable when refused.

    Unreachable services only warn: the calls fall back to the local providers. Safe to call with or without
    a running event loop (it runs in its own thread).
    """
    if not (settings.deepgram_api_key or settings.eleven_api_key):
        return CheckReport()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        report = pool.submit(asyncio.run, check_cloud_providers(settings)).result()
    for warning in report.warnings:
        log.warning(warning)
    if report.problems:
        raise ProviderKeyError("; ".join(report.problems))
    return report
