"""Which provider serves each role. Local, offline providers are the default; models load once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from livekit.agents import inference, stt, tts, vad

from onboarding.providers.local_tts import LocalTTS
from onboarding.providers.whisper_stt import WhisperSTT
from onboarding.settings import Settings

log = logging.getLogger("onboarding.providers")


@dataclass
class SpeechStack:
    stt: stt.STT
    tts: tts.TTS
    vad: vad.VAD

    @property
    def labels(self) -> dict[str, str]:
        return {"stt": f"{self.stt.provider}/{self.stt.model}", "tts": f"{self.tts.provider}/{self.tts.model}"}


def build_speech_stack(settings: Settings) -> SpeechStack:
    """Instances are cheap: the heavy weights behind them are cached per process."""
    return SpeechStack(
        stt=WhisperSTT(model_dir=settings.stt_model_dir, beam_size=settings.stt_beam_size),
        tts=LocalTTS(engine=settings.tts_engine, piper_voice_path=settings.piper_voice_path,
                     flite_voice=settings.flite_voice),
        # livekit's bundled local Silero VAD (livekit-local-inference): no download, no network
        vad=inference.VAD(),
    )


def turn_detector() -> inference.TurnDetector:
    """Pinned to the local v1-mini model: unpinned, dev mode would ask LiveKit Cloud."""
    return inference.TurnDetector(version="v1-mini")


def preload(settings: Settings) -> SpeechStack:
    from livekit.local_inference import init_eot, init_vad

    init_vad()
    init_eot()  # the v1-mini end-of-turn weights (≈244 MB), shared by every call in this process
    stack = build_speech_stack(settings)
    if isinstance(stack.stt, WhisperSTT):
        stack.stt.warm_up()
    if isinstance(stack.tts, LocalTTS):
        for _ in stack.tts.synthesize_blocking("Hello."):  # first ONNX run allocates its buffers
            pass
    log.info("models loaded", extra={"stt": stack.labels["stt"], "tts": stack.labels["tts"]})
    return stack
