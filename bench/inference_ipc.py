"""What serving Whisper from livekit-agents' inference process costs over decoding in the caller's own process.

    python -m bench.inference_ipc [--runs N]

The same 2 s utterance, transcribed N times by `onboarding.providers.local_inference.WhisperRunner` in a
livekit-agents `InferenceProcExecutor` (the worker's shared inference process, started the way the worker starts
it) and N times in this process; the difference is the IPC (pickling, two socket hops). In a job the request is
relayed once more through the worker's main process, over the same kind of channel. Prints one line per path.
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
from onboarding.providers.local_inference import STT_METHOD, TTS_METHOD, LocalTTSRunner, WhisperRunner
from onboarding.providers.selection import local_speech
from onboarding.settings import REPO_ROOT, get_settings

DOC = REPO_ROOT / "docs" / "density.md"


async def measure(runs: int) -> dict[str, list[float]]:
    audio = resample(speak("My name is Maria Garcia."), 48000, 16000).astype(np.float32) / 32768
    executor = InferenceProcExecutor(
        runners={STT_METHOD: WhisperRunner, TTS_METHOD: LocalTTSRunner}, initialize_timeout=120, close_timeout=5,
        memory_warn_mb=4000, memory_limit_mb=0, ping_interval=5, ping_timeout=60, high_ping_threshold=2.5,
        mp_ctx=mp.get_context("forkserver"), loop=asyncio.get_running_loop(), http_proxy=None)
    await executor.start()
    await executor.initialize()
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
    args = parser.parse_args(argv)
    times = asyncio.run(measure(args.runs))
    lines = ["| path | median ms | min ms |", "|---|---|---|"]
    lines += [f"| {path} | {statistics.median(v) * 1000:.1f} | {min(v) * 1000:.1f} |" for path, v in times.items()]
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine()}; {args.runs} runs of "
            f"each, a 2 s utterance (`python -m bench.inference_ipc`).\n\n" + "\n".join(lines))
    write_section(DOC, "inference-ipc", text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
