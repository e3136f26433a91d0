"""What serving Whisper from livekit-agents' inference process costs over decoding in the caller's own process,
and what serving its requests side by side gains when several callers answer at once.

    python -m bench.inference_ipc [--runs N] [--burst N]

The same 2 s utterance, transcribed N times by `onboarding.providers.local_inference.WhisperRunner` in a
livekit-agents `InferenceProcExecutor` (the worker's shared inference process, started the way the worker starts
it) and N times in this process; the difference is the IPC (pickling, two socket hops). In a job the request is
relayed once more through the worker's main process, over the same kind of channel. Prints one line per path.

Then a burst: `--burst` different answers (flite slt and awb) sent to the inference process at once, served as
shipped (side by side, `serve_requests_side_by_side`) and as livekit-agents 1.8.9 serves them (one at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import pickle
import statistics
import sys
import time

import numpy as np
from livekit.agents.ipc.inference_proc_executor import InferenceProcExecutor

from bench.common import machine, write_section
from harness.caller_audio import resample, speak
from harness.personas import PERSONAS
from onboarding.providers.local_inference import STT_METHOD, TTS_METHOD, LocalTTSRunner, WhisperRunner, _speech
from onboarding.providers.selection import local_speech
from onboarding.settings import REPO_ROOT, get_settings

DOC = REPO_ROOT / "docs" / "density.md"


class OneAtATimeWhisperRunner(WhisperRunner):
    """The shipped runner, served the way livekit-agents 1.8.9 serves it: one request after another."""

    def initialize(self) -> None:
        _speech()[0].warm_up()


async def started_executor(whisper_runner: type[WhisperRunner]) -> InferenceProcExecutor:
    executor = InferenceProcExecutor(
        runners={STT_METHOD: whisper_runner, TTS_METHOD: LocalTTSRunner}, initialize_timeout=120, close_timeout=5,
        memory_warn_mb=4000, memory_limit_mb=0, ping_interval=5, ping_timeout=60, high_ping_threshold=2.5,
        mp_ctx=mp.get_context("forkserver"), loop=asyncio.get_running_loop(), http_proxy=None)
    await executor.start()
    await executor.initialize()
    return executor


async def burst(whisper_runner: type[WhisperRunner], answers: list[np.ndarray]) -> tuple[float, list[float]]:
    """All answers sent at once: seconds until the last was heard, and each one's wait."""
    executor = await started_executor(whisper_runner)
    try:
        started = time.perf_counter()

        async def one(audio: np.ndarray) -> float:
            await executor.do_inference(STT_METHOD, pickle.dumps((audio, 5, None)))
            return time.perf_counter() - started

        waits = await asyncio.gather(*(one(audio) for audio in answers))
        return time.perf_counter() - started, list(waits)
    finally:
        await executor.aclose()


def burst_answers(count: int) -> list[np.ndarray]:
    texts = [answer for persona in PERSONAS for answer in persona.answers][:count]
    return [resample(speak(text, ("slt", "awb")[i % 2]), 48000, 16000).astype(np.float32) / 32768
            for i, text in enumerate(texts)]


async def measure(runs: int) -> dict[str, list[float]]:
    audio = resample(speak("My name is Maria Garcia."), 48000, 16000).astype(np.float32) / 32768
    executor = await started_executor(WhisperRunner)
    whisper, _ = local_speech(get_settings())
    whisper.warm_up()
    times: dict[str, list[float]] = {"inference process": [], "in process": [], "echo (empty audio)": []}
    try:
        for _ in range(runs):
            started = time.perf_counter()
            await executor.do_inference(STT_METHOD, pickle.dumps((audio, 5, None)))
            times["inference process"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await asyncio.to_thread(whisper.hear, audio)
            times["in process"].append(time.perf_counter() - started)
            started = time.perf_counter()  # transcribe() returns at once for under 0.1 s of audio: the IPC alone
            await executor.do_inference(STT_METHOD, pickle.dumps((np.zeros(800, np.float32), 5, None)))
            times["echo (empty audio)"].append(time.perf_counter() - started)
    finally:
        await executor.aclose()
    return times


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--burst", type=int, default=16)
    args = parser.parse_args(argv)
    measured = f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}"
    times = asyncio.run(measure(args.runs))
    lines = ["| path | median ms | min ms |", "|---|---|---|"]
    lines += [f"| {path} | {statistics.median(v) * 1000:.1f} | {min(v) * 1000:.1f} |" for path, v in times.items()]
    text = (f"{measured}; {args.runs} runs of each, a 2 s utterance (`python -m bench.inference_ipc`).\n\n"
            + "\n".join(lines))
    write_section(DOC, "inference-ipc", text)
    print(text)
    answers = burst_answers(args.burst)
    seconds = sum(a.size for a in answers) / 16000
    lines = ["| served | all heard after s | answers a second | wait median ms | wait max ms |",
             "|---|---|---|---|---|"]
    for name, runner in (("side by side (shipped)", WhisperRunner),
                         ("one at a time (livekit-agents 1.8.9)", OneAtATimeWhisperRunner)):
        total, waits = asyncio.run(burst(runner, answers))
        lines.append(f"| {name} | {total:.2f} | {len(answers) / total:.2f} | {statistics.median(waits) * 1000:.0f} "
                     f"| {max(waits) * 1000:.0f} |")
    text = (f"{measured}; {len(answers)} answers ({seconds:.0f} s of speech, flite slt and awb) sent to the inference "
            f"process at once (`python -m bench.inference_ipc --burst {args.burst}`).\n\n" + "\n".join(lines))
    write_section(DOC, "inference-burst", text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
