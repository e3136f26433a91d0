"""Fake Deepgram live transcription: the `/v1/listen` WebSocket, transcribing with our local Whisper.

Protocol as the livekit deepgram plugin (and Deepgram's docs) speak it: query parameters `model`, `encoding`
(linear16), `sample_rate`, `channels`, `interim_results`, `endpointing`, `vad_events`, `utterance_end_ms`;
header `Authorization: Token <key>` (a wrong key is refused at the handshake with 401). Binary frames are PCM;
text frames `KeepAlive`, `Finalize` and `CloseStream`. Out: `SpeechStarted`, `Results` (interim and final,
`speech_final` at an endpoint), `UtteranceEnd`, and `Metadata` before a normal close. Speech is found by
energy; an utterance ends after `pause_seconds` of quiet, then Whisper transcribes it.

With `ears="script"` (the cloud benchmark) nothing is transcribed: a caller announces what it will say with
`expect(tag, text)` and the stream whose `tag` query parameter matches (the worker tags each stream with its
room) hears exactly that. The fake's own CPU then stays out of the worker's measurements. With Whisper ears, a
stream whose tag was ever announced hears the script too (the spoken tests' listening callers announce).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from aiohttp import WSMsgType, web

from harness.fakes.server import FakeServer
from onboarding.providers.whisper_stt import default_model_dir, load_whisper, loudness_dbfs, transcribe

KNOWN_MODELS = ("nova-3", "nova-3-general", "nova-2", "nova-2-general", "nova-2-phonecall", "base", "enhanced")
WHISPER_RATE = 16000
PREROLL_WINDOWS = 15  # 300 ms of 20 ms windows kept before speech, as a VAD's prefix padding does


@dataclass
class _Utterance:
    start: float  # seconds since the stream began
    audio: list[np.ndarray] = field(default_factory=list)
    quiet: float = 0.0  # trailing seconds below the speech level
    interims_at: float = 0.0  # speech seconds at the last interim result

    @property
    def seconds(self) -> float:
        return sum(a.size for a in self.audio) / WHISPER_RATE


@dataclass
class _Options:
    sample_rate: int
    model: str
    interim_results: bool
    vad_events: bool
    endpointing_ms: int | None
    utterance_end_ms: int | None
    punctuate: bool
    keyterms: list[str]
    tags: list[str] = field(default_factory=list)


def _flag(query, name: str, default: bool) -> bool:
    return query.get(name, str(default)).lower() == "true"


class FakeDeepgram(FakeServer):
    name = "deepgram"

    def __init__(self, api_key: str, *, pause_seconds: float = 0.3, speech_dbfs: float = -40.0,
                 interim_every: float = 1.0, idle_timeout: float = 10.0, ears: str = "whisper") -> None:
        super().__init__(api_key)
        self.pause_seconds, self.speech_dbfs = pause_seconds, speech_dbfs
        self.interim_every, self.idle_timeout = interim_every, idle_timeout
        self.ears = ears
        self.model = load_whisper(default_model_dir()) if ears == "whisper" else None
        self._expected: dict[str, deque[str]] = defaultdict(deque)  # tag → texts announced (script ears)
        self._scripted: set[str] = set()  # tags ever announced: those streams hear the script, even with Whisper ears
        self.requests: list[dict[str, str]] = []  # query parameters of each accepted connection
        self._results_sent = 0  # finals sent since the fault was set: the "drop" trigger
        self.app.router.add_get("/v1/listen", self._listen)

    def expect(self, tag: str, text: str) -> None:
        """Script ears: the next utterance on a stream tagged `tag` is `text` (deque: safe across threads)."""
        self._scripted.add(tag)
        self._expected[tag].append(text)

    def scripted(self, tags: list[str]) -> bool:
        """A stream whose caller announces what it says hears only that: Whisper mishearing a fake's input
        ('ECME Corp') would fail a test of the worker for a reason outside it."""
        return any(tag in self._scripted for tag in tags)

    def heard(self, tags: list[str], *, final: bool) -> str:
        for tag in tags:
            queue = self._expected.get(tag)
            if queue:
                return queue.popleft() if final else queue[0]
        return ""

    @property
    def base_url(self) -> str:
        """What DEEPGRAM_BASE_URL / `deepgram.STT(base_url=...)` takes."""
        return f"{self.http_url}/v1/listen"

    def reset(self) -> None:
        super().reset()
        self.requests.clear()
        self._results_sent = 0
        self._expected.clear()
        self._scripted.clear()

    # --- handshake ---------------------------------------------------------------------------
    def _rejection(self, request: web.Request) -> web.Response | None:
        request_id = str(uuid.uuid4())
        if request.headers.get("Authorization", "") != f"Token {self.api_key}":
            self.served.rejected += 1
            return web.json_response({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.",
                                      "request_id": request_id}, status=401)
        if (refusal := self.refusal()) is not None:
            self.served.rejected += 1
            return refusal
        query = request.query
        problems = []
        if query.get("encoding") != "linear16":
            problems.append("encoding must be linear16 for raw audio")
        if not query.get("sample_rate", "").isdigit():
            problems.append("sample_rate is required for raw audio")
        if query.get("channels", "1") != "1":
            problems.append("the fake serves mono audio only")
        if query.get("model", "base") not in KNOWN_MODELS:
            problems.append(f"no such model: {query.get('model')}")
        if problems:
            return web.json_response({"err_code": "Bad Request", "err_msg": "; ".join(problems),
                                      "request_id": request_id}, status=400)
        return None

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.latency.connect)
        if (rejection := self._rejection(request)) is not None:
            return rejection
        query = request.query
        endpointing = query.get("endpointing", "10")
        opts = _Options(
            sample_rate=int(query["sample_rate"]), model=query.get("model", "base"),
            interim_results=_flag(query, "interim_results", False), vad_events=_flag(query, "vad_events", False),
            endpointing_ms=None if endpointing == "false" else int(endpointing),
            utterance_end_ms=int(query["utterance_end_ms"]) if "utterance_end_ms" in query else None,
            punctuate=_flag(query, "punctuate", False), keyterms=query.getall("keyterm", []),
            tags=query.getall("tag", []),
        )
        self.requests.append(dict(query))
        request_id = str(uuid.uuid4())
        ws = web.WebSocketResponse()
        ws.headers["dg-request-id"] = request_id
        await ws.prepare(request)
        self.connection_opened()
        started = time.monotonic()
        try:
            await _Stream(self, ws, opts, request_id).run()
        finally:
            self.connection_closed(time.monotonic() - started)
        return ws


class _Stream:
    """One live connection: segments incoming audio and answers in order from a single sender task."""

    def __init__(self, fake: FakeDeepgram, ws: web.WebSocketResponse, opts: _Options, request_id: str) -> None:
        self.fake, self.ws, self.opts, self.request_id = fake, ws, opts, request_id
        self.received = 0.0  # seconds of audio received
        self.utterance: _Utterance | None = None
        self.onset: list[np.ndarray] = []  # loud windows not yet confirmed as speech
        self.preroll: list[np.ndarray] = []  # the last windows before an onset: soft starts of words
        self.pending = b""
        self.jobs: asyncio.Queue[tuple[str, _Utterance | None, float]] = asyncio.Queue()
        self.model_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, opts.model))
        self.dropped = False

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            if self._should_drop():
                await self._drop()
                return
            await self._receive_loop()
        finally:
            await self.jobs.put(("stop", None, 0.0))
            with contextlib.suppress(Exception):
                await sender
            if not self.ws.closed:
                await self.ws.close()

    async def _receive_loop(self) -> None:
        while not self.ws.closed and not self.dropped:
            try:
                msg = await self.ws.receive(timeout=self.fake.idle_timeout)
            except TimeoutError:  # Deepgram's NET-0001: nothing received within the timeout window
                await self.ws.close(code=1011, message=b"NET-0001: no audio received within the timeout")
                return
            if msg.type == WSMsgType.BINARY:
                self._audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                kind = json.loads(msg.data).get("type")
                if kind == "Finalize":
                    self._end_utterance(finalize=True)
                elif kind == "CloseStream":
                    self._end_utterance(finalize=False)
                    await self.jobs.put(("metadata", None, 0.0))
                    await self.jobs.put(("close", None, 0.0))
                    return
            else:  # the client closed or the socket broke
                return

    # --- segmentation --------------------------------------------------------------------------
    def _audio(self, data: bytes) -> None:
        data = self.pending + data
        usable = len(data) - len(data) % 2
        self.pending = data[usable:]
        pcm = np.frombuffer(data[:usable], dtype=np.int16).astype(np.float32) / 32768.0
        self.fake.served.audio_seconds_in += pcm.size / self.opts.sample_rate
        window = self.opts.sample_rate // 50  # 20 ms
        for start in range(0, pcm.size, window):
            self._window(_to_16k(pcm[start:start + window], self.opts.sample_rate))

    def _window(self, chunk: np.ndarray) -> None:
        seconds = chunk.size / WHISPER_RATE
        self.received += seconds
        loud = loudness_dbfs(chunk) > self.fake.speech_dbfs
        utt = self.utterance
        if utt is None:
            self.preroll = [*self.preroll, chunk][-PREROLL_WINDOWS:]
            self.onset = [*self.onset, chunk][-3:] if loud else []
            if len(self.onset) == 3:  # 60 ms of speech: an utterance starts, with the quiet lead-in before it
                lead = len(self.preroll) * 0.02
                self.utterance = _Utterance(start=max(0.0, self.received - lead), audio=list(self.preroll))
                self.onset, self.preroll = [], []
                if self.opts.vad_events:
                    self.jobs.put_nowait(("speech_started", self.utterance, 0.0))
            return
        utt.audio.append(chunk)
        utt.quiet = 0.0 if loud else utt.quiet + seconds
        if utt.quiet >= max(self.fake.pause_seconds, (self.opts.endpointing_ms or 0) / 1000):
            self._end_utterance(finalize=False, endpoint=True)
        elif self.opts.interim_results and utt.seconds - utt.interims_at >= self.fake.interim_every:
            utt.interims_at = utt.seconds
            if self.jobs.empty():  # never let interims delay a final
                self.jobs.put_nowait(("interim", _Utterance(utt.start, list(utt.audio)), 0.0))

    def _end_utterance(self, *, finalize: bool, endpoint: bool = False) -> None:
        if self.utterance is None:
            return
        kind = "finalize" if finalize else ("endpoint" if endpoint else "final")
        self.jobs.put_nowait((kind, self.utterance, time.monotonic()))
        self.utterance = None

    # --- answers -------------------------------------------------------------------------------
    def _should_drop(self) -> bool:
        plan = self.fake.fault
        return plan.mode == "drop" and self.fake._results_sent >= plan.drop_after

    async def _drop(self) -> None:
        """A crashed backend: the socket closes with an error code, no Metadata, no final."""
        self.dropped = True
        await self.ws.close(code=1011, message=b"fake: backend went away")

    async def _send_loop(self) -> None:
        while True:
            kind, utt, ended_at = await self.jobs.get()
            if kind == "stop" or self.ws.closed:
                return
            if kind == "speech_started":
                await self.ws.send_json({"type": "SpeechStarted", "channel": [0], "timestamp": round(utt.start, 3)})
            elif kind == "interim":
                await self._send_results(utt, await self._transcribe(utt, final=False), is_final=False,
                                         speech_final=False)
            elif kind in ("endpoint", "final", "finalize"):
                text = await self._transcribe(utt)
                await asyncio.sleep(max(0.0, self.fake.latency.first_result - (time.monotonic() - ended_at)))
                if self._should_drop():
                    await self._drop()
                    return
                await self._send_results(utt, text, is_final=True, speech_final=kind == "endpoint",
                                         from_finalize=kind == "finalize")
                self.fake._results_sent += 1
                self.fake.served.texts.append(text)
                if kind == "endpoint" and self.opts.utterance_end_ms is not None:
                    await self.ws.send_json({"type": "UtteranceEnd", "channel": [0, 1],
                                             "last_word_end": round(utt.start + utt.seconds - utt.quiet, 3)})
            elif kind == "metadata":
                await self.ws.send_json(self._metadata())
            elif kind == "close":
                await self.ws.close()
                return

    async def _transcribe(self, utt: _Utterance, final: bool = True) -> str:
        if self.fake.model is None or self.fake.scripted(self.opts.tags):
            return self.fake.heard(self.opts.tags, final=final)
        audio = np.concatenate(utt.audio) if utt.audio else np.zeros(0, dtype=np.float32)
        # keyterm prompting (nova-3) maps onto Whisper's initial prompt
        prompt = f"Keyterms: {', '.join(self.opts.keyterms)}." if self.opts.keyterms else None
        return await asyncio.to_thread(transcribe, self.fake.model, audio, 5, prompt)

    async def _send_results(self, utt: _Utterance, text: str, *, is_final: bool, speech_final: bool,
                            from_finalize: bool = False) -> None:
        spoken = utt.seconds - utt.quiet
        words = text.split()
        step = spoken / max(len(words), 1)
        word_list = [{"word": w.strip(".,?!").lower(), "start": round(utt.start + i * step, 3),
                      "end": round(utt.start + (i + 1) * step, 3), "confidence": 0.98,
                      "punctuated_word": w} for i, w in enumerate(words)]
        await self.ws.send_json({
            "type": "Results", "channel_index": [0, 1], "duration": round(utt.seconds, 3),
            "start": round(utt.start, 3), "is_final": is_final, "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.98 if text else 0.0,
                                          "words": word_list}]},
            "metadata": {"request_id": self.request_id, "model_uuid": self.model_uuid,
                         "model_info": {"name": f"general-{self.opts.model}", "version": "fake",
                                        "arch": self.opts.model}},
        })

    def _metadata(self) -> dict:
        return {"type": "Metadata", "transaction_key": "deprecated", "request_id": self.request_id,
                "sha256": "", "created": datetime.now(UTC).isoformat(), "duration": round(self.received, 3),
                "channels": 1, "models": [self.model_uuid],
                "model_info": {self.model_uuid: {"name": f"general-{self.opts.model}", "version": "fake",
                                                 "arch": self.opts.model}}}


def _to_16k(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Whisper's rate; linear interpolation is enough for a fake's ears."""
    if rate == WHISPER_RATE or pcm.size == 0:
        return pcm
    target = max(1, round(pcm.size * WHISPER_RATE / rate))
    return np.interp(np.linspace(0, pcm.size - 1, target), np.arange(pcm.size), pcm).astype(np.float32)
