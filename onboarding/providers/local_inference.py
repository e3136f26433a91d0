"""One Whisper and one Piper per agent worker, shared by all its calls: livekit-agents' inference process.

livekit-agents starts one supervised inference process per worker when inference runners are registered
(`_InferenceRunner.register_runner`, `ipc/inference_proc_executor.py`); each job reaches it through
`JobContext.inference_executor.do_inference(method, bytes)`, relayed by the worker's main process over the
same IPC channels it already keeps to every job. So N offline calls cost one copy of each model, not N, and a
job process loads no model at all. Measured (docs/density.md): the relay adds ≈ 1 ms to a ≈ 0.45 s
transcription, which is why this is the framework's process rather than a server of our own.

With a cloud key for a role the model of that role loads only when a call falls back to it; without one it
loads when the inference process starts, and the known sentences of the scripted interviewer are synthesised
into the TTS cache in the background.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from livekit.agents.inference_runner import _InferenceRunner
from livekit.agents.ipc.inference_executor import InferenceExecutor

from onboarding.settings import get_settings

if TYPE_CHECKING:
    from onboarding.providers.whisper_stt import Prompt

log = logging.getLogger("onboarding.local_inference")
STT_METHOD = "onboarding.whisper"
TTS_METHOD = "onboarding.local_tts"


@lru_cache(maxsize=1)
def _speech():
    """This process's Whisper and voice (the instances load their weights on first use)."""
    from onboarding.providers.selection import local_speech

    return local_speech(get_settings())


def serve_requests_side_by_side() -> None:
    """In the inference process: start each request as it arrives instead of after the one before has finished.

    livekit-agents 1.8.9's inference process awaits every request before it reads the next, so its thread pool (one
    thread per core) ran one transcription or synthesis at a time, and with several callers each waited for all
    the others. Whisper's second thread buys little, so two decodings at once get more done: 16 answers sent
    together were all heard 1.3x sooner (`python -m bench.inference_ipc`, docs/density.md). The pool still bounds
    how many run together; a third waits for a thread.
    """
    from livekit.agents.ipc import inference_proc_lazy_main as inference_main

    handle = inference_main._InferenceProc._handle_inference_request
    if getattr(handle, "side_by_side", False):
        return
    running: set[asyncio.Task[None]] = set()

    async def start(self: inference_main._InferenceProc, msg) -> None:
        task = asyncio.create_task(handle(self, msg))
        running.add(task)
        task.add_done_callback(running.discard)

    start.side_by_side = True  # type: ignore[attr-defined]
    inference_main._InferenceProc._handle_inference_request = start  # type: ignore[method-assign]


class WhisperRunner(_InferenceRunner):
    """Request: pickled (16 kHz float32 audio, beam size, prompt). Reply: pickled N best readings (`hypotheses()`).

    An answer that arrives while another is being decoded is read with a window fitted to it (the utterance and
    `STT_BUSY_WINDOW_MARGIN_SECONDS`) instead of Whisper's whole 30 s: the encoder is most of a decoding, and two
    at once on two cores is when callers wait. It costs ≈ 1 point of fields on those answers
    (`bench.whisper_speed`); a lone answer is read as before."""

    INFERENCE_METHOD = STT_METHOD

    def initialize(self) -> None:
        serve_requests_side_by_side()
        settings = get_settings()
        self._busy_margin = settings.stt_busy_window_margin_seconds or None
        self._decoding = 0
        self._counting = threading.Lock()
        if not settings.deepgram_api_key:  # offline: the first caller must not wait for the model
            _speech()[0].warm_up()

    def run(self, data: bytes) -> bytes | None:
        audio, beam_size, prompt = pickle.loads(data)
        whisper = _speech()[0]
        with self._counting:
            self._decoding += 1
            busy = self._decoding > 1
        try:
            margin = self._busy_margin if busy else None
            return pickle.dumps(whisper._in_process.blocking(audio, beam_size, prompt, window_margin_s=margin))
        finally:
            with self._counting:
                self._decoding -= 1


class LocalTTSRunner(_InferenceRunner):
    """Request: UTF-8 text. Reply: int16 PCM at the voice's rate (known sentences come from the cache)."""

    INFERENCE_METHOD = TTS_METHOD

    def initialize(self) -> None:
        settings = get_settings()
        if settings.eleven_api_key:
            return
        tts = _speech()[1]
        tts.load()
        if tts.cache is not None:
            tts.cache.warm_in_background(tts.synthesize_uncached)

    def run(self, data: bytes) -> bytes | None:
        return b"".join(_speech()[1].synthesize_blocking(data.decode("utf-8")))


def register_runners() -> None:
    """In the worker's main process, before it starts: livekit-agents then starts the inference process."""
    for runner in (WhisperRunner, LocalTTSRunner):
        if runner.INFERENCE_METHOD not in _InferenceRunner.registered_runners:
            _InferenceRunner.register_runner(runner)


class RemoteTranscriber:
    """A job's Whisper: the worker's inference process decodes (same signature as `InProcessTranscriber`)."""

    def __init__(self, executor: InferenceExecutor) -> None:
        self._executor = executor

    async def __call__(self, audio: np.ndarray, beam_size: int, prompt: Prompt) -> list[str]:
        reply = await self._executor.do_inference(STT_METHOD, pickle.dumps((audio, beam_size, prompt)))
        return pickle.loads(reply) if reply else []


class RemoteSynthesizer:
    """A job's Piper/flite: the worker's inference process synthesises."""

    def __init__(self, executor: InferenceExecutor) -> None:
        self._executor = executor

    async def __call__(self, text: str) -> bytes:
        return await self._executor.do_inference(TTS_METHOD, text.encode("utf-8")) or b""
