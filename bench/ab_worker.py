"""The agent worker with one of the per-frame options of docs/density.md undone, for an A/B run in one sitting.

    BENCH_VARIANT=input-24k python -m bench.ab_worker      (started by bench.frame_options, never by the product)

Variants: `shipped` (nothing undone), `agc` (automatic gain control on), `input-24k` (the caller's audio at
livekit-agents' default 24 kHz: resampled again for the VAD and the STT), `output-24k` (the agent's track at the
default 24 kHz, so TTS audio is resampled first), `sync-transcript` (captions paced word by word with the audio),
`session-host` (livekit's SessionHost data channel on), `vad-thread` (the VAD on a thread of its own per stream,
livekit's default, instead of inline), `loop-watch-100` (livekit's loop watchdog at its default 100 ms: 20 ms ticks),
`logs-forwarded` (livekit's native library hands every log record to Python, livekit-rtc's default),
`before` (all of those undone at once). The forkserver
preloads this module (it is `__main__`), so the patches apply in every job process.
"""

from __future__ import annotations

import os

from livekit.agents import AgentSession
from livekit.agents.voice import room_io

import agent_worker
from onboarding import native_logs
from onboarding.call import InterviewCall
from onboarding.providers import selection

VARIANTS = ("shipped", "agc", "input-24k", "output-24k", "sync-transcript", "session-host", "vad-thread",
            "loop-watch-100", "logs-forwarded", "before")
VARIANT = os.environ.get("BENCH_VARIANT", "shipped")
if VARIANT not in VARIANTS:
    raise SystemExit(f"BENCH_VARIANT={VARIANT!r}: use one of {', '.join(VARIANTS)}")
undone = {VARIANT} if VARIANT != "before" else set(VARIANTS)
_shipped_options = InterviewCall._room_options
_shipped_start = AgentSession.start


def _room_options(self: InterviewCall, participant, video) -> room_io.RoomOptions:
    options = _shipped_options(self, participant, video)
    audio_in, audio_out = options.audio_input, options.audio_output
    if "agc" in undone:
        audio_in.auto_gain_control = True
    if "input-24k" in undone:
        audio_in.sample_rate = room_io.AudioInputOptions().sample_rate
    if "output-24k" in undone:
        audio_out.sample_rate = room_io.AudioOutputOptions().sample_rate
    if "sync-transcript" in undone:
        options.text_output = room_io.TextOutputOptions()
    return options


def _threaded_vad(vad_class):
    class ThreadedVAD(vad_class):
        def __init__(self, *args, **kwargs):
            kwargs.pop("executor", None)
            super().__init__(*args, **kwargs)

    return ThreadedVAD


async def _start(self: AgentSession, *args, **kwargs):
    if "session-host" in undone:
        kwargs["session_host"] = True
    return await _shipped_start(self, *args, **kwargs)


if "loop-watch-100" in undone:  # the job processes read it when they start, after this import
    os.environ["LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS"] = "100"
if "logs-forwarded" in undone:  # the entrypoint imports the function when a call starts, so this one is called
    native_logs.keep_native_logs_native = lambda: False
if "vad-thread" in undone:
    selection.inference.VAD = _threaded_vad(selection.inference.VAD)  # type: ignore[misc]
InterviewCall._room_options = _room_options  # type: ignore[method-assign]
AgentSession.start = _start  # type: ignore[method-assign]

if __name__ == "__main__":
    agent_worker.main()
