"""Fake ElevenLabs text-to-speech: the multi-stream-input WebSocket, speaking with our local Piper or flite.

Protocol as the livekit elevenlabs plugin (and ElevenLabs' docs) speak it: WebSocket
`/v1/text-to-speech/{voice_id}/multi-stream-input?model_id=…&output_format=pcm_22050&…` with header
`xi-api-key`. In: a context's first message `{"text": " ", "context_id": …}`, then `{"text": "…",
"context_id": …, "flush": true}`, `{"context_id": …, "close_context": true}`, `{"close_socket": true}`.
Out: `{"audio": base64 PCM, "alignment": {...}, "normalizedAlignment": {...}, "context_id": …}` and
`{"isFinal": true, "context_id": …}` when a closed context has been spoken. Also `GET /v1/voices/{voice_id}`,
which the start-up check uses. The fake speaks PCM output formats only (the plugin's mp3 default is not served).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time

import numpy as np
from aiohttp import WSMsgType, web

from harness.caller_audio import resample
from harness.fakes.server import FakeServer
from onboarding.providers.local_tts import LocalTTS

DEFAULT_VOICE_ID = "hpp4J3VqNfWAUOO0d1Us"
KNOWN_MODELS = ("eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2", "eleven_flash_v2")
PCM_RATES = {"pcm_16000": 16000, "pcm_22050": 22050, "pcm_24000": 24000, "pcm_44100": 44100}
CHUNK_SECONDS = 0.25
PRERENDERED_TEXT = "Thanks for calling. I will ask a few quick questions to set up your account, one at a time."
SECONDS_PER_CHARACTER = 0.065  # ≈ 15 characters a second, a calm speaking rate


class FakeElevenLabs(FakeServer):
    name = "elevenlabs"

    def __init__(self, api_key: str, *, engine: str = "flite", voices: tuple[str, ...] = (DEFAULT_VOICE_ID,),
                 prerendered: bool = False) -> None:
        """`prerendered`: speak slices of one clip rendered at start, as long as the text would take to say, so
        the fake spends no CPU on synthesis while a benchmark measures the worker."""
        super().__init__(api_key)
        self.voices = set(voices)
        self.tts = LocalTTS(engine=engine)
        self._clip = self._render_clip() if prerendered else None
        self._at_rate: dict[int, np.ndarray] = {}
        self.requests: list[dict[str, str]] = []
        self._generations = 0  # spoken pieces since the fault was set: the "drop" trigger
        self.app.router.add_get("/v1/voices/{voice_id}", self._voice)
        self.app.router.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", self._multi_stream)

    def _render_clip(self) -> np.ndarray:
        pcm = np.frombuffer(b"".join(self.tts.synthesize_uncached(PRERENDERED_TEXT)), dtype=np.int16)
        return pcm.copy()

    def prerendered(self, text: str, rate: int) -> np.ndarray:
        """A slice of the clip as long as `text` takes to say (≈ SECONDS_PER_CHARACTER), looped if needed."""
        assert self._clip is not None
        if rate not in self._at_rate:  # once per output format, not per request
            self._at_rate[rate] = resample(self._clip, self.tts.sample_rate, rate)
        clip = self._at_rate[rate]
        samples = max(int(rate * 0.3), int(len(text) * SECONDS_PER_CHARACTER * rate))
        return np.resize(clip, samples)

    @property
    def base_url(self) -> str:
        """What ELEVENLABS_BASE_URL / `elevenlabs.TTS(base_url=...)` takes."""
        return f"{self.http_url}/v1"

    def reset(self) -> None:
        super().reset()
        self.requests.clear()
        self._generations = 0

    def _auth_problem(self, request: web.Request) -> web.Response | None:
        if request.headers.get("xi-api-key") != self.api_key:
            self.served.rejected += 1
            return web.json_response({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
                                     status=401)
        return None

    async def _voice(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        voice_id = request.match_info["voice_id"]
        if voice_id not in self.voices:
            return web.json_response({"detail": {"status": "voice_not_found",
                                                 "message": f"A voice with voice_id {voice_id} was not found."}},
                                     status=404)
        return web.json_response({"voice_id": voice_id, "name": "Fake", "category": "premade"})

    async def _multi_stream(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.latency.connect)
        if (problem := self._auth_problem(request)) is not None:
            return problem
        if (refusal := self.refusal()) is not None:
            self.served.rejected += 1
            return refusal
        query, voice_id = request.query, request.match_info["voice_id"]
        problems = []
        if voice_id not in self.voices:
            problems.append(f"voice {voice_id} not found")
        if query.get("model_id") not in KNOWN_MODELS:
            problems.append(f"unknown model_id {query.get('model_id')}")
        if query.get("output_format") not in PCM_RATES:
            problems.append(f"the fake serves {', '.join(PCM_RATES)} only")
        if problems:
            return web.json_response({"detail": {"status": "invalid_request", "message": "; ".join(problems)}},
                                     status=400)
        self.requests.append(dict(query))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connection_opened()
        started = time.monotonic()
        try:
            await _Connection(self, ws, PCM_RATES[query["output_format"]],
                              float(query.get("inactivity_timeout", "20"))).run()
        finally:
            self.connection_closed(time.monotonic() - started)
        return ws


class _Connection:
    """Contexts buffer text until a flush or close_context; one sender speaks pieces in arrival order."""

    def __init__(self, fake: FakeElevenLabs, ws: web.WebSocketResponse, rate: int, inactivity: float) -> None:
        self.fake, self.ws, self.rate, self.inactivity = fake, ws, rate, inactivity
        self.buffers: dict[str, str] = {}
        self.spoken: set[str] = set()  # contexts that received text
        self.jobs: asyncio.Queue[tuple[str, str, str, float] | None] = asyncio.Queue()

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            await self._receive_loop()
        finally:
            await self.jobs.put(None)
            with contextlib.suppress(Exception):
                await sender
            if not self.ws.closed:
                await self.ws.close()

    async def _receive_loop(self) -> None:
        while not self.ws.closed:
            try:
                msg = await self.ws.receive(timeout=self.inactivity)
            except TimeoutError:
                await self.ws.close(code=1008, message=b"input_timeout_exceeded")
                return
            if msg.type != WSMsgType.TEXT:
                return
            data = json.loads(msg.data)
            if data.get("close_socket"):
                await self._flush_all()
                return
            context_id = data.get("context_id") or "default"
            if data.get("close_context"):
                await self._flush(context_id)
                await self.jobs.put(("final", context_id, "", time.monotonic()))
                continue
            text = data.get("text")
            if text is None:
                continue
            if context_id not in self.buffers:  # a context's first message opens it (text " ")
                self.buffers[context_id] = ""
                if text == " ":
                    continue
            if text.strip() and not self.buffers[context_id] and context_id not in self.spoken:
                self.spoken.add(context_id)
                self.fake.served.contexts += 1
            self.fake.served.characters_in += len(text)
            self.buffers[context_id] += text
            if data.get("flush") or self.buffers[context_id].rstrip().endswith((".", "?", "!")):
                await self._flush(context_id)

    async def _flush(self, context_id: str) -> None:
        text = self.buffers.get(context_id, "").strip()
        self.buffers[context_id] = ""
        if text:
            await self.jobs.put(("speak", context_id, text, time.monotonic()))

    async def _flush_all(self) -> None:
        for context_id in list(self.buffers):
            await self._flush(context_id)
            await self.jobs.put(("final", context_id, "", time.monotonic()))

    async def _send_loop(self) -> None:
        while (job := await self.jobs.get()) is not None:
            kind, context_id, text, queued_at = job
            if self.ws.closed:
                return
            if kind == "final":
                await self.ws.send_json({"isFinal": True, "context_id": context_id})
                continue
            plan = self.fake.fault
            if plan.mode == "drop" and self.fake._generations >= plan.drop_after:
                await self.ws.close(code=1011, message=b"fake: backend went away")
                return
            self.fake._generations += 1
            pcm = (self._synthesize(text) if self.fake._clip is not None
                   else await asyncio.to_thread(self._synthesize, text))
            await asyncio.sleep(max(0.0, self.fake.latency.first_result - (time.monotonic() - queued_at)))
            await self._send_audio(context_id, text, pcm)

    def _synthesize(self, text: str) -> np.ndarray:
        if self.fake._clip is not None:
            return self.fake.prerendered(text, self.rate)
        tts = self.fake.tts
        pcm = np.frombuffer(b"".join(tts.synthesize_blocking(text)), dtype=np.int16)
        return resample(pcm, tts.sample_rate, self.rate)

    async def _send_audio(self, context_id: str, text: str, pcm: np.ndarray) -> None:
        seconds = pcm.size / self.rate
        self.fake.served.audio_seconds_out += seconds
        self.fake.served.texts.append(text)
        chars = list(text + " ")
        step = int(seconds * 1000 / len(chars))
        alignment = {"chars": chars, "charStartTimesMs": [i * step for i in range(len(chars))],
                     "charDurationsMs": [step] * len(chars)}
        chunk = int(self.rate * CHUNK_SECONDS)
        for index, start in enumerate(range(0, max(pcm.size, 1), chunk)):
            await self.ws.send_json({
                "audio": base64.b64encode(pcm[start:start + chunk].tobytes()).decode(),
                "alignment": alignment if index == 0 else None,
                "normalizedAlignment": alignment if index == 0 else None,
                "isFinal": False, "context_id": context_id,
            })
