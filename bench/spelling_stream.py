"""What a long spelled answer costs the streaming Whisper: early transcriptions only in its first seconds, or at
every pause.

    python -m bench.spelling_stream

Spelled addresses (a word for each letter, flite slt, 25–35 s with a pause at every comma) are played in real time
into `WhisperSTT.stream()` with the session's Silero VAD, Whisper in this process. Per address and per variant:
transcriptions started, seconds of audio they covered, this process's CPU seconds, and how long after the end of
speech the final transcript came. Variant "every pause" lifts the limit (what the stream did before it).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from livekit.agents import inference, stt

from bench.common import machine, write_section
from harness.caller_audio import ROOM_RATE, speak
from harness.fakes.audio import play
from onboarding.interview.spelling import spell_out_with_words
from onboarding.providers import speculative_stt
from onboarding.providers.whisper_stt import WhisperSTT
from onboarding.settings import REPO_ROOT

DOC = REPO_ROOT / "docs" / "density.md"
ADDRESSES = ("brennan.okafor@lindqvist.com", "takahashi.novak@gmail.com")


class Counting:
    """The in-process Whisper, counting what it is asked to transcribe, on threads of its own (a dropped guess's
    thread runs on to its end: `drain` waits for it, so its CPU is counted)."""

    def __init__(self, whisper: WhisperSTT) -> None:
        self.whisper, self.calls, self.seconds = whisper, 0, 0.0
        self.threads = ThreadPoolExecutor(4)

    async def __call__(self, audio: np.ndarray, beam_size: int, prompt: str | None) -> list[str]:
        self.calls += 1
        self.seconds += audio.size / 16000
        return await asyncio.get_running_loop().run_in_executor(self.threads, self.whisper.hear_all, audio, prompt)

    async def drain(self) -> None:
        await asyncio.to_thread(self.threads.shutdown, wait=True)


async def one(base: WhisperSTT, vad, pcm: np.ndarray) -> tuple[int, float, float, float]:
    """(transcriptions, audio seconds transcribed, CPU seconds, final transcript after the end of speech in s)."""
    counting = Counting(base)
    stream = WhisperSTT(vad=vad, speculate_after=0.1, transcriber=counting).stream()
    ended: list[float] = []

    async def caller() -> None:
        await play(stream, pcm, end_input=False)
        ended.append(time.monotonic())
        await play(stream, np.zeros(2 * ROOM_RATE, dtype=np.int16))

    cpu = time.process_time()
    speaking = asyncio.create_task(caller())
    final_at = 0.0
    async for event in stream:
        if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
            final_at = time.monotonic()
    await speaking
    await counting.drain()
    return counting.calls, counting.seconds, time.process_time() - cpu, final_at - ended[0]


async def measure() -> list[str]:
    vad = inference.VAD()
    base = WhisperSTT(vad=vad, speculate_after=0.1)
    base.warm_up()
    rows = []
    limit = speculative_stt.SPECULATE_UP_TO
    for address in ADDRESSES:
        pcm = speak(spell_out_with_words(address), "slt")
        for variant, up_to in ((f"up to {limit:g} s (shipped)", limit), ("every pause", 1e9)):
            speculative_stt.SPECULATE_UP_TO = up_to
            calls, seconds, cpu, after = await one(base, vad, pcm)
            rows.append(f"| {address}, {pcm.size / ROOM_RATE:.0f} s | {variant} | {calls} | {seconds:.0f} | "
                        f"{cpu:.1f} | {after:.2f} |")
        speculative_stt.SPECULATE_UP_TO = limit
    return rows


def main() -> None:
    started = time.time()
    rows = asyncio.run(measure())
    table = ["| spelled address | early transcription | transcriptions | audio s transcribed | CPU s | "
             "final after the end of speech, s |", "|---|---|---|---|---|---|", *rows]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}; "
            f"`python -m bench.spelling_stream`, {time.time() - started:.0f} s.\n\n" + "\n".join(table))
    write_section(DOC, "spelling-stream", text)
    print(text)


if __name__ == "__main__":
    main()
