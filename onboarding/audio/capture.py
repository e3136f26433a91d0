"""The audio of each stored turn, captured in the worker: exactly one clip per Turn.

Two pass-through taps on the session's audio, in the way livekit-agents' own call recorder wraps them:
- the input tap keeps the last RING_SECONDS of the caller's audio (the frames the VAD and the STT are fed) with
  their arrival times; a caller turn's clip is cut from it between the turn's `started_speaking_at` and
  `stopped_speaking_at` (livekit's figures on the user ChatMessage), so the clip is what the STT heard for it;
- the output tap collects the frames the agent pushed to the room and, when a segment's playback finishes, keeps
  the part that played (`playback_position`): an interrupted reply keeps what the caller actually heard. The agent
  turn stored next gets the segments played since the previous agent turn.
Encoding (Opus), the store write and the Turn's `audio_key` happen in a thread, off the call's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import llm
from livekit.agents.voice import AgentSession, io

from onboarding.audio.opus import encode_opus
from onboarding.audio.storage import clip_key, store_for
from onboarding.recorder import CallRecorder
from onboarding.settings import Settings

log = logging.getLogger("onboarding.audio")
RING_SECONDS = 120.0  # the longest caller turn kept whole
PAD_SECONDS = 0.25  # around the VAD's speech bounds: the VAD needs a few frames to decide


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


class InputTap(io.AudioInput):
    """Passes the caller's frames on unchanged and keeps a copy in the ring (arrival is the clock)."""

    def __init__(self, source: io.AudioInput, ring: AudioRing) -> None:
        super().__init__(label="TurnAudio", source=source)
        self._ring = ring

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await super().__anext__()
        self._ring.push(time.time() - frame.duration, frame)
        return frame


class OutputTap(io.AudioOutput):
    """Passes the agent's frames to the room and reports each segment's played part to `on_played`."""

    def __init__(self, next_in_chain: io.AudioOutput, on_played: Any) -> None:
        super().__init__(label="TurnAudio", next_in_chain=next_in_chain,
                         capabilities=io.AudioOutputCapabilities(pause=True))
        self._on_played = on_played
        self._frames: list[rtc.AudioFrame] = []

    @property
    def sample_rate(self) -> int | None:
        return self.next_in_chain.sample_rate if self.next_in_chain else self._sample_rate

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        if self.next_in_chain:
            await self.next_in_chain.capture_frame(frame)
        await super().capture_frame(frame)
        self._frames.append(frame)

    def flush(self) -> None:
        super().flush()
        if self.next_in_chain:
            self.next_in_chain.flush()

    def clear_buffer(self) -> None:
        if self.next_in_chain:
            self.next_in_chain.clear_buffer()

    def on_playback_finished(self, *, playback_position: float, interrupted: bool,
                             synchronized_transcript: str | None = None) -> None:
        super().on_playback_finished(playback_position=playback_position, interrupted=interrupted,
                                     synchronized_transcript=synchronized_transcript)
        frames, self._frames = self._frames, []
        if not frames or playback_position <= 0:
            return
        rate = frames[0].sample_rate
        pcm = np.concatenate([_mono(f) for f in frames if f.sample_rate == rate])
        self._on_played(pcm[:round(playback_position * rate)], rate)


class CallAudio:
    """One call's clips: `attach` after the session started, `turn_stored` for every stored turn, `aclose` at the
    end (waits for the last clips to be written)."""

    def __init__(self, settings: Settings, recorder: CallRecorder) -> None:
        self.enabled = settings.audio_capture
        self.store = store_for(settings)
        self.recorder = recorder
        self.ring = AudioRing()
        self._played: list[tuple[np.ndarray, int]] = []
        self._done: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, session: AgentSession) -> None:
        """Wrap the session's audio input and output (call right after `session.start`, before any await)."""
        if not self.enabled:
            return
        if session.input.audio is not None:
            session.input.audio = InputTap(session.input.audio, self.ring)
        if session.output.audio is not None:
            session.output.audio = OutputTap(session.output.audio, self._segment_played)

    def _segment_played(self, pcm: np.ndarray, rate: int) -> None:
        self._played.append((pcm, rate))

    def turn_stored(self, turn_id: int, item: llm.ChatMessage) -> None:
        """The clip of a turn just stored: the caller's from the ring, the agent's from what played since the last."""
        if not self.enabled or turn_id in self._done:
            return
        if item.role == "user":
            metrics = item.metrics or {}
            start, end = metrics.get("started_speaking_at"), metrics.get("stopped_speaking_at")
            clip = self.ring.cut(start - PAD_SECONDS, end + PAD_SECONDS) if start and end else None
            role = "user"
        else:
            played, self._played = self._played, []
            rates = {rate for _, rate in played}
            clip = (np.concatenate([pcm for pcm, _ in played]), played[0][1]) if len(rates) == 1 else None
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
            key = clip_key(self.recorder.started_at, self.recorder.session_id, turn_id, role)
            self.store.put(key, encoded.data)
            self.recorder.annotate_turn(turn_id, audio_key=key, audio_seconds=round(encoded.seconds, 3))
        except Exception:  # a lost clip must never end the call
            log.exception("turn audio not stored", extra={"room": self.recorder.room_name, "turn_id": turn_id})

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
