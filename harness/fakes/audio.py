"""A microphone for STT streams outside a room: audio pushed in real time, as a caller's track delivers it.

Real time matters for fallback: audio pushed faster than it is spoken would all be queued on the failing
provider before the adapter switches, and the local provider would hear nothing.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents import stt

from harness.caller_audio import ROOM_RATE

FRAME = ROOM_RATE // 100  # 10 ms


async def play(stream: stt.RecognizeStream, pcm: np.ndarray, *, end_input: bool = True) -> None:
    """Push 10 ms frames on a real-time schedule, then end the input (unless more is to come)."""
    started = time.monotonic()
    for index, start in enumerate(range(0, pcm.size - FRAME + 1, FRAME)):
        stream.push_frame(rtc.AudioFrame(pcm[start:start + FRAME].tobytes(), ROOM_RATE, 1, FRAME))
        ahead = started + (index + 1) * 0.01 - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)  # pacing like a microphone, not synchronisation
    if end_input:
        stream.end_input()


async def hear(stream: stt.RecognizeStream, pcm: np.ndarray) -> list[stt.SpeechEvent]:
    """Play `pcm` into the stream and return every event it gave until it closed."""
    player = asyncio.create_task(play(stream, pcm))
    events = [event async for event in stream]
    await player
    return events
