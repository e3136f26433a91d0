"""The audio of each stored turn, captured in the worker: exactly one clip per Turn.

The agent's two speech nodes are wrapped on the Agent object before the session starts (livekit-agents calls
`agent.stt_node` / `agent.tts_node` for every utterance; the wrappers pass everything through unchanged):
- the STT node's audio — exactly what the STT hears — goes into a ring of the last RING_SECONDS with arrival
  times; a caller turn's clip is cut from it between the turn's `started_speaking_at` and `stopped_speaking_at`
  (livekit's figures on the user ChatMessage);
- the TTS node's frames are kept until the agent turn they were spoken for is stored, and cut to the time it
  played (`stopped_speaking_at` − `started_speaking_at`): an interrupted reply keeps what the caller heard.
Wrapping the nodes (rather than the session's audio input and output, which only exist once `session.start` has
set up the room, by when the greeting may already be playing) keeps the greeting too.
Encoding (Opus), the store write and the Turn's `audio_key` happen in a thread, off the call's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import Agent, ModelSettings, llm

from onboarding.audio.opus import encode_opus
from onboarding.audio.storage import clip_key, store_for
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

log = logging.getLogger("onboarding.audio")
RING_SECONDS = 60.0  # the longest caller turn kept whole (≈ 3 MB of 24 kHz audio per call)
PAD_SECONDS = 0.25  # around the VAD's speech bounds: the VAD needs a few frames to decide
STALE_SPEECH_SECONDS = 2.0  # a reply's audio is synthesised just before it plays; older audio belongs to none


def _mono(frame: rtc.AudioFrame) -> np.ndarray:
    data = np.frombuffer(frame.data, dtype=np.int16)
    if frame.num_channels > 1:
        data = data.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return data


class AudioRing:
    """The recent input: (start time, frame), oldest first, dropped once older than `seconds`.

    Frames carry no capture time, so arrival is the clock; frames that arrive in a burst (a stalled network
    released at once) are laid end to end rather than on top of each other, as they were spoken.
    """

    def __init__(self, seconds: float = RING_SECONDS) -> None:
        self.seconds = seconds
        self._frames: deque[tuple[float, rtc.AudioFrame]] = deque()
        self._end: float | None = None

    def push(self, started_at: float, frame: rtc.AudioFrame) -> None:
        if self._end is not None and started_at < self._end:
            started_at = self._end
        self._end = started_at + frame.duration
        self._frames.append((started_at, frame))
        while self._frames and self._frames[0][0] < started_at - self.seconds:
            self._frames.popleft()

    def cut(self, start: float, end: float) -> tuple[np.ndarray, int] | None:
        """Mono samples covering [start, end) and their rate; None when nothing of it was heard."""
        chosen = [(t, f) for t, f in self._frames if t + f.duration > start and t < end]
        if not chosen:
            return None
        rate = chosen[0][1].sample_rate
        chosen = [(t, f) for t, f in chosen if f.sample_rate == rate]
        pcm = np.concatenate([_mono(f) for _, f in chosen])
        first = chosen[0][0]
        lo = max(0, round((start - first) * rate))
        hi = min(pcm.size, round((end - first) * rate))
        return (pcm[lo:hi], rate) if hi > lo else None


@dataclass
class _Speech:
    """What one call of the TTS node synthesised, and when its first frame came."""

    first_at: float | None = None
    frames: list[rtc.AudioFrame] = field(default_factory=list)


class CallAudio:
    """One call's clips: `instrument(agent)` before the session starts, `turn_stored` for every stored turn,
    `aclose` at the end (waits for the last clips to be written)."""

    def __init__(self, settings: Settings, recorder: CallRecorder) -> None:
        self.enabled = settings.audio_capture
        self.store = store_for(settings)
        self.recorder = recorder
        self.ring = AudioRing()
        self._spoken: list[_Speech] = []
        self._done: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def instrument(self, agent: Agent) -> None:
        """Wrap the agent's STT and TTS nodes (its own overrides, if any, still run inside)."""
        if not self.enabled:
            return
        stt_node, tts_node = agent.stt_node, agent.tts_node  # bound: the class's (or a subclass's) node

        def heard(audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings) -> Any:
            return stt_node(self._tee_heard(audio), model_settings)

        def spoken(text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
            return self._tee_spoken(tts_node(text, model_settings))

        agent.stt_node, agent.tts_node = heard, spoken

    async def _tee_heard(self, audio: AsyncIterable[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
        async for frame in audio:
            self.ring.push(time.time() - frame.duration, frame)  # frames carry no capture time: arrival is the clock
            yield frame

    async def _tee_spoken(self, node: Any) -> AsyncIterator[rtc.AudioFrame]:
        frames = await node if asyncio.iscoroutine(node) else node
        if frames is None:
            return
        speech = _Speech()
        self._spoken.append(speech)
        async for frame in frames:
            if speech.first_at is None:
                speech.first_at = time.time()
            speech.frames.append(frame)
            yield frame

    def _agent_clip(self, metrics: dict[str, Any]) -> tuple[np.ndarray, int] | None:
        """What played of this reply: the speech synthesised for it (not a speech cut off before it played, which
        was synthesised well before this one began), up to how long it played."""
        spoken, self._spoken = self._spoken, []
        start, end = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
        if start is not None:
            spoken = [s for s in spoken if s.first_at is not None and s.first_at >= start - STALE_SPEECH_SECONDS]
        frames = [f for s in spoken for f in s.frames]
        if not frames:
            return None
        rate = frames[0].sample_rate
        pcm = np.concatenate([_mono(f) for f in frames if f.sample_rate == rate])
        if start is not None and end is not None:
            pcm = pcm[:max(0, round((end - start) * rate))]
        return pcm, rate

    def turn_stored(self, turn_id: int, item: llm.ChatMessage) -> None:
        """The clip of a turn just stored: the caller's from the ring, the agent's from what it synthesised."""
        if not self.enabled or turn_id in self._done:
            return
        metrics = dict(item.metrics or {})
        if item.role == "user":
            start, end = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
            clip = self.ring.cut(start - PAD_SECONDS, end + PAD_SECONDS) if start and end else None
            role = "user"
        else:
            clip = self._agent_clip(metrics)
            role = "agent"
        if clip is None or clip[0].size == 0:
            return
        self._done.add(turn_id)
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._write, turn_id, role, *clip))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write(self, turn_id: int, role: str, pcm: np.ndarray, rate: int) -> None:
        try:
            encoded = encode_opus(pcm, rate)
            key = clip_key(self.recorder.started_at, self.recorder.call_key, turn_id, role)
            self.store.put(key, encoded.data)
            self.recorder.annotate_turn(turn_id, audio_key=key, audio_seconds=round(encoded.seconds, 3))
        except Exception:  # a lost clip must never end the call
            log.exception("turn audio not stored", extra={"room": self.recorder.room_name, "turn_id": turn_id})

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
